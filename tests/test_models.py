"""The generators' shapes and what they can see."""

import numpy as np
import pytest

from trainer import models
from trainer.config import ModelConfig


def test_the_temporal_generator_sees_its_receptive_field_and_no_further():
    """8 blocks dilated 1..128 with kernel 3 reach 255 frames either side: a change 200 frames
    away moves the output, one 300 frames away cannot."""
    generator = models.generator(ModelConfig(generator="temporal", temporal_channels=8, dropout=0.0), 1, 16)
    x = np.random.default_rng(0).standard_normal((1, 16, 701, 1)).astype(np.float32)
    centre = 350

    def moved(offset: int) -> float:
        changed = x.copy()
        changed[:, :, centre + offset] += 1.0
        before, after = generator(x), generator(changed)
        return float(np.abs(np.asarray(after)[:, :, centre] - np.asarray(before)[:, :, centre]).max())

    assert generator(x).shape == x.shape  # any length: 701 frames
    assert moved(200) > 1e-6 and moved(-200) > 1e-6
    assert moved(300) == 0.0 and moved(-300) == 0.0


@pytest.mark.parametrize("name", ["unet", "temporal"])
def test_every_generator_family_keeps_the_feature_shape(name):
    config = ModelConfig(generator=name, filters=4, depth=3, temporal_channels=8, temporal_layers=2)
    x = np.zeros((2, 32, 64, 2), np.float32)
    assert models.generator(config, 2, 32)(x).shape == x.shape


def _log_axis(rows: int = 96) -> np.ndarray:
    """36 rows per octave from 110 Hz: row 72 is A440, 3 rows are a semitone."""
    return 110.0 * 2.0 ** (np.arange(rows) / 36.0)


def test_pitch_context_tells_each_row_the_intervals_above_it_that_sound():
    """One A (rows 0, 36, 72 of a 110 Hz log axis) sounding: a row on F# (three semitones under
    A) sees it at interval 3 and nowhere else; a row on A sees it at 0; a row a third of a
    semitone off every interval from A sees nothing."""
    from trainer.layers import PitchContext

    x = np.zeros((1, 96, 4, 1), np.float32)
    x[0, [0, 36, 72], :, 0] = 1.0
    out = np.asarray(PitchContext(_log_axis())(x))
    assert out.shape == (1, 96, 4, 13)
    np.testing.assert_array_equal(out[..., 0], x[..., 0])  # the input passes through
    f_sharp = 27  # 9 semitones above A110
    assert out[0, f_sharp, 0, 1 + 3] > 0.5
    assert np.abs(np.delete(out[0, f_sharp, 0, 1:], 3)).max() < 1e-6
    assert out[0, 72, 0, 1] == out[0, f_sharp, 0, 1 + 3]
    assert np.abs(out[0, 16, 0, 1:]).max() < 1e-6


def test_pitch_context_moves_with_a_transposition():
    """Transposing the input by a semitone (3 rows) moves every output row by 3 rows: harmony is
    read the same way in every key."""
    from trainer.layers import PitchContext

    x = np.random.default_rng(1).standard_normal((1, 96, 5, 1)).astype(np.float32)
    x[:, 90:] = 0.0
    shifted = np.roll(x, 3, axis=1)
    layer = PitchContext(_log_axis())
    a, b = np.asarray(layer(x)), np.asarray(layer(shifted))
    np.testing.assert_allclose(b[:, 3:], a[:, :-3], atol=1e-5)


@pytest.mark.parametrize("options", [{"pitch_context": True}, {"harmony": True, "harmony_channels": 8}])
def test_a_generator_with_pitch_context_or_harmony_saves_and_loads(tmp_path, options):
    import keras

    from trainer.layers import CUSTOM_OBJECTS

    config = ModelConfig(filters=4, depth=3, dropout=0.0, **options)
    generator = models.generator(config, 1, 96, _log_axis())
    x = np.random.default_rng(2).standard_normal((1, 96, 16, 1)).astype(np.float32)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras", compile=False, custom_objects=CUSTOM_OBJECTS)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(generator(x)), atol=1e-6)
    with pytest.raises(ValueError, match="need the Hz of each of the 96 rows"):
        models.generator(config, 1, 96)


def test_harmony_context_reads_the_prediction_at_each_rows_pitch_class():
    """The head predicts A: a row on A (at any octave) sees it at interval 0, a row on C at
    interval 9 (C + 9 semitones = A), the DC row sees nothing."""
    from trainer.layers import HarmonyContext

    row_hz = np.array([0.0, 220.0, 440.0, 261.63, 523.25])
    harmony = np.full((1, 3, 12), -1.0, np.float32)
    harmony[..., 9] = 5.0  # chroma order: C = 0, A = 9
    out = np.asarray(HarmonyContext(row_hz)([np.zeros((1, 5, 3, 1), np.float32), harmony]))
    assert out.shape == (1, 5, 3, 13)
    for row, interval in ((1, 0), (2, 0), (3, 9), (4, 9)):
        assert np.argmax(out[0, row, 0, 1:]) == interval, row
    assert np.abs(out[0, 0, :, 1:]).max() == 0.0


def test_the_transposable_head_transposes_its_prediction_with_the_voice():
    """``--harmony_transposable``: rolling the voice's pitch-class profile by k semitones (3k
    steps) rolls the prediction by k, for any weights; the grid puts A (profile step 0) at
    chroma index 9."""
    import keras

    from trainer.layers import PITCH_STEPS, SemitoneGrid

    config = ModelConfig(harmony=True, harmony_transposable=True, harmony_channels=8, harmony_layers=3)
    profile = keras.Input((None, PITCH_STEPS + 1))
    head = keras.Model(profile, models.transposable_head(config, profile))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 20, PITCH_STEPS + 1)).astype(np.float32)
    out = np.asarray(head(x))
    for k in (1, 5, 11):
        moved = np.concatenate([np.roll(x[..., :PITCH_STEPS], 3 * k, axis=-1), x[..., PITCH_STEPS:]], axis=-1)
        np.testing.assert_allclose(np.asarray(head(moved)), np.roll(out, k, axis=-1), rtol=1e-4, atol=1e-5)
    spike = np.zeros((1, 1, PITCH_STEPS + 1), np.float32)
    spike[0, 0, 0] = 1.0
    grid = np.asarray(SemitoneGrid()(spike))[0, 0]
    assert grid[9, 1] == 1.0 and grid[:, :3].sum() == 1.0


def test_the_harmony_head_learns_only_from_its_own_loss():
    """The image generator's output gives the head no gradient: the adversarial and
    reconstruction losses cannot bend the pitch-class predictor. Checked through the two-output
    model training uses, whose outputs are the generator's and the head's own."""
    import tensorflow as tf

    config = ModelConfig(filters=4, depth=3, dropout=0.0, harmony=True, harmony_channels=8, harmony_layers=2)
    generator = models.generator(config, 1, 96, _log_axis())
    head, both = models.harmony_model(generator), models.with_harmony(generator)
    x = tf.constant(np.random.default_rng(3).standard_normal((1, 96, 16, 1)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        image, harmony = both(x)
        image_loss, harmony_loss = tf.reduce_sum(tf.square(image)), tf.reduce_sum(tf.square(harmony))
    np.testing.assert_allclose(image, generator(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(harmony, head(x), rtol=1e-5, atol=1e-6)
    head_weights = head.trainable_variables
    assert all(g is None for g in tape.gradient(image_loss, head_weights))
    assert all(g is not None for g in tape.gradient(harmony_loss, head_weights))
    assert any(g is not None for g in tape.gradient(image_loss, generator.get_layer("target").trainable_variables))


def test_the_harmony_head_learns_a_chord_under_a_melody():
    """A melody of random notes; the true accompaniment plays the major third and the fifth
    above each note (chroma, C first). Trained on HarmonyDistance's correlation for 150 steps
    the head predicts it (correlation > 0.9); untrained it does not."""
    import keras
    import tensorflow as tf

    from trainer.losses import correlation

    rows = _log_axis()
    config = ModelConfig(filters=4, depth=3, harmony=True, harmony_channels=16, harmony_layers=2)
    head = models.harmony_model(models.generator(config, 1, 96, rows))
    rng = np.random.default_rng(4)
    notes = rng.integers(0, 12, (32, 24))  # (examples, frames): pitch class of the melody, C = 0
    semitone_row = 3 * ((notes - 9) % 12)  # rows 0, 36, 72 are A
    x = np.zeros((32, 96, 24, 1), np.float32)
    for octave in (0, 36):
        np.put_along_axis(x[..., 0], (semitone_row + octave)[:, None, :], 1.0, axis=1)
    chord = np.zeros((32, 24, 12), np.float32)
    for interval in (4, 7):
        np.put_along_axis(chord, ((notes + interval) % 12)[..., None], 1.0, axis=2)
    score = lambda: float(tf.reduce_mean(correlation(head(x), chord)))  # noqa: E731
    before = score()
    optimizer = keras.optimizers.Adam(1e-2)
    weights = head.trainable_variables

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(1.0 - correlation(head(x), chord))
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

    for _ in range(150):
        step()
    assert before < 0.5 < 0.9 < score()
