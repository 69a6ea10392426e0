"""Shared fixtures: a small synthetic MUSDB18-HQ-layout root and a fast spectral config."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _two_cpu_devices() -> None:
    """Two logical CPU devices for the whole session, made before TensorFlow starts its
    runtime (it cannot change them later), so MirroredStrategy runs with 1 or 2 replicas."""
    import tensorflow as tf

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


_two_cpu_devices()

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

    out = str(tmp_path_factory.mktemp("dataset") / "data")
    options = dataset.DatasetOptions(musdb_root=musdb_root, output_dir=out, segment_seconds=SEGMENT_SECONDS)
    dataset.run(options, ["--runner=DirectRunner"], ["test"])
    return out
