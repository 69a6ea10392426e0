import warnings

import numpy as np
import pytest

from vocals2song import codec, synth
from vocals2song.config import ConfigMismatchError, SpectralConfig


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """15 s of generated music, mono, as a track's mixture would be."""
    _, stems = synth.synth_track(15.0, np.random.default_rng(3))
    mixture = synth.quantise_mix(stems)["mixture"]
    return mixture.mean(axis=0, keepdims=True)


def test_segment_of_15_seconds_is_513_by_2584():
    config = SpectralConfig()
    assert (config.bins, config.segment_frames) == (513, 2584)


def test_encode_stores_float16_real_imag(music):
    stored = codec.encode(music, SpectralConfig())
    assert stored.dtype == np.float16
    assert stored.shape == (1, 513, 2584, 2)


@pytest.mark.parametrize(
    ("samples", "channels", "config"),
    [
        (661_500, 1, SpectralConfig()),
        (661_577, 2, SpectralConfig()),
        (700, 1, SpectralConfig()),  # shorter than a frame
        (20_000, 1, SpectralConfig(n_fft=4096, hop_length=1024)),
        (30_000, 2, SpectralConfig(window="hamming")),
    ],
)
def test_stft_is_librosas_to_the_bit(samples, channels, config):
    """Shards stay byte-identical to those the librosa STFT wrote (issue #16)."""
    import librosa

    waveform = (np.random.default_rng(samples).standard_normal((channels, samples)) * 0.3).astype(np.float32)
    with warnings.catch_warnings():  # librosa warns that a 700-sample signal is shorter than n_fft
        warnings.simplefilter("ignore")
        reference = librosa.stft(waveform, n_fft=config.n_fft, hop_length=config.hop_length, window=config.window)
    ours = codec.stft(waveform, config)
    assert ours.dtype == np.complex64 and ours.flags.c_contiguous
    np.testing.assert_array_equal(ours.view(np.uint32), np.ascontiguousarray(reference).view(np.uint32))
    stored = codec.complex_to_stored(reference)
    np.testing.assert_array_equal(codec.encode(waveform, config).view(np.uint16), stored.view(np.uint16))


@pytest.mark.parametrize("n_fft", [256, 1024, 2048, 4096])
def test_hann_window_is_scipys_to_the_bit(n_fft):
    from scipy.signal import get_window

    window = codec.window(SpectralConfig(n_fft=n_fft, hop_length=n_fft // 4))
    np.testing.assert_array_equal(window, get_window("hann", n_fft, fftbins=True))


def test_complex_to_stored_keeps_real_then_imaginary():
    spectrum = np.array([[1.5 - 2.0j, 0.25 + 4.0j]], dtype=np.complex64)
    stored = codec.complex_to_stored(spectrum.T)  # a transposed (non-contiguous) input too
    np.testing.assert_array_equal(stored, np.array([[[1.5, -2.0]], [[0.25, 4.0]]], dtype=np.float16))


def test_float16_round_trip_is_near_lossless(music):
    config = SpectralConfig()
    decoded = codec.decode(codec.encode(music, config), config, music.shape[1])
    assert codec.snr_db(music, decoded) >= 75.0


def test_seed_8bit_bmp_codec_is_far_lossier(music, tmp_path):
    config = SpectralConfig()
    peak = float(np.abs(codec.stft(music, config)).max())
    image = codec.encode_8bit(music, config, peak)
    codec.write_bmp(tmp_path / "seed.bmp", image)
    assert (tmp_path / "seed.bmp").read_bytes()[:2] == b"BM"
    read_back = codec.read_bmp(tmp_path / "seed.bmp")
    np.testing.assert_array_equal(read_back, image)
    assert not read_back[..., 2].any()  # B channel unused, as in the seed
    eight_bit = codec.snr_db(music, codec.decode_8bit(read_back, config, peak, music.shape[1]))
    sixteen_bit = codec.snr_db(music, codec.decode(codec.encode(music, config), config, music.shape[1]))
    print(f"SNR float16 {sixteen_bit:.1f} dB, seed 8-bit BMP {eight_bit:.1f} dB")
    assert eight_bit < sixteen_bit - 20


def test_8bit_decoder_uses_polar_form_not_the_seeds_rectangular_bug():
    config = SpectralConfig(segment_seconds=1.0)
    t = np.arange(config.segment_samples) / config.sample_rate
    tone = (0.5 * np.sin(2 * np.pi * 441.0 * t)).astype(np.float32)[np.newaxis]
    peak = float(np.abs(codec.stft(tone, config)).max())
    decoded = codec.decode_8bit(codec.encode_8bit(tone, config, peak), config, peak, tone.shape[1])
    assert codec.snr_db(tone, decoded) > 20.0  # mag + phase*1j would give noise (< 0 dB)


def test_config_mismatch_names_the_field():
    with pytest.raises(ConfigMismatchError, match="hop_length: 512"):
        SpectralConfig().check_matches(SpectralConfig(hop_length=512), "the data")


def test_fast_float16_cast_rounds_every_finite_float_as_numpy_does():
    from vocals2song import half

    rng = np.random.default_rng(16)
    bits = rng.integers(0, 2**32, 4_000_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    edges = np.array(
        [
            0.0,
            -0.0,
            65504.0,
            65519.99,
            65520.0,
            -65520.0,
            2.0**-14,
            2.0**-24,
            2.0**-25,
            2.0**-26,
            1.5 * 2.0**-25,
            np.inf,
            -np.inf,
        ],
        dtype=np.float32,
    )
    values = np.concatenate([values[np.isfinite(values)], edges])
    # Ties: floats in [1, 2) exactly halfway between two float16s, with even and odd low bits.
    ties = (np.uint32(0x3F800000) | np.arange(1024, dtype=np.uint32) << 13 | np.uint32(0x1000)).view(np.float32)
    values = np.concatenate([values, ties, (values[:1000] * 1e-6).astype(np.float32)])
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16)
    np.testing.assert_array_equal(half.to_float16(values).view(np.uint16), expected.view(np.uint16))
    assert half.to_float16(values.reshape(-1, 1)[:8].T).shape == (1, 8)
