"""The pix2pix trainer on generated data: tiny model, short crops, two logical CPUs."""

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from conftest import stems_config, sung, tiny_model_config

from trainer import export, generate, inputs, models, train
from vocals2song.cli import main
from vocals2song.features import StemsCodec

TINY = ["--filters", "8", "--depth", "4", "--disc_filters", "8", "--crop_frames", "64", "--batch_size", "2"]
TINY_MODEL = models.ModelConfig(filters=8, depth=4, dropout=0.0, disc_filters=8)
TINY_INPUT = inputs.InputConfig(crop_frames=64, shuffle_buffer=8)


def tiny_config(data_dir: str, model_dir: str, **overrides) -> train.TrainConfig:
    return train.TrainConfig(data_dir, model_dir, batch_size=2, input=TINY_INPUT, model=TINY_MODEL, **overrides)


@pytest.fixture(scope="module")
def trained(dataset_dir, tmp_path_factory) -> str:
    model_dir = str(tmp_path_factory.mktemp("model"))
    args = ["train", "--data_dir", dataset_dir, "--model_dir", model_dir, "--cpu_replicas", "2", *TINY]
    steps = ["--steps", "4", "--checkpoint_every", "2", "--log_every", "2", "--summary_every", "2", "--eval_every", "2"]
    assert main(args + steps) == 0
    return model_dir


@pytest.mark.slow
def test_two_replicas_train_with_finite_losses_and_checkpoints(trained):
    rows = [json.loads(line) for line in open(os.path.join(trained, train.LOG_FILE))]
    assert [row["step"] for row in rows] == [2, 4]
    for row in rows:
        assert all(np.isfinite(row[key]) for key in ("g_loss", "d_loss", "l1", "g_gan"))
    assert np.isfinite(rows[-1]["valid_l1"])
    assert tf.train.latest_checkpoint(os.path.join(trained, "checkpoints")).endswith("ckpt-4")


@pytest.mark.slow
def test_tensorboard_gets_scalars_spectrograms_and_audio(trained):
    tags = set()
    folder = os.path.join(trained, "summaries", "train")
    for name in os.listdir(folder):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name)):
            tags.update(value.tag for value in event.summary.value)
    assert {"g_loss", "d_loss", "l1", "spectrogram/generated", "audio/generated", "audio/target"} <= tags


@pytest.mark.slow
def test_exported_generator_maps_features_to_the_same_shape(trained):
    model = export.load_model(trained)
    assert (model.source, model.target, model.step, model.multiple) == ("vocals", "mixture", 4, 16)
    features = np.random.default_rng(0).standard_normal((1, 512, 128, 2)).astype(np.float32)
    assert model.generator(features, training=False).shape == (1, 512, 128, 2)


def distributed_batch(strategy, batch):
    return next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))))


@pytest.mark.slow
def test_one_and_two_replicas_train_the_same_weights(dataset_dir, tmp_path):
    """Two steps on one device and on two replicas: the same losses at the second step (after an
    update) and the same generator weights, so a multi-GPU run trains the same model."""
    batch = next(iter(train.Trainer(tiny_config(dataset_dir, str(tmp_path / "a"))).dataset("train", True)))
    losses, generators = [], []
    for devices in (["/cpu:0"], ["/cpu:0", "/cpu:1"]):
        strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
        trainer = train.Trainer(tiny_config(dataset_dir, str(tmp_path / str(len(devices)))), strategy)
        assert trainer.strategy.num_replicas_in_sync == len(devices)
        first = trainer.train_step(distributed_batch(strategy, batch))
        losses.append(trainer.train_step(distributed_batch(strategy, batch)))
        assert losses[-1]["l1"] != first["l1"]  # the weights moved between the steps
        generators.append(trainer.generator)
    for name in losses[0]:
        np.testing.assert_allclose(losses[0][name], losses[1][name], rtol=1e-4, err_msg=name)
    assert_same_weights(*generators, steps=2, learning_rate=trainer.config.learning_rate)


def assert_same_weights(a, b, steps: int, learning_rate: float) -> None:
    """The two models' weights agree after ``steps`` Adam steps from the same start. Adam moves a
    weight by up to the learning rate per step whatever its gradient's size, so a near-zero
    gradient that float rounding flips in sign (batched vs per-crop arithmetic, one replica's sum
    vs two's) moves that weight by up to 2 x lr per step: the bound, not a rounding tolerance
    (each comparison failed once in a clean-clone run with a tighter one)."""
    for one, two in zip(a.trainable_variables, b.trainable_variables, strict=True):
        np.testing.assert_allclose(np.asarray(one), np.asarray(two), rtol=1e-3, atol=2 * learning_rate * steps)


@pytest.mark.slow
def test_tiny_model_overfits_one_batch(dataset_dir, tmp_path):
    trainer = train.Trainer(tiny_config(dataset_dir, str(tmp_path / "m"), learning_rate=1e-3))
    batch = distributed_batch(trainer.strategy, next(iter(trainer.dataset("train", True))))
    l1 = [trainer.train_step(batch)["l1"] for _ in range(150)]
    assert l1[-1] < l1[0] / 2, (l1[0], l1[-1])


def tone_features(frequencies: list[float], codec) -> tf.Tensor:
    """Normalised log-magnitude features of a chord of four-harmonic tones: ``(1, 512, frames, 1)``.
    (1024-point frames are 43 Hz apart: pitch classes resolve from about 500 Hz up.)"""
    from vocals2song import codec as spectral
    from vocals2song.config import SpectralConfig

    t = np.arange(22050) / 44100
    chord = sum(0.2 / h * np.sin(2 * np.pi * h * f * t) for f in frequencies for h in range(1, 5))
    chord = chord[np.newaxis].astype(np.float32)
    return tf.constant(codec.encode(spectral.stft(chord, SpectralConfig())[0])[np.newaxis])


@pytest.mark.parametrize("frequency", ["linear", "log"])
def test_the_chroma_term_is_zero_for_the_target_and_high_for_other_pitch_classes(frequency):
    from trainer import losses
    from vocals2song.config import SpectralConfig
    from vocals2song.features import FeatureCodec, FeatureConfig

    features = FeatureConfig(kind="logmag", frequency=frequency)
    codec = FeatureCodec(features, np.full(513, -5.0), np.full(513, 2.0), SpectralConfig())
    distance = losses.ChromaDistance(StemsCodec(("other",), (codec,)), SpectralConfig())
    c_major = tone_features([523.3, 659.3, 784.0], codec)
    same_classes = tone_features([1046.5, 1318.5, 1568.0], codec)  # an octave up
    f_sharp = tone_features([740.0, 932.3, 554.4], codec)  # F# major: no pitch class in common
    assert float(distance(c_major, c_major)[0]) == pytest.approx(0.0, abs=1e-4)
    assert float(distance(same_classes, c_major)[0]) < 0.3
    assert float(distance(f_sharp, c_major)[0]) > 1.0  # anti-correlated profiles


def test_the_loudness_term_is_zero_for_the_target_and_one_for_10_db_too_quiet():
    from trainer import losses
    from vocals2song.config import SpectralConfig
    from vocals2song.features import FeatureCodec, FeatureConfig

    # row means of -2 keep the chord's peaks under BOUND_STD, where generation clips them
    codec = FeatureCodec(FeatureConfig(kind="logmag"), np.full(513, -2.0), np.full(513, 2.0), SpectralConfig())
    loudness = losses.LoudnessDistance(StemsCodec(("other",), (codec,)))
    chord = tone_features([523.3, 659.3, 784.0], codec)
    ten_db = np.log(np.sqrt(10.0)) / 2.0  # a power ratio of 10 in normalised log-magnitude (std 2)
    assert float(loudness(chord, chord)[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(loudness(chord - ten_db, chord)[0]) == pytest.approx(1.0, abs=0.05)
    assert float(loudness(chord - 2 * ten_db, chord)[0]) == pytest.approx(2.0, abs=0.1)


def test_the_song_chroma_term_scores_what_the_accompaniment_adds_to_the_voice():
    """Over a voice singing C major, silence next to a C major accompaniment costs nothing on
    the song's chroma (the voice already has its pitch classes) but everything on the target's;
    an F# major accompaniment costs on both."""
    from trainer import losses
    from vocals2song.config import SpectralConfig
    from vocals2song.features import FeatureCodec, FeatureConfig

    codec = FeatureCodec(FeatureConfig(kind="logmag"), np.full(513, -5.0), np.full(513, 2.0), SpectralConfig())
    voice = tone_features([523.3, 659.3, 784.0], codec)
    accompaniment = tone_features([261.6, 329.6, 392.0], codec)  # C major an octave down
    silence = tf.fill(voice.shape, -3.0)
    f_sharp = tone_features([370.0, 466.2, 277.2], codec)
    stems = StemsCodec(("accompaniment",), (codec,))
    song = losses.ChromaDistance(stems, SpectralConfig(), source_codec=codec)
    target = losses.ChromaDistance(stems, SpectralConfig())
    assert float(song(silence, accompaniment, voice)[0]) < 0.05
    assert float(target(silence, accompaniment)[0]) > 0.9
    assert float(song(f_sharp, accompaniment, voice)[0]) > 0.25  # half the song in the wrong key


def test_a_multi_stem_target_is_scored_on_its_mix():
    """Two stems, C+E in one and G in the other, make C major together: the chroma term of the
    pair against a C major pair is zero, whichever stem holds which note; against G+B+D it is not."""
    from trainer import losses
    from vocals2song.config import SpectralConfig
    from vocals2song.features import FeatureCodec, FeatureConfig

    codec = FeatureCodec(FeatureConfig(kind="logmag"), np.full(513, -5.0), np.full(513, 2.0), SpectralConfig())
    stems = StemsCodec(("bass", "other"), (codec, codec))
    pair = lambda a, b: tf.concat([tone_features(a, codec), tone_features(b, codec)], axis=-1)  # noqa: E731
    distance = losses.ChromaDistance(stems, SpectralConfig())
    truth = pair([523.3, 659.3], [784.0])
    assert float(distance(pair([784.0], [523.3, 659.3]), truth)[0]) == pytest.approx(0.0, abs=1e-3)
    assert float(distance(pair([784.0, 987.8], [587.3]), truth)[0]) > 0.5


def test_compressed_l2_keeps_a_note_that_one_harmony_in_three_plays_and_l1_drops_it():
    """Three equally likely targets for one row: the note on in one (x = 2), off in two
    (x = -2). L1 is least at the median (the note silenced); the compressed squared error at
    the mean of the compressed magnitudes, which keeps the note at a third of its level."""
    from trainer import losses
    from vocals2song.config import SpectralConfig
    from vocals2song.features import FeatureCodec, FeatureConfig

    codec = FeatureCodec(FeatureConfig(kind="logmag", bins=4), np.zeros(513), np.full(513, 2.0), SpectralConfig())
    targets = tf.constant([2.0, -2.0, -2.0])[:, None, None, None] * tf.ones((3, 4, 1, 1))
    guesses = np.linspace(-3.0, 3.0, 601, dtype=np.float32)

    def best(loss) -> float:
        totals = [float(tf.reduce_sum(loss(tf.fill((3, 4, 1, 1), guess), targets))) for guess in guesses]
        return float(guesses[int(np.argmin(totals))])

    scale = 0.3 * 2.0
    mean_of_compressed = (np.exp(scale * 2.0) + 2 * np.exp(-scale * 2.0)) / 3
    assert best(losses.l1) == pytest.approx(-2.0, abs=0.011)
    compressed = losses.CompressedL2(StemsCodec(("bass",), (codec,)))
    assert best(compressed) == pytest.approx(np.log(mean_of_compressed) / scale, abs=0.011)
    assert np.log(mean_of_compressed) / scale > 0.0  # audible: above the row's mean level


@pytest.mark.slow
def test_training_with_the_chroma_term_logs_it_and_lowers_it(dataset_dir, tmp_path):
    trainer = train.Trainer(tiny_config(dataset_dir, str(tmp_path / "m"), learning_rate=1e-3, chroma_weight=10.0))
    batch = distributed_batch(trainer.strategy, next(iter(trainer.dataset("train", True))))
    chroma = [trainer.train_step(batch)["chroma"] for _ in range(60)]
    assert chroma[-1] < chroma[0] * 0.7, (chroma[0], chroma[-1])


@pytest.mark.slow
def test_training_with_the_compressed_l2_term_logs_it_and_lowers_it(dataset_dir, tmp_path):
    config = tiny_config(dataset_dir, str(tmp_path / "m"), learning_rate=1e-3, reconstruction="compressed_l2")
    trainer = train.Trainer(config)
    batch = distributed_batch(trainer.strategy, next(iter(trainer.dataset("train", True))))
    values = [trainer.train_step(batch) for _ in range(30)]
    assert values[-1]["compressed_l2"] < values[0]["compressed_l2"] * 0.7
    assert values[-1]["l1"] < values[0]["l1"]  # still logged, and it falls too


def test_a_resumed_run_seeds_its_input_from_the_step(dataset_dir, tmp_path, monkeypatch):
    """A restart must not replay the first shard order and crops: the input seed moves on."""
    seeds = []
    real = inputs.make_dataset
    monkeypatch.setattr(inputs, "make_dataset", lambda *a, **k: seeds.append(k["seed"]) or real(*a, **k))
    trainer = train.Trainer(tiny_config(dataset_dir, str(tmp_path / "m"), seed=7))
    trainer.dataset("train", True)
    trainer.step.assign(40)  # as after restoring a checkpoint at step 40
    trainer.dataset("train", True)
    trainer.dataset("valid", False)
    assert seeds == [7, 47, None]


def _train_with_validation(dataset_dir, model_dir, monkeypatch, steps, losses, **options):
    """Trains (or resumes) to ``steps``, the validation L1 after each step run scripted."""
    scripted = iter(losses)
    monkeypatch.setattr(train.Trainer, "validation_l1", lambda self: next(scripted))
    every = {name: 1 for name in ("checkpoint_every", "log_every", "eval_every")}
    config = tiny_config(dataset_dir, model_dir, steps=steps, summary_every=100, **every, **options)
    return train.train(config)


def _generator_weights_at(dataset_dir, model_dir, step):
    trainer = train.Trainer(tiny_config(dataset_dir, model_dir))
    trainer.checkpoint.restore(os.path.join(model_dir, "checkpoints", f"ckpt-{step}")).expect_partial()
    return trainer.generator.get_weights()


def _same(weights, others):
    return all(np.array_equal(a, b) for a, b in zip(weights, others, strict=True))


@pytest.mark.slow
def test_best_valid_exports_the_step_with_the_lowest_validation_l1(dataset_dir, tmp_path, monkeypatch):
    """A run whose validation L1 spikes at the end exports the generator of its best step (the
    weights checkpointed there), not the last; "last" exports the last and records its L1."""
    best_dir, last_dir = str(tmp_path / "best"), str(tmp_path / "last")
    spike = [0.9, 0.5, 0.7, 2.0]
    result = _train_with_validation(dataset_dir, best_dir, monkeypatch, 4, spike, export_step="best_valid")
    model = export.load_model(best_dir)
    assert (model.step, model.metadata.valid_l1, result["step"]) == (2, 0.5, 4)
    exported = model.generator.get_weights()
    assert _same(exported, _generator_weights_at(dataset_dir, best_dir, 2))
    assert not _same(exported, _generator_weights_at(dataset_dir, best_dir, 4))

    _train_with_validation(dataset_dir, last_dir, monkeypatch, 4, spike)
    assert (export.load_model(last_dir).step, export.load_model(last_dir).metadata.valid_l1) == (4, 2.0)


@pytest.mark.slow
def test_a_resumed_best_valid_run_must_beat_the_best_it_exported_before(dataset_dir, tmp_path, monkeypatch):
    model_dir = str(tmp_path / "m")
    _train_with_validation(dataset_dir, model_dir, monkeypatch, 2, [0.9, 0.5], export_step="best_valid")
    _train_with_validation(dataset_dir, model_dir, monkeypatch, 4, [0.6, 0.7], export_step="best_valid")
    assert export.load_model(model_dir).step == 2  # steps 3 and 4 were worse than step 2's 0.5
    _train_with_validation(dataset_dir, model_dir, monkeypatch, 4, [], export_step="best_valid")
    assert export.load_model(model_dir).step == 2  # a rerun of a finished run keeps it
    _train_with_validation(dataset_dir, model_dir, monkeypatch, 5, [0.4], export_step="best_valid")
    assert (export.load_model(model_dir).step, export.load_model(model_dir).metadata.valid_l1) == (5, 0.4)
    shutil.rmtree(os.path.join(model_dir, "checkpoints"))  # a fresh run: the old export is not its best
    _train_with_validation(dataset_dir, model_dir, monkeypatch, 2, [0.8, 0.9], export_step="best_valid")
    assert (export.load_model(model_dir).step, export.load_model(model_dir).metadata.valid_l1) == (1, 0.8)


def test_empty_shards_never_make_a_machines_share_empty(dataset_dir):
    from vocals2song.manifest import DatasetError, read_manifest

    manifest = read_manifest(dataset_dir)
    first = next(shard for shard in manifest.shards if shard.split == "train")
    emptied = [  # every train track but one dead-lettered: their shards hold no segments
        shard if shard.split != "train" or shard is first else dataclasses.replace(shard, segments=0)
        for shard in manifest.shards
    ]
    with pytest.raises(DatasetError, match=r"'train' .* has 1 shard\(s\) holding segments for 2 machines"):
        inputs.make_dataset(
            dataclasses.replace(manifest, shards=emptied), dataset_dir, "train", TINY_INPUT, 2, True, worker=(1, 2)
        )


def _command(dataset_dir: str, model_dir: str, steps: int) -> list[str]:
    return [
        sys.executable, "-m", "vocals2song.cli", "train", "--data_dir", dataset_dir, "--model_dir", model_dir,
        "--steps", str(steps), "--checkpoint_every", "5", "--log_every", "5", "--summary_every", "100000",
        "--eval_every", "100000", *TINY,
    ]  # fmt: skip


def _wait_for_checkpoint(process: subprocess.Popen, model_dir: str, number: int) -> None:
    """Until the checkpoint state (what a rerun restores from) names step ``number`` or later:
    its .index file alone appears before the state is updated, and a kill between the two
    leaves the previous checkpoint the latest."""
    folder = os.path.join(model_dir, "checkpoints")
    deadline = time.monotonic() + 240
    while _latest_step(folder) < number:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.05)


def _latest_step(folder: str) -> int:
    latest = tf.train.latest_checkpoint(folder) if os.path.isdir(folder) else None
    return int(latest.rsplit("-", 1)[1]) if latest else -1


def _checkpoint_numbers(model_dir: str) -> list[int]:
    names = os.listdir(os.path.join(model_dir, "checkpoints"))
    return sorted(int(m.group(1)) for m in (re.match(r"ckpt-(\d+)\.index$", n) for n in names) if m)


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(dataset_dir, tmp_path):
    model_dir = str(tmp_path / "killed")
    process = subprocess.Popen(_command(dataset_dir, model_dir, 60), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_for_checkpoint(process, model_dir, 10)
    process.send_signal(signal.SIGKILL)
    process.wait()
    last = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    killed_at = int(last.rsplit("-", 1)[1])
    assert 10 <= killed_at < 60

    rerun = subprocess.run(_command(dataset_dir, model_dir, 60), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"at step {killed_at}" in rerun.stderr
    steps = [json.loads(line)["step"] for line in open(os.path.join(model_dir, train.LOG_FILE))]
    assert steps[-1] == 60 and set(range(killed_at + 5, 61, 5)) <= set(steps)
    assert export.load_model(model_dir).step == 60


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_before_exiting(dataset_dir, tmp_path):
    model_dir = str(tmp_path / "term")
    process = subprocess.Popen(
        _command(dataset_dir, model_dir, 100000), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _wait_for_checkpoint(process, model_dir, 5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, output[-2000:]
    saved = int(re.search(r"checkpoint saved at step (\d+)", output).group(1))
    assert _checkpoint_numbers(model_dir)[-1] == saved


def test_missing_data_dir_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--data_dir", str(tmp_path / "none"), "--model_dir", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a Vocals2Song data set" in err[0]


def test_an_empty_split_is_one_clear_error(dataset_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(dataset_dir, data)
    manifest = json.loads((data / "dataset.json").read_text())
    manifest["shards"] = [shard for shard in manifest["shards"] if shard["split"] != "train"]
    (data / "dataset.json").write_text(json.dumps(manifest))
    assert main(["train", "--data_dir", str(data), "--model_dir", str(tmp_path / "m"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "split 'train'" in err and "holds no segments" in err


@pytest.mark.slow
def test_data_encoded_with_another_stft_is_refused(trained, dataset_dir, tmp_path, capsys):
    model_dir = tmp_path / "model"
    shutil.copytree(trained, model_dir)
    saved = json.loads((model_dir / train.CONFIG_FILE).read_text())
    saved["spectral"]["hop_length"] = 512
    (model_dir / train.CONFIG_FILE).write_text(json.dumps(saved))
    assert main(["train", "--data_dir", dataset_dir, "--model_dir", str(model_dir), *TINY]) == 2
    assert "hop_length: 256 (expected 512)" in capsys.readouterr().err


def test_the_timbre_equaliser_is_a_smooth_random_curve_of_the_asked_deviation():
    curves = np.stack([np.asarray(inputs.random_equaliser(128, 1.0))[:, 0, 0] for _ in range(300)])
    assert 0.85 < curves.std() < 1.15
    assert np.abs(np.diff(curves, axis=1)).max() < 0.5  # smooth over the rows
    assert not np.allclose(curves[0], curves[1])  # a new one each time


def test_timbre_jitter_reaches_training_sources_only(dataset_dir, monkeypatch):
    """With the equaliser replaced by a constant +100 (far outside any feature), only the
    training batches' source log-magnitudes carry it: not targets, phases or validation."""
    from vocals2song.manifest import read_manifest

    manifest = read_manifest(dataset_dir)
    constant = lambda rows, deviation, seed=None, batch=(): tf.fill([rows, 1, 1], 100.0)  # noqa: E731
    monkeypatch.setattr(inputs, "random_equaliser", constant)

    def first(split: str, training: bool, jitter: float):
        config = dataclasses.replace(TINY_INPUT, timbre_jitter=jitter)
        return next(iter(inputs.make_dataset(manifest, dataset_dir, split, config, 2, training, seed=3)))

    source, target = (np.asarray(x) for x in first("train", True, 1.0))
    assert np.all(source[..., 0] > 50) and np.all(np.abs(source[..., 1]) <= 1.0)
    assert np.all(np.abs(target[..., 0]) < 50)
    assert np.all(np.abs(np.asarray(first("train", True, 0.0)[0])[..., 0]) < 50)
    assert np.all(np.abs(np.asarray(first("valid", False, 1.0)[0])[..., 0]) < 50)


def test_noise_reaches_training_sources_only(dataset_dir, monkeypatch):
    """With the noise replaced by a huge constant, the training batches' sources become constant
    in time (the constant drowns the music); targets and validation sources still move."""
    from vocals2song.manifest import read_manifest

    manifest = read_manifest(dataset_dir)
    monkeypatch.setattr(inputs, "with_noise", lambda stored, lowest, seed=None: tf.cast(stored, tf.float32) + 1e6)

    def movement(split: str, training: bool, snr: float) -> tuple[float, float]:
        """The largest change over time of any source row, and of any target row."""
        config = dataclasses.replace(TINY_INPUT, noise_snr_db=snr)
        source, target = next(iter(inputs.make_dataset(manifest, dataset_dir, split, config, 2, training, seed=3)))
        return tuple(float(np.ptp(np.asarray(x)[..., 0], axis=-1).max()) for x in (source, target))

    source, target = movement("train", True, 10.0)
    assert source < 1e-3 and target > 0.5
    assert movement("train", True, 0.0)[0] > 0.5 and movement("valid", False, 10.0)[0] > 0.5


def test_each_crop_gets_noise_at_its_own_ratio_within_the_asked_range():
    rng = np.random.default_rng(0)
    crop = rng.standard_normal((1, 2, 64, 32, 2)).astype(np.float32) * np.linspace(0.01, 3, 64)[:, None, None]
    stored = np.repeat(crop, 200, axis=0)
    noise = np.asarray(inputs.with_noise(stored, 10.0, seed=5)) - stored
    power = {name: np.mean(np.square(x), axis=(1, 2, 3, 4)) for name, x in (("signal", stored), ("noise", noise))}
    ratios = 10 * np.log10(power["signal"] / power["noise"])
    assert ratios.min() > 9.5 and ratios.max() < inputs.NOISE_SNR_CEILING_DB + 0.5
    assert np.ptp(ratios) > 30  # uniform over 10-50 dB: 200 crops span most of it
    assert np.allclose(noise[:, 0], noise[:, 1], atol=1e-5)  # one noise for both channels: the mono mix's ratio


def test_stored_crops_encoded_later_are_the_features_the_input_would_have_made(dataset_dir):
    """``encode_on`` "step" moves the feature arithmetic from tf.data into the train step: the
    same crops, encoded as a batch, give the same features (and a derived target works)."""
    from vocals2song.manifest import read_manifest

    manifest = read_manifest(dataset_dir)
    config = dataclasses.replace(TINY_INPUT, target="accompaniment")

    def first(encode: bool):
        return next(iter(inputs.make_dataset(manifest, dataset_dir, "valid", config, 2, False, encode=encode)))

    stored_source, stored_target = first(False)
    assert stored_source.dtype == tf.float16 and stored_source.shape[1:] == (manifest.channels, 513, 64, 2)
    encoded = inputs.feature_encoder(manifest, config, training=False)(stored_source, stored_target)
    for late, early in zip(encoded, first(True), strict=True):
        np.testing.assert_allclose(np.asarray(late), np.asarray(early), rtol=1e-6, atol=1e-6)


def test_the_level_match_is_generations_gain_and_makes_a_crops_level_irrelevant(dataset_dir):
    """``--level_match``: the in-graph gain equals ``FeatureCodec.level_gain`` (generation's) on
    the same crop; a crop played 20 dB quieter gets 10x the gain, so the model sees the same
    source and target features from both; and the gain moves source and target the same way."""
    from vocals2song.manifest import read_manifest

    manifest = read_manifest(dataset_dir)
    config = dataclasses.replace(TINY_INPUT, target="accompaniment", level_match=True)
    source, target = next(iter(inputs.make_dataset(manifest, dataset_dir, "valid", config, 2, False, encode=False)))
    reference = inputs.source_level(manifest, dataset_dir, config)
    source_codec, _ = inputs.stem_codecs(manifest, config)
    codec = dataclasses.replace(source_codec, level_reference=reference)
    stored = np.asarray(source, np.float32)
    gains = np.asarray(inputs.level_gain_tf(source, manifest.config.bins, reference))
    for crop, gain in zip(stored, gains, strict=True):
        spectrum = (crop[..., 0] + 1j * crop[..., 1]).mean(axis=0)
        assert gain == pytest.approx(codec.level_gain(spectrum), rel=1e-4)
    matched = inputs.feature_encoder(manifest, config, training=False, level=reference)
    loud, quiet = matched(source, target), matched(0.1 * stored, tuple(0.1 * np.asarray(t) for t in target))
    for a, b in zip(loud, quiet, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-3)
    plain = inputs.feature_encoder(manifest, config, training=False)(source, target)
    shift_source = np.asarray(loud[0])[..., 0] - np.asarray(plain[0])[..., 0]
    shift_target = np.asarray(loud[1])[..., 0] - np.asarray(plain[1])[..., 0]
    moved_source, moved_target = np.median(shift_source, axis=(1, 2)), np.median(shift_target, axis=(1, 2))
    assert np.all(np.abs(moved_source) > 0.05)  # these crops are not at the reference already
    assert np.all(np.sign(moved_source) == np.sign(moved_target))


def test_the_equaliser_draws_one_curve_per_example_of_a_batch():
    curves = np.asarray(inputs.random_equaliser(64, 1.0, batch=[3]))
    assert curves.shape == (3, 64, 1, 1)
    assert not np.allclose(curves[0], curves[1])


@pytest.mark.slow
def test_a_step_that_makes_its_features_trains_as_the_input_made_ones(dataset_dir, tmp_path):
    """``--encode_on step``: the same crops, stored or as features, give the same losses and
    weights after two steps (same seed, no dropout), so only where the arithmetic runs moves."""
    step_input = dataclasses.replace(TINY_INPUT, encode_on="step")
    in_step = train.Trainer(dataclasses.replace(tiny_config(dataset_dir, str(tmp_path / "s")), input=step_input))
    stored = next(iter(in_step.dataset("train", True)))
    assert stored[0].dtype == tf.float16
    in_input = train.Trainer(tiny_config(dataset_dir, str(tmp_path / "i")))
    features = in_step.features(*stored)
    for _ in range(2):
        late = in_step.train_step(distributed_batch(in_step.strategy, stored))
        early = in_input.train_step(distributed_batch(in_input.strategy, features))
    for name in early:
        np.testing.assert_allclose(late[name], early[name], rtol=1e-4, err_msg=name)
    assert_same_weights(in_step.generator, in_input.generator, steps=2, learning_rate=in_step.config.learning_rate)


@pytest.mark.slow
def test_the_harmony_warm_up_trains_the_head_alone_then_the_run_trains_everything(dataset_dir, tmp_path):
    """Warm-up steps move the head's weights and nothing else; the run then logs the head's
    loss beside the others, and a generator with a head exports and generates."""
    config = dataclasses.replace(
        stems_config(dataset_dir, str(tmp_path), target="accompaniment", steps=2),
        summary_every=1000,
        harmony_warmup=3,
        model=dataclasses.replace(tiny_model_config(), harmony=True),
    )
    trainer = train.Trainer(config)
    head, image = trainer.harmony_model, trainer.generator.get_layer("target")
    before = [np.array(w) for w in (*head.trainable_variables, *image.trainable_variables)]
    batches = iter(trainer.strategy.experimental_distribute_dataset(trainer.dataset("train", training=True)))
    trainer.warm_up_harmony(batches)
    after = [np.array(w) for w in (*head.trainable_variables, *image.trainable_variables)]
    moved = [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]
    assert all(moved[: len(head.trainable_variables)]) and not any(moved[len(head.trainable_variables) :])
    assert int(trainer.step.numpy()) == 0

    with pytest.raises(ValueError, match="needs --harmony"):
        train.Trainer(dataclasses.replace(config, model=tiny_model_config()))
    result = train.train(config)
    assert "harmony" in result["losses"] and 0.0 < result["losses"]["harmony"] < 2.0
    song = generate.generate(export.load_model(str(tmp_path)), sung(2.0, 44100, 1), 44100)
    assert song.shape == (1, 88200) and np.all(np.isfinite(song))
