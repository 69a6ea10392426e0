"""A sung melody as notes: monophonic transcription from a magnitude STFT.

The note-level harmoniser (``trainer/harmoniser.py``) predicts the accompaniment's pitch
classes per melody note, as a harmony is chosen under each note of a score; from audio it
needs those notes. A solo vocal is one harmonic voice, so a harmonic sum over candidate
pitches, median-smoothed and cut into runs of one pitch, finds them well enough (on the dev
chorales' vocals 92% of frames get the score's pitch, 94% its pitch class; docs/model-notes.md).
Singers are rarely at A = 440 Hz: the take's own tuning is measured first and the candidate
pitches moved with it (a take 45 cents sharp otherwise splits into a note per wobble).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import median_filter

SEMITONES = 12
"""Pitch classes in an octave."""
IN_TUNE = 0.15
"""Estimated tunings this close to A = 440 Hz (semitones) count as 440: the estimate errs by up to
0.13 on the dev chorales' vocals, rendered at 440, and by 0.05 on the tests' synthetic line. A
take 0.2 off is still transcribed right (97-99% of frames); 0.45 off, without the correction,
splits into up to four times its notes (docs/model-notes.md)."""
LOWEST, HIGHEST = 40, 90
"""MIDI pitches searched: E2 to F#6, a bass's low E to a soprano's high notes."""
HARMONICS = 6
HARMONIC_DECAY = 0.85
"""Weight of harmonic h is HARMONIC_DECAY**(h-1): the fundamental counts most, so a pitch an
octave below (whose even harmonics are the true ones) does not win."""
VOICED_DB = -45.0
"""Frames more than this far below the take's loudest frame are rests ..."""
SILENT_DB = -10.0
"""... and so are frames under this level (power summed over bins in dB: about -70 dB below a
full-scale sine's frame with this project's unnormalised STFT), so digital silence has no notes."""
SMOOTH_FRAMES = 7
MIN_FRAMES = 4
"""Runs shorter than this (93 ms at a 1024 hop) are glides or vibrato, not notes."""
ONSET_DB = 12.0
ONSET_FRAMES = 3
"""A rise in level of ``ONSET_DB`` over ``ONSET_FRAMES`` frames inside a run of one pitch starts a
new note (a repeated note)."""


@dataclasses.dataclass(frozen=True)
class MelodyNote:
    pitch: int  # MIDI note number
    first: int  # first STFT frame
    end: int  # one past the last frame

    @property
    def frames(self) -> int:
        return self.end - self.first


def tuning(magnitude: np.ndarray, sample_rate: int, n_fft: int) -> float:
    """A take's offset from A = 440 Hz in semitones, in [-0.5, 0.5): librosa's estimate from the
    peaks of its ``(bins, frames)`` magnitude STFT, 0 within ``IN_TUNE`` of 440 and for silence."""
    import librosa

    if not magnitude.any():
        return 0.0
    offset = float(librosa.estimate_tuning(S=magnitude, sr=sample_rate, n_fft=n_fft))
    return offset if abs(offset) > IN_TUNE else 0.0


def pitch_track(
    magnitude: np.ndarray, sample_rate: int, n_fft: int, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(bins, frames)`` magnitude -> (MIDI pitch per frame, -1 in rests; level per frame in
    dB), the candidates tuned ``offset`` semitones from A = 440 Hz. Each candidate scores the
    sum of its harmonics' levels above the frame's median bin, so harmonics that are absent (a
    wrong octave's odd ones) count against it."""
    bins = magnitude.shape[0]
    db = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
    above = db - np.median(db, axis=0, keepdims=True)
    candidates = np.arange(LOWEST, HIGHEST + 1)
    f0 = 440.0 * 2.0 ** ((candidates + offset - 69) / SEMITONES)
    salience = np.zeros((len(candidates), magnitude.shape[1]))
    for harmonic in range(1, HARMONICS + 1):
        index = np.round(harmonic * f0 * n_fft / sample_rate).astype(int)
        inside = index < bins
        salience[inside] += HARMONIC_DECAY ** (harmonic - 1) * above[index[inside]]
    level = 10.0 * np.log10(np.sum(np.square(magnitude, dtype=np.float64), axis=0) + 1e-20)
    pitch = candidates[np.argmax(salience, axis=0)]
    return np.where(level > max(level.max() + VOICED_DB, SILENT_DB), pitch, -1), level


def notes_from_track(pitch: np.ndarray, level: np.ndarray) -> list[MelodyNote]:
    """Per-frame pitch (-1 in rests) -> notes: runs of one smoothed pitch, split where the
    level jumps by ``ONSET_DB`` within ``ONSET_FRAMES`` (a repeated note); short runs dropped."""
    smooth = median_filter(pitch, SMOOTH_FRAMES, mode="nearest")
    notes, start = [], 0
    for frame in range(1, len(smooth) + 1):
        ends = frame == len(smooth) or smooth[frame] != smooth[frame - 1]
        if not ends and level[frame] - level[max(frame - ONSET_FRAMES, 0) : frame].min() > ONSET_DB:
            ends = True
        if ends:
            if smooth[start] >= 0 and frame - start >= MIN_FRAMES:
                notes.append(MelodyNote(int(smooth[start]), start, frame))
            start = frame
    return notes


def transcribe(magnitude: np.ndarray, sample_rate: int, n_fft: int, offset: float = 0.0) -> list[MelodyNote]:
    """``(bins, frames)`` magnitude STFT of a solo vocal sung ``offset`` semitones from A = 440 Hz
    (``tuning``) -> its notes, pitches named as if it were at 440."""
    return notes_from_track(*pitch_track(magnitude, sample_rate, n_fft, offset))
