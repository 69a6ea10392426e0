"""Progress of a Beam job across worker processes or machines: one marker file per item done.

Workers share nothing but the output file system, so each finished item (a track, a score)
leaves a marker under ``output_dir/.progress``; counting them gives the job's progress and
an ETA wherever the worker runs. The job's last step removes the folder.
"""

from __future__ import annotations

import hashlib
import time

from vocals2song import storage

PROGRESS_DIR = ".progress"


def mark_done(output_dir: str, item: str, total: int, started: float) -> str:
    """Marks ``item`` done and returns "N/total <unit> done, elapsed, ETA" for a log line."""
    folder = storage.join(output_dir, PROGRESS_DIR)
    storage.write_text(storage.join(folder, hashlib.sha1(item.encode()).hexdigest()), item)
    fs, resolved = storage.filesystem(folder)
    done = len(fs.ls(resolved, detail=False))
    elapsed = time.time() - started
    remaining = elapsed / max(done, 1) * (total - done)
    return f"{done}/{total} done, {elapsed:.0f} s elapsed, ETA {remaining:.0f} s"


def clear(output_dir: str) -> None:
    storage.remove(storage.join(output_dir, PROGRESS_DIR))
