"""Every training option in one TensorFlow-free place: the dataclasses that hold the defaults,
the ``vocals2song train`` flags derived from them, and the keyword options of the Python API.

Kept apart from the trainer so that building the command line (and ``vocals2song --help``)
does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from vocals2song.features import FREQUENCY_SCALES, KINDS, FeatureConfig

TARGETS = ("mixture", "accompaniment")
GENERATORS = ("unet", "temporal")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which networks, and their sizes.

    Attributes:
      generator: "unet" (pix2pix's image-to-image U-Net) or "temporal" (each frame's spectrum
        as one vector, dilated 1-D convolutions over time: a few seconds of context on either
        side at a small fraction of the U-Net's cost per step).
      filters: filters of the first encoder block; doubled per block up to 8x.
      depth: encoder blocks (8 in pix2pix: 512 bins -> 2); input sides must divide by 2**depth.
      dropout: rate in the first three decoder blocks (0.5 in pix2pix; 0 makes steps
        deterministic, which the replica-equivalence test needs).
      disc_filters: filters of the first discriminator block (64 in pix2pix, 70x70 patches).
      temporal_channels: width of the temporal generator.
      temporal_layers: its residual blocks; block i is dilated 2**(i % 8), so 8 blocks see
        255 frames (1.5 s at hop 256) on either side.
    """

    generator: str = "unet"
    filters: int = 64
    depth: int = 8
    dropout: float = 0.5
    disc_filters: int = 64
    temporal_channels: int = 256
    temporal_layers: int = 8

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this: the U-Net halves them depth times."""
        return 2**self.depth if self.generator == "unet" else 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class InputConfig:
    """How examples are drawn.

    Attributes:
      source, target: stems; target "accompaniment" is mixture - vocals when not stored.
      crop_frames: STFT frames per crop (512 frames = 3 s at 44.1 kHz, hop 256).
      crops_per_segment: random crops drawn from each segment per pass.
      shuffle_buffer: crops held for shuffling (each 2 x 512 x crop_frames x C float32).
      features: what the model sees.
    """

    source: str = "vocals"
    target: str = "mixture"
    crop_frames: int = 512
    crops_per_segment: int = 4
    shuffle_buffer: int = 64
    features: FeatureConfig = FeatureConfig()


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of one training run (the CLI's flags; defaults are pix2pix's)."""

    data_dir: str
    model_dir: str
    steps: int = 10000
    batch_size: int = 4  # global: split across replicas
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    l1_weight: float = 100.0
    chroma_weight: float = 0.0
    checkpoint_every: int = 500
    summary_every: int = 500
    log_every: int = 50
    eval_every: int = 1000
    eval_batches: int = 8
    cpu_replicas: int = 0
    mixed_precision: bool = False
    jit: bool = False
    seed: int = 0
    input: InputConfig = InputConfig()
    model: ModelConfig = ModelConfig()

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["input"]["features"] = self.input.features.to_dict()
        return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``vocals2song train`` flags; every default is TrainConfig's."""
    defaults, inputs, model = TrainConfig("", ""), InputConfig(), ModelConfig()
    add = parser.add_argument
    add("--data_dir", required=True, help="data set made by `vocals2song dataset` (local or gs://)")
    add("--model_dir", required=True, help="checkpoints, summaries, logs and the export (local or gs://)")
    add("--steps", type=int, default=defaults.steps, help="total steps to reach (a rerun resumes)")
    add("--batch_size", type=int, default=defaults.batch_size, help="global batch, split across replicas")
    add("--learning_rate", type=float, default=defaults.learning_rate, help="Adam learning rate")
    add("--beta_1", type=float, default=defaults.beta_1, help="Adam's first-moment decay (pix2pix: 0.5)")
    add("--l1_weight", type=float, default=defaults.l1_weight, help="weight of the L1 term in the generator loss")
    add(
        "--chroma_weight",
        type=float,
        default=defaults.chroma_weight,
        help="weight of the chroma term (1 - per-frame pitch-class correlation with the target)",
    )
    add("--checkpoint_every", type=int, default=defaults.checkpoint_every, help="steps between checkpoints")
    add("--summary_every", type=int, default=defaults.summary_every, help="steps between TensorBoard images/audio")
    add("--log_every", type=int, default=defaults.log_every, help="steps between progress lines and scalars")
    add("--eval_every", type=int, default=defaults.eval_every, help="steps between validation L1 measurements")
    add("--eval_batches", type=int, default=defaults.eval_batches, help="validation batches per measurement")
    add("--cpu_replicas", type=int, default=0, help="split the CPU into N logical replicas (testing without GPUs)")
    add("--mixed_precision", action="store_true", help="float16 compute with loss scaling (GPUs)")
    add("--jit", action="store_true", help="compile the train step with XLA")
    add("--seed", type=int, default=defaults.seed, help="seed of weights, crops and shuffling")
    add("--source", default=inputs.source, help="source stem")
    add("--target", default=inputs.target, choices=TARGETS, help="target stem")
    add("--crop_frames", type=int, default=inputs.crop_frames, help="STFT frames per training crop")
    add("--crops_per_segment", type=int, default=inputs.crops_per_segment, help="random crops per segment")
    add("--shuffle_buffer", type=int, default=inputs.shuffle_buffer, help="crops held in the shuffle buffer")
    add("--features", default=inputs.features.kind, choices=sorted(KINDS), help="model features")
    add(
        "--frequency",
        default=inputs.features.frequency,
        choices=FREQUENCY_SCALES,
        help="the features' frequency axis: STFT bins, or log-spaced rows (intervals become translations)",
    )
    add("--log_bins", type=int, default=inputs.features.log_bins, help="rows of a log-frequency axis")
    add("--bins_per_octave", type=int, default=inputs.features.bins_per_octave, help="log-frequency rows per octave")
    add("--fmin", type=float, default=inputs.features.fmin, help="lowest log-frequency row, Hz")
    add("--generator", default=model.generator, choices=GENERATORS, help="generator family")
    add("--filters", type=int, default=model.filters, help="generator base filters")
    add("--depth", type=int, default=model.depth, help="U-Net depth (input sides must divide by 2**depth)")
    add("--dropout", type=float, default=model.dropout, help="dropout in the first decoder blocks")
    add("--disc_filters", type=int, default=model.disc_filters, help="discriminator base filters")
    add("--temporal_channels", type=int, default=model.temporal_channels, help="temporal generator width")
    add("--temporal_layers", type=int, default=model.temporal_layers, help="temporal generator residual blocks")


def _fields(cls) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


def option_names() -> set[str]:
    """Every keyword ``config_from_options`` accepts ("features" names the feature kind)."""
    nested = _fields(InputConfig) | _fields(ModelConfig) | _fields(FeatureConfig)
    return (_fields(TrainConfig) | nested | {"features"}) - {"data_dir", "model_dir", "input", "model", "kind"}


def config_from_options(data_dir: str, model_dir: str, **options: Any) -> TrainConfig:
    """A TrainConfig from flat keyword options (``steps=500, crop_frames=256, depth=6``):
    each goes to the dataclass that owns it; unset ones keep that dataclass's default."""
    unknown = set(options) - option_names()
    if unknown:
        raise TypeError(f"unknown training option(s) {sorted(unknown)}; known: {', '.join(sorted(option_names()))}")

    def part(cls, **renamed: Any):
        values = {key: options[key] for key in (_fields(cls) & set(options)) - set(renamed)}
        return cls(**values, **renamed)

    kind = {"kind": options["features"]} if "features" in options else {}
    features = part(FeatureConfig, **kind)
    return part(
        TrainConfig,
        data_dir=data_dir,
        model_dir=model_dir,
        input=part(InputConfig, features=features),
        model=part(ModelConfig),
    )
