"""``dataset.json``: what a data set holds and how it was made.

Written last by the dataset job, so its presence is what makes a folder a data set.
Readers (trainer, inspect, evaluate) take the spectral config, record spec, shard list
and statistics from it rather than from their own defaults.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from vocals2song import storage
from vocals2song.config import SpectralConfig
from vocals2song.schema import SCHEMA_VERSION, RecordSpec

MANIFEST_NAME = "dataset.json"
SPLITS = ("train", "valid", "test")


class DatasetError(ValueError):
    """A data directory is missing, incomplete, or not what the reader expects."""


@dataclasses.dataclass
class ShardInfo:
    path: str  # relative to the data set root, e.g. "train/train-00000-of-00004.tfrecord"
    split: str
    segments: int
    tracks: list[str]


@dataclasses.dataclass
class Manifest:
    """The contents of ``dataset.json``.

    Attributes:
      config: the spectral config the data was encoded with.
      stems, channels: what each record stores (see RecordSpec).
      compression: "none" or "gzip", how the shards are compressed.
      shards: every shard with its split and segment count.
      tracks: split -> track names that produced at least one segment.
      stats: stem -> {"mean": [...bins], "std": [...bins]} of log-magnitude over the
        train split's valid frames (features.log_magnitude).
      failures: dead-letter records (track, file, reason).
      skipped_segments: segments left out as near-silent vocals, per split.
      options: the job's options; command: its command line; version: package version.
    """

    config: SpectralConfig
    stems: tuple[str, ...]
    channels: int
    compression: str
    shards: list[ShardInfo]
    tracks: dict[str, list[str]]
    stats: dict[str, dict[str, Any]]
    failures: list[dict[str, str]]
    skipped_segments: dict[str, int]
    options: dict[str, Any]
    command: list[str]
    version: str
    schema_version: int = SCHEMA_VERSION

    @property
    def record_spec(self) -> RecordSpec:
        return RecordSpec(self.config, self.stems, self.channels)

    def segments(self, split: str) -> int:
        return sum(shard.segments for shard in self.shards if shard.split == split)

    @staticmethod
    def shard_path(root: str, shard: ShardInfo) -> str:
        """Where ``shard`` lies under the data set folder ``root`` (local or gs://)."""
        return storage.join(root, *shard.path.split("/"))

    def shard_paths(self, root: str, split: str) -> list[str]:
        return [self.shard_path(root, shard) for shard in self.shards if shard.split == split]

    @property
    def tf_compression(self) -> str:
        """The shards' compression as tf.data names it ("" or "GZIP")."""
        return "GZIP" if self.compression == "gzip" else ""

    def require_stems(self, data_dir: str, stems: tuple[str, ...], purpose: str, derive: bool = True) -> None:
        """DatasetError naming those of ``stems`` the data set neither stores nor (with
        ``derive``) can derive, what they were for, and the command that rebuilds it with them.
        The accompaniment derives from the mixture and the vocals."""
        derivable = {"accompaniment"} if derive and {"mixture", "vocals"} <= set(self.stems) else set()
        missing = [stem for stem in dict.fromkeys(stems) if stem not in self.stems and stem not in derivable]
        if missing:
            raise DatasetError(
                f"{data_dir}: {', '.join(missing)} not in the data set{' and cannot be derived' if derive else ''} "
                f"(it stores {', '.join(self.stems)}; needed {purpose}); rebuild it with "
                f"`vocals2song dataset --stems {','.join(dict.fromkeys((*self.stems, *missing)))}`"
            )

    def stat_arrays(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-bin (mean, std) of log-magnitude for ``stem`` as float32 arrays."""
        if stem not in self.stats:
            raise DatasetError(f"the data set has no statistics for stem {stem!r} (has {sorted(self.stats)})")
        return (
            np.asarray(self.stats[stem]["mean"], dtype=np.float32),
            np.asarray(self.stats[stem]["std"], dtype=np.float32),
        )

    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        values["config"] = self.config.to_dict()
        values["stems"] = list(self.stems)
        return json.dumps(values, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        values = json.loads(text)
        values["config"] = SpectralConfig.from_dict(values["config"])
        values["stems"] = tuple(values["stems"])
        values["shards"] = [ShardInfo(**shard) for shard in values["shards"]]
        return cls(**values)


def manifest_path(data_dir: str) -> str:
    return storage.join(data_dir, MANIFEST_NAME)


def read_manifest(data_dir: str) -> Manifest:
    """Reads ``data_dir/dataset.json``; a clear DatasetError when it is missing or foreign."""
    path = manifest_path(data_dir)
    if not storage.exists(path):
        raise DatasetError(
            f"{data_dir} is not a Vocals2Song data set: {MANIFEST_NAME} is missing "
            "(make one with `vocals2song dataset`; an interrupted job leaves none)"
        )
    try:
        manifest = Manifest.from_json(storage.read_text(path))
    except (KeyError, TypeError, ValueError) as error:
        raise DatasetError(f"{path} cannot be read as a data set manifest: {error}") from error
    if manifest.schema_version != SCHEMA_VERSION:
        raise DatasetError(
            f"{path} has record schema version {manifest.schema_version}; this code reads "
            f"version {SCHEMA_VERSION}: rebuild the data set with this version"
        )
    return manifest
