"""Input pipeline vs training step: examples/s tf.data delivers alone vs examples/s the
default model's step consumes on this CPU, for uncompressed and gzip shards, with features
made in tf.data or in the step; per core, beside what a one-GPU host needs."""

from __future__ import annotations

import os
import sys
import tempfile
import time

import tensorflow as tf

from benchmarks.bench_train import steps_per_second
from pipelines import dataset
from pipelines.options import DatasetOptions
from trainer import inputs, train
from vocals2song import synth


def input_examples_per_second(trainer: train.Trainer, batches: int) -> float:
    iterator = iter(trainer.dataset("train", training=True))
    next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * trainer.config.batch_size / (time.perf_counter() - started)


GPU_EXAMPLES_PER_SECOND = 820  # one H200, this pix2pix step in bf16 (measured for issue #16)
HOST_CORES = 16  # the cores of a one-GPU host that feed it


def main(quick: bool = False) -> str:
    cores = os.cpu_count() or 1
    need = GPU_EXAMPLES_PER_SECOND / HOST_CORES
    lines = [
        "## Input pipeline vs training step (`bench_input`)",
        "",
        f"Default model and crops (512x512), global batch 4, 1 CPU replica, {cores} cores; the input rate is tf.data "
        "alone. `--encode_on input` (the default) makes features per crop in tf.data; `step` hands the train step "
        "stored float16 crops and makes features there, batched, on the accelerator: the option for a GPU host "
        "(on a CPU it is no faster, and 2 of 5 demo runs with it ended on a validation spike against none of "
        "`input`'s, so `input` stays the default; docs/model-notes.md).",
        "",
        "| shards | encode_on | input examples/s | per core | step examples/s | input / step |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        root = os.path.join(scratch, "musdb")
        synth.write_musdb(root, 6, 30.0, seed=23)
        step_rate, per_core = None, {}
        for compression in ("none", "gzip"):
            out = os.path.join(scratch, compression)
            options = DatasetOptions(musdb_root=root, output_dir=out, compression=compression)
            dataset.run(options, ["--runner=DirectRunner"], ["bench"])
            for place in ("input", "step"):
                config = train.TrainConfig(
                    out, os.path.join(scratch, "m"), batch_size=4, input=inputs.InputConfig(encode_on=place)
                )
                trainer = train.Trainer(config)
                rate = input_examples_per_second(trainer, 10 if quick else 40)
                per_core[compression, place] = rate / cores
                if step_rate is None:
                    batch = next(iter(trainer.dataset("train", training=True)))
                    step_rate = 4 * steps_per_second(trainer, batch, 2)
                lines.append(
                    f"| {compression} | {place} | {rate:.1f} | {rate / cores:.1f} | {step_rate:.2f} "
                    f"| {rate / step_rate:.0f}x |"
                )
                tf.keras.backend.clear_session()
    best = per_core["none", "step"]
    lines += [
        "",
        "Targets: input >= 3x step; >= 150 examples/s per core. A one-GPU host: one H200 runs this step at "
        f"~{GPU_EXAMPLES_PER_SECOND} examples/s (bf16), so {HOST_CORES} cores must each deliver {need:.0f}; "
        f"uncompressed shards with features made in the step give {best:.0f} per core here, "
        f"{best / need:.1f}x that.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
