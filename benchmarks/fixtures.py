"""A small generated data set shared by the training-side benchmarks."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import socket

from pipelines import dataset
from vocals2song import synth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_dataset(scratch: str, tracks: int = 6, seconds: float = 30.0, dataset_args: tuple[str, ...] = ()) -> str:
    """Generates ``tracks`` tracks and runs the dataset job (with ``dataset_args``, flags of
    `vocals2song dataset`); returns the data directory."""
    from pipelines.options import options_from_args
    from vocals2song.cli import parser

    root, out = os.path.join(scratch, "musdb"), os.path.join(scratch, "data")
    synth.write_musdb(root, tracks, seconds, seed=17)
    args = parser().parse_args(["dataset", "--musdb_root", root, "--output_dir", out, *dataset_args])
    dataset.run(options_from_args(args), ["--runner=DirectRunner"], ["bench"])
    return out


def make_variable(name: str) -> list[str]:
    """A ``NAME ?= ...`` variable of the Makefile (continuation lines joined), split as make would."""
    text = open(os.path.join(ROOT, "Makefile")).read().replace("\\\n", " ")
    match = re.search(rf"^{name} \?=(.*)$", text, re.MULTILINE)
    if not match:
        raise KeyError(f"the Makefile sets no {name}")
    return shlex.split(match.group(1))


def release_train_config(data_dir: str, model_dir: str, variable: str = "RELEASE_TRAIN_ARGS", **overrides):
    """The TrainConfig of `make model` (the Makefile's RELEASE_TRAIN_ARGS, or another recipe's
    ``variable``), with ``overrides``."""
    from trainer.config import config_from_options, option_names
    from vocals2song import flags
    from vocals2song.cli import parser

    args = parser().parse_args(["train", "--data_dir", data_dir, "--model_dir", model_dir, *make_variable(variable)])
    return config_from_options(data_dir, model_dir, **{**flags.pick(args, option_names()), **overrides})


def free_ports(count: int = 1) -> list[int]:
    """``count`` different TCP ports on 127.0.0.1 that nothing listens on now (for servers tests
    and benchmarks start): all bound at once, so two asked for together are never the same one,
    as two probes in a row can be once the first is closed."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
