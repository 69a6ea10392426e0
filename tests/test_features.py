"""Model features: the log-frequency axis makes transposition a translation and inverts cleanly."""

import numpy as np
import pytest

from vocals2song import codec as spectral
from vocals2song.config import SpectralConfig
from vocals2song.features import FeatureCodec, FeatureConfig, log_frequency_maps

LOG = FeatureConfig(kind="logmag", frequency="log")
HYBRID = FeatureConfig(kind="logmag", frequency="hybrid", log_bins=128, bins_per_octave=24, fmin=32.7)
CONFIG = SpectralConfig()


def harmonic_tone(fundamental: float, seconds: float = 1.0, harmonics: int = 8) -> np.ndarray:
    t = np.arange(int(seconds * CONFIG.sample_rate)) / CONFIG.sample_rate
    tone = sum(np.sin(2 * np.pi * fundamental * h * t) / h for h in range(1, harmonics + 1))
    return (0.1 * tone)[np.newaxis].astype(np.float32)


def log_codec(features: FeatureConfig = LOG) -> FeatureCodec:
    return FeatureCodec(features, np.full(513, -1.0), np.full(513, 2.0), CONFIG)  # bound e^7: nothing clipped


def mean_rows(codec: FeatureCodec, waveform: np.ndarray) -> np.ndarray:
    return codec.encode(spectral.stft(waveform, CONFIG)[0])[..., 0].mean(axis=1)


def test_log_rows_are_spaced_by_bins_per_octave_and_stay_inside_the_stft():
    to_log, to_linear = log_frequency_maps(LOG, CONFIG.sample_rate, CONFIG.n_fft)
    assert to_log.shape == (320, 512) and to_linear.shape == (512, 320)
    assert np.allclose(to_log.sum(axis=1), 1.0, atol=1e-5) and np.allclose(to_linear.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="above the 512 STFT bins"):
        log_frequency_maps(FeatureConfig(kind="logmag", frequency="log", log_bins=384), 44100, 1024)


@pytest.mark.parametrize("semitones", [3, 5, 7])
@pytest.mark.parametrize(
    ("features", "per_semitone", "region"),
    [(LOG, 3, slice(100, 260)), (HYBRID, 2, slice(40, 100))],  # rows of ~0.3-6.9 kHz; ~1.7-6.9 kHz
    ids=["log", "hybrid"],
)
def test_transposing_a_tone_shifts_its_log_rows_by_a_fixed_count_per_semitone(
    semitones, features, per_semitone, region
):
    """A tone's profile where rows are log-spaced and the STFT resolves harmonics moves as a block."""
    codec = log_codec(features)
    low, high = mean_rows(codec, harmonic_tone(220.0)), mean_rows(codec, harmonic_tone(220.0 * 2 ** (semitones / 12)))
    errors = [np.abs(low[region] - high[region.start + k : region.stop + k]).mean() for k in range(25)]
    shift = per_semitone * semitones
    assert abs(int(np.argmin(errors)) - shift) <= 1, errors
    assert errors[shift] < 0.5 * errors[0], errors


@pytest.mark.parametrize("features", [LOG, HYBRID], ids=["log", "hybrid"])
def test_log_features_invert_to_the_same_pitch_classes_and_level(features):
    from trainer.evaluate import chroma

    codec = log_codec(features)
    chord = sum(harmonic_tone(f) for f in (261.6, 329.6, 392.0))
    spectrum = spectral.stft(chord, CONFIG)[0]
    rebuilt = codec.magnitude(codec.encode(spectrum))
    assert rebuilt.shape == spectrum.shape
    truth = chroma(np.abs(spectrum), CONFIG.sample_rate, CONFIG.n_fft).mean(axis=1)
    ours = chroma(rebuilt, CONFIG.sample_rate, CONFIG.n_fft).mean(axis=1)
    assert np.corrcoef(truth, ours)[0, 1] > 0.95
    energy_db = 10 * np.log10(np.sum(rebuilt**2) / np.sum(np.abs(spectrum) ** 2))
    assert abs(energy_db) < 3.0, energy_db


def test_tensorflow_and_numpy_encoders_agree_on_the_log_axis():
    codec = log_codec()
    spectrum = spectral.stft(harmonic_tone(330.0, 0.5), CONFIG)[0]
    stored = np.stack([spectrum.real, spectrum.imag], axis=-1)[np.newaxis].astype(np.float16)
    ours = codec.encode(stored[0, ..., 0].astype(np.float32) + 1j * stored[0, ..., 1].astype(np.float32))
    assert np.allclose(np.asarray(codec.encode_tf(stored)), ours, atol=1e-3)


def test_a_log_axis_with_a_phase_channel_is_refused():
    with pytest.raises(ValueError, match="no per-bin phase"):
        FeatureConfig(kind="logmag_phase", frequency="log")
