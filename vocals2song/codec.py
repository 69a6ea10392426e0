"""The spectral codec: waveform <-> stored STFT tensor, and the seed's 8-bit codec.

Waveforms are float32 arrays shaped ``(channels, samples)`` in [-1, 1]. The stored form
is the complex STFT as float16 shaped ``(channels, bins, frames, 2)`` with (real, imag) in
the last axis: float16 keeps the phase, so ``decode(encode(x))`` is near lossless (about
80 dB SNR), and the STFT stays linear (accompaniment = mixture - vocals).

The 2019 seed stored an 8-bit BMP instead (magnitude in R, phase in G) and rebuilt the
spectrum as ``mag + phase * 1j``; that mixes a phase angle into the imaginary part. The
right inverse is ``mag * exp(1j * phase)``, which ``decode_8bit`` uses.
"""

from __future__ import annotations

import functools
import os

import librosa
import numpy as np
from PIL import Image

from vocals2song.config import SpectralConfig

STORED_DTYPE = np.float16


def _as_channels(waveform: np.ndarray) -> np.ndarray:
    """Returns ``waveform`` as float32 ``(channels, samples)``; 1-D input is one channel."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.ndim == 1:
        return waveform[np.newaxis, :]
    if waveform.ndim != 2:
        raise ValueError(f"waveform must be (samples,) or (channels, samples), got {waveform.shape}")
    return waveform


def stft(waveform: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Complex64 STFT shaped ``(channels, bins, frames)`` with centred, zero-padded frames.

    The values are ``librosa.stft``'s to the bit (a test compares them: float64 frames times
    the float64 window, numpy's FFT, rounded to complex64), computed here with numpy alone:
    the dataset job's workers then import neither librosa's spectral module nor
    scipy.signal, which cost each worker seconds at start-up, and the result comes out in
    the layout :func:`complex_to_stored` packs without another copy.
    """
    waveform = _as_channels(waveform)
    half = config.n_fft // 2
    padded = np.pad(waveform, ((0, 0), (half, half)))
    count = 1 + (padded.shape[1] - config.n_fft) // config.hop_length
    step = padded.strides[1]
    frames = np.lib.stride_tricks.as_strided(  # (channels, frames, n_fft), a view
        padded,
        (padded.shape[0], count, config.n_fft),
        (padded.strides[0], step * config.hop_length, step),
        writeable=False,
    )
    # FFTs of contiguous rows, then one transposing copy: 1.6x faster here than transforming
    # along the frames axis, whose result numpy lays out frame-major anyway.
    spectrum = np.fft.rfft(frames * window(config), axis=-1).astype(np.complex64)
    return np.ascontiguousarray(spectrum.transpose(0, 2, 1))


@functools.lru_cache(maxsize=8)
def window(config: SpectralConfig) -> np.ndarray:
    """The periodic float64 analysis window (read-only, cached): Hann computed as scipy
    computes it (bit-equal, tested) without importing scipy.signal; any other name through scipy."""
    if config.window == "hann":
        values = 0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, config.n_fft + 1)[:-1])
    else:
        from scipy.signal import get_window

        values = get_window(config.window, config.n_fft, fftbins=True)
    values.setflags(write=False)
    return values


def istft(spectrum: np.ndarray, config: SpectralConfig, length: int) -> np.ndarray:
    """Inverse of :func:`stft`: float32 ``(channels, length)``."""
    return librosa.istft(
        spectrum,
        n_fft=config.n_fft,
        hop_length=config.hop_length,
        window=config.window,
        center=True,
        length=length,
    ).astype(np.float32)


def complex_to_stored(spectrum: np.ndarray) -> np.ndarray:
    """Complex ``(..., bins, frames)`` -> float16 ``(..., bins, frames, 2)``.

    A complex array's memory already is (real, imag) pairs: viewed as floats it is the
    stored layout, so the only pass over the data is the cast to float16 (``half``'s, for
    complex64, the dataset job's case)."""
    spectrum = np.ascontiguousarray(spectrum)
    pairs = spectrum.view(spectrum.real.dtype).reshape(*spectrum.shape, 2)
    if pairs.dtype == np.float32:
        from vocals2song import half

        return half.to_float16(pairs)
    return pairs.astype(STORED_DTYPE)


def stored_to_complex(stored: np.ndarray) -> np.ndarray:
    """Float16 ``(..., 2)`` -> complex64, the inverse of :func:`complex_to_stored`."""
    stored = np.asarray(stored, dtype=np.float32)
    if stored.shape[-1] != 2:
        raise ValueError(f"stored STFT must end in a (real, imag) axis of 2, got {stored.shape}")
    return stored[..., 0] + 1j * stored[..., 1]


def encode(waveform: np.ndarray, config: SpectralConfig) -> np.ndarray:
    """Waveform -> float16 ``(channels, bins, frames, 2)`` complex STFT."""
    return complex_to_stored(stft(waveform, config))


def decode(stored: np.ndarray, config: SpectralConfig, length: int) -> np.ndarray:
    """Float16 stored STFT -> float32 waveform ``(channels, length)``."""
    return istft(stored_to_complex(stored), config, length)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-noise ratio of ``estimate`` against ``reference`` in dB."""
    reference = np.asarray(reference, dtype=np.float64)
    noise = reference - np.asarray(estimate, dtype=np.float64)
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum(noise**2), 1e-30)))


# The seed's 8-bit codec, kept so the two can be compared (benchmarks, tests).


def encode_8bit(waveform: np.ndarray, config: SpectralConfig, max_magnitude: float) -> np.ndarray:
    """Mono waveform -> uint8 RGB image ``(bins, frames, 3)`` as the seed stored it.

    R is the magnitude clipped to ``[0, max_magnitude]`` and quantised to 0..255, G the
    phase quantised from [-pi, pi] to 0..255, B is zero.
    """
    spectrum = stft(_as_channels(waveform).mean(axis=0), config)[0]
    red = np.round(np.clip(np.abs(spectrum) / max_magnitude, 0.0, 1.0) * 255)
    green = np.round((np.angle(spectrum) + np.pi) / (2 * np.pi) * 255)
    image = np.zeros(spectrum.shape + (3,), dtype=np.uint8)
    image[..., 0] = red
    image[..., 1] = green
    return image


def decode_8bit(image: np.ndarray, config: SpectralConfig, max_magnitude: float, length: int) -> np.ndarray:
    """uint8 RGB image -> mono float32 waveform ``(1, length)``, with the correct polar inverse."""
    magnitude = image[..., 0].astype(np.float32) / 255 * max_magnitude
    phase = image[..., 1].astype(np.float32) / 255 * (2 * np.pi) - np.pi
    return istft((magnitude * np.exp(1j * phase))[np.newaxis], config, length)


def write_bmp(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes a uint8 RGB image as a real .bmp file (what the seed stored on disk)."""
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(path, format="BMP")


def read_bmp(path: str | os.PathLike) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
