"""Phase for a magnitude-only spectrogram: Griffin-Lim with momentum ("fast Griffin-Lim"), in
float32 with multithreaded FFTs.

Generation with a magnitude-only model spends nearly all its time here (93% of a 3-minute song
with `make model`'s recipe through ``librosa.griffinlim``, whose per-iteration STFT and inverse
run frame blocks in Python and complex128 arithmetic). This does the same iterations on whole
arrays: frames are a strided view, the FFTs run over all frames at once on every core, and the
overlap-add is ``n_fft / hop`` vectorised additions, and the momentum step and projection are
one compiled pass (numba, which librosa already depends on).
"""

from __future__ import annotations

import functools
import os

import numba
import numpy as np
import scipy.fft

from vocals2song.codec import window as analysis_window
from vocals2song.config import SpectralConfig

ITERATIONS = 32
MOMENTUM = 0.99  # Perraudin et al.'s fast Griffin-Lim (librosa's default too)
SEED = 0  # the initial random phases: the same song for the same input


def _window(config: SpectralConfig) -> np.ndarray:
    return analysis_window(config).astype(np.float32)


def stft(waveform: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Centred, zero-padded float32 STFT of a 1-D waveform: complex64 ``(frames, bins)``
    (frame-major, the layout the iterations use; ``codec.stft`` is the exact, stored one)."""
    half = config.n_fft // 2
    padded = np.pad(waveform.astype(np.float32, copy=False), (half, half))
    frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft)[:: config.hop_length]
    return scipy.fft.rfft(frames * _window(config), axis=-1, workers=os.cpu_count())


@functools.lru_cache(maxsize=8)
def _window_sum(config: SpectralConfig, count: int) -> np.ndarray:
    """Sum of squared windows over ``count`` overlapping frames (what overlap-add divides by)."""
    squares = np.broadcast_to(np.square(_window(config)), (count, config.n_fft))
    return _overlap_add(np.ascontiguousarray(squares), config.hop_length)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Frames ``(count, n_fft)`` placed ``hop`` apart and summed: ``((count - 1) * hop + n_fft,)``."""
    count, n_fft = frames.shape
    out = np.zeros((count - 1) * hop + n_fft, np.float32)
    if n_fft % hop:
        for index in range(count):
            out[index * hop : index * hop + n_fft] += frames[index]
        return out
    blocks = out.reshape(-1, hop)
    for part in range(n_fft // hop):
        blocks[part : part + count] += frames[:, part * hop : (part + 1) * hop]
    return out


def istft(spectrum: np.ndarray, config: SpectralConfig, length: int) -> np.ndarray:
    """Inverse of :func:`stft` (window-sum normalised overlap-add): float32 ``(length,)``."""
    frames = scipy.fft.irfft(spectrum, n=config.n_fft, axis=-1, workers=os.cpu_count()) * _window(config)
    out = _overlap_add(frames.astype(np.float32, copy=False), config.hop_length)
    norm = _window_sum(config, spectrum.shape[0])
    out /= np.where(norm > 1e-8, norm, 1.0)
    half = config.n_fft // 2
    out = out[half : half + length]
    return np.pad(out, (0, length - out.shape[0]))


def griffin_lim(magnitude: np.ndarray, config: SpectralConfig, length: int, iterations: int = ITERATIONS):
    """Magnitude ``(bins, frames)`` -> float32 waveform ``(length,)`` whose STFT magnitude is
    close to it: alternate projections between consistent spectrograms and the given
    magnitude, with momentum, from seeded random phases."""
    target = np.ascontiguousarray(magnitude.T, dtype=np.float32)  # (frames, bins)
    rng = np.random.default_rng(SEED)
    shaped = target * np.exp(2j * np.pi * rng.random(target.shape)).astype(np.complex64)
    rebuilt = np.zeros_like(shaped)
    step = np.float32(MOMENTUM / (1.0 + MOMENTUM))
    for _ in range(iterations):
        previous = rebuilt
        rebuilt = np.ascontiguousarray(stft(istft(shaped, config, length), config)[: target.shape[0]])
        _project(rebuilt.reshape(-1), previous.reshape(-1), target.reshape(-1), step, shaped.reshape(-1))
    return istft(shaped, config, length)


@numba.njit("void(complex64[::1], complex64[::1], float32[::1], float32, complex64[::1])", cache=True, nogil=True)
def _project(rebuilt, previous, target, step, out) -> None:  # pragma: no cover - compiled
    """``out = target * unit(rebuilt - step * previous)``: the momentum step and the projection
    onto the given magnitude in one pass (as numpy expressions, four passes and their
    temporaries took 40% of the iterations' time)."""
    for i in range(out.size):
        real = rebuilt[i].real - step * previous[i].real
        imag = rebuilt[i].imag - step * previous[i].imag
        scale = target[i] / (np.sqrt(real * real + imag * imag) + np.float32(1e-16))
        out[i] = np.complex64(complex(real * scale, imag * scale))
