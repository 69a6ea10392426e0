"""Generation jobs for the web app: a bounded worker pool, a bounded queue, expiry.

Generation takes seconds to minutes on a CPU, so a request only queues a job and the page
polls its state. One model serves every job; at most ``workers`` jobs run at once and at
most ``max_queued`` wait, so a burst of uploads is refused (503) instead of piling up work
and memory. Every job lives in a private directory named by a random id; results are
deleted ``keep_seconds`` after the job ends.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
SONG_FILE, PICTURE_FILE, MIDI_FILE, CHART_FILE = "song.wav", "song.png", "song.mid", "song.txt"
PLAYED_FILE = "played.json"
RESULTS = frozenset({SONG_FILE, PICTURE_FILE})
"""What every job publishes; MIDI_FILE (the melody and the played chords), CHART_FILE (their lead
sheet) and PLAYED_FILE (how often they changed, what ``--changes auto`` read) only a model that
plays chords."""


def track_file(track: str) -> str:
    """The result file of one of the song's parts (a generated stem, or the vocal as it sits in the song)."""
    return f"track-{track}.wav"


# (upload path, the name the user gave it, options, job directory, progress callback, publish
# callback) -> None; decodes the upload inside the pool and writes SONG_FILE, the tracks' files and
# PICTURE_FILE into the directory, publishing each once written (the song plays while the picture
# is drawn).
Work = Callable[[str, str, dict, str, Callable[[float], None], Callable[[str], None]], None]


class QueueFull(RuntimeError):
    """More jobs are waiting than the server accepts; the client should retry later."""


@dataclasses.dataclass
class Job:
    id: str
    directory: str
    seconds: float  # input duration
    options: dict
    state: str = QUEUED
    progress: float = 0.0
    error: str | None = None
    created: float = dataclasses.field(default_factory=time.monotonic)
    ended: float | None = None
    ready: list[str] = dataclasses.field(default_factory=list)  # result files written so far

    def public(self, keep_seconds: float) -> dict:
        """What the API shows: no paths."""
        expires = None if self.ended is None else max(0.0, self.ended + keep_seconds - time.monotonic())
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(self.progress, 3),
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "options": self.options,
            "expires_in_seconds": None if expires is None else round(expires, 1),
            "ready": list(self.ready),
        }


class Jobs:
    """Owns the jobs, their directories and the worker threads."""

    def __init__(
        self,
        work: Work,
        workers: int = 1,
        max_queued: int = 4,
        keep_seconds: float = 3600.0,
        root: str | None = None,
        results: frozenset[str] = RESULTS,
    ):
        """``results``: the only file names a job may publish and the API may serve (ours, never a user's)."""
        if workers < 1 or max_queued < 0:
            raise ValueError(f"workers must be >= 1 and max_queued >= 0, got {workers} and {max_queued}")
        self._work, self.results = work, results
        self.workers = workers
        self.max_queued = max_queued
        self.keep_seconds = keep_seconds
        self.root = tempfile.mkdtemp(prefix="vocals2song-jobs-", dir=root)  # mode 0700
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="generate")

    def new_directory(self) -> tuple[str, str]:
        """A fresh job id (128 random bits, URL-safe) and its private directory."""
        job_id = secrets.token_urlsafe(16)
        directory = os.path.join(self.root, job_id)
        os.mkdir(directory, 0o700)
        return job_id, directory

    def discard(self, directory: str) -> None:
        """Removes the directory of a job that was refused before it was queued."""
        shutil.rmtree(directory, ignore_errors=True)

    def submit(self, job_id: str, directory: str, upload: str, name: str, seconds: float, options: dict) -> Job:
        """Queues a job for the upload at ``upload`` (``seconds`` long by its header; ``name``
        is the user's name for it, for messages); QueueFull, and the directory removed, when
        the queue is at its limit. Nothing is decoded before the job holds its place."""
        self.expire()
        with self._lock:
            waiting = sum(job.state == QUEUED for job in self._jobs.values())
            running = sum(job.state == RUNNING for job in self._jobs.values())
            if waiting >= self.max_queued and running + waiting >= self.workers:
                self.discard(directory)
                raise QueueFull(
                    f"the server is busy ({running} running, {waiting} waiting, limit {self.max_queued}): "
                    "try again in a minute"
                )
            job = Job(job_id, directory, seconds, options)
            self._jobs[job_id] = job
        self._pool.submit(self._run, job, upload, name)
        return job

    def _run(self, job: Job, upload: str, name: str) -> None:
        job.state = RUNNING

        def progress(fraction: float) -> None:
            job.progress = min(max(fraction, job.progress), 1.0)

        def publish(result: str) -> None:
            if result not in self.results:
                raise ValueError(f"no result named {result!r}")
            job.ready = [*job.ready, result]

        try:
            self._work(upload, name, job.options, job.directory, progress, publish)
            job.progress, job.state = 1.0, DONE
        except Exception as error:  # noqa: BLE001 - any failure is the job's, reported to its page
            log.exception("job %s failed", job.id)
            job.error, job.state = f"generation failed: {error}", FAILED
        finally:
            job.ended = time.monotonic()

    def get(self, job_id: str) -> Job | None:
        self.expire()
        with self._lock:
            return self._jobs.get(job_id)

    def result(self, job: Job, name: str) -> str | None:
        """Path of a result file the job has published (None before); ``name`` is one of ours,
        never the user's."""
        if name not in self.results:
            raise ValueError(f"no result named {name!r}")
        return os.path.join(job.directory, name) if name in job.ready else None

    def expire(self, now: float | None = None) -> list[str]:
        """Deletes jobs that ended more than ``keep_seconds`` ago; returns their ids."""
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [i for i, job in self._jobs.items() if job.ended is not None and now - job.ended > self.keep_seconds]
            for job_id in gone:
                shutil.rmtree(self._jobs.pop(job_id).directory, ignore_errors=True)
        return gone

    def close(self) -> None:
        """Waits for running jobs, then removes every job directory."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)
