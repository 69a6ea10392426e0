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
