"""Finding the tracks of a MUSDB18-HQ-layout root, splitting them and planning the shards.

This runs on the launching machine before the pipeline is built, so the split of every
track and the shard layout are fixed, deterministic facts of the input: shards are
decided per track and no step of the job ever groups the (large) segment tensors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import posixpath

from vocals2song import storage
from vocals2song.config import MUSDB_SUBSETS
from vocals2song.manifest import SPLITS

# The official MUSDB18 validation split: 14 of the 100 train tracks (musdb's configuration).
OFFICIAL_VALID_TRACKS = frozenset(
    {
        "Actions - One Minute Smile",
        "Clara Berry And Wooldog - Waltz For My Victims",
        "Johnny Lokke - Promises & Lies",
        "Patrick Talbot - A Reason To Leave",
        "Triviul - Angelsaint",
        "Alexander Ross - Goodbye Bolero",
        "Fergessen - Nos Palpitants",
        "Leaf - Summerghost",
        "Skelpolu - Human Mistakes",
        "Young Griffo - Pennies",
        "ANiMAL - Rockshow",
        "James May - On The Line",
        "Meaxic - Take A Step",
        "Traffic Experiment - Sirens",
    }
)
SPLIT_SALT = b"vocals2song-valid-split-v1"


class InputError(ValueError):
    """The input root as a whole cannot be used (missing, empty, not MUSDB layout)."""


@dataclasses.dataclass(frozen=True)
class Track:
    name: str
    split: str  # train, valid or test
    folder: str  # full path (local or gs://)


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """Why one track (or one stray entry among the tracks) was not written."""

    track: str
    file: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ShardSpec:
    split: str
    index: int
    count: int
    tracks: tuple[Track, ...]
    extension: str  # ".tfrecord" or ".tfrecord.gz"

    @property
    def path(self) -> str:
        """Path relative to the data set root, "/"-separated."""
        return f"{self.split}/{self.split}-{self.index:05d}-of-{self.count:05d}{self.extension}"


def _entries(fs, path: str) -> list[dict]:
    return sorted(fs.ls(path, detail=True), key=lambda entry: entry["name"])


def discover(root: str) -> tuple[list[tuple[str, str, str]], list[DeadLetter]]:
    """Lists ``root/{train,test}/<Track>/`` -> ([(name, subset, folder)], dead letters).

    Stray files and hidden folders among the track folders become dead letters, not
    silent skips. Raises InputError when the root is missing or holds no track folder.
    """
    fs, resolved = storage.filesystem(root)
    if not fs.isdir(resolved):
        raise InputError(f"MUSDB18-HQ root {root} does not exist or is not a folder")
    prefix = root.split("://")[0] + "://" if storage.is_remote(root) else ""
    found, rejected = [], []
    for subset in MUSDB_SUBSETS:
        subset_path = posixpath.join(resolved, subset)
        if not fs.isdir(subset_path):
            continue
        for entry in _entries(fs, subset_path):
            name = posixpath.basename(entry["name"].rstrip("/"))
            full = prefix + entry["name"].rstrip("/") if prefix else entry["name"]
            if entry["type"] != "directory":
                rejected.append(DeadLetter(name, full, f"stray file among the {subset} tracks, not a track folder"))
            elif name.startswith("."):
                rejected.append(DeadLetter(name, full, f"hidden folder among the {subset} tracks, not a track"))
            else:
                found.append((name, subset, full))
    if not found:
        raise InputError(
            f"no track folders under {root}/train or {root}/test: expected MUSDB18-HQ layout "
            "ROOT/{train,test}/<Artist - Title>/{mixture,vocals,drums,bass,other}.wav"
        )
    return found, rejected


def _split_rank(name: str) -> str:
    return hashlib.sha256(SPLIT_SALT + name.encode()).hexdigest()


def assign_splits(found: list[tuple[str, str, str]], valid_fraction: float) -> list[Track]:
    """train/ -> train or valid, test/ -> test; sorted by (split, name).

    valid is the official 14 MUSDB validation tracks when the data has them; otherwise
    the ``valid_fraction`` of train tracks that rank first by a salted SHA-256 of their
    name (at least one when there are two or more): stable across runs and machines.
    """
    train_names = [name for name, subset, _ in found if subset == "train"]
    official = OFFICIAL_VALID_TRACKS.intersection(train_names)
    if official:
        valid = official
    else:
        count = round(valid_fraction * len(train_names))
        if valid_fraction > 0 and len(train_names) >= 2:
            count = max(count, 1)
        valid = set(sorted(train_names, key=_split_rank)[: min(count, len(train_names) - 1)])
    tracks = [
        Track(name, "test" if subset == "test" else ("valid" if name in valid else "train"), folder)
        for name, subset, folder in found
    ]
    return sorted(tracks, key=lambda track: (track.split, track.name))


def plan_shards(tracks: list[Track], tracks_per_shard: int, extension: str) -> list[ShardSpec]:
    """Consecutive groups of ``tracks_per_shard`` tracks (sorted by name) per split."""
    if tracks_per_shard < 1:
        raise ValueError(f"tracks_per_shard must be at least 1, got {tracks_per_shard}")
    shards = []
    for split in SPLITS:
        members = [track for track in tracks if track.split == split]
        count = math.ceil(len(members) / tracks_per_shard)
        for index in range(count):
            group = tuple(members[index * tracks_per_shard : (index + 1) * tracks_per_shard])
            shards.append(ShardSpec(split, index, count, group, extension))
    return shards
