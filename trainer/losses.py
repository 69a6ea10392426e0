"""Generator losses besides the adversarial one, on batches of features ``(batch, bins, frames, C)``.

L1 on normalised log-magnitude (pix2pix's reconstruction term) averages the harmonies a
vocal allows into a blur. The chroma term scores what the evaluation scores: per frame, the
Pearson correlation of the 12 pitch-class energies of the generated and the true magnitudes
(librosa's chroma filterbank, the evaluation's own), so the generator is paid for playing the
right pitch classes, in whatever octave and timbre.
"""

from __future__ import annotations

import librosa
import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from vocals2song.config import SpectralConfig
from vocals2song.features import BOUND_STD, LOG_EPSILON, FeatureCodec, StemsCodec

CORRELATION_EPSILON = 1e-6


def l1(fake: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference per example ``(batch,)``."""
    return tf.reduce_mean(tf.abs(real - fake), axis=[1, 2, 3])


class CompressedL2:
    """Squared difference of compressed magnitudes (``magnitude ** exponent``), each row
    scaled by its mean, per example ``(batch,)``.

    Where several harmonies fit a vocal, L1 on log-magnitude is minimised by the per-bin
    median of the log, which keeps only the notes most harmonies share and drops the rest to
    the floor: a blur without chords. A squared error on magnitudes is minimised by their
    mean, which keeps every plausible note at its probability's share of the energy, so the
    pitch classes of the likely chords survive. The compression keeps quiet rows in the loss.
    On normalised features ``x`` a row's compressed magnitude over its mean is
    ``exp(exponent * std * x)``.
    """

    def __init__(self, codecs: StemsCodec, exponent: float = 0.3):
        row_std = np.stack([codec.row_std for codec in codecs.codecs], axis=-1)[:, None, :]  # (rows, 1, stems)
        self._scale = tf.constant(exponent * row_std, tf.float32)
        self._channels = codecs.config.channels

    def _compressed(self, features: tf.Tensor) -> tf.Tensor:
        """Each stem's compressed magnitude ``(..., rows, frames, stems)``: its first channel."""
        return tf.exp(self._scale * tf.minimum(features[..., :: self._channels], BOUND_STD))

    def __call__(self, fake: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(self._compressed(fake) - self._compressed(real)), axis=[1, 2, 3])


def _power(codec: FeatureCodec, features: tf.Tensor) -> tf.Tensor:
    """Normalised log-magnitude channel -> power on the STFT bins ``(batch, bins, frames)``."""
    # Clipped as generation clips it; an unbounded output would overflow exp early in training.
    log_magnitude = codec.linear_log_magnitude(features[..., 0], tnp)
    return tf.square(tf.maximum(tf.exp(log_magnitude) - LOG_EPSILON, 0.0))


def _stems_power(codecs: StemsCodec, features: tf.Tensor) -> tf.Tensor:
    """The stems' summed power ``(batch, bins, frames)``: what their mix holds, phases aside."""
    return tf.add_n([_power(codec, part) for codec, part in zip(codecs.codecs, codecs.split(features), strict=True)])


def correlation(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Pearson correlation over the last axis (the 12 pitch classes): ``(batch, frames)``."""
    a = a - tf.reduce_mean(a, axis=-1, keepdims=True)
    b = b - tf.reduce_mean(b, axis=-1, keepdims=True)
    return tf.reduce_sum(a * b, axis=-1) / (tf.norm(a, axis=-1) * tf.norm(b, axis=-1) + CORRELATION_EPSILON)


class ChromaDistance:
    """1 - per-frame Pearson correlation of chroma, averaged over frames: ``(batch,)``.

    A multi-stem target is compared as its mix (the stems' summed power). With a
    ``source_codec`` the chroma compared is the song's: the source's power added to the
    generated and to the true target's (the evaluation's song-level chroma, phases aside), so
    the term pays for what the accompaniment adds to the voice, at the level it adds it.
    """

    def __init__(self, codecs: StemsCodec, spectral: SpectralConfig, source_codec: FeatureCodec | None = None):
        self._codecs, self._source_codec = codecs, source_codec
        filters = librosa.filters.chroma(sr=spectral.sample_rate, n_fft=spectral.n_fft, tuning=0.0)
        self._filters = tf.constant(filters[:, : codecs.config.bins].T, tf.float32)  # (bins, 12)

    def chroma(self, power: tf.Tensor) -> tf.Tensor:
        """Power ``(batch, bins, frames)`` -> chroma ``(batch, frames, 12)``, C first."""
        return tf.einsum("bkt,kc->btc", power, self._filters)

    def target_chroma(self, target: tf.Tensor) -> tf.Tensor:
        """The (multi-stem) target's chroma ``(batch, frames, 12)``."""
        return self.chroma(_stems_power(self._codecs, target))

    def __call__(self, fake: tf.Tensor, real: tf.Tensor, source: tf.Tensor | None = None) -> tf.Tensor:
        p_fake, p_real = _stems_power(self._codecs, fake), _stems_power(self._codecs, real)
        if self._source_codec is not None:
            p_source = _power(self._source_codec, source)
            p_fake, p_real = p_fake + p_source, p_real + p_source
        return tf.reduce_mean(1.0 - correlation(self.chroma(p_fake), self.chroma(p_real)), axis=1)


LOUDNESS_RANGE_DB = 60.0  # frames further under the crop's loudest true frame count as this floor


class LoudnessDistance:
    """Mean over frames of |generated - true| frame level (the stems' summed power, in dB),
    in units of 10 dB: ``(batch,)``. Levels under the true crop's loudest frame minus
    ``LOUDNESS_RANGE_DB`` are raised to that floor, so a rest's exact depth does not count.

    Why: reconstruction losses under uncertainty settle on a quiet spectrum, and how loud the
    accompaniment sits under the voice decides the song's harmony score as much as its pitch
    classes (docs/model-notes.md, runs Y and Z)."""

    def __init__(self, codecs: StemsCodec):
        self._codecs = codecs

    def _level_db(self, features: tf.Tensor) -> tf.Tensor:
        power = tf.reduce_sum(_stems_power(self._codecs, features), axis=1)  # (batch, frames)
        return 10.0 * tf.math.log(power + 1e-12) / tf.math.log(10.0)

    def __call__(self, fake: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        real_db = self._level_db(real)
        floor = tf.reduce_max(real_db, axis=1, keepdims=True) - LOUDNESS_RANGE_DB
        fake_db = tf.maximum(self._level_db(fake), floor)
        return tf.reduce_mean(tf.abs(fake_db - tf.maximum(real_db, floor)), axis=1) / 10.0


HARMONY_SILENCE = 1e-3  # frames whose chroma energy is under this share of the crop's loudest have no harmony


class HarmonyDistance:
    """The harmony head's loss: 1 - per-frame Pearson correlation of its predicted pitch
    classes ``(batch, frames, 12)`` with the target's chroma, averaged over the frames where the
    target sounds (a rest's chroma is noise): ``(batch,)``."""

    def __init__(self, codecs: StemsCodec, spectral: SpectralConfig):
        self._chroma = ChromaDistance(codecs, spectral)

    def __call__(self, predicted: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        true = self._chroma.target_chroma(real)
        energy = tf.reduce_sum(true, axis=-1)
        sounding = tf.cast(energy > HARMONY_SILENCE * tf.reduce_max(energy, axis=1, keepdims=True), tf.float32)
        distance = 1.0 - correlation(tf.cast(predicted, tf.float32), true)
        return tf.reduce_sum(distance * sounding, axis=1) / tf.maximum(tf.reduce_sum(sounding, axis=1), 1.0)
