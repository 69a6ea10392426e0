"""A sung melody as notes: monophonic transcription from a magnitude STFT.

The note-level harmoniser (``trainer/harmoniser.py``) predicts the accompaniment's pitch
classes per melody note, as a harmony is chosen under each note of a score; from audio it
needs those notes. A solo vocal is one harmonic voice, so a harmonic sum over candidate
pitches, median-smoothed and cut into runs of one pitch, finds them well enough (on the dev
chorales' vocals 92% of frames get the score's pitch, 94% its pitch class; docs/model-notes.md).
Candidates are at A = 440 Hz; singers rarely are, so ``tuning`` measures how far a take is from
it, and generation resamples the take to 440 first (a take 45 cents sharp otherwise splits into a
note per wobble); a singer without an instrument also drifts over a take, which ``drift``
follows and the candidates with it.
"""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
from scipy.ndimage import median_filter

IN_TUNE = 0.15
"""Estimated tunings this close to A = 440 Hz (semitones) count as 440: the dev chorales' vocals,
rendered at 440, read -0.05 to +0.11 (a soundfont's samples are tuned within about 10 cents), the
tests' synthetic lines within 0.02. A take 0.2 off is still transcribed right (96-99% of frames);
0.45 off, without the correction, splits into up to four times its notes (docs/model-notes.md)."""
CLARITY = 0.25
"""A take's tuning is read only when its frames' distances to a semitone agree at least this much
(the length of their level-weighted mean phasor, 1 when every frame sits at the same distance):
the dev vocals read 0.86-0.97, a line with a +-50-cent vibrato 0.85, a synthetic line whose vibrato
spans two semitones 0.07, where any tuning read would be noise."""
DRIFT_SECONDS = 8.0
"""A take's tuning is followed over windows this long (``drift``): a singer drifts over tens of
seconds, a vibrato cycle or a note's scoop is far shorter."""
DRIFT_MIN = 0.1
"""Semitones: a take whose tuning moves less than this either way around its mean is read as not
drifting (the dev chorales' renders, whose soundfont samples differ by a few cents from note to
note, move up to 0.1), and generation stays as it was for it."""
TUNING_HARMONICS = 4
VIBRATO_FRAMES = 9
"""Frames a pitch is averaged over before its distance to a semitone is taken: about one cycle
of a 5.5 Hz vibrato at a 1024 hop, so a wide vibrato's extremes do not read as a tuning."""
NOTE_CHANGE = 1.5
"""Semitones: neighbouring frames further away than this belong to another note."""
LOWEST, HIGHEST = 40, 90
"""MIDI pitches searched: E2 to F#6, a bass's low E to a soprano's high notes."""
HARMONICS = 6
HARMONIC_DECAY = 0.85
"""Weight of harmonic h is HARMONIC_DECAY**(h-1): the fundamental counts most, so a pitch an
octave below (whose even harmonics are the true ones) does not win."""
SUB_OCTAVE = (0.5, 1.5, 2.5)
"""Multiples of a candidate where the pitch an octave below it has its 1st, 3rd and 5th harmonics:
all three sounding say the candidate is that pitch's 2nd harmonic. A bright voice (a source
falling 6 dB an octave, a singer's formant) has harmonics so even that the octave above scores as
well as the sung pitch: the dev chorales' melodies sung so an octave down (a belted tenor) were
read an octave up on 1.5% of their frames, through a phone's high-pass on 3.4%, and the flips
split them into a fifth more notes (docs/model-notes.md, "Takes sung like a person")."""
SUB_OCTAVE_WEIGHT = 0.25
"""How much the weakest of the three (dB above the frame's median) counts against a candidate ..."""
SUB_OCTAVE_CLOSE_DB, SUB_OCTAVE_CLOSE_WEIGHT = 20.0, 0.5
"""... and how much more it counts for what it comes within ``SUB_OCTAVE_CLOSE_DB`` of the
candidate's own fundamental (a soundfont voice's faint partials below its pitch stay faint)."""
DYNAMIC_RANGE_DB = 60.0
"""Bins more than this below a frame's loudest count as that floor: without it, a clean tone's
window sidelobes (80-200 dB down, far above the frame's median bin) summed over a low
candidate's harmonics outscored its fundamental (a 220 Hz sine read as E2), and on the dev takes
2.9% of sung frames got a wrong pitch where 1.7% do with it (docs/model-notes.md)."""
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
    """A take's offset from A = 440 Hz in semitones, in (-0.5, 0.5], from its ``(bins, frames)``
    magnitude STFT; 0 within ``IN_TUNE`` of 440 and for silence.

    Each voiced frame's fine pitch is averaged over a vibrato cycle first, and the distances of
    those centres to the nearest semitone are averaged on a circle (level-weighted). Why not
    librosa's ``estimate_tuning`` (a histogram of spectral peaks): a vibrato of +-30 cents moved
    its estimate of an in-tune line by a quarter tone; this one stays within 0.02 up to +-80."""
    phasors = _tuning_phasors(magnitude, sample_rate, n_fft)
    if not _clear(phasors):
        return 0.0
    offset = float(np.angle(np.sum(phasors)) / (2 * np.pi))
    return offset if abs(offset) > IN_TUNE else 0.0


def drift(magnitude: np.ndarray, sample_rate: int, n_fft: int, hop_length: int) -> np.ndarray | None:
    """How a take's tuning moves: its offset from A = 440 Hz per frame of its ``(bins, frames)``
    magnitude STFT, in semitones, averaged as ``tuning`` averages but over ``DRIFT_SECONDS``
    around each frame and unwrapped, so a take that goes flat by 0.8 over a minute reads -0.8 at
    its end and not +0.2; None when it moves less than ``DRIFT_MIN`` either way of its mean (or
    has no clear tuning, or is shorter than ``DRIFT_SECONDS``). Singers without an instrument
    drift, mostly flat; the transcriber's candidates and the played chords follow this curve
    (``pitch_track``, ``Score.bends``)."""
    half = round(DRIFT_SECONDS / 2 * sample_rate / hop_length)
    if magnitude.shape[1] < 2 * half:  # too short to drift: the pitch tracker need not run
        return None
    phasors = _tuning_phasors(magnitude, sample_rate, n_fft)
    window = np.hanning(2 * half + 1)
    local = np.convolve(phasors, window)[half : half + len(phasors)]  # centred
    weight = np.convolve(np.abs(phasors), window)[half : half + len(phasors)]
    heard = weight > 1e-12 * max(weight.max(), 1e-30)
    if not heard.any() or np.median(np.abs(local[heard]) / weight[heard]) < CLARITY:
        return None
    frames = np.arange(len(local))
    curve = np.unwrap(np.angle(local[heard])) / (2 * np.pi)
    curve = np.interp(frames, frames[heard], curve - np.round(np.average(curve)))
    return curve if np.abs(curve - np.average(curve)).max() >= DRIFT_MIN else None


def _clear(phasors: np.ndarray) -> bool:
    """Whether ``_tuning_phasors`` agree on a tuning (``CLARITY``); False without a voiced frame."""
    weight = np.abs(phasors).sum()
    return bool(weight > 0 and np.abs(phasors.sum()) >= CLARITY * weight)


def _tuning_phasors(magnitude: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Per frame, the sung pitch's distance to the nearest semitone as a unit phasor (a whole
    semitone round the circle) weighted by the frame's level, 0 in rests: what ``tuning`` and
    ``drift`` average. The pitch is the frame's fine pitch averaged over a vibrato cycle."""
    track, level = pitch_track(magnitude, sample_rate, n_fft)
    centre = _vibrato_centres(fine_pitch(magnitude, track, sample_rate, n_fft))
    voiced = ~np.isnan(centre)
    distance = np.where(voiced, centre - np.round(np.where(voiced, centre, 0.0)), 0.0)
    return np.where(voiced, 10.0 ** (level / 20.0) * np.exp(2j * np.pi * distance), 0.0)


def fine_pitch(magnitude: np.ndarray, track: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    """Real-valued MIDI pitch per frame of ``pitch_track``'s ``track`` (nan in rests): the peak of
    each of the first ``TUNING_HARMONICS`` near where the track puts it, placed between bins by a
    parabola through its log-magnitudes, divided by its number and averaged by magnitude."""
    frames = np.flatnonzero(track >= 0)
    log = np.log(magnitude + 1e-12)
    total, weight = np.zeros(len(frames)), np.zeros(len(frames))
    for harmonic in range(1, TUNING_HARMONICS + 1):
        near = np.round(harmonic * librosa.midi_to_hz(track[frames]) * n_fft / sample_rate)
        window = np.clip(near.astype(int)[:, None] + np.arange(-2, 3), 1, magnitude.shape[0] - 2)
        peak = window[np.arange(len(frames)), np.argmax(magnitude[window, frames[:, None]], axis=1)]
        below, top, above = (log[peak + step, frames] for step in (-1, 0, 1))
        curvature = np.minimum(below - 2 * top + above, -1e-9)
        position = peak + np.clip(0.5 * (below - above) / curvature, -0.5, 0.5)
        midi = librosa.hz_to_midi(position * sample_rate / n_fft / harmonic)
        strength = magnitude[peak, frames] * (near < magnitude.shape[0] - 2)
        total, weight = total + strength * midi, weight + strength
    pitch = np.full(len(track), np.nan)
    pitch[frames] = np.where(weight > 0, total / np.maximum(weight, 1e-30), np.nan)
    return pitch


def _vibrato_centres(pitch: np.ndarray) -> np.ndarray:
    """Each frame's pitch averaged with the voiced frames within ``VIBRATO_FRAMES`` that are
    within ``NOTE_CHANGE`` of it (so the next note does not blend in)."""
    half = VIBRATO_FRAMES // 2
    padded = np.pad(pitch, half, constant_values=np.nan)
    near = np.stack([padded[shift : shift + len(pitch)] for shift in range(VIBRATO_FRAMES)])
    near[~(np.abs(near - pitch) < NOTE_CHANGE)] = np.nan
    centres = np.full(len(pitch), np.nan)
    voiced = ~np.isnan(pitch)
    centres[voiced] = np.nanmean(near[:, voiced], axis=0)
    return centres


def pitch_track(
    magnitude: np.ndarray, sample_rate: int, n_fft: int, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(bins, frames)`` magnitude -> (MIDI pitch per frame, -1 in rests; level per frame in
    dB). Each candidate scores the sum of its harmonics' levels above the frame's median bin,
    so harmonics that are absent (a wrong octave's odd ones) count against it, less what the
    octave below it sounds of its own (``SUB_OCTAVE``: the octave above's error). ``offsets``: the
    take's tuning per frame in semitones (``drift``), which every candidate follows."""
    db = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
    db = np.maximum(db, db.max(axis=0, keepdims=True) - DYNAMIC_RANGE_DB)
    above = db - np.median(db, axis=0, keepdims=True)
    candidates = np.arange(LOWEST, HIGHEST + 1)
    shift = np.zeros(magnitude.shape[1]) if offsets is None else offsets
    f0 = librosa.midi_to_hz(candidates[:, np.newaxis] + shift[np.newaxis])  # (candidates, frames)
    bins = f0 * n_fft / sample_rate
    harmonics = [_above_at(above, h * bins) for h in range(1, HARMONICS + 1)]
    salience = sum(HARMONIC_DECAY**h * reading for h, reading in enumerate(harmonics))
    below = np.maximum(np.min([_above_at(above, m * bins) for m in SUB_OCTAVE], axis=0), 0)
    close = np.maximum(below - (harmonics[0] - SUB_OCTAVE_CLOSE_DB), 0)
    salience = salience - SUB_OCTAVE_WEIGHT * below - SUB_OCTAVE_CLOSE_WEIGHT * close
    level = 10.0 * np.log10(np.sum(np.square(magnitude, dtype=np.float64), axis=0) + 1e-20)
    pitch = candidates[np.argmax(salience, axis=0)]
    return np.where(level > max(level.max() + VOICED_DB, SILENT_DB), pitch, -1), level


def _above_at(above: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """``above`` (bins, frames) read at fractional ``bins`` (candidates, frames), rounded to the
    nearest bin; 0 (the median) past the top bin."""
    index = np.round(bins).astype(int)
    top = above.shape[0]
    return np.where(index < top, above[np.minimum(index, top - 1), np.arange(above.shape[1])], 0)


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


def transcribe(
    magnitude: np.ndarray, sample_rate: int, n_fft: int, offsets: np.ndarray | None = None
) -> list[MelodyNote]:
    """``(bins, frames)`` magnitude STFT of a solo vocal at A = 440 Hz (``tuning`` says how far
    a take is from it), or ``offsets`` from it per frame (``drift``) -> its notes."""
    return notes_from_track(*pitch_track(magnitude, sample_rate, n_fft, offsets))
