"""Peak resident memory of a command and all its child processes, summed.

Beam's multi-processing runner and tf.data spawn workers; ``ru_maxrss`` reports only the
largest single process, so the process tree is polled instead.
"""

from __future__ import annotations

import dataclasses
import subprocess
import threading
import time

import psutil


@dataclasses.dataclass
class Measured:
    returncode: int
    peak_rss_bytes: int
    seconds: float
    output: str


def run(command: list[str], interval: float = 0.05, timeout: float = 3600) -> Measured:
    """Runs ``command`` to completion, sampling the summed RSS of its process tree."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(process.pid)
    peak = 0
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.append(process.stdout.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(_rss(p) for p in tree))
        except psutil.NoSuchProcess:
            pass
        if time.monotonic() - started > timeout:
            process.kill()
            raise TimeoutError(f"{command[:3]} ran over {timeout} s")
        time.sleep(interval)
    reader.join()
    return Measured(process.returncode, peak, time.monotonic() - started, "".join(chunks))


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0
