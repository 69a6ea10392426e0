"""Input pipeline vs training step: examples/s tf.data delivers alone vs examples/s the
default model's step consumes on this CPU, for uncompressed and gzip shards."""

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


def main(quick: bool = False) -> str:
    lines = [
        "## Input pipeline vs training step (`bench_input`)",
        "",
        "Default model and crops (512x512), global batch 4, 1 CPU replica; the input rate is tf.data alone.",
        "",
        "| shards | input examples/s | step examples/s | input / step |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        root = os.path.join(scratch, "musdb")
        synth.write_musdb(root, 6, 30.0, seed=23)
        step_rate = None
        for compression in ("none", "gzip"):
            out = os.path.join(scratch, compression)
            options = DatasetOptions(musdb_root=root, output_dir=out, compression=compression)
            dataset.run(options, ["--runner=DirectRunner"], ["bench"])
            config = train.TrainConfig(out, os.path.join(scratch, "m"), batch_size=4, input=inputs.InputConfig())
            trainer = train.Trainer(config)
            rate = input_examples_per_second(trainer, 10 if quick else 40)
            if step_rate is None:
                batch = next(iter(trainer.dataset("train", training=True)))
                step_rate = 4 * steps_per_second(trainer, batch, 2)
            lines.append(f"| {compression} | {rate:.1f} | {step_rate:.2f} | {rate / step_rate:.0f}x |")
            tf.keras.backend.clear_session()
    lines += ["", "Target: input >= 3x step."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
