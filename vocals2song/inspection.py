"""``vocals2song inspect``: what a data set holds, and proof that every shard parses."""

from __future__ import annotations

import dataclasses

import numpy as np

from vocals2song.manifest import SPLITS, Manifest, read_manifest


@dataclasses.dataclass
class ShardCheck:
    path: str
    expected: int
    parsed: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.parsed == self.expected


def _segments(manifest: Manifest, path: str):
    """Yields every Segment of one shard, parsed in numpy (TensorFlow reads local and gs://)."""
    import tensorflow as tf

    spec = manifest.record_spec
    for record in tf.data.TFRecordDataset(path, compression_type=manifest.tf_compression).as_numpy_iterator():
        yield spec.parse(record)


def read_segments(manifest: Manifest, data_dir: str, split: str):
    """Yields every Segment of ``split``, in shard order, parsed in numpy."""
    for path in manifest.shard_paths(data_dir, split):
        yield from _segments(manifest, path)


def first_segments(manifest: Manifest, data_dir: str, split: str, count: int):
    """Yields the first Segment of each of up to ``count`` shards of ``split`` that hold one:
    a sample spread over tracks (one shard holds one track or a few), read cheaply."""
    taken = 0
    for path in manifest.shard_paths(data_dir, split):
        segment = next(_segments(manifest, path), None)
        if segment is not None:
            yield segment
            taken += 1
            if taken == count:
                return


def check_shards(data_dir: str) -> tuple[Manifest, list[ShardCheck]]:
    """Parses every record of every shard, checking finiteness and the manifest's counts."""
    import tensorflow as tf

    manifest = read_manifest(data_dir)
    checks = []
    for shard in manifest.shards:
        check = ShardCheck(shard.path, shard.segments, 0)
        try:
            for segment in _segments(manifest, manifest.shard_path(data_dir, shard)):
                for stem, array in segment.stems.items():
                    if not np.all(np.isfinite(array)):
                        raise ValueError(f"segment {segment.index} of {segment.track!r}: {stem} has non-finite values")
                check.parsed += 1
        except (tf.errors.OpError, ValueError) as error:
            check.error = str(error).splitlines()[0]
        checks.append(check)
    return manifest, checks


def unreadable_shards(manifest: Manifest, data_dir: str, split: str) -> list[tuple[str, str]]:
    """``(path, first line of the error)`` of every shard of ``split`` whose records cannot be
    read to the end (truncated or damaged): what a bare DataLossError in training does not say."""
    import tensorflow as tf

    bad = []
    for path in manifest.shard_paths(data_dir, split):
        try:
            for _ in tf.data.TFRecordDataset(path, compression_type=manifest.tf_compression):
                pass
        except tf.errors.OpError as error:
            bad.append((path, str(error).splitlines()[0]))
    return bad


def summary(manifest: Manifest) -> str:
    config = manifest.config
    lines = [
        f"schema v{manifest.schema_version}, vocals2song {manifest.version}, {manifest.compression} shards",
        f"audio: {config.sample_rate} Hz, {manifest.channels} channel(s), {config.segment_seconds:g} s segments",
        f"STFT: n_fft {config.n_fft}, hop {config.hop_length}, {config.window}; "
        f"stems {', '.join(manifest.stems)} as float16 {list(manifest.record_spec.stem_shape)}",
    ]
    for split in SPLITS:
        shard_count = sum(1 for shard in manifest.shards if shard.split == split)
        lines.append(
            f"{split:5s}: {len(manifest.tracks.get(split, []))} tracks, {manifest.segments(split)} segments "
            f"({manifest.skipped_segments.get(split, 0)} skipped as silent) in {shard_count} shards"
        )
    lines.append(f"dead letters: {len(manifest.failures)}")
    for failure in manifest.failures:
        lines.append(f"  {failure['track']}: {failure['file']}: {failure['reason']}")
    return "\n".join(lines)
