"""A synthetic data set in MUSDB18-HQ layout, for tests and the demo.

Each track is a small song: a key, a tempo and a four-chord progression; a sung-like vocal
(harmonic voice with vibrato and vowel formants, phrases with rests) whose notes are chord
tones of the bar; a bass on the chord root; a chord pad and an instrument doubling the
melody an octave below ("other"); and a drum beat. The
accompaniment therefore follows the vocal musically, so a vocal->song model has something
real to learn. Pure numpy, deterministic for a seed, about 0.3 s per 30 s track.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import librosa
import numpy as np

from vocals2song import audio, chord_names
from vocals2song.config import MUSDB_RATE, SOURCES

SAMPLE_RATE = MUSDB_RATE

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 4), (0, 5, 1, 4))
VOWEL_FORMANTS = ((800, 1150, 2900), (400, 1600, 2700), (350, 600, 2700), (270, 2140, 2950))

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Song:
    """The musical plan of one track: key, mode, tempo and chord progression."""

    tonic: int  # MIDI note of the key's tonic, around C3..B3
    scale: tuple[int, ...]
    bpm: float
    progression: tuple[int, ...]  # scale degrees, one chord per bar

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm

    def chord(self, bar: int) -> list[int]:
        """MIDI notes (root position triad) of the chord in ``bar``."""
        degree = self.progression[bar % len(self.progression)]
        return [self.tonic + self.scale[(degree + step) % 7] + 12 * ((degree + step) // 7) for step in (0, 2, 4)]

    @property
    def title(self) -> str:
        mode = "major" if self.scale == MAJOR else "minor"
        return f"{chord_names.SHARPS[self.tonic % 12]} {mode} at {self.bpm:.0f} bpm"


def _envelope(n: int, attack: float, release: float, decay: float | None = None) -> np.ndarray:
    """Attack/release envelope (seconds); with ``decay`` an exponential decay after the attack."""
    t = np.arange(n) / SAMPLE_RATE
    env = np.minimum(1.0, t / max(attack, 1e-4))
    env *= np.clip((n / SAMPLE_RATE - t) / max(release, 1e-4), 0.0, 1.0)
    if decay is not None:
        env *= np.exp(-t / decay)
    return env


def _harmonic_tone(freq: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """Sum of harmonics of an instantaneous frequency track ``freq`` (Hz per sample); harmonics
    quieter than -40 dB or above Nyquist are left out."""
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    out = np.zeros_like(phase)
    for k, amplitude in enumerate(amplitudes, start=1):
        if amplitude >= 0.01 and k * float(freq.max()) < SAMPLE_RATE / 2 - 1000:
            out += amplitude * np.sin(k * phase)
    return out


def _add(track: np.ndarray, start: int, note: np.ndarray) -> None:
    end = min(len(track), start + len(note))
    if end > start:
        track[start:end] += note[: end - start]


def _vocal(song: Song, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A sung-like melody of chord tones in phrases of two bars, with a rest after each,
    and an instrument doubling it an octave below (a string or guitar line in the
    arrangement): (vocal, doubling)."""
    out, doubling = np.zeros(n), np.zeros(n)
    beat = song.beat_seconds
    bar_samples = int(4 * beat * SAMPLE_RATE)
    previous = song.tonic + 12
    for bar in range(n // bar_samples + 1):
        if bar % 3 == 2:  # breathe: one bar of rest after a two-bar phrase
            continue
        candidates = [note + octave for note in song.chord(bar) for octave in (0, 12) if 55 <= note + octave <= 79]
        position = 0.0
        while position < 4.0:
            length = float(rng.choice([0.5, 1.0, 1.0, 1.5, 2.0]))
            length = min(length, 4.0 - position)
            closest = sorted(candidates, key=lambda m: abs(m - previous))
            pitch = closest[min(int(rng.integers(0, 3)), len(closest) - 1)]
            previous = pitch
            count = int(length * beat * SAMPLE_RATE)
            t = np.arange(count) / SAMPLE_RATE
            vibrato = 1 + 0.006 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(1, t / 0.3)
            hz = librosa.midi_to_hz(pitch)
            freq = hz * vibrato
            formants = VOWEL_FORMANTS[int(rng.integers(0, len(VOWEL_FORMANTS)))]
            harmonics = np.arange(1, 25) * hz
            weights = sum(np.exp(-(((harmonics - f) / (0.15 * f)) ** 2)) for f in formants) + 0.3 / np.arange(1, 25)
            tone = _harmonic_tone(freq, weights / weights.max())
            start = int((bar * 4 + position) * beat * SAMPLE_RATE)
            _add(out, start, 0.25 * tone * _envelope(count, 0.04, 0.08))
            line = _harmonic_tone(freq / 2, 1.0 / np.arange(1, 7) ** 1.5)
            _add(doubling, start, 0.12 * line * _envelope(count, 0.08, 0.1))
            position += length
    return out, doubling


def _bass(song: Song, n: int) -> np.ndarray:
    """The chord root two octaves down on every beat; notes are rendered once per root."""
    out = np.zeros(n)
    beat = song.beat_seconds
    count = int(beat * SAMPLE_RATE)
    rendered: dict[int, np.ndarray] = {}
    for index in range(int(n / (beat * SAMPLE_RATE)) + 1):
        root = song.chord(index // 4)[0] - 24
        if root not in rendered:
            tone = _harmonic_tone(np.full(count, librosa.midi_to_hz(root)), 1.0 / np.arange(1, 7) ** 1.5)
            rendered[root] = 0.35 * tone * _envelope(count, 0.005, 0.03, decay=0.6)
        _add(out, int(index * beat * SAMPLE_RATE), rendered[root])
    return out


def _chords(song: Song, n: int) -> np.ndarray:
    """A sustained triad per bar in the voice's register (comping), slightly detuned left/right."""
    out = np.zeros((2, n))
    count = int(4 * song.beat_seconds * SAMPLE_RATE)
    envelope = _envelope(count, 0.15, 0.2)
    rendered: dict[tuple[int, ...], np.ndarray] = {}
    for bar in range(n // count + 1):
        chord = tuple(song.chord(bar))
        if chord not in rendered:
            rendered[chord] = np.stack(
                [
                    sum(
                        _harmonic_tone(np.full(count, hz * detune), 1.0 / np.arange(1, 9) ** 2)
                        for hz in librosa.midi_to_hz(list(chord))
                    )
                    * 0.12
                    * envelope
                    for detune in (0.998, 1.002)
                ]
            )
        for channel in range(2):
            _add(out[channel], bar * count, rendered[chord][channel])
    return out


def _drums(song: Song, n: int, rng: np.random.Generator) -> np.ndarray:
    """Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on every eighth."""
    out = np.zeros((2, n))
    eighth = song.beat_seconds / 2
    kick_n, snare_n, hat_n = int(0.25 * SAMPLE_RATE), int(0.18 * SAMPLE_RATE), int(0.05 * SAMPLE_RATE)
    t = np.arange(kick_n) / SAMPLE_RATE
    kick = np.sin(2 * np.pi * np.cumsum(50 + 90 * np.exp(-t / 0.04)) / SAMPLE_RATE) * np.exp(-t / 0.12)
    for index in range(int(n / (eighth * SAMPLE_RATE)) + 1):
        start = int(index * eighth * SAMPLE_RATE)
        step = index % 8
        if step in (0, 4):
            for channel in range(2):
                _add(out[channel], start, 0.5 * kick)
        if step in (2, 6):
            ts = np.arange(snare_n) / SAMPLE_RATE
            snare = (0.6 * rng.standard_normal(snare_n) + np.sin(2 * np.pi * 185 * ts)) * np.exp(-ts / 0.05)
            for channel in range(2):
                _add(out[channel], start, 0.2 * snare)
        hat = np.diff(rng.standard_normal(hat_n + 1)) * np.exp(-np.arange(hat_n) / SAMPLE_RATE / 0.012)
        _add(out[1], start, 0.05 * hat)
        _add(out[0], start, 0.03 * hat)
    return out


def synth_track(seconds: float, rng: np.random.Generator) -> tuple[Song, dict[str, np.ndarray]]:
    """One track's stems, float32 ``(2, samples)`` each, before quantisation."""
    n = int(round(seconds * SAMPLE_RATE))
    scale = MAJOR if rng.random() < 0.5 else MINOR
    song = Song(
        tonic=int(rng.integers(48, 60)),
        scale=scale,
        bpm=float(rng.integers(90, 131)),
        progression=PROGRESSIONS[int(rng.integers(0, len(PROGRESSIONS)))],
    )
    vocal, doubling = _vocal(song, n, rng)
    bass = _bass(song, n)
    stems = {
        "vocals": np.stack([vocal, vocal]),
        "drums": _drums(song, n, rng),
        "bass": np.stack([bass, bass]),
        "other": _chords(song, n) + doubling,
    }
    return song, {name: stem.astype(np.float32) for name, stem in stems.items()}


def quantise_mix(stems: dict[str, np.ndarray], peak: float = 0.9) -> dict[str, np.ndarray]:
    """Scales all stems by one factor so the mixture peaks at ``peak``, rounds them to PCM16
    steps, and returns them with ``mixture``: the exact sum of the rounded stems, as in
    MUSDB18-HQ (mixture = vocals + drums + bass + other)."""
    mixture = sum(stems.values())
    gain = peak / max(float(np.max(np.abs(mixture))), 1e-9)
    out = {name: np.round(stem * gain * 32768) / 32768 for name, stem in stems.items()}
    out["mixture"] = sum(out[name] for name in SOURCES)
    return {name: stem.astype(np.float32) for name, stem in out.items()}


def write_musdb(root: str, tracks: int, seconds: float, seed: int = 0) -> list[str]:
    """Writes ``root/{train,test}/<Track>/{mixture,vocals,drums,bass,other}.wav``.

    A third of the tracks (at least one when there are two or more) go to ``test``, the
    rest to ``train``, as MUSDB18-HQ splits 100/50. Returns the track folders written.
    """
    if tracks < 1 or seconds <= 0:
        raise ValueError(f"need at least one track of positive length, got {tracks} x {seconds} s")
    test_count = tracks // 3 if tracks >= 3 else (1 if tracks == 2 else 0)
    written = []
    for index in range(tracks):
        rng = np.random.default_rng([seed, index])
        song, stems = synth_track(seconds, rng)
        split = "test" if index >= tracks - test_count else "train"
        folder = os.path.join(root, split, f"Synth {index:03d} - {song.title}")
        os.makedirs(folder, exist_ok=True)
        for name, stem in quantise_mix(stems).items():
            audio.write(os.path.join(folder, f"{name}.wav"), stem, SAMPLE_RATE)
        written.append(folder)
        log.info("wrote %s (%d/%d)", folder, index + 1, tracks)
    return written
