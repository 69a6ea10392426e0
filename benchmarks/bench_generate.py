"""Generation speed: real-time factor (audio seconds per wall second) for a 3-minute vocal
on CPU, predicted phase and Griffin-Lim, with the default model (untrained weights: speed
does not depend on them) and the demo-sized model."""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from benchmarks.fixtures import small_dataset
from trainer import export, generate, inputs, models, train
from vocals2song.features import FeatureConfig


def sung(seconds: float, rate: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))))[np.newaxis].astype(np.float32)


def main(quick: bool = False) -> str:
    seconds = 30.0 if quick else 180.0
    vocal = sung(seconds)
    sizes = {
        "default (64 filters, depth 8)": (models.ModelConfig(), 512, "logmag_phase"),
        "demo (16 filters, depth 6)": (
            models.ModelConfig(filters=16, depth=6, dropout=0.5, disc_filters=16),
            128,
            "logmag",
        ),
    }
    lines = [
        "## Generation speed (`bench_generate`)",
        "",
        f"A {seconds:.0f} s vocal at 44.1 kHz, CPU. Real-time factor = audio seconds per wall second (>1 is faster "
        "than real time).",
        "",
        "| model | phase | wall s | real-time factor |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = small_dataset(scratch, tracks=4, seconds=15.0)
        for name, (model, crop, kind) in sizes.items():
            model_dir = f"{scratch}/{kind}{crop}"
            config = train.TrainConfig(
                data_dir,
                model_dir,
                steps=0,
                batch_size=2,
                input=inputs.InputConfig(crop_frames=crop, features=FeatureConfig(kind)),
                model=model,
            )
            train.train(config)
            exported = export.load_model(model_dir)
            phases = ("predicted", "griffinlim") if kind == "logmag_phase" else ("griffinlim",)
            for phase in phases:
                started = time.perf_counter()
                generate.generate(exported, vocal, 44100, phase=phase)
                wall = time.perf_counter() - started
                lines.append(f"| {name} | {phase} | {wall:.1f} | {seconds / wall:.2f} |")
    lines += ["", "Target: >= 1x real time for the default model."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
