"""A score -> one track in MUSDB18-HQ layout, synthesised with FluidSynth and a GM soundfont.

Each stem is rendered on its own (one MIDI file, one FluidSynth run, reverb and chorus off,
so nothing of one stem leaks into another), downmixed to mono, padded to a common length
and scaled by one common gain; the stems are then stored on 16-bit steps and the
mixture is their sum, so ``mixture == vocals + drums + bass + other`` holds
exactly in the files. What music needs varied is drawn per score and transposition from a
seeded generator (SHA-256 of seed, name and key index), so a rerun writes the same audio:
transposition, tempo, a General MIDI program per stem from a family that suits it, and
note velocities.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING

import numpy as np
import soundfile

from vocals2song import audio, storage, synth
from vocals2song.config import MUSDB_RATE
from vocals2song.scores import DRUM_CHANNEL, STEM_PARTS, Note, Score

if TYPE_CHECKING:
    import mido

SOUNDFONT_DIR = "/usr/share/sounds/sf2"
TRAIN_SOUNDFONT = f"{SOUNDFONT_DIR}/FluidR3_GM.sf2"
DEV_SOUNDFONT = f"{SOUNDFONT_DIR}/TimGM6mb.sf2"
RESERVED_SOUNDFONT = "MuseScore_General"
"""Soundfonts whose file name holds this are reserved for independent evaluation."""
PROGRAMS = {
    "vocals": (52, 53, 54),  # choir aahs, voice oohs, synth voice: voice-like sustained tones
    "bass": (32, 33, 42, 43, 70),  # acoustic and finger bass, cello, contrabass, bassoon
    "other": (0, 4, 19, 24, 48, 49, 68, 71),  # pianos, organ, guitar, strings, oboe, clarinet
}
SHIFTS = tuple(range(-5, 7))  # twelve transpositions, one per key, none further than a fourth
STEMS = (*STEM_PARTS, "mixture")
"""The files of a rendered track (MUSDB18-HQ's)."""
TICKS = 480
ALL_NOTES_OFF = 123
"""The MIDI controller that releases every note of a channel: each track ends with it, so that no
note left sounding keeps FluidSynth rendering past the file's end."""


class RenderError(RuntimeError):
    """FluidSynth could not render a score; the message names the score and the reason."""


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """How scores become audio.

    Attributes:
      soundfont: a General MIDI .sf2 file.
      sample_rate: Hz of the written stems.
      keys: transpositions per score (distinct, drawn from the twelve in ``SHIFTS``).
      tempo_range: quarter notes per minute, drawn uniformly per track.
      velocity_jitter: +- range of random changes to each note's velocity.
      max_seconds: longer renders are cut here (whole songs from MIDI files can be long).
      seed: decides every random choice.
    """

    soundfont: str = TRAIN_SOUNDFONT
    sample_rate: int = MUSDB_RATE
    keys: int = 1
    tempo_range: tuple[float, float] = (60.0, 96.0)
    velocity_jitter: int = 12
    max_seconds: float = 120.0
    seed: int = 0

    def __post_init__(self) -> None:
        if RESERVED_SOUNDFONT.lower() in os.path.basename(self.soundfont).lower():
            raise ValueError(f"{self.soundfont}: the MuseScore General soundfonts are reserved for evaluation")
        if not 1 <= self.keys <= len(SHIFTS):
            raise ValueError(f"--keys must be 1 to {len(SHIFTS)}, got {self.keys}")
        low, high = self.tempo_range
        if not 0 < low <= high:
            raise ValueError(f"tempo range must be positive and ordered, got {self.tempo_range}")


@dataclasses.dataclass(frozen=True)
class Arrangement:
    """The random choices for one rendered track."""

    name: str  # the track folder: score name and transposition
    shift: int  # semitones
    tempo: float  # quarter notes per minute
    programs: dict[str, int]  # stem -> General MIDI program (drums: channel 10's kit)
    seed: int  # for velocities


def _random(*parts: object) -> random.Random:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def arrangements(score: Score, options: RenderOptions) -> list[Arrangement]:
    """``options.keys`` arrangements of ``score`` with distinct transpositions."""
    shifts = _random(options.seed, score.name, "keys").sample(SHIFTS, options.keys)
    result = []
    for shift in shifts:
        rng = _random(options.seed, score.name, shift)
        result.append(
            Arrangement(
                name=f"{score.name} {shift:+d}",
                shift=shift,
                tempo=round(rng.uniform(*options.tempo_range), 1),
                programs={stem: rng.choice(programs) for stem, programs in PROGRAMS.items()},
                seed=rng.getrandbits(32),
            )
        )
    return result


@dataclasses.dataclass(frozen=True)
class Notation:
    """How a written file is notated: ``meters`` ((beat, quarter notes to a bar), the first at
    beat 0) and ``key`` (mido's key names: "Db", "F#m"); none written when empty."""

    meters: tuple[tuple[int, int], ...] = ()
    key: str | None = None

    def events(self) -> list[tuple[int, int, mido.MetaMessage]]:
        """The signatures as (tick, order, message) events, before anything else on their tick."""
        import mido

        signatures = [
            (beat * TICKS, -2, mido.MetaMessage("time_signature", numerator=beats, denominator=4))
            for beat, beats in self.meters
        ]
        return signatures + ([(0, -3, mido.MetaMessage("key_signature", key=self.key))] if self.key else [])


def midi_file(
    notes: tuple[Note, ...],
    stem: str,
    arrangement: Arrangement,
    jitter: int,
    path: str,
    bends: tuple[tuple[float, float], ...] = (),
) -> None:
    """Writes one stem's notes as a one-track MIDI file, transposed, at the arrangement's tempo,
    following ``bends`` (``Score.bends``)."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=TICKS)
    midi.tracks.append(midi_track(notes, stem, arrangement, jitter, channel=0, bends=bends))
    midi.save(path)


def midi_track(
    notes: tuple[Note, ...],
    stem: str,
    arrangement: Arrangement,
    jitter: int,
    channel: int,
    tempi: tuple[tuple[float, float], ...] = (),
    notation: Notation = Notation(),
    bends: tuple[tuple[float, float], ...] = (),
) -> mido.MidiTrack:
    """One stem's notes as a ``mido.MidiTrack`` on ``channel`` (drums on channel 10 whatever it
    says), transposed, at the arrangement's tempo or along ``tempi`` ((beat, beats a minute),
    the first at beat 0), with ``notation``'s time and key signatures, bent by each of ``bends``
    ((beat, semitones within GM's default range of +-2): ``Score.bends``) from its beat on."""
    import mido

    drums = stem == "drums"
    channel = DRUM_CHANNEL if drums else channel
    rng = _random(arrangement.seed, stem)
    events = _tempo_changes(tempi) + notation.events()
    for note in notes:
        pitch = note.pitch if drums else note.pitch + arrangement.shift
        if not 0 <= pitch <= 127 or note.duration <= 0:
            continue
        velocity = min(127, max(1, note.velocity + rng.randint(-jitter, jitter)))
        start, end = round(note.start * TICKS), round((note.start + note.duration) * TICKS)
        if end <= start:  # its off would sort before its on and never end it (FluidSynth would render on)
            continue
        events.append((start, 1, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
        events.append((end, 0, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    last = max((tick for tick, _, _ in events), default=0)
    events.append((last, 2, mido.Message("control_change", control=ALL_NOTES_OFF, value=0, channel=channel)))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempi[0][1] if tempi else arrangement.tempo)))
    if not drums:
        track.append(mido.Message("program_change", program=arrangement.programs[stem], channel=channel))
        events += [
            (round(beat * TICKS), -1, mido.Message("pitchwheel", pitch=_wheel(semitones), channel=channel))
            for beat, semitones in bends
        ]
    return _timed(track, events)


def _wheel(semitones: float) -> int:
    """A pitch wheel position for a bend in semitones, in GM's default range of +-2."""
    return max(-8192, min(8191, round(semitones / 2 * 8191)))


def _tempo_changes(tempi: tuple[tuple[float, float], ...]) -> list[tuple[int, int, mido.MetaMessage]]:
    """``tempi`` after the first (which opens a track) as (tick, order, message) events; a change
    comes before the notes that end or start on its tick."""
    import mido

    return [
        (round(beat * TICKS), -1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for beat, bpm in tempi[1:]
    ]


def _timed(track: mido.MidiTrack, events: list[tuple[int, int, object]]) -> mido.MidiTrack:
    """``track`` with (tick, order, message) ``events`` appended in time, then order (offs before
    ons at a tick), as delta times."""
    now = 0
    for tick, _, message in sorted(events, key=lambda event: (event[0], event[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def score_midi(
    score: Score,
    arrangement: Arrangement,
    path: str,
    markers: tuple[tuple[float, str], ...] = (),
    tempi: tuple[tuple[float, float], ...] = (),
    notation: Notation = Notation(),
) -> None:
    """A score (in beats) as one MIDI file (type 1) a musician can open: a track and a channel
    per stem that has notes, each with the arrangement's program, at its tempo or along ``tempi``
    and with ``notation`` (every track holds the same map and signatures), every channel following
    the score's ``bends``; and ``markers`` ((beat, text), e.g. chord symbols) on a last track named
    "chords". Local or gs://."""
    import fsspec
    import mido

    tempi = tempi or ((0.0, arrangement.tempo),)
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    for channel, stem in enumerate(stem for stem in STEM_PARTS if score.parts.get(stem)):
        track = midi_track(score.parts[stem], stem, arrangement, 0, channel, tempi, notation, score.bends)
        midi.tracks.append(track)
        midi.tracks[-1].insert(0, mido.MetaMessage("track_name", name=stem))
    if markers:
        midi.tracks.append(marker_track(markers, tempi, notation))
    storage.ensure_parent(path)
    with fsspec.open(path, "wb") as handle:
        midi.save(file=handle)


def marker_track(
    markers: tuple[tuple[float, str], ...],
    tempi: tuple[tuple[float, float], ...],
    notation: Notation = Notation(),
) -> mido.MidiTrack:
    """A track named "chords" holding only ``markers`` ((beat, text)) along ``tempi``, with ``notation``."""
    import mido

    track = mido.MidiTrack([mido.MetaMessage("track_name", name="chords")])
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempi[0][1])))
    events = [(round(beats * TICKS), 0, mido.MetaMessage("marker", text=text)) for beats, text in markers]
    return _timed(track, _tempo_changes(tempi) + notation.events() + events)


def can_render(soundfont: str) -> bool:
    """Whether FluidSynth and ``soundfont`` are on this machine (what ``synthesize`` needs)."""
    return shutil.which("fluidsynth") is not None and os.path.isfile(soundfont)


def synthesize(midi_path: str, options: RenderOptions, label: str) -> np.ndarray:
    """FluidSynth's offline render of one MIDI file -> mono float32 samples."""
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise RenderError("fluidsynth is not installed (Debian: apt-get install fluidsynth)")
    wav = midi_path + ".wav"
    command = [binary, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(options.sample_rate)]
    command += ["-O", "float", "-T", "wav", "-F", wav, options.soundfont, midi_path]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0 or not os.path.exists(wav):
        raise RenderError(f"{label}: fluidsynth failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
    samples, _ = soundfile.read(wav, dtype="float32", always_2d=True)
    return samples.mean(axis=1)


def render(score: Score, arrangement: Arrangement, options: RenderOptions) -> dict[str, np.ndarray]:
    """The stems of one arrangement as mono arrays of equal length on 16-bit steps, plus
    ``mixture``, their exact sum (``synth.quantise_mix``). Empty parts (a chorale has no
    drums) are silence."""
    if not os.path.isfile(options.soundfont):
        raise RenderError(f"{options.soundfont}: soundfont not found (Debian: fluid-soundfont-gm)")
    parts = [stem for stem in STEM_PARTS if score.parts[stem]]
    with tempfile.TemporaryDirectory(prefix="vocals2song-render-") as scratch:
        paths = {stem: os.path.join(scratch, f"{stem}.mid") for stem in parts}
        for stem, path in paths.items():
            midi_file(score.parts[stem], stem, arrangement, options.velocity_jitter, path, score.bends)
        # One FluidSynth process per stem, side by side: each spends most of its time loading the
        # soundfont on one core.
        with concurrent.futures.ThreadPoolExecutor(max(1, len(parts))) as pool:
            labels = {stem: f"{arrangement.name} ({stem})" for stem in parts}
            done = {stem: pool.submit(synthesize, paths[stem], options, labels[stem]) for stem in parts}
            rendered = {stem: future.result() for stem, future in done.items()}
    length = min(max(len(samples) for samples in rendered.values()), int(options.max_seconds * options.sample_rate))
    stems = {stem: np.zeros(length, np.float32) for stem in STEM_PARTS}
    for stem, samples in rendered.items():
        stems[stem][: min(length, len(samples))] = samples[:length]
    if not any(samples.any() for samples in stems.values()):
        raise RenderError(f"{arrangement.name}: the render is silent")
    mixed = synth.quantise_mix({stem: samples[np.newaxis] for stem, samples in stems.items()})
    return {stem: samples[0] for stem, samples in mixed.items()}


def write_track(folder: str, stems: dict[str, np.ndarray], sample_rate: int) -> None:
    """Writes ``folder/<stem>.wav`` for every stem (16-bit PCM, as MUSDB18-HQ)."""
    for stem, samples in stems.items():
        audio.write(storage.join(folder, f"{stem}.wav"), samples[np.newaxis], sample_rate)
