"""Generation and evaluation end to end with a tiny trained model."""

import dataclasses
import json
import os

import librosa
import numpy as np
import pytest
from conftest import sung

from trainer import evaluate, export, generate, models, picture, train
from trainer import inputs as train_input
from trainer.config import GenerateOptions
from vocals2song import audio
from vocals2song.cli import main
from vocals2song.features import FeatureConfig


@pytest.mark.slow
def test_a_40_second_22k_stereo_vocal_gives_a_song_of_the_same_length_and_rate(model, tmp_path):
    audio.write(str(tmp_path / "v.wav"), sung(40.0, 22050, 2), 22050)
    result = generate.generate_file(model, GenerateOptions(str(tmp_path / "v.wav"), str(tmp_path / "out" / "song.wav")))
    song, rate = audio.read(result.song)
    assert rate == 22050 and song.shape == (2, 40 * 22050)
    assert np.all(np.isfinite(song)) and np.abs(song).max() <= 0.99 + 1e-4
    assert open(result.picture, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_2_second_vocal_works_too(model):
    song = generate.generate(model, sung(2.0, 44100, 1), 44100)
    assert song.shape == (1, 88200) and np.all(np.isfinite(song))


@pytest.mark.parametrize("overlap", [64, 256])
def test_crossfade_weights_of_neighbouring_windows_sum_to_one(overlap):
    weights = generate.crossfade_weights(512, overlap)
    np.testing.assert_allclose(weights[512 - overlap :] + weights[:overlap], 1.0, atol=1e-12)
    assert np.all(weights[overlap : 512 - overlap] == 1.0) and np.all(np.diff(weights[:overlap]) > 0)


def test_overlap_add_leaves_no_seam(model):
    """Frame energy at each window join is within a tolerance of its neighbourhood."""
    vocal = sung(20.0, 44100, 1)
    song = generate.generate(model, vocal, 44100, phase="predicted", vocals=False)
    hop = model.spectral.hop_length
    energy = np.sqrt(np.mean(song[0, : len(song[0]) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    window = generate.generation_window(model)
    overlap = generate.crossfade_overlap(window)
    step = window - overlap
    for join in range(step + overlap // 2, len(energy) - window // 2, step):
        around = np.median(energy[join - 40 : join + 40])
        assert abs(energy[join] - around) < 0.5 * around + 1e-4, (join, energy[join], around)


@pytest.mark.parametrize("phase", ["predicted", "griffinlim"])
def test_both_phase_methods_make_an_audible_accompaniment(model, phase):
    vocal = sung(3.0, 44100, 1)
    accompaniment = generate.generate(model, vocal, 44100, phase=phase, vocals=False)
    assert np.all(np.isfinite(accompaniment))
    assert audio.rms_db(accompaniment) > audio.rms_db(vocal) - 30


def test_the_input_vocal_is_added_back_unchanged(model):
    vocal = sung(3.0, 44100, 1)
    with_vocals = generate.generate(model, vocal, 44100, phase="predicted")
    alone = generate.generate(model, vocal, 44100, phase="predicted", vocals=False)
    assert np.abs(with_vocals).max() < generate.PEAK  # the limiter had nothing to do here
    np.testing.assert_allclose(with_vocals - alone, vocal, atol=1e-6)


def test_a_generator_emitting_huge_values_leaves_the_vocal_at_its_level(model):
    """An unbounded linear output once made a few enormous frames; peak normalisation then
    pushed the vocal ~60 dB down. Now the frames are bounded and the vocal stays."""
    huge = dataclasses.replace(model, generator=lambda batch, training=False: np.full_like(batch, 1e6))
    vocal = 0.1 * sung(3.0, 44100, 1)  # a take at about -33 dBFS RMS
    song = generate.generate(huge, vocal, 44100, phase="predicted")
    accompaniment = generate.generate(huge, vocal, 44100, phase="predicted", vocals=False)
    assert np.all(np.isfinite(song)) and np.abs(song).max() <= generate.PEAK
    np.testing.assert_allclose(song - accompaniment, vocal, atol=1e-6)
    assert audio.rms_db(accompaniment) < audio.rms_db(vocal) + 20


def test_a_quieter_take_gets_the_same_accompaniment_scaled(model):
    vocal = sung(4.0, 44100, 1)
    loud = generate.generate(model, vocal, 44100, phase="predicted", vocals=False)
    quiet = generate.generate(model, 0.1 * vocal, 44100, phase="predicted", vocals=False)
    np.testing.assert_allclose(10 * quiet, loud, atol=1e-3 * np.abs(loud).max())  # float32: 0.07% measured


def test_the_limiter_keeps_peaks_under_the_ceiling_and_leaves_the_rest_alone():
    rate = 8000
    signal = 0.5 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)[np.newaxis].astype(np.float32)
    signal[0, 4000:4010] = 3.0  # a burst
    limited = audio.limit(signal, rate, 0.9)
    assert np.abs(limited).max() <= 0.9
    np.testing.assert_array_equal(limited[0, :3800], signal[0, :3800])  # far from the burst: untouched
    np.testing.assert_array_equal(limited[0, 4200:], signal[0, 4200:])


def test_bad_inputs_get_their_error_and_batch_mode_does_the_rest(accompaniment_model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    audio.write(str(folder / "good.wav"), sung(2.0, 44100, 1), 44100)
    audio.write(str(folder / "silent.wav"), np.zeros((1, 44100), np.float32), 44100)
    (folder / "notes.txt").write_text("not audio")
    (folder / "empty.wav").write_bytes(b"")
    audio.write(str(folder / "surround.wav"), sung(0.5, 44100, 6), 44100)
    code = main(["generate", "--model", accompaniment_model, "--vocals", str(folder), "--output", str(tmp_path / "o")])
    captured = capsys.readouterr()
    out = captured.out + captured.err  # per-file lines are logged, the total printed
    assert code == 1
    assert "silent.wav: is silent" in out and "notes.txt: not a readable audio file" in out
    assert "empty.wav: not a readable audio file" in out and "1 of 5 songs written" in out
    assert "surround.wav: 6 channels, over the limit of 2" in out
    assert sorted(os.listdir(tmp_path / "o")) == ["good.png", "good.wav"]


def test_without_a_model_generate_uses_the_released_one_or_says_where_it_is_missing(
    accompaniment_model, tmp_path, monkeypatch, capsys
):
    audio.write(str(tmp_path / "v.wav"), sung(1.0, 44100, 1), 44100)
    args = ["generate", "--vocals", str(tmp_path / "v.wav"), "--output", str(tmp_path / "song.wav")]
    monkeypatch.setattr(export, "RELEASED_MODEL", str(tmp_path / "models" / "chorales"))
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"no released model in {tmp_path / 'models' / 'chorales'}" in error and "make model" in error
    monkeypatch.setattr(export, "RELEASED_MODEL", os.path.join(accompaniment_model, "export"))
    assert main(args) == 0 and os.path.exists(tmp_path / "song.wav")


def test_a_bad_single_input_is_one_clear_error(accompaniment_model, tmp_path, capsys):
    (tmp_path / "x.wav").write_bytes(b"RIFF....nonsense")
    code = main(["generate", "--model", accompaniment_model, "--vocals", str(tmp_path / "x.wav"), "--output", "s.wav"])
    assert code == 2 and "x.wav: not a readable audio file" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_scores_the_model_against_baselines_and_the_oracle(accompaniment_model, dataset_dir, tmp_path):
    args = ["evaluate", "--model", accompaniment_model, "--data_dir", dataset_dir, "--output_dir", str(tmp_path)]
    assert main(args) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["overall"]) == set(evaluate.SYSTEMS)
    assert metrics["segments"] == 6 and len(metrics["tracks"]) == 2
    for system in metrics["overall"].values():
        for level, values in system.items():
            assert set(values) == set(evaluate.LEVELS[level]) and all(np.isfinite(v) for v in values.values())
    assert metrics["levels"] == {level: list(names) for level, names in evaluate.LEVELS.items()}
    table = (tmp_path / "metrics.md").read_text()
    assert "song level" in table and "| retrieval |" in table and "| oracle |" in table
    assert main([*args, "--segments_per_track", "1"]) == 0
    assert json.loads((tmp_path / "metrics.json").read_text())["segments"] == 2


@pytest.mark.slow
def test_evaluate_knows_the_answers_for_the_oracle_and_silence(accompaniment_model, dataset_dir):
    overall = evaluate.evaluate(export.load_model(accompaniment_model), dataset_dir)["overall"]
    for level in ("song", "accompaniment"):
        oracle = overall["oracle"][level]
        assert oracle["lsd_db"] == pytest.approx(0, abs=1e-6) and oracle["chroma"] == pytest.approx(1, abs=1e-6)
        assert oracle["spectral_convergence"] == pytest.approx(0, abs=1e-6)
    assert overall["oracle"]["accompaniment"]["frame_excess_db"] == pytest.approx(0, abs=1e-6)
    assert overall["silence"]["accompaniment"]["chroma"] == 0.0  # silence plays no pitch class
    assert overall["silence"]["accompaniment"]["spectral_convergence"] == pytest.approx(1.0)
    assert overall["silence"]["accompaniment"]["frame_excess_db"] < -60
    assert 0 < overall["silence"]["song"]["chroma"] < 1  # the vocal alone: part of the mixture's harmony


def test_retrieval_lends_another_tracks_accompaniment_at_this_ones_level():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(8, 10)) + 1j * rng.normal(size=(8, 10))
    donor = 5 * (rng.normal(size=(8, 4)) + 1j * rng.normal(size=(8, 4)))
    lent = evaluate.retrieved(donor, truth)
    assert lent.shape == truth.shape
    np.testing.assert_allclose(lent[:, 4:8], lent[:, :4])  # tiled
    assert np.linalg.norm(lent) == pytest.approx(np.linalg.norm(truth))


def trained_tiny(dataset_dir: str, model_dir: str, steps: int, inputs, model) -> export.ExportedModel:
    """Trains a tiny model for ``steps`` steps (batches of two) and loads its export."""
    train.train(train.TrainConfig(dataset_dir, model_dir, steps=steps, batch_size=2, input=inputs, model=model))
    return export.load_model(model_dir)


@pytest.mark.slow
def test_magnitude_only_models_default_to_griffin_lim(dataset_dir, tmp_path):
    model = trained_tiny(
        dataset_dir,
        str(tmp_path / "m"),
        1,
        train_input.InputConfig(crop_frames=64, shuffle_buffer=4, features=FeatureConfig("logmag")),
        models.ModelConfig(filters=4, depth=4, dropout=0.0, disc_filters=4),
    )
    assert generate.generate(model, sung(2.0, 44100, 1), 44100).shape == (1, 88200)
    with pytest.raises(ValueError, match="--phase griffinlim"):
        generate.generate(model, sung(2.0, 44100, 1), 44100, phase="predicted")


@pytest.mark.slow
def test_a_log_frequency_model_trains_exports_and_sings(dataset_dir, tmp_path):
    features = FeatureConfig("logmag", frequency="log", log_bins=256)
    model = trained_tiny(
        dataset_dir,
        str(tmp_path / "m"),
        2,
        train_input.InputConfig(crop_frames=64, shuffle_buffer=4, features=features, target="accompaniment"),
        models.ModelConfig(filters=4, depth=4, dropout=0.0, disc_filters=4),
    )
    assert model.features == features and model.generator.input_shape[1] == 256
    vocal = sung(2.0, 44100, 1)
    song = generate.generate(model, vocal, 44100)
    assert song.shape == (1, 88200)
    accompaniment = song - vocal
    assert audio.rms_db(accompaniment) > audio.rms_db(vocal) - 40  # the generator's rows reach the audio


def test_crossfaded_windows_match_one_window_over_the_whole_input(model, monkeypatch):
    """Windows placed, weighted and joined right give what one call over everything gives,
    but at the windows' edges (the generator sees less context there)."""
    import math

    from vocals2song import codec

    spectrum = codec.stft(sung(8.0, 44100, 1), model.spectral)[0]
    windowed, _ = generate.crossfaded(model, spectrum, "griffinlim")
    whole_window = math.ceil(spectrum.shape[1] / model.multiple) * model.multiple
    monkeypatch.setattr(generate, "generation_window", lambda *_: whole_window)
    whole, _ = generate.crossfaded(model, spectrum, "griffinlim")
    error = float(np.abs(windowed - whole).mean() / np.abs(whole).mean())
    shifted = float(np.abs(np.roll(windowed, 8, axis=1) - whole).mean() / np.abs(whole).mean())
    assert error < 0.1 and error < shifted / 3, (error, shifted)


@pytest.mark.slow
def test_a_temporal_generator_trains_exports_and_sings_any_length(dataset_dir, tmp_path):
    model = trained_tiny(
        dataset_dir,
        str(tmp_path / "m"),
        2,
        train_input.InputConfig(crop_frames=48, shuffle_buffer=4, target="accompaniment"),
        models.ModelConfig(generator="temporal", temporal_channels=16, temporal_layers=2, disc_filters=4),
    )
    assert model.multiple == 1  # nothing to pad: no downsampling
    vocal = sung(1.3, 44100, 1)
    song = generate.generate(model, vocal, 44100)
    assert song.shape == vocal.shape
    assert audio.rms_db(song - vocal) > audio.rms_db(vocal) - 40


def test_a_training_vocal_with_rests_is_left_at_its_level(model, dataset_dir):
    """Generation matches a take's level to the training vocals' *active* level, measured on
    the data at export: the training vocals themselves get gains around one, rests or not (the
    statistics' mean counts the rests, and matching to it turned every take down)."""
    from vocals2song import codec, inspection
    from vocals2song.manifest import read_manifest

    manifest = read_manifest(dataset_dir)
    assert model.source_codec.level_reference is not None
    gains = []
    for segment in inspection.first_segments(manifest, dataset_dir, "train", 32):
        vocal = codec.stored_to_complex(segment.stems["vocals"]).mean(axis=0)
        with_rests = vocal.copy()
        with_rests[:, : vocal.shape[1] // 2] = 0  # the same take with a long rest
        gains.append((model.source_codec.level_gain(vocal), model.source_codec.level_gain(with_rests)))
    gains = np.array(gains)
    assert np.median(gains[:, 0]) == pytest.approx(1.0, rel=0.1)
    assert np.median(gains[:, 1]) == pytest.approx(1.0, rel=0.5)


def test_the_pictures_pitch_classes_follow_the_takes_tuning():
    """A note 45 cents sharp of A smears over A and A# when counted at 440, and sits on A when
    counted in its own tuning (``Song.tuning``, which the song's picture is drawn with)."""
    rate = 44100
    seconds = np.arange(2 * rate) / rate
    hz = 440 * 2 ** (0.45 / 12)
    tone = sum(np.sin(2 * np.pi * k * hz * seconds) / k for k in range(1, 5))
    spectrum = np.abs(librosa.stft(tone, n_fft=4096, hop_length=1024))
    shares = {t: picture.pitch_classes(spectrum, rate, t) for t in (0.0, 0.45)}
    shares = {t: (c / c.sum(axis=0)).mean(axis=1) for t, c in shares.items()}
    a, a_sharp = 9, 10
    assert shares[0.0][a_sharp] > 0.3 and shares[0.45][a_sharp] < 0.2
    assert shares[0.45][a] > shares[0.0][a] + 0.1


def test_the_pictures_pitch_classes_are_blank_where_the_song_is_silent():
    """A silent tail (rounding noise 150 dB down) gets no pitch classes, where scaling each frame
    to 1 would paint it with random full-strength ones; the sounding frames still peak at 1."""
    rate = 44100
    seconds = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * seconds)
    tail = np.random.default_rng(0).standard_normal(rate) * 10 ** (-150 / 20)
    spectrum = np.abs(librosa.stft(np.concatenate([tone, tail]), n_fft=4096, hop_length=1024))
    classes = picture.pitch_classes(spectrum, rate, 0.0)
    frames = spectrum.shape[1]
    assert np.allclose(classes[:, : frames // 2 - 4].max(axis=0), 1.0)
    assert not classes[:, frames // 2 + 4 :].any()
