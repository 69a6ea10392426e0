"""The render job: scores -> tracks in MUSDB18-HQ layout, ready for the dataset job.

One element per score: a worker parses it, draws its arrangements (``--keys`` per score)
and writes ``OUT/<split>/<score> <shift>/{vocals,drums,bass,other,mixture}.wav``, listed with
their choices in ``OUT/render-<split>.jsonl``. A score that fails to parse or render becomes a
dead letter in ``OUT/failures/render-<split>.jsonl`` naming the file and the reason; the
others are written. Like the dataset job, ``run`` is a library function with Beam options
passed through, so it runs on the DirectRunner here and on Dataflow (whose worker image needs
fluidsynth and the soundfonts: infra/Dockerfile.dataflow).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import apache_beam as beam

from pipelines import progress, runner
from pipelines.options import RenderJobOptions
from vocals2song import render, scores, storage

DEAD_LETTER = "dead_letter"
COUNTER_NAMESPACE = "vocals2song_render"
log = logging.getLogger(__name__)


def sources(options: RenderJobOptions) -> list[str]:
    """The score files to render, in a fixed order."""
    return scores.score_paths(options.bach, options.scores_dir, options.every, options.except_every)


class RenderScore(beam.DoFn):
    """Score path -> rows of written tracks; dead letters on the ``dead_letter`` output."""

    def __init__(self, options: RenderJobOptions, total: int, started: float):
        self._options, self._total, self._started = options, total, started
        counter = beam.metrics.Metrics.counter
        self._tracks = counter(COUNTER_NAMESPACE, "tracks_rendered")
        self._failed = counter(COUNTER_NAMESPACE, "scores_failed")
        self._seconds = counter(COUNTER_NAMESPACE, "audio_seconds")

    def process(self, path: str):
        try:
            rows = list(render_score(path, self._options))
        except (scores.ScoreError, render.RenderError) as error:
            self._failed.inc()
            log.warning("dead letter: %s; scores %s", error, self._done(path))
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, {"file": path, "reason": str(error)})
            return
        self._tracks.inc(len(rows))
        self._seconds.inc(int(sum(row["seconds"] for row in rows)))
        log.info("%s: %d track(s), %.0f s of audio; scores %s", path, len(rows), rows[0]["seconds"], self._done(path))
        yield from rows

    def _done(self, path: str) -> str:
        return progress.mark_done(self._options.output_dir, path, self._total, self._started)


def render_score(path: str, options: RenderJobOptions):
    """Renders every arrangement of one score into the output; yields a row per track."""
    score = scores.read_score(path, options.melody_track)
    for arrangement in render.arrangements(score, options.render):
        stems = render.render(score, arrangement, options.render)
        render.write_track(
            storage.join(options.output_dir, options.split, arrangement.name), stems, options.render.sample_rate
        )
        seconds = len(stems["mixture"]) / options.render.sample_rate
        yield {"track": arrangement.name, "source": path, "seconds": seconds, **dataclasses.asdict(arrangement)}


def run(options: RenderJobOptions, beam_args: list[str]) -> dict[str, Any]:
    """Renders every source; returns counts and where the dead letters are."""

    paths = sources(options)
    if not paths:
        raise ValueError("no scores to render: the source list is empty")
    log.info("rendering %d score(s) x %d key(s) -> %s", len(paths), options.render.keys, options.output_dir)
    started = time.time()
    with runner.make_pipeline(beam_args) as pipeline:
        rendered = (
            pipeline
            | "Scores" >> beam.Create(paths)
            | "Spread" >> beam.Reshuffle()
            | "Render" >> beam.ParDo(RenderScore(options, len(paths), started)).with_outputs(DEAD_LETTER, main="tracks")
        )
        tracks_name, failures_name = f"render-{options.split}", f"failures/render-{options.split}"
        for name, collection in ((tracks_name, rendered.tracks), (failures_name, rendered[DEAD_LETTER])):
            _ = (
                collection
                | f"Json {name}" >> beam.Map(json.dumps, sort_keys=True)
                | f"Write {name}"
                >> beam.io.WriteToText(
                    storage.join(options.output_dir, name),
                    file_name_suffix=".jsonl",
                    num_shards=1,
                    shard_name_template="",
                )
            )
    progress.clear(options.output_dir)
    tracks = _rows(storage.join(options.output_dir, tracks_name + ".jsonl"))
    failures = _rows(storage.join(options.output_dir, failures_name + ".jsonl"))
    return {"tracks": len(tracks), "failures": failures, "seconds": sum(row["seconds"] for row in tracks)}


def _rows(path: str) -> list[dict]:
    if not storage.exists(path):
        return []
    return [json.loads(line) for line in storage.read_text(path).splitlines() if line.strip()]
