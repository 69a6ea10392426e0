"""Chords played under a sung melody: the harmoniser's pitch classes voiced as notes and
rendered by FluidSynth with General MIDI instruments (``vocals2song generate --chords``).

Why notes and not only the U-Net: the U-Net turns pitch classes into a spectrum, and that
rendering loses most of what a harmony is worth. On the dev chorales, Bach's *other* setting of
a tune, rendered as notes under the vocal, lifts song chroma by +0.08-0.10 over the vocal alone
(``make ceiling``: +0.080 on 19 tunes); fed to the U-Net as pitch classes, by +0.045. The
harmoniser's own prediction voiced and played here lifts it by +0.057, the U-Net's head by +0.041
(docs/model-notes.md, "Chords as notes").

The strongest pitch class goes in the bass; above it, under the melody, either every class
scoring above the mean, louder the stronger ("hedged", as the prediction hedges), or at most three
of them, none a semitone from another or from the sung note ("consonant": the same song chroma
without the clusters; docs/model-notes.md, "Chords a listener can stand"), and of those only the
ones that keep the chord one chord of stacked thirds ("chordal": the same song chroma again,
without the consonant voicing's mixtures of two chords, "One chord at a time"); "led", the
default, places those classes near the chord before's notes instead of right under the melody, so
the inner voices hold where the melody leaps (half the leaps for a thousandth of song chroma,
"Voices that hold").

A chord sounds under each sung note, a run of notes shorter than a beat sharing one a beat
(``changes`` "beat"), or under every sung note ("note"), as the chorales are set, or one a half
bar or a bar of the sung meter ("half", "bar", as a song's lead sheet writes them): the triad
that best fits the (half) bar's predictions and sung notes, root in the bass; the mean
prediction voiced as it is named what the bar's chords share, half of them slash chords ("How
often the chords change"). Which suits a song and which a chorale: "Songs" in the model notes.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools

import numpy as np

from trainer.chart import NO_CHORD_SYMBOL, Chart, WrittenChord
from trainer.config import (
    CHORD_LEVEL_DB,
    CHORDS_STEM,
    DRUMS_LEVEL_DB,
    DRUMS_STEM,
    INSTRUMENT_CHOICES,
    INSTRUMENTS,
    MELODY_PROGRAM,
    PLAYED_CHANGES,
    RHYTHMS,
    VOICINGS,
)
from vocals2song import audio, beat, chord_names, flags, meter, render
from vocals2song.config import SEMITONES
from vocals2song.melody import MelodyNote
from vocals2song.scores import Note, Score, warped

BASS_REGISTER = (40, 52)
"""The bass plays in E2 to D#3 ..."""
UPPER_FLOOR = 52
"""... the upper notes no lower than E3 and below the melody."""
VELOCITIES = (40, 100)
"""An upper note's velocity, from a class barely above the mean to the strongest."""
MAX_UPPER = 3
"""A consonant chord's most upper notes (a triad or a seventh with the bass; four scored alike)."""
LED_SPAN = 16
"""Semitones under the melody's note below which a "led" voicing places no upper note."""
BASS_VELOCITY = 80
WRITTEN_VELOCITY = 85
"""Each upper note of a chord a user wrote: all alike, where a predicted chord's are louder the likelier."""
MELODY_VELOCITY = 90
"""The transcribed melody's velocity in a written MIDI file (a take's dynamics are not transcribed)."""
CONCERT_A = 440
"""Hz: the A the notes are named from (``concert_pitch`` says where a take's is)."""
BARS_A_LINE = 4
"""Bars on a line of a lead sheet (``lead_sheet``)."""
TRIADS = ((0, 4, 7), (0, 3, 7), (0, 3, 6))
"""Major, minor and diminished: what a (half) bar's chord is chosen from (``triad``)."""
ROOT_POSITION = (3.0, 2.0, 2.5)
"""A chosen triad's root, third and fifth as scores for ``chord``: the root in the bass, all three above it."""
MELODY_FIT = 1.0
"""How much a (half) bar's chord is chosen for holding the sung notes (``triad``), against the harmoniser's scores."""
BEND_SECONDS = 0.25
"""How often the played chords' tuning follows a drifting take (``bends``): the tuning is averaged
over ``melody.DRIFT_SECONDS``, so it moves a cent or two between steps."""
HOLD_FRAMES = 8
"""A chord is held across a gap to the next melody note shorter than this (0.19 s at a 1024 hop)."""
SHORT_BEATS = 0.9
"""With ``changes`` "beat", a note to the next onset shorter than this many beats shares its beat's
chord with the short notes before it (a quarter sung a little short still gets its own)."""
SHORTEST_CHORD = 0.05
"""Seconds: a chart's chord cut shorter than this by the take's first or last note is not played."""
NO_CHORD_SECONDS = 0.5
"""A gap this long between a chord's end and the next chord (or the last sung note's end) is
written ``NO_CHORD_SYMBOL`` (``symbols``), as a chart's bar without chords is played; a shorter
one is a breath."""
CLEAR_OF_EDGES = 0.25
"""With ``rhythm`` "beat", a chord is struck again on a beat at least this many beats after it
started and before it ends (no stutter against a note that starts just off the beat)."""


def arrangement(instrument: str) -> render.Arrangement:
    """How a ``chord_score`` is rendered and written: no transposition, a quarter note a second
    (the score's times are seconds), ``instrument``'s programs (``INSTRUMENTS``) and the melody's,
    no velocity jitter."""
    programs = INSTRUMENTS[flags.check_choice("instrument", instrument, INSTRUMENT_CHOICES)]
    return render.Arrangement("chords", 0, 60.0, {"vocals": MELODY_PROGRAM, **programs}, 0)


def highest_below(pitch_class: int, ceiling: int) -> int:
    """The highest MIDI pitch of ``pitch_class`` strictly below ``ceiling``."""
    return ceiling - 1 - (ceiling - 1 - pitch_class) % SEMITONES


def chord(
    scores: np.ndarray, melody_pitch: int, voicing: str, previous: tuple[int, ...] = (), under_note: bool = True
) -> list[tuple[str, int, int]]:
    """One melody note's 12 pitch-class scores -> ``(stem, pitch, velocity)`` to play under it;
    ``previous``: the upper notes of the chord before, which a "led" voicing moves from;
    ``under_note``: the chord sounds under this one sung note, so no class a semitone from it is
    played (False for a (half) bar's triad: the notes sung over it pass, its third stays)."""
    z = (scores - scores.mean()) / (scores.std() + 1e-9)
    order = [int(k) for k in np.argsort(-z)]
    quietest, loudest = VELOCITIES
    melody_class = melody_pitch % SEMITONES if under_note else None
    upper = [
        (pitch_class, round(quietest + (loudest - quietest) * min(z[pitch_class] / z[order[0]], 1.0)))
        for pitch_class in upper_classes(z, order, melody_class, voicing)
    ]
    return voiced(order[0], upper, melody_pitch, previous if voicing == "led" else ())


def written(harmony: WrittenChord, melody_pitch: int, led: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """A chart's chord (``trainer/chart.py``) as ``chord``'s notes: its bass, and every class of
    it above at ``WRITTEN_VELOCITY``, placed as ``voiced`` places them; no voicing rule leaves a
    note out (the user named them)."""
    bass, classes = harmony
    return voiced(bass, [(pitch_class, WRITTEN_VELOCITY) for pitch_class in classes], melody_pitch, led)


def voiced(
    bass_class: int, upper: list[tuple[int, int]], melody_pitch: int, led: tuple[int, ...]
) -> list[tuple[str, int, int]]:
    """A chord's notes as ``(stem, pitch, velocity)``: ``bass_class`` in ``BASS_REGISTER``, each
    upper (pitch class, velocity) under the melody or, given ``led`` (the chord before's upper
    notes), near them (``placed``)."""
    low, high = BASS_REGISTER
    bass = highest_below(bass_class, high)
    notes = [("bass", bass + SEMITONES if bass < low else bass, BASS_VELOCITY)]
    return notes + [("other", placed(pitch_class, melody_pitch, led), velocity) for pitch_class, velocity in upper]


def placed(pitch_class: int, melody_pitch: int, previous: tuple[int, ...]) -> int:
    """Where an upper note of ``pitch_class`` sounds: right under the melody (in the octave below
    it, and no lower than ``UPPER_FLOOR``), or, given the chord before's upper notes, in the
    ``LED_SPAN`` under the melody as near as it can be to one of them, so that the inner voices
    hold or step where the melody leaps instead of moving with it."""
    pitch = highest_below(pitch_class, melody_pitch - 1)
    pitch = pitch + SEMITONES if pitch < UPPER_FLOOR else pitch
    floor = max(UPPER_FLOOR, melody_pitch - 1 - LED_SPAN)
    if not previous or pitch < floor:
        return pitch
    return min(range(pitch, floor - 1, -SEMITONES), key=lambda p: min(abs(p - q) for q in previous))  # ties: higher


def upper_classes(z: np.ndarray, order: list[int], melody_class: int | None, voicing: str) -> list[int]:
    """The pitch classes under the melody, likeliest first: "hedged" every class scoring above the
    mean; "consonant" the likeliest, then the next ones that sit at least a tone from every class
    taken and from the melody's (doubling it is fine; no melody class, no such rule), at most
    ``MAX_UPPER``; "chordal" (and "led", which places them differently) those of them that make
    one ``chord_names.tertian`` chord with the classes taken before."""
    likely = [k for k in order if z[k] > 0]
    if flags.check_choice("voicing", voicing, VOICINGS) == "hedged":
        return likely
    taken = likely[:1]
    for pitch_class in likely[1:]:
        near = (*taken, melody_class) if melody_class is not None else taken
        if len(taken) < MAX_UPPER and all(_apart(pitch_class, k) != 1 for k in near):
            if voicing == "consonant" or chord_names.tertian({*taken, pitch_class}):
                taken.append(pitch_class)
    return taken


def _apart(first: int, second: int) -> int:
    """Semitones between two pitch classes, the short way round (0-6)."""
    return min((first - second) % SEMITONES, (second - first) % SEMITONES)


def chord_score(
    notes: list[MelodyNote],
    predictions: np.ndarray,
    frame_seconds: float,
    voicing: str,
    rhythm: str = RHYTHMS[0],
    drift: np.ndarray | None = None,
    changes: str = PLAYED_CHANGES[0],
    chart: Chart | None = None,
) -> Score:
    """Melody notes and their predictions ``(notes, 12)`` -> a Score in seconds (one quarter =
    one second): the melody as ``vocals`` and the chords as ``bass`` and ``other``, a chord under
    each note or each (half) bar as ``changes`` says (``note_spans``, ``bar_spans``), or a user's
    ``chart``'s chords on the bar lines (``chart_spans``; its meter the score's), struck as
    ``rhythm`` says (``strikes``); with the take's ``drift`` per frame (``melody.drift``), bends
    that follow it (``bends``)."""
    sung = sung_notes(notes, frame_seconds)
    parts: dict[str, list[Note]] = {"vocals": list(sung), "bass": [], "other": []}
    onsets = np.array([note.start for note in sung])
    clock = beat.follow(onsets, beat.beat_seconds(onsets))
    charted = chart.meter if chart else (None, None)
    previous: tuple[int, ...] = ()
    for start, end, harmony, melody_pitch in _spans(notes, sung, predictions, frame_seconds, changes, chart, clock):
        led = previous if voicing == "led" else ()
        if chart:
            played = written(harmony, melody_pitch, led)
        else:
            played = chord(harmony, melody_pitch, voicing, previous, under_note=changes in ("note", "beat"))
        previous = tuple(pitch for stem, pitch, _ in played if stem == "other")
        for stem, note in struck(played, start, end, clock, rhythm):
            parts[stem].append(note)
    score = Score("chords", {"drums": (), **{stem: tuple(n) for stem, n in parts.items()}}, charted=charted)
    return dataclasses.replace(score, bends=bends(drift, frame_seconds)) if drift is not None else score


def sung_notes(notes: list[MelodyNote], frame_seconds: float) -> tuple[Note, ...]:
    """Transcribed notes (frames) as a score's melody in seconds."""
    return tuple(
        Note(note.pitch, note.first * frame_seconds, (note.end - note.first) * frame_seconds, MELODY_VELOCITY)
        for note in notes
    )


Span = tuple[float, float, np.ndarray, int]
"""A chord's (start, end) in seconds, its 12 pitch-class scores and the sung pitch it sits under."""


def _spans(
    notes: list[MelodyNote],
    sung: tuple[Note, ...],
    predictions: np.ndarray,
    frame_seconds: float,
    changes: str,
    chart: Chart | None,
    clock: beat.Clock,
) -> list[Span] | list[WrittenSpan]:
    """Where ``chord_score``'s chords sound and what each is: a ``chart``'s, or the predictions'
    as ``changes`` says (on the sung ``clock``'s beats for "beat")."""
    if chart:
        return chart_spans(sung, chart)
    if flags.check_choice("changes", changes, PLAYED_CHANGES) == "note":
        return note_spans(notes, predictions, frame_seconds)
    if changes == "beat":
        return note_spans(notes, predictions, frame_seconds, beat_groups(sung, clock))
    return bar_spans(sung, predictions, changes)


def note_spans(
    notes: list[MelodyNote], predictions: np.ndarray, frame_seconds: float, groups: list[list[int]] | None = None
) -> list[Span]:
    """A chord under each sung note, or each of ``groups`` of consecutive notes (``beat_groups``),
    from its notes' predictions weighted by their lengths, voiced under its lowest note and held
    to the next note across a gap shorter than ``HOLD_FRAMES``."""
    spans = []
    for group in groups or [[index] for index in range(len(notes))]:
        first, last = notes[group[0]], notes[group[-1]]
        following = notes[group[-1] + 1].first if group[-1] + 1 < len(notes) else last.end
        end = following if following - last.end < HOLD_FRAMES else last.end
        harmony = predictions[group[0]] if len(group) == 1 else _weighted(predictions[group], notes, group)
        lowest = min(notes[index].pitch for index in group)
        spans.append((first.first * frame_seconds, end * frame_seconds, harmony, lowest))
    return spans


def _weighted(predictions: np.ndarray, notes: list[MelodyNote], group: list[int]) -> np.ndarray:
    """The mean of a group's notes' ``predictions``, each weighted by how long it is sung."""
    lengths = np.array([max(notes[index].end - notes[index].first, 1) for index in group], np.float64)
    return lengths @ predictions / lengths.sum()


def beat_groups(sung: tuple[Note, ...], clock: beat.Clock) -> list[list[int]]:
    """The sung notes' indices in runs that share a chord: a note shorter than ``SHORT_BEATS`` (to
    the next onset, on the sung ``clock``) joins the note before when that one is short too and
    both start in the same beat (each onset on its nearest half beat), so a run of eighths or a
    melisma is one chord a beat, and a longer note keeps its own."""
    onsets = [note.start for note in sung]
    places = np.array([clock.beats(at) for at in [*onsets, _end(sung)]])
    short = np.diff(places) < SHORT_BEATS
    beats_in = np.floor(np.round(places[:-1] * 2) / 2)
    groups: list[list[int]] = []
    for index in range(len(sung)):
        if index and short[index] and short[index - 1] and beats_in[index] == beats_in[index - 1]:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def bar_spans(sung: tuple[Note, ...], predictions: np.ndarray, changes: str) -> list[Span]:
    """A chord a bar ("bar") or a half bar ("half") of the sung meter (``timeline``), from the first
    sung note to the last's end, held through rests inside it: the ``triad`` that fits the mean of
    the predictions of the notes sounding in it, each weighted by how long it sounds there, and
    the time each pitch class is sung there; voiced under its lowest sung note so that no voice
    crosses the melody. A (half) bar without a sung note has no chord."""
    clock, starts, lengths = bar_grid(sung, (None, None))
    first, last = sung[0].start, _end(sung)
    halves = [at + length / 2 for at, length in zip(starts, lengths, strict=True) if round(length) % 2 == 0]
    changes_at = map(clock.seconds, [*starts, *(halves if changes == "half" else [])])
    edges = sorted({first, last, *(t for t in changes_at if first < t < last)})
    classes = np.eye(SEMITONES)[[note.pitch % SEMITONES for note in sung]]
    spans = []
    for begin, end in itertools.pairwise(edges):
        weights = np.array([max(0.0, min(end, note.start + note.duration) - max(begin, note.start)) for note in sung])
        if weights.sum() > 0:
            lowest = min(note.pitch for note, weight in zip(sung, weights, strict=True) if weight > 0)
            spans.append((begin, end, triad(weights @ predictions / weights.sum(), weights @ classes), lowest))
    return spans


WrittenSpan = tuple[float, float, WrittenChord, int]
"""A chart's chord's (start, end) in seconds, the chord and the sung pitch it sits under."""


def chart_spans(sung: tuple[Note, ...], chart: Chart) -> list[WrittenSpan]:
    """A ``chart``'s chords on the sung bars (``timeline``, in the chart's meter when it gives
    one), its first bar the first sung note's: each bar shared evenly by its chords, each held
    from the first sung note to the last's end and voiced under the lowest note sung while it
    sounds (the take's lowest across a rest). Bars past the chart's last play nothing; the chart's
    bars past the take's end are not played."""
    clock, starts, lengths = bar_grid(sung, chart.meter)
    first, last = sung[0].start, _end(sung)
    opening = bar_of(clock, starts, first)
    spans = []
    for at, length, written_chords in zip(starts[opening:], lengths[opening:], chart.bars, strict=False):
        for index, harmony in enumerate(written_chords):
            if harmony is None:
                continue
            share = length / len(written_chords)
            begin, end = (clock.seconds(at + share * k) for k in (index, index + 1))
            begin, end = max(begin, first), min(end, last)
            if end - begin >= SHORTEST_CHORD:
                sounding = [note.pitch for note in sung if note.start < end and note.start + note.duration > begin]
                spans.append((begin, end, harmony, min(sounding or [note.pitch for note in sung])))
    return spans


def bar_grid(
    sung: tuple[Note, ...], charted: tuple[int | None, float | None]
) -> tuple[beat.Clock, list[float], list[float]]:
    """The sung clock, and the beat each bar starts on and its length in beats, to the bar of the
    last note's end (``timeline``; the beats to a bar and the pickup a chart says, ``Score.charted``)."""
    clock, meters, _ = timeline(Score("chords", {"vocals": sung}, charted=charted))
    starts = meter.bar_starts(meters, _last_beat(clock, sung))
    return clock, starts, [*np.diff(starts), meters[-1][1]]


def _last_beat(clock: beat.Clock, sung: tuple[Note, ...]) -> float:
    """The beat the last sung note ends on, a hair early: a note that ends on a bar line leaves
    the bar after it empty."""
    return clock.beats(_end(sung)) - 1e-6


def bar_of(clock: beat.Clock, starts: list[float], seconds: float) -> int:
    """The index of the bar (of ``starts``, in beats) that holds ``seconds``."""
    return max(0, bisect.bisect_right(starts, clock.beats(seconds)) - 1)


def _end(sung: tuple[Note, ...]) -> float:
    """When the last sung note ends."""
    return max(note.start + note.duration for note in sung)


def triad(scores: np.ndarray, sung: np.ndarray) -> np.ndarray:
    """The major, minor or diminished triad that best fits a span whose notes predict ``scores``
    (12, their mean) and sing each pitch class for ``sung`` seconds: the highest mean z-score of
    its three classes plus ``MELODY_FIT`` times the share of the sung time on them; as scores that
    ``chord`` voices in root position (``ROOT_POSITION``). A mean prediction voiced as it is puts
    the classes a bar's chords share in the bass and names added-tone chords (docs/model-notes.md,
    "How often the chords change")."""
    z = (scores - scores.mean()) / (scores.std() + 1e-9)
    share = sung / max(float(sung.sum()), 1e-9)
    candidates = [[(root + step) % SEMITONES for step in shape] for root in range(SEMITONES) for shape in TRIADS]
    best = max(candidates, key=lambda classes: np.mean(z[classes]) + MELODY_FIT * share[classes].sum())
    chosen = np.zeros(SEMITONES)
    chosen[best] = ROOT_POSITION
    return chosen


def frame_classes(score: Score, frames: int, frame_seconds: float) -> np.ndarray:
    """The pitch classes a ``chord_score``'s chords sound in each of ``frames`` frames ``(frames,
    12)``, a class counted once for each note of it (bass and upper), each frame without a chord
    holding the nearest frame's that has one: the U-Net's harmony input when a user's chart, not
    the harmoniser, chose the chords (``harmoniser.frame_harmony``'s shape)."""
    harmony = np.zeros((frames, SEMITONES), np.float32)
    for note in (*score.parts["bass"], *score.parts["other"]):
        first, end = (round(t / frame_seconds) for t in (note.start, note.start + note.duration))
        harmony[first:end, note.pitch % SEMITONES] += 1
    sounding = np.flatnonzero(harmony.any(axis=1))
    if len(sounding) == 0:
        return harmony
    at = np.arange(frames)
    right = np.minimum(np.searchsorted(sounding, at), len(sounding) - 1)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(sounding[left] - at) <= np.abs(sounding[right] - at), sounding[left], sounding[right])
    return harmony[nearest]


def bends(drift: np.ndarray, frame_seconds: float) -> tuple[tuple[float, float], ...]:
    """A tuning per frame -> (second, semitones) points every ``BEND_SECONDS``, each where the
    tuning has moved by a cent or more since the last (a MIDI file's pitch wheel steps)."""
    points: list[tuple[float, float]] = []
    step = max(1, round(BEND_SECONDS / frame_seconds))
    for frame in range(0, len(drift), step):
        if not points or abs(drift[frame] - points[-1][1]) >= 0.01:
            points.append((frame * frame_seconds, round(float(drift[frame]), 3)))
    return tuple(points)


def struck(
    played: list[tuple[str, int, int]], start: float, end: float, clock: beat.Clock, rhythm: str
) -> list[tuple[str, Note]]:
    """A ``chord``'s notes sounding from ``start`` to ``end`` (seconds) as (stem, Note): struck
    together as ``strikes`` says, or broken ("arpeggio", ``arpeggio``)."""
    if flags.check_choice("rhythm", rhythm, RHYTHMS) == "arpeggio":
        return arpeggio(played, start, end, clock)
    return [(stem, Note(p, on, off - on, v)) for on, off in strikes(start, end, clock, rhythm) for stem, p, v in played]


def strikes(start: float, end: float, clock: beat.Clock, rhythm: str) -> list[tuple[float, float]]:
    """When a chord sounding from ``start`` to ``end`` (seconds) is struck, as (onset, release)
    pairs: "held" once; "beat" again on each of ``clock``'s beats (the sung ones, ``song.mid``'s)
    clear of both ends."""
    if flags.check_choice("rhythm", rhythm, RHYTHMS) == "held":
        return [(start, end)]
    edges = [start, *clock.between(start, end, CLEAR_OF_EDGES), end]
    return list(zip(edges[:-1], edges[1:], strict=False))


def arpeggio(played: list[tuple[str, int, int]], start: float, end: float, clock: beat.Clock) -> list[tuple[str, Note]]:
    """A chord broken as a pianist's hands break it: the bass struck with the chord and held through
    it, the upper notes one at a time from ``start`` and on each of ``clock``'s half beats clear of
    both ends, low to high and back down, each ringing until it is picked again or the chord ends."""
    bass = [(stem, pitch, velocity) for stem, pitch, velocity in played if stem == "bass"]
    upper = sorted((note for note in played if note[0] != "bass"), key=lambda note: note[1])
    broken = struck(bass, start, end, clock, "held")
    if not upper:
        return broken
    times = [start, *map(float, clock.between(start, end, CLEAR_OF_EDGES, per_beat=2))]
    order = [*range(len(upper)), *range(len(upper) - 2, 0, -1)]  # 0 1 2 1 0 1 2 1 ... for three
    picks = [order[index % len(order)] for index in range(len(times))]
    for index, (time, pick) in enumerate(zip(times, picks, strict=True)):
        again = next((times[later] for later in range(index + 1, len(times)) if picks[later] == pick), end)
        stem, pitch, velocity = upper[pick]
        broken.append((stem, Note(pitch, time, again - time, velocity)))
    return broken


def play(score: Score, vocal: np.ndarray, sample_rate: int, soundfont: str, instrument: str) -> dict[str, np.ndarray]:
    """A ``chord_score``'s chords (not its melody) played by ``instrument`` and its drums
    (``trainer/drums.py``; silent when it has none), each a mono waveform as long as ``vocal``
    (mono, the take at ``sample_rate``): ``"chords"`` at the vocal's RMS plus ``CHORD_LEVEL_DB``,
    ``"drums"`` plus ``DRUMS_LEVEL_DB``, each levelled on its own so that a kit does not move the
    chords' level."""
    seconds = len(vocal) / sample_rate + 1.0
    options = render.RenderOptions(soundfont=soundfont, sample_rate=sample_rate, velocity_jitter=0, max_seconds=seconds)
    silent_melody = dataclasses.replace(score, parts={**score.parts, "vocals": ()})
    stems = render.render(silent_melody, arrangement(instrument), options)
    pitched = stems["bass"].astype(np.float64) + stems["other"]
    return {
        CHORDS_STEM: _at_level(pitched, vocal, CHORD_LEVEL_DB).astype(np.float32),
        DRUMS_STEM: _at_level(stems["drums"], vocal, DRUMS_LEVEL_DB).astype(np.float32),
    }


def _at_level(played: np.ndarray, vocal: np.ndarray, level_db: float) -> np.ndarray:
    """``played`` cut or padded to ``vocal``'s length, its RMS ``level_db`` from the vocal's (silence stays silent)."""
    played = np.pad(played.astype(np.float64), (0, max(0, len(vocal) - len(played))))[: len(vocal)]
    if not played.any():
        return played
    return played * 10 ** ((audio.rms_db(vocal) - audio.rms_db(played) + level_db) / 20)


def symbols(score: Score) -> list[tuple[float, str]]:
    """A ``chord_score``'s chord chart: (onset in the score's time, chord symbol) wherever
    the symbol changes (``vocals2song/chord_names.py``, spelt in the key its notes fit best, the
    sung note counted where it completes the chord), each bass note named with the upper notes
    struck while it sounds (all of a broken chord's), and ``NO_CHORD_SYMBOL`` where none sounds for
    ``NO_CHORD_SECONDS`` or more before the song's end; a chord struck again is not a change."""
    upper = sorted(score.parts["other"], key=lambda note: note.start)
    onsets = [note.start for note in upper]
    names = chord_names.spelling(_durations(score))
    sung = sorted(score.parts["vocals"], key=lambda note: note.start)
    starts = [note.start for note in sung]
    named = []
    for note in sorted(score.parts["bass"], key=lambda note: note.start):
        at = bisect.bisect_right(starts, note.start) - 1  # the sung note sounding (or last sung)
        melody = sung[at].pitch if at >= 0 else None
        first, last = (bisect.bisect_left(onsets, at - 1e-9) for at in (note.start, note.start + note.duration))
        named.append((note.start, chord_names.name(note.pitch, {n.pitch for n in upper[first:last]}, names, melody)))
    named = sorted(named + _silences(score))
    return [(start, name) for index, (start, name) in enumerate(named) if index == 0 or name != named[index - 1][1]]


def _silences(score: Score) -> list[tuple[float, str]]:
    """(start, ``NO_CHORD_SYMBOL``) for each stretch of ``NO_CHORD_SECONDS`` or more after a bass note
    and before the next one (or the last sung note's end) that no bass note sounds in."""
    bass = sorted((note.start, note.start + note.duration) for note in score.parts["bass"])
    if not bass:
        return []
    ends = np.maximum.accumulate([end for _, end in bass])
    nexts = [start for start, _ in bass[1:]] + [_end(score.parts["vocals"])]
    gaps = zip(ends, nexts, strict=True)
    return [(float(end), NO_CHORD_SYMBOL) for end, following in gaps if following - end >= NO_CHORD_SECONDS]


def write_midi(score: Score, tuning: float, path: str, instrument: str) -> None:
    """A ``chord_score`` (times in seconds) as a MIDI file: melody, bass and chords on their own
    tracks (the chords' with ``instrument``'s programs; a kit on channel 10 when it has drums),
    its beats pinned to the sung ones and its bar lines where the sung meter puts them
    (``timeline``), so that a sequencer's grid follows the singer, bent by the take's ``tuning`` in
    semitones so that it sounds with the voice, its key signature the key its notes fit
    (``chord_names.key_name``); and the chord chart (``symbols``) as markers on a track of its
    own. Every note keeps its time in seconds whatever the tempo."""
    clock, meters, _ = timeline(score)
    markers = tuple((clock.beats(start), name) for start, name in symbols(score))
    notation = render.Notation(meters, chord_names.key_name(_durations(score)))
    tuned = dataclasses.replace(score, bends=tuned_bends(score.bends, tuning))
    render.score_midi(warped(tuned, clock.beats), arrangement(instrument), path, markers, clock.tempi(), notation)


def tuned_bends(bends: tuple[tuple[float, float], ...], tuning: float) -> tuple[tuple[float, float], ...]:
    """A score's ``bends`` (its drift) with the take's ``tuning`` (its offset from A = 440 Hz)
    added: where a MIDI file's pitch wheel goes, from the start."""
    if not bends:
        return ((0.0, tuning),) if tuning else ()
    return tuple((time, round(tuning + semitones, 3)) for time, semitones in bends)


def _durations(score: Score) -> np.ndarray:
    """How long each pitch class sounds in the melody and in the bass, each part's share counting
    alike: what a ``chord_score``'s key is read from. The outer parts name the key; counting the
    upper notes too, which hedge among the likely classes, read 62% of the dev chorales' keys right
    against 81% from these two (docs/model-notes.md, "Bar lines")."""
    durations = np.zeros(SEMITONES)
    for part in (score.parts["vocals"], score.parts["bass"]):
        counted = np.zeros(SEMITONES)
        for note in part:
            counted[note.pitch % SEMITONES] += note.duration
        durations += counted / max(counted.sum(), 1e-9)
    return durations


def timeline(score: Score) -> tuple[beat.Clock, tuple[tuple[int, int], ...], float]:
    """A ``chord_score``'s beats and bars in a file: a clock pinned to the sung beats
    (``beat.follow``: a lead beat before the first, then the tempo the singer takes from
    beat to beat), the time signatures of the meter ``meter.find`` reads off the sung notes, its
    first downbeat on a bar line, and the sung beat's period at one tempo (``beat.beat_seconds``), in
    seconds, that both counted in. A chart's meter and pickup (``Score.charted``) stand where it
    gives them: the pickup counted in sung beats from the first sung note, as ``pickup`` counts it."""
    sung = score.parts["vocals"]
    onsets, lengths = np.array([note.start for note in sung]), np.array([note.duration for note in sung])
    period = beat.beat_seconds(onsets)
    clock = beat.follow(onsets, period)
    beats, pickup = score.charted
    found = meter.find(onsets, lengths, period, beats)
    downbeat = clock.beats(found.downbeat if pickup is None else float(onsets[0]) + pickup * period)
    return clock, meter.signatures(found, round(downbeat)), period


def _bars(score: Score) -> tuple[beat.Clock, list[float]]:
    """A ``chord_score``'s clock and the beats its bars start on, to the bar its last sung note ends in."""
    clock, starts, _ = bar_grid(score.parts["vocals"], score.charted)
    return clock, starts


def bar_lines(score: Score) -> list[float]:
    """When each bar of a ``chord_score`` starts, in seconds into the take."""
    clock, starts = _bars(score)
    return [clock.seconds(first) for first in starts]


def bar_chart(score: Score) -> tuple[str, ...]:
    """A ``chord_score``'s chord chart a bar at a time, as a lead sheet writes it: from the bar of
    the first sung note (the first a ``chart`` reads), each bar the chord sounding at its first
    beat, then every change within it ("C", "F G7"), or "-" for a bar without one (so a lead
    sheet always has bars to read back)."""
    clock, starts = _bars(score)
    starts = starts[bar_of(clock, starts, min(note.start for note in score.parts["vocals"])) :]
    changes = [(round(clock.beats(start) * 2) / 2, name) for start, name in symbols(score)]
    bars, sounding = [], None
    for first, end in zip(starts, (*starts[1:], np.inf), strict=True):
        inside = [name for at, name in changes if first <= at < end]
        opening = [sounding] if sounding and not any(at == first for at, _ in changes) else []
        bars.append(" ".join(opening + inside) or "-")
        sounding = inside[-1] if inside else sounding
    return tuple(bars)


def lead_sheet(score: Score, tuning: float = 0.0) -> str:
    """A ``chord_score``'s chart as text a guitarist reads: a line naming the key, the meter, the
    pickup (``pickup``), the sung tempo and, off A = 440 Hz, where the take's A is
    (``concert_pitch``; ``tuning`` as ``Song.tuning``), then ``bar_chart``'s bars, ``BARS_A_LINE``
    to a line ("| C | F G7 | C |"): what ``trainer/chart.py`` reads back."""
    _, meters, period = timeline(score)
    durations = _durations(score)
    key = chord_names.key(durations)
    key_text = f"{chord_names.spelling(durations)[key[0]]} {'minor' if key[1] else 'major'}" if key else "no key"
    pitch = concert_pitch(score, tuning)
    head = f"{key_text}, {meters[-1][1]}/4, {pickup(score)}, {60.0 / period:.0f} beats a minute"
    head += f", {pitch}" if pitch else ""
    bars = bar_chart(score)
    lines = [" | ".join(bars[first : first + BARS_A_LINE]) for first in range(0, len(bars), BARS_A_LINE)]
    return "\n".join([head, *(f"| {line} |" for line in lines)]) + "\n"


def pickup(score: Score) -> str:
    """How many beats of a ``chord_score`` are sung before its first downbeat, as a lead sheet says
    it ("pickup of 1 beat", "pickup of 1.5 beats", "no pickup"): sung beats (``timeline``'s
    period), to the half beat: the file's lead beat may be shorter or longer than a sung one."""
    clock, meters, period = timeline(score)
    first = min(note.start for note in score.parts["vocals"])
    downbeat, length = meters[-1]  # the meter's bars: from this beat on (a lead's short bar before it)
    bar = downbeat + length * np.ceil((clock.beats(first) - downbeat) / length - 1e-6)  # the first at or after it
    beats = round(2 * (clock.seconds(bar) - first) / period) / 2
    return f"pickup of {beats:g} beat{'s' if beats != 1 else ''}" if beats else "no pickup"


def concert_pitch(score: Score, tuning: float) -> str | None:
    """Where a take's A is, for an instrument that joins in: "A = 448 Hz" for a take ``tuning``
    semitones off A = 440 Hz (``Song.tuning``), "A = 448 Hz falling to 431 Hz" for one that drifts
    (the ``chord_score``'s ``bends``); None at 440 throughout."""
    drift = [semitones for _, semitones in score.bends] or [0.0]
    first, last = (round(CONCERT_A * 2.0 ** ((tuning + semitones) / SEMITONES)) for semitones in (drift[0], drift[-1]))
    if first == last:
        return None if first == CONCERT_A else f"A = {first} Hz"
    return f"A = {first} Hz {'falling' if last < first else 'rising'} to {last} Hz"
