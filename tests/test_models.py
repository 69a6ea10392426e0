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


def test_a_generator_with_pitch_context_saves_and_loads(tmp_path):
    import keras

    from trainer.layers import CUSTOM_OBJECTS

    config = ModelConfig(filters=4, depth=3, dropout=0.0, pitch_context=True)
    generator = models.generator(config, 1, 96, _log_axis())
    x = np.random.default_rng(2).standard_normal((1, 96, 16, 1)).astype(np.float32)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras", compile=False, custom_objects=CUSTOM_OBJECTS)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(generator(x)), atol=1e-6)
    with pytest.raises(ValueError, match="pitch_context needs the Hz"):
        models.generator(config, 1, 96)
