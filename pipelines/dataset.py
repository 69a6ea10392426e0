"""The dataset job: MUSDB18-HQ layout -> sharded float16 STFT TFRecords + manifest.

``run`` is a plain library function taking paths, options and a list of Beam options
(passed to PipelineOptions untouched), so the same job runs on the DirectRunner and on
Dataflow; the ``vocals2song dataset`` command only parses flags and calls it.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib.metadata
import json
import logging
import math
import sys
import time
from typing import Any

from pipelines import progress, runner, segments, shards, stats, tracks
from pipelines.options import SHARD_EXTENSIONS, DatasetOptions
from vocals2song import storage
from vocals2song.manifest import MANIFEST_NAME, SPLITS, Manifest, ShardInfo, manifest_path, read_manifest

FAILURES_DIR = "failures"
log = logging.getLogger(__name__)


class OutputExistsError(FileExistsError):
    """The output directory already holds a data set and --overwrite was not given."""


@dataclasses.dataclass
class Plan:
    """What the job will do, fixed before it starts."""

    tracks: list[tracks.Track]
    rejected: list[tracks.DeadLetter]
    shards: list[tracks.ShardSpec]
    segments: dict[str, int]  # split -> expected segments (before silence skipping)
    estimated_bytes: int

    def describe(self) -> str:
        lines = []
        for split in SPLITS:
            count = sum(1 for track in self.tracks if track.split == split)
            shard_count = sum(1 for shard in self.shards if shard.split == split)
            lines.append(f"  {split:5s}: {count} tracks, {self.segments[split]} segments, {shard_count} shards")
        lines.append(f"  rejected before start: {len(self.rejected)}")
        lines.append(f"  estimated output: {self.estimated_bytes / 1e9:.2f} GB (uncompressed)")
        return "\n".join(lines)


def plan(options: DatasetOptions) -> Plan:
    """Lists and splits the tracks, plans the shards and estimates the output from headers."""
    found, rejected = tracks.discover(options.musdb_root)
    assigned = tracks.assign_splits(found, options.valid_fraction)
    planned = tracks.plan_shards(assigned, options.tracks_per_shard, SHARD_EXTENSIONS[options.compression])
    seg = options.segment_options
    per_segment = (
        len(seg.stems) * math.prod((segments.CHANNELS[seg.channels], seg.config.bins, seg.config.segment_frames, 2)) * 2
    )
    counts = {split: 0 for split in SPLITS}
    for track in assigned:
        try:
            header = segments.check_headers(track.folder, seg)
        except segments.TrackError:
            continue  # the job itself turns it into a dead letter
        length = math.ceil(header.frames * seg.config.sample_rate / header.sample_rate)
        counts[track.split] += len(segments.segment_starts(length, seg.config.segment_samples, seg.hop_samples))
    return Plan(assigned, rejected, planned, counts, per_segment * sum(counts.values()))


def prepare_output(options: DatasetOptions, needed_bytes: int) -> None:
    """Refuses to replace a data set without --overwrite and to start without disk space;
    removes what an interrupted run left (only files named like this job's output)."""
    manifest = manifest_path(options.output_dir)
    if storage.exists(manifest):
        if not options.overwrite:
            raise OutputExistsError(
                f"{options.output_dir} already holds a data set ({MANIFEST_NAME}); pass --overwrite to replace it"
            )
        storage.remove(manifest)
    free = storage.free_bytes(options.output_dir)
    if free is not None and free < needed_bytes:
        raise OSError(
            f"{options.output_dir} has {free / 1e9:.2f} GB free, the data set needs about {needed_bytes / 1e9:.2f} GB"
        )
    for split in SPLITS:
        storage.remove_matching(storage.join(options.output_dir, split), f"{split}-*-of-*.tfrecord*")
    storage.remove_matching(storage.join(options.output_dir, FAILURES_DIR), "failures-*.jsonl")
    storage.remove_matching(storage.join(options.output_dir, FAILURES_DIR), "beam-temp-*")  # a failed run's
    progress.clear(options.output_dir)


def write_manifest(
    _, options: DatasetOptions, command: list[str], shard_rows, track_rows, statistics, failures, failure_files
) -> str:
    """The job's last step: writes dataset.json once every shard and dead letter is in place."""
    del failure_files  # a side input only so that this step runs after the dead letters are final
    tracks_by_split = {split: sorted(row["track"] for row in track_rows if row["split"] == split) for split in SPLITS}
    skipped = {split: sum(row["skipped"] for row in track_rows if row["split"] == split) for split in SPLITS}
    seg = options.segment_options
    manifest = Manifest(
        config=seg.config,
        stems=seg.stems,
        channels=segments.CHANNELS[seg.channels],
        compression=options.compression,
        shards=sorted((ShardInfo(**row) for row in shard_rows), key=lambda shard: shard.path),
        tracks=tracks_by_split,
        stats=statistics,
        failures=sorted(failures, key=lambda row: (row["track"], row["file"])),
        skipped_segments=skipped,
        options={
            key: (list(value) if isinstance(value, tuple) else value)
            for key, value in dataclasses.asdict(options).items()
        },
        command=command,
        version=importlib.metadata.version("vocals2song"),
    )
    path = manifest_path(options.output_dir)
    storage.write_text(path, manifest.to_json())
    progress.clear(options.output_dir)
    return path


def build(pipeline, planned: Plan, options: DatasetOptions, command: list[str]) -> None:
    """Adds the job's transforms to ``pipeline``."""
    import apache_beam as beam

    written = (
        pipeline
        | "Shards" >> beam.Create(planned.shards)
        | "Spread" >> beam.Reshuffle()
        | "WriteShards"
        >> beam.ParDo(
            shards.WriteShard(
                options.output_dir, options.segment_options, options.compression, len(planned.tracks), time.time()
            )
        ).with_outputs(shards.TRACKS, shards.STATS, shards.DEAD_LETTER, main="shards")
    )
    rejected = pipeline | "Rejected" >> beam.Create([letter.to_dict() for letter in planned.rejected])
    failures = (written[shards.DEAD_LETTER], rejected) | "DeadLetters" >> beam.Flatten()
    failure_files = (
        failures
        | "DeadLetterJson" >> beam.Map(json.dumps, sort_keys=True)
        | "WriteDeadLetters"
        >> beam.io.WriteToText(
            storage.join(options.output_dir, FAILURES_DIR, "failures"), file_name_suffix=".jsonl", num_shards=1
        )
    )
    statistics = written[shards.STATS] | "Stats" >> beam.CombineGlobally(stats.CombineStats())
    as_list = beam.pvalue.AsList
    _ = (
        pipeline
        | "Finalize" >> beam.Create([None])
        | "WriteManifest"
        >> beam.Map(
            write_manifest,
            options=options,
            command=command,
            shard_rows=as_list(written["shards"]),
            track_rows=as_list(written[shards.TRACKS]),
            statistics=beam.pvalue.AsSingleton(statistics),
            failures=as_list(failures),
            failure_files=as_list(failure_files),
        )
    )


def _disk_full(error: BaseException) -> bool:
    """Beam re-raises a worker's OSError as a RuntimeError carrying its text."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return "[Errno 28]" in str(error) or "No space left on device" in str(error)


def run(options: DatasetOptions, beam_args: list[str], command: list[str] | None = None) -> dict[str, Any]:
    """Plans, checks the output, runs the pipeline; returns a summary of what was written.

    Raises tracks.InputError, OutputExistsError or OSError before any work when the
    input or the output cannot be used.
    """
    from apache_beam.metrics.metric import MetricsFilter

    planned = plan(options)
    log.info("plan for %s -> %s:\n%s", options.musdb_root, options.output_dir, planned.describe())
    if options.dry_run:
        return {"dry_run": True, "segments": planned.segments, "estimated_bytes": planned.estimated_bytes}
    prepare_output(options, planned.estimated_bytes)
    pipeline = runner.make_pipeline(beam_args)
    build(pipeline, planned, options, command if command is not None else sys.argv)
    try:
        result = pipeline.run()
        result.wait_until_finish()
    except Exception as error:
        if _disk_full(error):
            raise OSError(
                errno.ENOSPC,
                f"{options.output_dir}: the disk filled up while writing the data set; nothing was published "
                f"(no {MANIFEST_NAME}). Free space (it needs about {planned.estimated_bytes / 1e9:.2f} GB) and "
                "rerun the same command: it clears the partial shards",
            ) from error
        raise
    counters = result.metrics().query(MetricsFilter().with_namespace(shards.COUNTER_NAMESPACE))["counters"]
    manifest = read_manifest(options.output_dir)
    return {
        "segments": {split: manifest.segments(split) for split in SPLITS},
        "tracks": {split: len(names) for split, names in manifest.tracks.items()},
        "failures": len(manifest.failures),
        "skipped": manifest.skipped_segments,
        "counters": {counter.key.metric.name: counter.committed for counter in counters},
        "manifest": manifest_path(options.output_dir),
    }
