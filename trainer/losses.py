"""Generator losses besides the adversarial one, on batches of features ``(batch, bins, frames, C)``.

L1 on normalised log-magnitude (pix2pix's reconstruction term) averages the harmonies a
vocal allows into a blur. The chroma term scores what the evaluation scores: per frame, the
Pearson correlation of the 12 pitch-class energies of the generated and the true magnitudes
(librosa's chroma filterbank, the evaluation's own), so the generator is paid for playing the
right pitch classes, in whatever octave and timbre.
"""

from __future__ import annotations

import librosa
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from vocals2song.config import SpectralConfig
from vocals2song.features import BOUND_STD, LOG_EPSILON, FeatureCodec

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

    def __init__(self, codec: FeatureCodec, exponent: float = 0.3):
        self._scale = tf.constant(exponent * codec.row_std[:, None, None], tf.float32)  # (rows, 1, 1)

    def _compressed(self, features: tf.Tensor) -> tf.Tensor:
        return tf.exp(self._scale * tf.minimum(features[..., :1], BOUND_STD))

    def __call__(self, fake: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(self._compressed(fake) - self._compressed(real)), axis=[1, 2, 3])


class ChromaDistance:
    """1 - per-frame Pearson correlation of chroma, averaged over frames: ``(batch,)``."""

    def __init__(self, codec: FeatureCodec, spectral: SpectralConfig):
        self._codec = codec
        filters = librosa.filters.chroma(sr=spectral.sample_rate, n_fft=spectral.n_fft, tuning=0.0)
        self._filters = tf.constant(filters[:, : codec.config.bins].T, tf.float32)  # (bins, 12)

    def _chroma(self, features: tf.Tensor) -> tf.Tensor:
        """Normalised log-magnitude channel -> mean-centred chroma ``(batch, frames, 12)``."""
        # Clipped as generation clips it; an unbounded output would overflow exp early in training.
        log_magnitude = self._codec.linear_log_magnitude(features[..., 0], tnp)  # (batch, bins, frames)
        power = tf.square(tf.maximum(tf.exp(log_magnitude) - LOG_EPSILON, 0.0))
        chroma = tf.einsum("bkt,kc->btc", power, self._filters)
        return chroma - tf.reduce_mean(chroma, axis=-1, keepdims=True)

    def __call__(self, fake: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
        c_fake, c_real = self._chroma(fake), self._chroma(real)
        dot = tf.reduce_sum(c_fake * c_real, axis=-1)
        norms = tf.norm(c_fake, axis=-1) * tf.norm(c_real, axis=-1)
        return tf.reduce_mean(1.0 - dot / (norms + CORRELATION_EPSILON), axis=1)
