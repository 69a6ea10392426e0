"""pix2pix: a U-Net generator and a PatchGAN discriminator conditioned on the source, and a
temporal generator that the same discriminator and losses train.

All are fully convolutional, so the U-Net runs on inputs of any length whose sides
are multiples of ``2**depth`` (generation pads to that), the temporal generator on any
length. Batch normalisation is
synchronised across replicas, so a step on N replicas computes the same statistics as on
one device with the same global batch (multi-GPU runs train the same model).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from trainer.config import ModelConfig
from trainer.layers import SEMITONES, HarmonyContext, PitchCircle, PitchContext, PitchProfile, SemitoneGrid


def _norm() -> layers.Layer:
    return layers.BatchNormalization(synchronized=True)


def _down(x, filters: int, norm: bool = True):
    x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=not norm, kernel_initializer=_init())(x)
    if norm:
        x = _norm()(x)
    return layers.LeakyReLU(0.2)(x)


def _up(x, filters: int, dropout: float):
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_init())(x)
    x = _norm()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return layers.ReLU()(x)


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def generator(
    config: ModelConfig, channels: int, bins: int, row_hz: np.ndarray | None = None, outputs: int | None = None
) -> keras.Model:
    """The generator ``config.generator`` names: ``(batch, bins, frames, channels)`` ->
    ``(batch, bins, frames, outputs)`` (default: ``channels``; a multi-stem target has a group of
    channels per stem), linear output (features are normalised log-magnitudes and phase / pi,
    not pixels). ``row_hz`` (each row's centre in Hz) is needed with ``config.pitch_context`` and
    ``config.harmony``."""
    if (config.pitch_context or config.harmony) and (row_hz is None or len(row_hz) != bins):
        raise ValueError(f"pitch_context and harmony need the Hz of each of the {bins} rows")
    build = {"unet": unet, "temporal": temporal}[config.generator]
    return build(config, channels, bins, row_hz, outputs or channels)


def _source(config: ModelConfig, channels: int, bins: int | None, row_hz: np.ndarray | None):
    """The generator's input and what its first layer sees (with the pitch context and the
    harmony head's prediction, if asked)."""
    inputs = keras.Input((bins, None, channels), name="source")
    x = PitchContext(row_hz, name="pitch_context")(inputs) if config.pitch_context else inputs
    if config.harmony:
        x = HarmonyContext(row_hz, name="harmony_context")([x, harmony_head(config, inputs, row_hz)])
    return inputs, x


HARMONY_LAYER = "harmony"  # the head's output layer: the trainer scores it (``harmony_model``)


def harmony_head(config: ModelConfig, inputs, row_hz: np.ndarray):
    """The source's pitch-class profile per frame -> the target's pitch classes per frame
    ``(batch, frames, 12)``, logits in chroma order, through residual dilated 1-D convolutions
    (block i dilated 2**i: 8 blocks see 255 frames either side). Which chord sits under a
    melody note depends on the key and the phrase, seconds of context that a frame-by-frame
    image generator learns slowly; in this low-dimensional space it is learnt in hundreds of
    steps (docs/model-notes.md, run Y)."""
    profile = PitchProfile(row_hz, name="pitch_profile")(inputs)
    if config.harmony_transposable:
        return transposable_head(config, profile)
    x = layers.Dense(config.harmony_channels)(profile)
    for block in range(config.harmony_layers):
        h = layers.Conv1D(config.harmony_channels, 3, padding="same", dilation_rate=2**block, activation="gelu")(x)
        x = layers.Add()([x, layers.Conv1D(config.harmony_channels, 1)(h)])
    return layers.Dense(SEMITONES, name=HARMONY_LAYER)(x)


def transposable_head(config: ModelConfig, profile):
    """``harmony_head`` with the pitch classes as a circle (``--harmony_transposable``): each block
    mixes over time (dilated, as there) and then around the circle with one weight per interval,
    so transposing the voice by k semitones transposes the prediction by k. A melody in any key
    teaches every key: each of the 12 keys has a twelfth of the chorales, and the plain head
    must learn each key's harmony from its share alone."""
    channels = config.harmony_channels
    x = layers.Dense(channels)(SemitoneGrid(name="semitone_grid")(profile))
    for block in range(config.harmony_layers):
        h = layers.Conv2D(channels, (3, 1), padding="same", dilation_rate=(2**block, 1), activation="gelu")(x)
        x = layers.Add()([x, layers.Dense(channels)(PitchCircle()(h))])
    return layers.Reshape((-1, SEMITONES), name=HARMONY_LAYER)(layers.Dense(1)(x))


def harmony_model(generator: keras.Model) -> keras.Model:
    """The generator's harmony head as a model of its own (same weights), for its warm-up."""
    return keras.Model(generator.input, generator.get_layer(HARMONY_LAYER).output, name="harmony")


def with_harmony(generator: keras.Model) -> keras.Model:
    """The generator with its harmony head's prediction as a second output (same weights): a
    training step scores both from one forward pass instead of running the head twice."""
    outputs = [generator.output, generator.get_layer(HARMONY_LAYER).output]
    return keras.Model(generator.input, outputs, name="generator_and_harmony")


def unet(config: ModelConfig, channels: int, bins: int | None, row_hz: np.ndarray | None, outputs: int) -> keras.Model:
    """pix2pix's U-Net: 4x4 kernels over frequency and time, skips at every scale."""
    inputs, x = _source(config, channels, bins, row_hz)
    skips = []
    for block in range(config.depth):
        x = _down(x, config.filters * min(2**block, 8), norm=block > 0)
        skips.append(x)
    for block, skip in enumerate(reversed(skips[:-1])):
        x = _up(x, config.filters * min(2 ** (config.depth - 2 - block), 8), config.dropout if block < 3 else 0.0)
        x = layers.Concatenate()([x, skip])
    target = layers.Conv2DTranspose(outputs, 4, strides=2, padding="same", kernel_initializer=_init(), name="target")
    return keras.Model(inputs, target(x), name="generator")


def temporal(config: ModelConfig, channels: int, bins: int, row_hz: np.ndarray | None, outputs: int) -> keras.Model:
    """Each frame's whole spectrum is one vector; residual blocks of dilated 1-D convolutions
    mix them over time. Harmony is a relation across the whole frequency axis (a chord's
    notes lie octaves apart) and across seconds (the key, the next chord): the U-Net sees
    both only through six levels of 4x4 kernels, this sees them in its first layer, at a
    fraction of the cost per step."""
    inputs, x = _source(config, channels, bins, row_hz)
    x = layers.Permute((2, 1, 3))(x)  # (batch, frames, bins, channels)
    x = layers.Reshape((-1, bins * x.shape[-1]))(x)
    x = layers.Dense(config.temporal_channels)(x)
    for block in range(config.temporal_layers):
        h = layers.LayerNormalization()(x)
        h = layers.Conv1D(config.temporal_channels, 3, padding="same", dilation_rate=2 ** (block % 8))(h)
        h = layers.Activation("gelu")(h)
        if config.dropout:
            h = layers.Dropout(config.dropout)(h)
        x = layers.Add()([x, layers.Conv1D(config.temporal_channels, 1)(h)])
    x = layers.Dense(bins * outputs)(layers.LayerNormalization()(x))
    x = layers.Reshape((-1, bins, outputs))(x)
    return keras.Model(inputs, layers.Permute((2, 1, 3), name="target")(x), name="generator")


def discriminator(
    config: ModelConfig, channels: int, bins: int | None = None, targets: int | None = None
) -> keras.Model:
    """PatchGAN: logits per patch that (source, target) is a real pair. A multi-stem target
    (``targets`` channels, default ``channels``) is judged as one arrangement: all its stems
    enter the first layer together, so a bass that does not fit the drums is found out."""
    source = keras.Input((bins, None, channels), name="source")
    target = keras.Input((bins, None, targets or channels), name="target")
    x = layers.Concatenate()([source, target])
    x = _down(x, config.disc_filters, norm=False)
    x = _down(x, config.disc_filters * 2)
    x = _down(x, config.disc_filters * 4)
    x = layers.ZeroPadding2D()(x)
    x = layers.Conv2D(config.disc_filters * 8, 4, use_bias=False, kernel_initializer=_init())(x)
    x = layers.LeakyReLU(0.2)(_norm()(x))
    x = layers.ZeroPadding2D()(x)
    logits = layers.Conv2D(1, 4, kernel_initializer=_init(), name="patch_logits")(x)
    return keras.Model([source, target], logits, name="discriminator")
