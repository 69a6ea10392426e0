"""The DoFn that turns one planned shard (a few tracks) into one TFRecord file.

Each shard is written by exactly one DoFn call under a staging name and renamed when
complete, so no GroupByKey ever holds segment tensors (the local runners materialise
everything that passes one) and memory is bounded by one track's audio, whatever the
size of the data set. Outputs: shard summaries (main), per-track summaries, per-shard
statistics and dead letters.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.tfrecordio import _TFRecordUtil

from pipelines import progress, segments, stats
from pipelines.tracks import DeadLetter, ShardSpec
from vocals2song.schema import RecordSpec

TRACKS = "tracks"
STATS = "stats"
DEAD_LETTER = "dead_letter"
COMPRESSION = {"none": CompressionTypes.UNCOMPRESSED, "gzip": CompressionTypes.GZIP}
STAGING_SUFFIX = ".incomplete"
COUNTER_NAMESPACE = "vocals2song"

log = logging.getLogger(__name__)


class WriteShard(beam.DoFn):
    """ShardSpec -> one TFRecord shard at ``output_dir/<split>/<split>-SSSSS-of-NNNNN``."""

    def __init__(
        self, output_dir: str, options: segments.SegmentOptions, compression: str, total_tracks: int, started: float
    ):
        self._output_dir = output_dir
        self._total_tracks = total_tracks
        self._started = started
        self._options = options
        self._compression = compression
        self._spec = RecordSpec(options.config, options.stems, segments.CHANNELS[options.channels])
        counter = beam.metrics.Metrics.counter
        self._tracks = counter(COUNTER_NAMESPACE, "tracks_written")
        self._segments = counter(COUNTER_NAMESPACE, "segments_written")
        self._skipped = counter(COUNTER_NAMESPACE, "segments_skipped_silent")
        self._failed = counter(COUNTER_NAMESPACE, "tracks_failed")
        self._audio_seconds = counter(COUNTER_NAMESPACE, "audio_seconds")

    def process(self, shard: ShardSpec):
        final = FileSystems.join(self._output_dir, *shard.path.split("/"))
        staging = final + STAGING_SUFFIX
        moments: dict[str, stats.BinMoments] = {}
        written = 0
        with FileSystems.create(staging, compression_type=COMPRESSION[self._compression]) as handle:
            for track in shard.tracks:
                started = time.monotonic()
                try:
                    waveforms = segments.load_stems(track.folder, self._options)
                except segments.TrackError as error:
                    self._failed.inc()
                    log.warning("dead letter: track %r: %s; %s", track.name, error, self._progress(track.name))
                    yield beam.pvalue.TaggedOutput(
                        DEAD_LETTER, DeadLetter(track.name, error.file, error.reason).to_dict()
                    )
                    continue
                row = self._write_track(handle, track, waveforms, moments, started)
                written += row["segments"]
                yield beam.pvalue.TaggedOutput(TRACKS, row)
        FileSystems.rename([staging], [final])
        if moments:
            yield beam.pvalue.TaggedOutput(STATS, moments)
        yield {"path": shard.path, "split": shard.split, "segments": written, "tracks": [t.name for t in shard.tracks]}

    def _write_track(self, handle, track, waveforms: dict, moments: dict, started: float) -> dict:
        """Writes one loaded track's segments (training tracks also feed the statistics) and
        reports it (time since ``started``, reading included); returns its row of the track list."""
        track_segments = skipped = 0
        for cut in segments.cut(waveforms, self._options):
            if cut is None:
                skipped += 1
                continue
            segment = cut.record(track.name, track.split, self._options.config)
            _TFRecordUtil.write_record(handle, self._spec.serialize(segment))
            if track.split == "train":
                valid_frames = self._options.config.frames(cut.valid_samples)
                stats.add_segment(moments, cut.stems, min(valid_frames, self._spec.stem_shape[2]))
            track_segments += 1
        seconds = next(iter(waveforms.values())).shape[1] / self._options.config.sample_rate
        elapsed = time.monotonic() - started
        self._tracks.inc()
        self._segments.inc(track_segments)
        self._skipped.inc(skipped)
        self._audio_seconds.inc(int(round(seconds)))
        log.info(
            "[%s] %s: %d segments, %d skipped as silent, %.0f s of audio in %.1f s (%.1fx real time); %s",
            track.split,
            track.name,
            track_segments,
            skipped,
            seconds,
            elapsed,
            seconds / max(elapsed, 1e-9),
            self._progress(track.name),
        )
        return {"track": track.name, "split": track.split, "segments": track_segments, "skipped": skipped}

    def _progress(self, track: str) -> str:
        return "tracks " + progress.mark_done(self._output_dir, track, self._total_tracks, self._started)
