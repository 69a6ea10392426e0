"""Multi-part scores as notes per stem: the input of the render job.

A score here is what rendering needs and no more: for each MUSDB18-HQ stem (``vocals``,
``bass``, ``other``, ``drums``) a list of notes with onsets and durations in quarter notes,
and a name. Two sources:

- music21's bundled Bach chorales (MusicXML): soprano -> vocals, alto and tenor -> other,
  bass -> bass. The last ``RESERVED_BACH`` entries of ``corpus.getComposer("bach")`` are
  kept for an independent evaluation and can never be listed here.
- a folder of MusicXML files (voices named as in a chorale) or MIDI files: the melody (a
  named track, else the highest non-drum track) -> vocals, the lowest -> bass, channel 10
  -> drums, the rest -> other.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable

STEM_PARTS = ("vocals", "bass", "other", "drums")
"""The stems a rendered track has besides the mixture (MUSDB18-HQ's)."""
RESERVED_BACH = 60
"""The last 60 Bach entries of music21's corpus: reserved for independent evaluation."""
DRUM_CHANNEL = 9
CHORALE_VOICES = {"soprano": "vocals", "alto": "other", "tenor": "other", "bass": "bass"}


class ScoreError(ValueError):
    """A score cannot be rendered; the message names the source and the problem."""


@dataclasses.dataclass(frozen=True)
class Note:
    pitch: int  # MIDI note number
    start: float  # quarter notes from the start of the score
    duration: float  # quarter notes
    velocity: int = 80


@dataclasses.dataclass(frozen=True)
class Score:
    name: str
    parts: dict[str, tuple[Note, ...]]  # stem -> notes, stems from STEM_PARTS
    meter: tuple[float, float] | None = None  # (quarters to a bar, quarters to the first downbeat), when written
    bends: tuple[tuple[float, float], ...] = ()  # (quarter, semitones): a tuning every pitched part follows
    charted: tuple[int | None, float | None] = (None, None)  # a played score's beats to a bar and pickup
    # (beats sung before the first downbeat) when its user wrote them in a chord chart; None: read off the melody

    @property
    def quarters(self) -> float:
        """Length in quarter notes (the end of the last note)."""
        return max((n.start + n.duration for notes in self.parts.values() for n in notes), default=0.0)


def stretched(score: Score, factor: float) -> Score:
    """``score`` with every onset and duration multiplied by ``factor``."""
    return warped(score, lambda time: time * factor)


def warped(score: Score, clock: Callable[[float], float]) -> Score:
    """``score`` with every note's onset and end, and every bend, moved to ``clock`` of it (increasing)."""
    return dataclasses.replace(
        score,
        parts={
            stem: tuple(
                dataclasses.replace(n, start=clock(n.start), duration=clock(n.start + n.duration) - clock(n.start))
                for n in notes
            )
            for stem, notes in score.parts.items()
        },
        bends=tuple((clock(time), semitones) for time, semitones in score.bends),
    )


def bach_sources(first: int = 0, last: int | None = None) -> list[str]:
    """Paths of music21's Bach corpus entries ``[first, last)`` of the list without its
    reserved tail; asking for the reserved entries is an error, not a silent cut."""
    from music21 import corpus

    paths = [str(path) for path in corpus.getComposer("bach")]
    allowed = len(paths) - RESERVED_BACH
    last = allowed if last is None else last
    if not 0 <= first <= last <= allowed:
        raise ScoreError(
            f"Bach corpus entries [{first}, {last}) asked for; only [0, {allowed}) may be used: the last "
            f"{RESERVED_BACH} of {len(paths)} are reserved for independent evaluation"
        )
    return paths[first:last]


def score_paths(
    bach: tuple[int, int] | None = None,
    scores_dir: str | None = None,
    every: tuple[int, int] = (1, 0),
    except_every: tuple[int, int] | None = None,
) -> list[str]:
    """Score files in a fixed order: Bach corpus entries ``[first, last)`` or a folder's files;
    ``every`` (n, k) keeps those whose index % n == k (a dev list), ``except_every`` drops them
    (its training complement). The render job and the harmoniser pick their scores here."""
    from vocals2song import storage

    if (bach is None) == (scores_dir is None):
        raise ValueError("give exactly one source: --bach FIRST:LAST or --scores_dir DIR")
    if bach is not None:
        paths = bach_sources(*bach)
    else:
        fs, resolved = storage.filesystem(scores_dir)
        if not fs.isdir(resolved):
            raise FileNotFoundError(f"--scores_dir {scores_dir} does not exist or is not a folder")
        paths = sorted(os.path.join(scores_dir, os.path.basename(p)) for p in fs.ls(resolved, detail=False))
    step, keep = every
    paths = [path for index, path in enumerate(paths) if index % step == keep]
    if except_every:
        step, drop = except_every
        paths = [path for index, path in enumerate(paths) if index % step != drop]
    return paths


def _voice_of(name: str) -> str | None:
    lowered = (name or "").strip().lower()
    return next((voice for voice in CHORALE_VOICES if lowered.startswith(voice)), None)


def read_musicxml(path: str) -> Score:
    """A chorale (parts named Soprano and some of Alto, Tenor, Bass; or exactly four parts
    in that order) -> Score. Ties are merged so a held note sounds once."""
    from music21 import converter

    try:
        parsed = converter.parse(path)
    except Exception as error:  # noqa: BLE001 - music21 raises many kinds; each is this file's problem
        raise ScoreError(f"{path}: cannot be parsed as a score ({type(error).__name__}: {error})") from error
    named = {_voice_of(part.partName): part for part in parsed.parts if _voice_of(part.partName)}
    if len(named) < 4 and len(parsed.parts) == 4:
        named = dict(zip(CHORALE_VOICES, parsed.parts, strict=True))
    if "soprano" not in named or len(named) < 2:
        found = [part.partName for part in parsed.parts]
        raise ScoreError(f"{path}: needs a soprano part and another of alto, tenor, bass; found {found}")
    parts: dict[str, list[Note]] = {}
    for voice, part in named.items():
        notes = parts.setdefault(CHORALE_VOICES[voice], [])
        for element in part.stripTies().flatten().notes:
            for pitch in element.pitches:
                notes.append(Note(int(pitch.midi), float(element.offset), float(element.quarterLength)))
    return dataclasses.replace(_score(_name(path), parts, path), meter=_written_meter(named["soprano"]))


def _written_meter(part) -> tuple[float, float] | None:
    """A music21 part's first time signature as (quarters to a bar, quarters to the first
    downbeat: an upbeat's length, 0 without one); None without a time signature."""
    from music21 import meter

    signature = part.recurse().getElementsByClass(meter.TimeSignature).first()
    measures = list(part.getElementsByClass("Measure"))
    if signature is None or not measures:
        return None
    bar = float(signature.barDuration.quarterLength)
    opening = float(measures[0].duration.quarterLength)
    return bar, opening if opening < bar - 1e-6 else 0.0


def read_midi(path: str, melody_track: str | None = None) -> Score:
    """A multi-track MIDI file -> Score: drums from channel 10, the melody from the track
    named ``melody_track`` (else the highest by mean pitch), the lowest track -> bass."""
    import mido

    try:
        midi = mido.MidiFile(path)
    except Exception as error:  # noqa: BLE001 - mido raises OSError, ValueError, EOFError, ...
        raise ScoreError(f"{path}: not a readable MIDI file ({type(error).__name__}: {error})") from error
    tracks = [(track.name, notes) for track in midi.tracks if (notes := _midi_notes(track, midi.ticks_per_beat))]
    drums = [n for _, notes in tracks for n, channel in notes if channel == DRUM_CHANNEL]
    pitched = [(name, [n for n, channel in notes if channel != DRUM_CHANNEL]) for name, notes in tracks]
    pitched = [(name, notes) for name, notes in pitched if notes]
    if len(pitched) < 2:
        raise ScoreError(f"{path}: needs a melody and at least one other pitched track, found {len(pitched)}")
    by_height = sorted(pitched, key=lambda item: sum(n.pitch for n in item[1]) / len(item[1]))
    melody = next((item for item in pitched if item[0] == melody_track), None) if melody_track else by_height[-1]
    if melody is None:
        raise ScoreError(f"{path}: no track named {melody_track!r} (tracks: {[name for name, _ in pitched]})")
    rest = [item for item in by_height if item is not melody]
    parts = {"vocals": melody[1], "bass": rest[0][1], "other": [n for _, notes in rest[1:] for n in notes]}
    return _score(_name(path), {**parts, "drums": drums}, path)


def _midi_notes(track, ticks_per_beat: int) -> list[tuple[Note, int]]:
    """(note, channel) pairs of one MIDI track; times in quarter notes."""
    now, sounding, notes = 0, {}, []
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[(message.channel, message.note)] = (now, message.velocity)
        elif message.type in ("note_off", "note_on") and (message.channel, message.note) in sounding:
            start, velocity = sounding.pop((message.channel, message.note))
            note = Note(message.note, start / ticks_per_beat, (now - start) / ticks_per_beat, velocity)
            notes.append((note, message.channel))
    return notes


def _name(path: str) -> str:
    """A track folder name from a file name: no extension, no path separators."""
    return re.sub(r"[^\w.+-]+", "_", os.path.splitext(os.path.basename(path))[0])


def _score(name: str, parts: dict[str, list[Note]], path: str) -> Score:
    if not parts.get("vocals"):
        raise ScoreError(f"{path}: the melody part holds no notes")
    ordered = {stem: tuple(sorted(parts.get(stem, ()), key=lambda n: (n.start, n.pitch))) for stem in STEM_PARTS}
    return Score(name, ordered)


def read_score(path: str, melody_track: str | None = None) -> Score:
    """A score from a MusicXML (.mxl, .xml, .musicxml) or MIDI (.mid, .midi) file."""
    extension = os.path.splitext(path)[1].lower()
    if extension in (".mid", ".midi"):
        return read_midi(path, melody_track)
    if extension in (".mxl", ".xml", ".musicxml", ".krn"):
        return read_musicxml(path)
    raise ScoreError(f"{path}: not a score file (MusicXML or MIDI expected, got {extension or 'no extension'})")
