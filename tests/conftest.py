"""Shared fixtures: a small synthetic MUSDB18-HQ-layout root, its data set and a tiny model."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# gcsfs picks its file system class when it is first imported: its experimental zonal/HNS
# class asks a gRPC endpoint about every bucket, which the test emulator does not serve
# (each call then waits 60 s). Set before anything imports gcsfs.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
# numba caches librosa's compiled gufuncs beside librosa; two test workers compiling the same one
# at once on a fresh install can each write half of its cache, and the next call segfaults
# (numba#10128; seen on a clean clone's run). Each worker keeps a cache of its own (the processes
# it starts share it). Set before anything imports numba.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(), f"vocals2song-numba-{os.environ['PYTEST_XDIST_WORKER']}"
    )


def _two_cpu_devices() -> None:
    """Two logical CPU devices for the whole session, made before TensorFlow starts its
    runtime (it cannot change them later), so MirroredStrategy runs with 1 or 2 replicas."""
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


_two_cpu_devices()

LEAD_SHEET_HEAD = r"[A-G][b#]? (major|minor), [34]/4, (no pickup|pickup of [\d.]+ beats?), \d+ beats a minute"
"""A lead sheet's head line (``chords.lead_sheet``) for a take at A = 440 Hz."""

TRACKS = 6  # 4 in train/, 2 in test/
SECONDS = 5.0
SEGMENT_SECONDS = 2.0  # short segments keep the STFTs and the tests small


@pytest.fixture(scope="session")
def musdb_root(tmp_path_factory) -> str:
    """A generated MUSDB18-HQ-layout root shared by the tests; copy it before changing it."""
    from vocals2song import synth

    root = str(tmp_path_factory.mktemp("musdb"))
    synth.write_musdb(root, TRACKS, SECONDS, seed=7)
    return root


@pytest.fixture
def musdb_copy(musdb_root, tmp_path) -> str:
    """A private copy of the generated root, for tests that damage it."""
    copy = str(tmp_path / "musdb")
    shutil.copytree(musdb_root, copy)
    return copy


@pytest.fixture(scope="session")
def dataset_dir(musdb_root, tmp_path_factory) -> str:
    """The dataset job's output for ``musdb_root`` with 2 s segments (DirectRunner)."""
    from pipelines import dataset
    from pipelines.options import make_options

    out = str(tmp_path_factory.mktemp("dataset") / "data")
    options = make_options(musdb_root, out, segment_seconds=SEGMENT_SECONDS)
    dataset.run(options, ["--runner=DirectRunner"], ["test"])
    return out


@pytest.fixture(scope="session")
def accompaniment_model(dataset_dir, tmp_path_factory) -> str:
    """A tiny accompaniment model (logmag + phase) trained for a few steps; its model_dir."""
    from trainer import inputs, models, train

    model_dir = str(tmp_path_factory.mktemp("acc"))
    config = train.TrainConfig(
        dataset_dir,
        model_dir,
        steps=4,
        batch_size=2,
        log_every=2,
        summary_every=100,
        eval_every=100,
        checkpoint_every=100,
        input=inputs.InputConfig(target="accompaniment", crop_frames=64, shuffle_buffer=8),
        model=models.ModelConfig(filters=8, depth=4, dropout=0.0, disc_filters=8),
    )
    train.train(config)
    return model_dir


@pytest.fixture(scope="session")
def model(accompaniment_model):
    """The exported tiny accompaniment model, loaded."""
    from trainer import export

    return export.load_model(accompaniment_model)


def with_harmoniser(model_dir: str, folder: str) -> str:
    """``folder``: a copy of ``model_dir``'s export with a tiny untrained harmoniser beside it, so
    a model that plays chords (the same chords whatever ran before: the harmoniser is seeded)."""
    import keras

    from trainer import harmoniser

    shutil.copytree(os.path.join(model_dir, "export"), folder)
    keras.utils.set_random_seed(0)
    harmoniser._save(harmoniser.build(harmoniser.HarmoniserConfig(units=8, layers=1)), {}, folder)
    return folder


def sung(seconds: float, rate: int, channels: int) -> np.ndarray:
    """A vibrato sine in the voice's range, ``(channels, samples)``: a stand-in vocal."""
    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t)))
    return np.repeat(voice[np.newaxis], channels, axis=0).astype(np.float32)


def vocal_in_song(song: np.ndarray, vocal: np.ndarray) -> tuple[float, float]:
    """``(gain, rest)``: the least-squares gain of the input vocal inside the song (1 when it was
    added back untouched, less where the limiter worked) and the RMS of what else the song
    holds (the accompaniment), relative to the vocal's RMS. Both ``(channels, samples)``."""
    song, vocal = np.asarray(song, np.float64).ravel(), np.asarray(vocal, np.float64).ravel()
    gain = float(song @ vocal / (vocal @ vocal))
    rest = float(np.sqrt(np.mean((song - gain * vocal) ** 2) / np.mean(vocal**2)))
    return gain, rest


def shard_bytes(out: str) -> dict[str, bytes]:
    """Every shard of a data set directory, by relative path: for byte-for-byte comparisons."""
    paths = sorted(glob.glob(os.path.join(out, "*", "*.tfrecord*")))
    return {os.path.relpath(path, out): open(path, "rb").read() for path in paths}


STEMS = ("vocals", "drums", "bass", "other", "mixture")


@pytest.fixture(scope="session")
def stems_dataset_dir(musdb_root, tmp_path_factory) -> str:
    """``dataset_dir``'s job storing every stem: what multi-stem models train on."""
    from pipelines import dataset
    from pipelines.options import make_options

    out = str(tmp_path_factory.mktemp("stems") / "data")
    dataset.run(
        make_options(musdb_root, out, segment_seconds=SEGMENT_SECONDS, stems=STEMS), ["--runner=DirectRunner"], ["test"]
    )
    return out


PARTS = ("drums", "bass", "other")


def tiny_model_config():
    from trainer import models

    return models.ModelConfig(filters=8, depth=4, dropout=0.0, disc_filters=8)


def stems_config(data_dir: str, model_dir: str, target: str = ",".join(PARTS), steps: int = 4):
    """A tiny multi-stem training run (drums, bass and other by default)."""
    from trainer import inputs, train

    return train.TrainConfig(
        data_dir,
        model_dir,
        steps=steps,
        batch_size=2,
        log_every=2,
        summary_every=2,
        eval_every=100,
        checkpoint_every=100,
        input=inputs.InputConfig(target=target, crop_frames=64, shuffle_buffer=8),
        model=tiny_model_config(),
    )


@pytest.fixture(scope="session")
def stems_model(stems_dataset_dir, tmp_path_factory) -> str:
    """A tiny drums,bass,other model trained for a few steps; its model_dir."""
    from trainer import train

    model_dir = str(tmp_path_factory.mktemp("stems-model"))
    train.train(stems_config(stems_dataset_dir, model_dir))
    return model_dir


@pytest.fixture(scope="session")
def listening_test(accompaniment_model, dataset_dir, tmp_path_factory) -> str:
    """``vocals2song listening-test``'s folder for the tiny model's test tracks (two melodies)."""
    from vocals2song import cli

    folder = str(tmp_path_factory.mktemp("listening"))
    arguments = ["--output_dir", folder, "--data_dir", dataset_dir, "--model", accompaniment_model, "--tracks", "2"]
    assert cli.main(["listening-test", *arguments]) == 0
    return folder
