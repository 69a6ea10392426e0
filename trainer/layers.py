"""Layers the generators use that Keras does not have; ``CUSTOM_OBJECTS`` lets an export that
contains them load (``trainer.export.load_model`` passes it)."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

PITCH_STEPS = 36  # the pitch-class profile's resolution: a third of a semitone
SEMITONES = 12


def pitch_maps(row_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed maps of ``PitchContext`` for rows centred at ``row_hz``.

    Returns ``(fold, index)``: ``fold`` (rows, PITCH_STEPS) sums the rows of each pitch class (a
    triangle one step wide over the circular distance, so rows between steps share), divided
    by the rows per pitch class on average;
    ``index`` (rows, 12) is the profile step at each row's pitch class plus 0..11 semitones.
    Rows at 0 Hz (the DC bin) have no pitch class and take no part.
    """
    audible = row_hz > 0
    position = PITCH_STEPS * np.log2(np.where(audible, row_hz, 440.0) / 440.0) % PITCH_STEPS
    distance = np.abs(
        (position[:, np.newaxis] - np.arange(PITCH_STEPS) + PITCH_STEPS / 2) % PITCH_STEPS - PITCH_STEPS / 2
    )
    fold = np.maximum(0.0, 1.0 - distance) * audible[:, np.newaxis]
    fold /= max(fold.sum() / PITCH_STEPS, 1e-6)  # one scale for all: a transposition moves, not rescales
    per_semitone = PITCH_STEPS // SEMITONES
    index = (np.rint(position).astype(np.int64)[:, np.newaxis] + per_semitone * np.arange(SEMITONES)) % PITCH_STEPS
    return fold.astype(np.float32), index.astype(np.int32)


class PitchContext(layers.Layer):
    """Appends twelve channels to each row of a feature image: the frame's pitch-class profile
    (channel 0 summed over octaves) read at the row's own pitch class plus 0, 1, ..., 11
    semitones.

    Why: harmony relates notes octaves apart (a chord tone an octave and a third under the
    melody). 4x4 kernels see that far only at the U-Net's coarse levels, where a semitone is
    already averaged away; with this, the first layer at every row knows which intervals above
    that row's pitch the voice sings, the same way at every pitch (transposing the input moves
    rows and changes nothing else).
    """

    def __init__(self, row_hz, **kwargs):
        super().__init__(**kwargs)
        self.row_hz = [float(hz) for hz in row_hz]
        self._fold, self._index = pitch_maps(np.asarray(self.row_hz))

    def call(self, x):
        fold = keras.ops.cast(self._fold, x.dtype)
        profile = keras.ops.einsum("brt,rq->bqt", x[..., 0], fold)
        relative = keras.ops.take(profile, self._index, axis=1)  # (batch, rows, 12, frames)
        return keras.ops.concatenate([x, keras.ops.transpose(relative, (0, 1, 3, 2))], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + SEMITONES)

    def get_config(self):
        return {**super().get_config(), "row_hz": self.row_hz}


CUSTOM_OBJECTS = {"PitchContext": PitchContext}
