"""Model features computed from the stored complex STFT, and their inverse.

The one place that says what the model sees: the dataset job's statistics use
``log_magnitude``; the trainer encodes with ``FeatureCodec.encode_tf`` inside tf.data; the
generator and the audio summaries invert with ``FeatureCodec.decode``. Features are mono
(stereo STFTs are averaged, which is the STFT of the mid channel, the STFT being linear)
and drop the Nyquist bin, so 1024-point frames give 512 bins, a power of two for the U-Net.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

LOG_EPSILON = 1e-5
"""Added to the magnitude before the log; -115 dB below a full-scale bin, so silence
maps to a finite floor (log(1e-5) = -11.5)."""
STD_FLOOR = 1e-3
BOUND_STD = 4.0
"""Generated normalised log-magnitudes are clipped to this many standard deviations above
the bin's mean: an unbounded linear output can emit a few enormous frames."""
CEILING_STD = 1.0
"""No generated frame is louder than a frame this many standard deviations above the
stem's mean in every bin (with the input at the training level)."""
ACTIVE_DB = 50.0
"""Frames more than this far below a recording's loudest frame do not count for its level."""
KINDS = {"logmag_phase": 2, "logmag": 1}
FREQUENCY_SCALES = ("linear", "log", "hybrid")


def log_magnitude(spectrum: np.ndarray) -> np.ndarray:
    """Natural log of ``|spectrum| + LOG_EPSILON``; ``spectrum`` is complex."""
    return np.log(np.abs(spectrum) + LOG_EPSILON)


def level_energy(log_mean: np.ndarray) -> float:
    """Energy of a frame whose bins sit at ``log_mean`` (per-bin mean log-magnitudes): the
    one level estimator used for the training statistics and for a recording alike."""
    return float(np.sum(np.exp(2.0 * np.asarray(log_mean, np.float64))))


def active_level(spectrum: np.ndarray) -> float:
    """Energy of a typical active frame of a complex ``(bins, frames)`` spectrum (a
    recording's level, whatever its rests)."""
    return float(active_level_of_power(np.square(np.abs(spectrum), dtype=np.float64)))


def active_level_of_power(power, xp=np):
    """``active_level`` from power ``(..., bins, frames)``, for any leading axes: the energy of
    the per-bin mean log-magnitude over the active frames (within ``ACTIVE_DB`` of the loudest;
    scaling the audio by a shifts that mean by exactly log(a)). ``xp``: numpy, or
    ``tensorflow.experimental.numpy`` in the input pipeline (``--level_match``), so training and
    generation share one estimator."""
    energy = xp.sum(power, axis=-2)
    loud = energy >= xp.max(energy, axis=-1, keepdims=True) * 10 ** (-ACTIVE_DB / 10)
    active = xp.where(loud, xp.ones_like(energy), xp.zeros_like(energy))  # the power's dtype
    log_magnitude = xp.log(xp.sqrt(power) + LOG_EPSILON)
    log_mean = xp.sum(log_magnitude * active[..., None, :], axis=-1) / xp.sum(active, axis=-1, keepdims=True)
    return xp.sum(xp.exp(2.0 * log_mean), axis=-1)


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """What the model sees.

    Attributes:
      kind: "logmag_phase": channel 0 the log-magnitude normalised per bin with the data
        set's statistics, channel 1 the phase / pi in [-1, 1] (the seed's R and G);
        "logmag": the first channel only (phase is rebuilt at generation).
      bins: STFT bins kept from the bottom (512 of 513: Nyquist dropped).
      frequency: "linear": the model's rows are those STFT bins; "log": ``log_bins`` rows
        spaced ``bins_per_octave`` per octave from ``fmin`` Hz, so that a musical interval
        is the same number of rows at every pitch and transposing is a translation (a
        convolution can learn "a third below" once, not once per note); "hybrid": the same,
        but rows are never closer than one STFT bin (linear at the bottom, where log rows would
        only interpolate the few bins there, log above).
      log_bins: rows of a log or hybrid frequency axis.
      bins_per_octave: rows per octave of a log or hybrid axis.
      fmin: Hz of the lowest row of a log or hybrid axis.
    """

    kind: str = dataclasses.field(default="logmag_phase", metadata={"flag": "features", "choices": sorted(KINDS)})
    bins: int = 512
    frequency: str = dataclasses.field(default="linear", metadata={"choices": FREQUENCY_SCALES})
    log_bins: int = 320
    bins_per_octave: int = 36
    fmin: float = 41.2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if self.frequency not in FREQUENCY_SCALES:
            raise ValueError(f"frequency scale must be one of {FREQUENCY_SCALES}, got {self.frequency!r}")
        if self.frequency != "linear" and self.channels > 1:
            raise ValueError("a log-frequency axis has no per-bin phase: use features 'logmag' with it")

    @property
    def channels(self) -> int:
        return KINDS[self.kind]

    @property
    def rows(self) -> int:
        """Rows of the model's feature image (its frequency axis)."""
        return self.bins if self.frequency == "linear" else self.log_bins

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _row_centres(config: FeatureConfig, sample_rate: int, n_fft: int) -> np.ndarray:
    """Row centres in STFT-bin units: ``bins_per_octave`` per octave from ``fmin``; for
    "hybrid", steps of at least one bin."""
    first, ratio = config.fmin * n_fft / sample_rate, 2.0 ** (1.0 / config.bins_per_octave)
    if config.frequency == "log":
        return first * ratio ** np.arange(config.log_bins)
    centres = [first]
    while len(centres) < config.log_bins:
        centres.append(centres[-1] + max(1.0, centres[-1] * (ratio - 1.0)))
    return np.asarray(centres)


def row_frequencies(config: FeatureConfig, sample_rate: int, n_fft: int) -> np.ndarray:
    """Hz at the centre of each of the model's feature rows (what a layer that reasons about
    pitch needs to know of the axis)."""
    if config.frequency == "linear":
        return np.arange(config.bins) * sample_rate / n_fft
    return _row_centres(config, sample_rate, n_fft) * sample_rate / n_fft


@functools.lru_cache(maxsize=8)
def log_frequency_maps(config: FeatureConfig, sample_rate: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed maps between ``config.bins`` STFT bins and ``config.log_bins`` log rows.

    Returns ``(to_log, to_linear)``: ``to_log`` (rows, bins) averages STFT magnitudes under a
    triangle one row-spacing wide (at least one STFT bin: low rows interpolate between bins,
    which are coarser there); ``to_linear`` (bins, rows) interpolates log-magnitudes back
    between the two nearest row centres; STFT bins below the first row or above the last take
    that row's level (a floor there would put a silent band into every generated spectrum).
    """
    centres = _row_centres(config, sample_rate, n_fft)
    if centres[-1] >= config.bins:
        top = centres[-1] * sample_rate / n_fft
        raise ValueError(f"log-frequency rows reach {top:.0f} Hz, above the {config.bins} STFT bins kept")
    linear = np.arange(config.bins, dtype=np.float64)
    widths = np.maximum(np.diff(centres, append=centres[-1] * 2.0 ** (1.0 / config.bins_per_octave)), 1.0)
    to_log = np.maximum(0.0, 1.0 - np.abs(linear[np.newaxis] - centres[:, np.newaxis]) / widths[:, np.newaxis])
    to_log /= to_log.sum(axis=1, keepdims=True)
    to_linear = np.zeros((config.bins, config.log_bins))
    inside = (linear >= centres[0]) & (linear <= centres[-1])
    below = np.clip(np.searchsorted(centres, linear[inside], side="right") - 1, 0, config.log_bins - 2)
    fraction = (linear[inside] - centres[below]) / (centres[below + 1] - centres[below])
    rows = np.flatnonzero(inside)
    to_linear[rows, below], to_linear[rows, below + 1] = 1.0 - fraction, fraction
    to_linear[linear < centres[0], 0] = 1.0
    to_linear[linear > centres[-1], -1] = 1.0
    return to_log.astype(np.float32), to_linear.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class FeatureCodec:
    """Encodes one stem's STFT to features and back, with that stem's per-bin statistics.

    ``mean`` and ``std`` are per-bin log-magnitude statistics over all STFT bins (513);
    only the first ``config.bins`` are used. On a log-frequency axis each row's statistics
    are the STFT bins' mapped like the magnitudes (a fixed shift and scale per row, undone
    exactly on the way back). ``spectral`` says where the STFT bins lie in Hz. ``level_reference``
    is the active level (``active_level``) of this stem's typical training recording, measured
    on the data at export; without it the level is estimated from ``mean``, which counts the
    rests too.
    """

    config: FeatureConfig
    mean: np.ndarray
    std: np.ndarray
    spectral: Any
    level_reference: float | None = None

    @property
    def _linear_mean(self) -> np.ndarray:
        return np.asarray(self.mean[: self.config.bins], dtype=np.float32)

    @property
    def _linear_std(self) -> np.ndarray:
        return np.maximum(np.asarray(self.std[: self.config.bins], dtype=np.float32), STD_FLOOR)

    # Cached: computed once per codec, not once per encoded segment (a frozen dataclass
    # without slots keeps cached_property's value in the instance dict).
    @functools.cached_property
    def _maps(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.config.frequency == "linear":
            return None
        return log_frequency_maps(self.config, self.spectral.sample_rate, self.spectral.n_fft)

    @functools.cached_property
    def row_mean(self) -> np.ndarray:
        """Mean log-magnitude of each row of the model's frequency axis."""
        maps = self._maps
        return self._linear_mean if maps is None else maps[0] @ self._linear_mean

    @functools.cached_property
    def row_std(self) -> np.ndarray:
        """Standard deviation of the log-magnitude of each row (the normalisation's scale)."""
        maps = self._maps
        return self._linear_std if maps is None else maps[0] @ self._linear_std

    def encode_tf(self, stored):
        """Stored STFT ``(..., channels, bins_all, frames, 2)`` (any float dtype; one crop or a
        batch) -> float32 features ``(..., rows, frames, feature_channels)``, in TensorFlow."""
        import tensorflow as tf

        stft = tf.reduce_mean(tf.cast(stored, tf.float32), axis=-4)[..., : self.config.bins, :, :]
        real, imag = stft[..., 0], stft[..., 1]
        magnitude = tf.sqrt(real * real + imag * imag)
        if self._maps is not None:
            magnitude = tf.einsum("rb,...bf->...rf", self._maps[0], magnitude)
        logmag = tf.math.log(magnitude + LOG_EPSILON)
        channels = [(logmag - self.row_mean[:, None]) / self.row_std[:, None]]
        if self.config.kind == "logmag_phase":
            channels.append(tf.math.atan2(imag, real) / np.pi)
        return tf.stack(channels, axis=-1)

    def encode(self, spectrum: np.ndarray) -> np.ndarray:
        """Complex mono STFT ``(bins_all, frames)`` -> float32 features, in numpy."""
        spectrum = spectrum[: self.config.bins]
        magnitude = np.abs(spectrum) if self._maps is None else self._maps[0] @ np.abs(spectrum)
        channels = [(np.log(magnitude + LOG_EPSILON) - self.row_mean[:, None]) / self.row_std[:, None]]
        if self.config.kind == "logmag_phase":
            channels.append(np.angle(spectrum) / np.pi)
        return np.stack(channels, axis=-1).astype(np.float32)

    def level_gain(self, spectrum: np.ndarray) -> float:
        """Amplitude factor that brings a complex ``(bins_all, frames)`` spectrum to the level
        of this stem's training data (so a quiet take and a loud one look the same)."""
        reference = self.level_reference or level_energy(self._linear_mean)
        return math.sqrt(reference / max(active_level(spectrum[: self.config.bins]), 1e-30))

    def cap_frames(self, magnitude: np.ndarray) -> np.ndarray:
        """Scales down every frame of ``(bins_all, frames)`` louder than ``CEILING_STD``
        standard deviations above this stem's mean in every bin."""
        ceiling = level_energy(self._linear_mean + CEILING_STD * self._linear_std)
        energy = np.sum(np.square(magnitude[: self.config.bins], dtype=np.float64), axis=0)
        return magnitude * np.sqrt(np.minimum(1.0, ceiling / np.maximum(energy, 1e-30)))[np.newaxis].astype(np.float32)

    def linear_log_magnitude(self, normalised, xp=np):
        """Normalised log-magnitude rows ``(..., rows, frames)`` -> natural-log magnitude of the
        kept STFT bins ``(..., bins, frames)``, clipped at ``BOUND_STD``. ``xp``: numpy, or
        ``tensorflow.experimental.numpy`` inside a graph (the training losses)."""
        logmag = xp.minimum(normalised, BOUND_STD) * self.row_std[:, None] + self.row_mean[:, None]
        if self._maps is None:
            return logmag
        return xp.matmul(self._maps[1], logmag)

    def magnitude(self, features: np.ndarray) -> np.ndarray:
        """Features ``(rows, frames, C)`` -> linear magnitude ``(bins_all, frames)``; the
        dropped top bins are zero. Log-magnitudes are clipped at ``BOUND_STD``."""
        magnitude = np.maximum(np.exp(self.linear_log_magnitude(features[..., 0])) - LOG_EPSILON, 0.0)
        full = len(self.mean)
        return np.pad(magnitude, ((0, full - self.config.bins), (0, 0))).astype(np.float32)

    def decode(self, features: np.ndarray) -> np.ndarray:
        """Features -> complex STFT ``(bins_all, frames)`` with the stored phase channel.

        Only for kinds with a phase channel; "logmag" needs phase reconstruction
        (Griffin-Lim) from :meth:`magnitude`.
        """
        if self.config.kind != "logmag_phase":
            raise ValueError(f"features of kind {self.config.kind!r} carry no phase; rebuild it from the magnitude")
        phase = np.clip(features[..., 1], -1.0, 1.0) * np.pi
        full = len(self.mean)
        phase = np.pad(phase, ((0, full - self.config.bins), (0, 0)))
        return (self.magnitude(features) * np.exp(1j * phase)).astype(np.complex64)


@dataclasses.dataclass(frozen=True)
class StemsCodec:
    """The target's stems side by side: stem ``i``'s features are channels ``[i*C, (i+1)*C)``
    of one array, each encoded with its own codec (its own statistics), so one generator writes
    every stem in one pass and each stem decodes on its own."""

    stems: tuple[str, ...]
    codecs: tuple[FeatureCodec, ...]

    def __post_init__(self) -> None:
        if not self.stems or len(self.stems) != len(self.codecs):
            raise ValueError(f"one codec per stem: {len(self.stems)} stems, {len(self.codecs)} codecs")

    @property
    def config(self) -> FeatureConfig:
        return self.codecs[0].config

    @property
    def channels(self) -> int:
        """Feature channels of all stems together."""
        return len(self.stems) * self.config.channels

    def split(self, features):
        """Features ``(..., C * stems)`` -> one ``(..., C)`` slice per stem."""
        step = self.config.channels
        return [features[..., i * step : (i + 1) * step] for i in range(len(self.stems))]

    def encode_tf(self, stored):
        """One stored STFT per stem (``FeatureCodec.encode_tf``'s input) -> their features, concatenated."""
        import tensorflow as tf

        return tf.concat([codec.encode_tf(x) for codec, x in zip(self.codecs, stored, strict=True)], axis=-1)

    def encode(self, spectra) -> np.ndarray:
        """One complex STFT ``(bins_all, frames)`` per stem -> their features, concatenated."""
        return np.concatenate([codec.encode(x) for codec, x in zip(self.codecs, spectra, strict=True)], axis=-1)


def spectrum_to_audio(magnitude: np.ndarray, phasors: np.ndarray | None, config, length: int) -> np.ndarray:
    """Magnitude ``(bins_all, frames)`` with unit phasors (inverse STFT), or without them
    (phase rebuilt by Griffin-Lim) -> float32 ``(1, length)``. ``config``: the SpectralConfig."""
    from vocals2song import codec as spectral
    from vocals2song import phase

    if phasors is not None:
        return spectral.istft((magnitude * phasors)[np.newaxis], config, length)
    return phase.griffin_lim(magnitude, config, length)[np.newaxis]


def to_waveform(codec: FeatureCodec, features: np.ndarray, config, length: int, phase: str = "predicted") -> np.ndarray:
    """Features ``(bins, frames, C)`` -> mono float32 waveform ``(1, length)``.

    ``phase``: "predicted" uses the phase channel; "griffinlim" rebuilds phase from the
    magnitude alone (the only choice for "logmag" features).
    """
    if phase not in ("predicted", "griffinlim"):
        raise ValueError(f"phase must be predicted or griffinlim, got {phase!r}")
    phasors = np.exp(1j * np.angle(codec.decode(features))) if phase == "predicted" else None
    return spectrum_to_audio(codec.magnitude(features), phasors, config, length)
