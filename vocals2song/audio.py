"""Audio files in and out: local paths and ``gs://`` (through fsspec/gcsfs), soundfile decoding.

tensorflow-io used to do this inside TensorFlow; its ops no longer load on current
TensorFlow, and soundfile (libsndfile) plus librosa's resampler do the same job on numpy.
Waveforms are float32 ``(channels, samples)``.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re

import fsspec
import librosa
import numpy as np
import soundfile

from vocals2song import storage
from vocals2song.config import MUSDB_RATE, SEMITONES


class AudioError(ValueError):
    """An audio file cannot be used; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    frames: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


@dataclasses.dataclass(frozen=True)
class AudioLimits:
    """What a file may hold, checked on its header before it is decoded.

    A header is cheap and a decode is not: a 1 MB FLAC of a constant signal can declare
    8 channels at 192 kHz for ten minutes, 3.6 GB as float32 (11 GB of RSS measured when
    it was decoded unchecked). The defaults suit whole songs (the dataset job); a vocal
    for generation gets ``VOCAL_LIMITS``.

    Attributes:
      max_sample_rate: Hz.
      max_channels: channels in the file.
      max_seconds: duration in seconds.
      max_samples: frames x channels, what the decoded float32 array holds (4 bytes each).
    """

    max_sample_rate: int = 192_000
    max_channels: int = 8
    max_seconds: float = 3600.0
    max_samples: int = 2 * MUSDB_RATE * 1800  # half an hour of stereo at MUSDB18-HQ's rate

    def check(self, header: AudioInfo) -> None:
        """Raises AudioError naming the file and the first limit its header passes."""
        path = header.path
        if header.sample_rate > self.max_sample_rate:
            raise AudioError(
                f"{path}: sample rate {header.sample_rate:,} Hz is over the {self.max_sample_rate:,} Hz limit"
            )
        if header.channels > self.max_channels:
            raise AudioError(f"{path}: {header.channels} channels, over the limit of {self.max_channels}")
        if header.seconds > self.max_seconds:
            raise AudioError(f"{path}: is {header.seconds:.0f} s long, over the {self.max_seconds:.0f} s limit")
        if header.frames * header.channels > self.max_samples:
            raise AudioError(
                f"{path}: {header.frames:,} frames x {header.channels} channels is over the limit of "
                f"{self.max_samples:,} samples ({self.max_samples * 4 / 1e6:.0f} MB decoded)"
            )


def vocal_limits(max_seconds: float = 600.0) -> AudioLimits:
    """Limits for a vocal to generate from (`generate` and the web page): stereo at most,
    96 kHz at most, and as many samples as ``max_seconds`` of 48 kHz stereo."""
    return AudioLimits(
        max_sample_rate=96_000, max_channels=2, max_seconds=max_seconds, max_samples=int(2 * 48_000 * max_seconds)
    )


_TRUNCATED = re.compile(r"data\s*:\s*(\d+)\s*\(should be (\d+)\)")
_STREAMING_SIZES = {0, 0xFFFFFFFF}


def _reason(error: Exception) -> str:
    """libsndfile's own words, without the file object's repr that soundfile adds."""
    return getattr(error, "error_string", None) or str(error)


def _header(handle, path: str) -> AudioInfo:
    """Reads and checks the header: readable, non-empty, not truncated."""
    try:
        header = soundfile.info(handle)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({_reason(error)})") from error
    truncated = _TRUNCATED.search(header.extra_info or "")
    if truncated and int(truncated.group(1)) not in _STREAMING_SIZES:
        declared, present = int(truncated.group(1)), int(truncated.group(2))
        if present < declared:
            raise AudioError(
                f"{path}: truncated, the header declares {declared} bytes of audio, the file holds {present}"
            )
    if header.frames <= 0:
        raise AudioError(f"{path}: holds no samples (zero-length audio)")
    return AudioInfo(path, int(header.samplerate), int(header.frames), int(header.channels))


def _load_bytes(path: str) -> io.BytesIO:
    try:
        with fsspec.open(path, "rb") as handle:
            return io.BytesIO(handle.read())
    except FileNotFoundError as error:
        raise AudioError(f"{path}: file not found") from error


def info(path: str) -> AudioInfo:
    """Header facts of an audio file; raises AudioError if it is unreadable, empty or truncated."""
    try:
        with fsspec.open(path, "rb") as handle:
            return _header(handle, path)
    except FileNotFoundError as error:
        raise AudioError(f"{path}: file not found") from error


def read(path: str, limits: AudioLimits = AudioLimits()) -> tuple[np.ndarray, int]:
    """Decodes a whole file -> (float32 ``(channels, samples)``, sample rate).

    Raises AudioError for unreadable, truncated, empty or non-finite audio, and for a
    header over ``limits`` before anything is decoded or the file's bytes are loaded.
    """
    limits.check(info(path))
    buffer = _load_bytes(path)
    try:
        data, rate = soundfile.read(buffer, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({_reason(error)})") from error
    if not np.all(np.isfinite(data)):
        bad = int(np.sum(~np.isfinite(data)))
        raise AudioError(f"{path}: {bad} non-finite samples (NaN or Inf)")
    return np.ascontiguousarray(data.T), int(rate)


def rms_db(waveform: np.ndarray) -> float:
    """RMS level in dBFS (-inf for digital silence)."""
    power = float(np.mean(np.square(waveform, dtype=np.float64))) if waveform.size else 0.0
    return 10 * math.log10(power) if power > 0 else -math.inf


def limit(waveform: np.ndarray, sample_rate: int, ceiling: float = 0.99, attack_seconds: float = 0.005) -> np.ndarray:
    """Peak limiter for ``(channels, samples)``: gain reduction only where a sample would pass
    ``ceiling``, eased in and out over ``attack_seconds``; elsewhere the audio is untouched."""
    return (waveform * limiter_gain(waveform, sample_rate, ceiling, attack_seconds)).astype(waveform.dtype)


def limiter_gain(waveform: np.ndarray, sample_rate: int, ceiling: float = 0.99, attack_seconds: float = 0.005):
    """The gain per sample ``(samples,)`` that ``limit`` applies (all ones when nothing would
    clip); parts of a mix scaled by it still sum to the limited mix.

    The gain is the running minimum of the needed gain over +-2 attack windows, averaged over
    +-1: every average then includes the minimum at its centre, so it never lets a peak past.
    """
    from scipy import ndimage

    needed = np.minimum(1.0, ceiling / np.maximum(np.abs(waveform).max(axis=0), 1e-12))
    if needed.min() >= 1.0:
        return np.ones(waveform.shape[1], waveform.dtype)
    width = max(1, int(attack_seconds * sample_rate))
    gain = ndimage.uniform_filter1d(ndimage.minimum_filter1d(needed, 4 * width + 1), 2 * width + 1)
    return np.minimum(gain, needed).astype(waveform.dtype)


def to_channels(waveform: np.ndarray, channels: int) -> np.ndarray:
    """Downmixes to mono (mean) or duplicates mono to stereo; ``channels`` is 1 or 2."""
    if waveform.shape[0] == channels:
        return waveform
    if channels == 1:
        return waveform.mean(axis=0, keepdims=True)
    if waveform.shape[0] == 1:
        return np.repeat(waveform, channels, axis=0)
    return waveform[:channels]


def resample(waveform: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Resamples ``(channels, samples)`` from ``rate`` to ``target_rate`` Hz (soxr, high quality)."""
    if rate == target_rate:
        return waveform
    return librosa.resample(waveform, orig_sr=rate, target_sr=target_rate, res_type="soxr_hq").astype(np.float32)


def retuned(waveform: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """``(channels, samples)`` at ``rate`` played 2**(semitones/12) times as fast, still at
    ``rate``: every pitch ``semitones`` higher, the length shorter by the same factor (resampling:
    no phase-vocoder smear; a round trip restores the take)."""
    if not semitones:
        return waveform
    faster = round(rate * 2.0 ** (abs(semitones) / SEMITONES))  # one rounded rate both ways
    return resample(waveform, faster, rate) if semitones > 0 else resample(waveform, rate, faster)


def write(path: str, waveform: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Writes ``(channels, samples)`` as WAV to a local or ``gs://`` path."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.asarray(waveform, dtype=np.float32).T, sample_rate, subtype=subtype, format="WAV")
    storage.ensure_parent(path)
    with fsspec.open(path, "wb") as handle:
        handle.write(buffer.getvalue())
