"""A small generated data set shared by the training-side benchmarks."""

from __future__ import annotations

import os
import socket

from pipelines import dataset
from pipelines.options import DatasetOptions
from vocals2song import synth


def small_dataset(scratch: str, tracks: int = 6, seconds: float = 30.0) -> str:
    """Generates ``tracks`` tracks and runs the dataset job; returns the data directory."""
    root, out = os.path.join(scratch, "musdb"), os.path.join(scratch, "data")
    synth.write_musdb(root, tracks, seconds, seed=17)
    dataset.run(DatasetOptions(musdb_root=root, output_dir=out), ["--runner=DirectRunner"], ["bench"])
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for servers tests and benchmarks start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
