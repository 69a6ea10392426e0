"""Griffin-Lim: the fast float32 version rebuilds a waveform whose magnitude matches, at least as
well as librosa's, and its STFT and inverse are the codec's."""

import numpy as np
import pytest

from vocals2song import codec, phase
from vocals2song.config import SpectralConfig

RATE = 44100


def chords(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tones = sum(0.2 / h * np.sin(2 * np.pi * h * f * t) for f in (220.0, 277.2, 329.6) for h in range(1, 6))
    return (tones * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2).astype(np.float32)


@pytest.mark.parametrize("config", [SpectralConfig(), SpectralConfig(n_fft=4096, hop_length=1024)])
def test_the_stft_and_its_inverse_are_the_codecs(config):
    y = chords(3.0)
    exact = codec.stft(y, config)[0].T
    ours = phase.stft(y, config)
    assert ours.shape == exact.shape
    assert np.abs(ours - exact).max() < 1e-5 * np.abs(exact).max()
    assert codec.snr_db(y, phase.istft(exact, config, len(y))) > 100


def test_a_hop_that_does_not_divide_the_frame_overlaps_and_adds_the_same():
    config = SpectralConfig(n_fft=1024, hop_length=300)
    y = chords(1.0)
    assert codec.snr_db(y, phase.istft(phase.stft(y, config), config, len(y))) > 100


def test_griffin_lim_matches_the_magnitude_as_well_as_librosas():
    import librosa

    config = SpectralConfig(n_fft=4096, hop_length=1024)
    y = chords(6.0)
    magnitude = np.abs(codec.stft(y, config)[0])

    def convergence(waveform: np.ndarray) -> float:
        rebuilt = np.abs(codec.stft(waveform, config)[0])
        return float(np.linalg.norm(rebuilt - magnitude) / np.linalg.norm(magnitude))

    ours = phase.griffin_lim(magnitude, config, len(y))
    # librosa starts from random phases too: its convergence here spans 0.062-0.088 over seeds, so
    # ours (0.069) is held to the median of three seeded runs, not to one unseeded draw (a flaky test).
    theirs = [
        convergence(
            librosa.griffinlim(magnitude, n_iter=32, hop_length=1024, n_fft=4096, length=len(y), random_state=seed)
        )
        for seed in range(3)
    ]
    assert ours.shape == y.shape and ours.dtype == np.float32
    assert convergence(ours) < 0.15
    assert convergence(ours) < 1.1 * float(np.median(theirs))
    np.testing.assert_array_equal(ours, phase.griffin_lim(magnitude, config, len(y)))  # seeded


def test_the_fused_step_is_the_momentum_step_then_the_projection_onto_the_magnitude():
    rng = np.random.default_rng(0)
    rebuilt, previous = (rng.normal(size=(2, 1000, 2)) @ np.array([1, 1j])).astype(np.complex64)
    target = rng.random(1000).astype(np.float32)
    rebuilt[0] = previous[0] = 0  # silence stays silent
    out = np.empty_like(rebuilt)
    phase._project(rebuilt, previous, target, np.float32(0.4), out)
    moved = rebuilt - np.float32(0.4) * previous
    np.testing.assert_allclose(out[1:], target[1:] * moved[1:] / np.abs(moved[1:]), rtol=1e-5)
    assert out[0] == 0
