"""What a multi-stem target costs per train step: one generator writing drums, bass and other
(three channel groups) against the same network writing one accompaniment, on the same batches
of the same data set; measured steps/s on this CPU and the analytic FLOPs of the default model."""

from __future__ import annotations

import statistics
import sys
import tempfile

import tensorflow as tf

from benchmarks.bench_train import analytic_step_flops, steps_per_second
from benchmarks.fixtures import small_dataset
from trainer import inputs, models, train

TARGETS = {"single (accompaniment)": "accompaniment", "multi-stem (drums,bass,other)": "drums,bass,other"}
ROUNDS = 3  # the two targets alternate, so a slower minute of the machine hits both


def _trainer(data_dir: str, model_dir: str, target: str, model: models.ModelConfig, crop: int) -> train.Trainer:
    config = train.TrainConfig(
        data_dir, model_dir, batch_size=2, input=inputs.InputConfig(target=target, crop_frames=crop), model=model
    )
    return train.Trainer(config, tf.distribute.OneDeviceStrategy("/cpu:0"))


def _fixed_batch(trainer: train.Trainer):
    batch = next(iter(trainer.dataset("train", training=True)))
    return next(iter(trainer.strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))))


def main(quick: bool = False) -> str:
    sizes = {
        "tiny (8 filters, depth 4, 512x128 crops)": (models.ModelConfig(filters=8, depth=4, disc_filters=8), 128),
        "small (16 filters, depth 6, 512x128 crops)": (
            models.ModelConfig(filters=16, depth=6, disc_filters=16),
            128,
        ),
    }
    lines = [
        "## Multi-stem step cost (`bench_stems`)",
        "",
        "One train step (generator + discriminator update, global batch 2, one fixed batch, input excluded) with a "
        "single target against the same network writing three stems; the rates alternate over "
        f"{ROUNDS} rounds and the median is shown. Target: a multi-stem step costs at most 1.3x a single one.",
        "",
        "| model | single steps/s | multi-stem steps/s | cost ratio (multi / single) |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = small_dataset(
            scratch, tracks=4, seconds=15.0, dataset_args=("--stems", "vocals,drums,bass,other,mixture")
        )
        for name, (model, crop) in sizes.items():
            trainers = {
                t: _trainer(data_dir, f"{scratch}/{len(name)}{i}", target, model, crop)
                for i, (t, target) in enumerate(TARGETS.items())
            }
            batches = {t: _fixed_batch(trainer) for t, trainer in trainers.items()}
            rates = {t: [] for t in TARGETS}
            for _ in range(ROUNDS):
                for t, trainer in trainers.items():
                    rates[t].append(steps_per_second(trainer, batches[t], 3 if quick else 10))
            single, multi = (statistics.median(rates[t]) for t in TARGETS)
            lines.append(f"| {name} | {single:.2f} | {multi:.2f} | {single / multi:.2f}x |")
        flops = {
            t: analytic_step_flops(_trainer(data_dir, f"{scratch}/d{i}", target, models.ModelConfig(), 512), 512)
            for i, (t, target) in enumerate(TARGETS.items())
        }
    single, multi = (flops[t] for t in TARGETS)
    lines += [
        "",
        "Analytic FLOPs per example of the default model (64 filters, depth 8, 512x512 crops; what a GPU pays): "
        f"generator forward {single[0] / 1e9:.1f} G single vs {multi[0] / 1e9:.1f} G multi-stem, discriminator "
        f"forward {single[1] / 1e9:.1f} G vs {multi[1] / 1e9:.1f} G, step minimum {single[2] / 1e9:.1f} G vs "
        f"{multi[2] / 1e9:.1f} G: **{multi[2] / single[2]:.3f}x**. Only the generator's last layer (2 -> 6 output "
        "channels) and the discriminator's first (4 -> 8 input channels) grow.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
