"""Multi-stem targets: one generator writes drums, bass and other as separate stems."""

from __future__ import annotations

import glob
import json
import os

import librosa
import numpy as np
import pytest
import soundfile
from conftest import PARTS, stems_config, sung, tiny_model_config
from tensorflow.compat.v1.train import summary_iterator

from trainer import evaluate, export, generate, picture, train
from trainer.config import GenerateOptions
from vocals2song import audio
from vocals2song.cli import main
from vocals2song.manifest import DatasetError


def test_a_multi_stem_model_refuses_a_data_set_without_its_stems(dataset_dir, tmp_path):
    with pytest.raises(DatasetError, match=r"drums, bass, other not in the data set .* --stems vocals,mixture,drums"):
        train.Trainer(stems_config(dataset_dir, str(tmp_path)))
    with pytest.raises(ValueError, match="each stem once"):
        train.Trainer(stems_config(dataset_dir, str(tmp_path), target="vocals,vocals"))


@pytest.mark.slow
def test_evaluating_a_multi_stem_model_on_a_data_set_without_its_stems_says_what_is_missing(stems_model, dataset_dir):
    with pytest.raises(DatasetError, match=r"drums, bass, other not in the data set .* to score the model against"):
        next(evaluate.cases(export.load_model(stems_model), dataset_dir, "test"))


def test_the_stem_list_and_statistics_round_trip_through_the_export_and_old_exports_load():
    stats = export.StemStatistics(np.zeros(513, np.float32), np.ones(513, np.float32))
    metadata = export.ExportMetadata(
        spectral=export.SpectralConfig(),
        features=export.FeatureConfig(),
        model=tiny_model_config(),
        source="vocals",
        target="drums,bass,other",
        source_stats=stats,
        target_stats={stem: export.StemStatistics(stats.mean + i, stats.std) for i, stem in enumerate(PARTS)},
        step=3,
        window_frames=64,
        data_dir="d",
    )
    values = json.loads(json.dumps(metadata.to_dict()))
    assert values["stems"] == list(PARTS)
    loaded = export.ExportMetadata.from_dict(values)
    assert loaded.stems == PARTS and loaded.makes_accompaniment
    codecs = loaded.target_codec()
    assert codecs.stems == PARTS and [float(c.mean[0]) for c in codecs.codecs] == [0.0, 1.0, 2.0]
    old = {
        **values,
        "target": "accompaniment",
        "stats": {"source": values["stats"]["source"], "target": stats.to_dict()},
    }
    assert export.ExportMetadata.from_dict(old).stems == ("accompaniment",)
    separator = export.ExportMetadata.from_dict({**values, "source": "mixture", "target": "vocals"})
    assert not separator.makes_accompaniment


@pytest.mark.slow
def test_a_multi_stem_model_trains_one_generator_with_a_channel_group_per_stem(stems_model):
    model = export.load_model(stems_model)
    assert model.stems == PARTS
    assert model.generator.output_shape[-1] == len(PARTS) * model.features.channels
    events = glob.glob(os.path.join(stems_model, "summaries", "train", "*"))
    tags = {value.tag for path in events for event in summary_iterator(path) for value in event.summary.value}
    for stem in PARTS:
        assert {f"spectrogram/target_{stem}", f"spectrogram/generated_{stem}", f"audio/generated_{stem}"} <= tags


def _read(path) -> np.ndarray:
    data, rate = soundfile.read(str(path), always_2d=True, dtype="float32")
    return data.T


@pytest.mark.slow
def test_generate_writes_time_aligned_stems_that_sum_to_the_accompaniment(stems_model, tmp_path):
    vocal = sung(3.0, 22050, 2)
    audio.write(str(tmp_path / "v.wav"), vocal, 22050)
    args = ["generate", "--model", stems_model, "--vocals", str(tmp_path / "v.wav")]
    assert main([*args, "--output", str(tmp_path / "acc.wav"), "--stems", str(tmp_path / "a"), "--no-vocals"]) == 0
    stems = {stem: _read(tmp_path / "a" / f"{stem}.wav") for stem in PARTS}
    written = _read(tmp_path / "acc.wav")
    for stem, waveform in stems.items():
        assert waveform.shape == vocal.shape, stem  # the input's channels and length (and rate: read below)
        assert soundfile.info(str(tmp_path / "a" / f"{stem}.wav")).samplerate == 22050
    assert np.max(np.abs(sum(stems.values()) - written)) < 3 * 2**-15  # PCM_16 rounding, three files
    np.testing.assert_array_equal(_read(tmp_path / "a" / "song.wav"), written)
    energies = [float(np.mean(np.square(w))) for w in stems.values()]
    assert min(energies) > 0 and max(energies) / min(energies) < 1e6  # each stem holds sound, none normalised away
    assert main([*args, "--output", str(tmp_path / "song.wav"), "--stems", str(tmp_path / "s")]) == 0
    song, parts = _read(tmp_path / "song.wav"), sum(_read(tmp_path / "s" / f"{stem}.wav") for stem in PARTS)
    assert np.max(np.abs(song - parts - vocal)) < 4 * 2**-15  # the vocal plus the stems (no limiting at this level)


@pytest.mark.slow
def test_the_picture_shows_a_row_per_stem(stems_model, tmp_path):
    from PIL import Image

    model = export.load_model(stems_model)
    audio.write(str(tmp_path / "v.wav"), sung(2.0, 44100, 1), 44100)

    result = generate.generate_file(model, GenerateOptions(str(tmp_path / "v.wav"), str(tmp_path / "song.wav")))
    plain = picture.song_figure(*(_read(p) for p in (tmp_path / "v.wav", result.song)), 44100)
    picture.write_png(str(tmp_path / "plain.png"), plain)
    heights = [Image.open(p).size[1] for p in (result.picture, tmp_path / "plain.png")]
    assert heights[0] > heights[1] * 1.5  # three more rows than the song-only picture


@pytest.mark.slow
def test_evaluate_scores_each_stem_against_its_own_baselines(stems_model, stems_dataset_dir):
    metrics = evaluate.evaluate(export.load_model(stems_model), stems_dataset_dir, per_track=1)
    assert list(metrics["levels"]) == ["song", "accompaniment", *PARTS]
    overall = metrics["overall"]
    for stem in PARTS:
        assert set(overall["model"][stem]) == set(evaluate.STEM_METRICS)
        assert overall["oracle"][stem]["lsd_db"] == pytest.approx(0, abs=1e-6)
        assert overall["oracle"][stem]["onset"] == pytest.approx(1, abs=1e-6)
        assert overall["silence"][stem]["onset"] == 0.0  # no hits at all
        assert overall["average"][stem]["lsd_db"] != overall["retrieval"][stem]["lsd_db"]
    # The true stems sum to the true accompaniment up to their float16 storage: 0.003 dB here.
    assert overall["oracle"]["song"]["lsd_db"] < 0.01
    assert "drums level" in evaluate.markdown(metrics)


def test_sdr_is_the_signal_to_noise_ratio_of_an_estimate_with_white_noise():
    from trainer import separation

    rng = np.random.default_rng(0)
    rate = 8000
    reference = np.sin(2 * np.pi * 220 * np.arange(3 * rate) / rate) * (1 + 0.5 * np.sin(np.arange(3 * rate) / 900))
    noise = rng.normal(size=reference.shape)
    noise *= np.sqrt(np.mean(reference**2) / np.mean(noise**2)) / 10  # 20 dB below the reference
    assert separation.sdr(reference, reference + noise, rate) == pytest.approx(20.0, abs=1.0)
    assert separation.sdr(reference, reference + 10 * noise, rate) == pytest.approx(0.0, abs=1.0)


def _phase_agreement(estimate: np.ndarray, mixture: np.ndarray) -> float:
    """Magnitude-weighted mean cosine of the phase difference between two signals' STFTs: 1 when
    one has the other's phase, about 0 for unrelated phases."""
    a, b = (librosa.stft(x[0], n_fft=1024, hop_length=256) for x in (estimate, mixture))
    weight = np.abs(a) * np.abs(b)
    return float(np.sum(weight * np.cos(np.angle(a) - np.angle(b))) / np.sum(weight))


@pytest.mark.slow
def test_a_separator_trains_on_the_same_data_separates_and_is_scored_by_sdr(stems_dataset_dir, tmp_path):
    """``--source mixture --target vocals``: the same data, trainer and generation, backwards."""
    model_dir = str(tmp_path / "sep")
    args = ["train", "--data_dir", stems_dataset_dir, "--model_dir", model_dir, "--source", "mixture"]
    tiny = [
        "--target",
        "vocals",
        "--features",
        "logmag",
        "--filters",
        "8",
        "--depth",
        "4",
        "--disc_filters",
        "8",
        "--crop_frames",
        "64",
    ]
    assert main([*args, *tiny, "--batch_size", "2", "--steps", "2", "--dropout", "0"]) == 0
    model = export.load_model(model_dir)
    assert (model.source, model.stems, model.makes_accompaniment) == ("mixture", ("vocals",), False)
    mixture = sung(2.0, 44100, 2) + 0.1
    audio.write(str(tmp_path / "mix.wav"), mixture, 44100)
    out = ["--output", str(tmp_path / "v.wav"), "--stems", str(tmp_path / "s")]
    assert main(["generate", "--model", model_dir, "--vocals", str(tmp_path / "mix.wav"), *out]) == 0
    assert _read(tmp_path / "s" / "vocals.wav").shape == mixture.shape
    assert generate._phase_mode(model, "auto") == "source"  # magnitudes only: the mixture's phase
    for phase, agreement in (("source", lambda x: x > 0.8), ("griffinlim", lambda x: x < 0.5)):
        separated = generate.generate_song(model, mixture, 44100, phase).stems["vocals"]
        assert agreement(_phase_agreement(separated, mixture)), phase
    evaluation = [
        "evaluate",
        "--model",
        model_dir,
        "--data_dir",
        stems_dataset_dir,
        "--output_dir",
        str(tmp_path / "e"),
    ]
    assert main([*evaluation, "--segments_per_track", "1"]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["task"] == "separation" and metrics["segments"] == 2
    for system in ("model", "mixture"):
        assert np.isfinite(metrics["overall"][system]["vocals"]["sdr_db"])
    assert "| mixture |" in (tmp_path / "e" / "metrics.md").read_text()
