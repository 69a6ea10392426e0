"""Layers the generators use that Keras does not have; ``CUSTOM_OBJECTS`` lets an export that
contains them load (``trainer.export.load_model`` passes it)."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from vocals2song.config import SEMITONES

PITCH_STEPS = 36  # the pitch-class profile's resolution: a third of a semitone


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


def standardised(x):
    """``x`` centred and scaled over its last axis (a profile whose shape matters, not its level)."""
    centred = x - keras.ops.mean(x, axis=-1, keepdims=True)
    return centred / keras.ops.sqrt(keras.ops.mean(keras.ops.square(centred), axis=-1, keepdims=True) + 1e-6)


def pitch_classes(row_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's pitch class plus 0..11 semitones, in chroma order (C = 0, as librosa's chroma
    filterbank, which the harmony loss scores against): ``(rows, 12)``, and a ``(rows, 1)`` mask
    that is 0 for rows without a pitch class (the DC bin)."""
    audible = row_hz > 0
    semitone = np.rint(SEMITONES * np.log2(np.where(audible, row_hz, 440.0) / 440.0)).astype(np.int64) + 9  # A = 9
    index = (semitone[:, np.newaxis] + np.arange(SEMITONES)) % SEMITONES
    return index.astype(np.int32), audible[:, np.newaxis].astype(np.float32)


class PitchProfile(layers.Layer):
    """``(batch, rows, frames, C)`` -> ``(batch, frames, PITCH_STEPS + 1)``: each frame's
    pitch-class profile of channel 0 (``pitch_maps``' fold), centred and scaled per frame so a
    loud and a quiet note look alike, and the profile's mean as the frame's level (so rests
    show)."""

    def __init__(self, row_hz, **kwargs):
        super().__init__(**kwargs)
        self.row_hz = [float(hz) for hz in row_hz]
        self._fold, _ = pitch_maps(np.asarray(self.row_hz))

    def call(self, x):
        profile = keras.ops.einsum("brt,rq->btq", x[..., 0], keras.ops.cast(self._fold, x.dtype))
        return keras.ops.concatenate([standardised(profile), keras.ops.mean(profile, axis=-1, keepdims=True)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2], PITCH_STEPS + 1)

    def get_config(self):
        return {**super().get_config(), "row_hz": self.row_hz}


class HarmonyContext(layers.Layer):
    """Appends twelve channels to each row of a feature image: the harmony head's predicted
    pitch classes ``(batch, frames, 12)``, standardised per frame, read at the row's own pitch
    class plus 0..11 semitones (as ``PitchContext`` does for the voice's).

    The prediction enters without a gradient: the head learns only from its own loss, so it
    stays a pitch-class predictor that the image generator reads, not a second path the
    adversarial loss can bend."""

    def __init__(self, row_hz, **kwargs):
        super().__init__(**kwargs)
        self.row_hz = [float(hz) for hz in row_hz]
        self._index, self._mask = pitch_classes(np.asarray(self.row_hz))

    def call(self, inputs):
        x, harmony = inputs
        harmony = standardised(keras.ops.stop_gradient(keras.ops.cast(harmony, x.dtype)))
        relative = keras.ops.take(harmony, self._index, axis=2)  # (batch, frames, rows, 12)
        relative = keras.ops.transpose(relative, (0, 2, 1, 3)) * keras.ops.cast(self._mask[:, None, :], x.dtype)
        return keras.ops.concatenate([x, relative], axis=-1)

    def compute_output_shape(self, input_shape):
        shape = input_shape[0]
        return (*shape[:-1], shape[-1] + SEMITONES)

    def get_config(self):
        return {**super().get_config(), "row_hz": self.row_hz}


class SemitoneGrid(layers.Layer):
    """``PitchProfile``'s output ``(batch, frames, PITCH_STEPS + 1)`` -> ``(batch, frames, 12, 4)``:
    for each pitch class in chroma order (C first), its three profile steps (a third of a
    semitone flat, on the note, a third sharp) and the frame's level. In this layout
    transposing the voice by k semitones rolls the pitch-class axis by k."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        per_semitone = PITCH_STEPS // SEMITONES
        semitone_above_a = (np.arange(SEMITONES) + 3) % SEMITONES  # chroma order: C is 3 semitones above A
        offsets = np.arange(per_semitone) - per_semitone // 2
        self._index = ((per_semitone * semitone_above_a[:, None] + offsets) % PITCH_STEPS).astype(np.int32)

    def call(self, profile):
        steps = keras.ops.take(profile[..., :PITCH_STEPS], self._index, axis=-1)  # (batch, frames, 12, 3)
        level = keras.ops.repeat(profile[..., PITCH_STEPS:, None], SEMITONES, axis=-2)
        return keras.ops.concatenate([steps, level], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], SEMITONES, PITCH_STEPS // SEMITONES + 1)


class PitchCircle(layers.Layer):
    """``(batch, frames, 12, C)`` -> ``(batch, frames, 12, 12 C)``: at pitch class p, the channels
    of p, p+1, ..., p+11 (mod 12). A Dense layer after it is a convolution around the circle of
    pitch classes whose kernel spans all twelve: the same weights for each interval at every
    pitch class, so a head built of them treats every key alike."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._index = ((np.arange(SEMITONES)[:, None] + np.arange(SEMITONES)) % SEMITONES).astype(np.int32)

    def call(self, x):
        rolled = keras.ops.take(x, self._index, axis=-2)  # (batch, frames, 12, 12, C)
        shape = keras.ops.shape(rolled)
        return keras.ops.reshape(rolled, (shape[0], shape[1], SEMITONES, SEMITONES * x.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], SEMITONES * input_shape[-1])


CUSTOM_OBJECTS = {
    "PitchContext": PitchContext,
    "PitchProfile": PitchProfile,
    "HarmonyContext": HarmonyContext,
    "SemitoneGrid": SemitoneGrid,
    "PitchCircle": PitchCircle,
}
