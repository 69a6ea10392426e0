"""Soak: many jobs from concurrent clients against a real `vocals2song serve`, on loopback.

A server process (``--workers 2 --max_queued 4``, a tiny model) takes ``jobs`` submissions from
``clients`` threads, each posting a short vocal and polling it to the end. Every job must end
``done`` or be refused with 503 and the server's message; none lost or stuck; the server's
RSS at the end is compared with its RSS after warm-up; after expiry no file is left in its job
directory. ``python -m benchmarks.bench_soak`` (``make soak``) prints the figures;
tests/test_soak.py runs a short version.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

JOB_TIMEOUT = 120.0


@dataclasses.dataclass
class SoakResult:
    submitted: int = 0
    done: int = 0
    refused: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)  # job errors and unexpected answers
    latencies: list[float] = dataclasses.field(default_factory=list)  # submit -> done, seconds
    seconds: float = 0.0
    rss_warm: int = 0
    rss_end: int = 0
    left_files: list[str] = dataclasses.field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.submitted - self.done - self.refused - len(self.failed)

    def figures(self) -> dict[str, float]:
        p50, p95 = np.percentile(self.latencies, [50, 95]) if self.latencies else (float("nan"),) * 2
        return {
            "jobs_per_s": self.done / self.seconds,
            "p50_s": float(p50),
            "p95_s": float(p95),
            "refused": self.refused,
            "rss_ratio": self.rss_end / self.rss_warm,
        }


def vocal_wav(seconds: float, rate: int = 22050) -> bytes:
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t)))
    buffer = io.BytesIO()
    soundfile.write(buffer, voice.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def start_server(model_dir: str, port: int, scratch: str, keep_seconds: float) -> subprocess.Popen:
    """``vocals2song serve`` in a process of its own, its job directories under ``scratch``."""
    command = [
        sys.executable, "-m", "vocals2song.cli", "--log_level", "WARNING", "serve", "--model", model_dir,
        "--port", str(port), "--workers", "2", "--max_queued", "4", "--keep_minutes", str(keep_seconds / 60),
    ]  # fmt: skip
    env = {**os.environ, "TMPDIR": scratch}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until_up(client, server: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            if client.get("/api/config").status_code == 200:
                return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer in {timeout:.0f} s")


def one_job(client, data: bytes, result: SoakResult, lock: threading.Lock) -> None:
    """Submits one vocal and follows it to its end; records what happened."""
    started = time.monotonic()
    answer = client.post("/api/jobs", files={"audio": ("take.wav", data, "audio/wav")})
    with lock:
        result.submitted += 1
    if answer.status_code == 503 and "the server is busy" in answer.json().get("error", ""):
        with lock:
            result.refused += 1
        return
    if answer.status_code != 202:
        with lock:
            result.failed.append(f"HTTP {answer.status_code}: {answer.text[:200]}")
        return
    job_id = answer.json()["id"]
    while time.monotonic() - started < JOB_TIMEOUT:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["state"] in ("done", "failed"):
            with lock:
                if state["state"] == "done":
                    result.done += 1
                    result.latencies.append(time.monotonic() - started)
                else:
                    result.failed.append(f"job {job_id}: {state.get('error')}")
            return
        time.sleep(0.05)
    # Neither done nor failed: counted as lost (submitted but never accounted for).


def soak(model_dir: str, jobs: int = 200, clients: int = 8, vocal_seconds: float = 1.0, keep_seconds: float = 2.0):
    """Runs the soak against a fresh server; returns a SoakResult."""
    import httpx
    import psutil

    from benchmarks.fixtures import free_ports

    (port,), result, lock = free_ports(), SoakResult(), threading.Lock()
    data = vocal_wav(vocal_seconds)
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        server = start_server(model_dir, port, scratch, keep_seconds)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
                wait_until_up(client, server)
                for _ in range(2):  # warm-up: the model's first calls build its graphs
                    one_job(client, data, SoakResult(), lock)
                result.rss_warm = psutil.Process(server.pid).memory_info().rss
                started = time.monotonic()
                shares = [jobs // clients + (index < jobs % clients) for index in range(clients)]
                threads = [threading.Thread(target=_client, args=(port, share, data, result, lock)) for share in shares]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                result.seconds = time.monotonic() - started
                result.rss_end = psutil.Process(server.pid).memory_info().rss
                time.sleep(keep_seconds + max(1.0, keep_seconds / 2) + 1.0)  # expiry, then the sweeper's round
                result.left_files = [os.path.join(d, n) for d, _, names in os.walk(scratch) for n in names]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    return result


def _client(port: int, count: int, data: bytes, result: SoakResult, lock: threading.Lock) -> None:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
        for _ in range(count):
            one_job(client, data, result, lock)


def tiny_model(scratch: str) -> str:
    """A tiny accompaniment model trained for a few steps on generated data: its model_dir."""
    from benchmarks.fixtures import small_dataset
    from trainer import train
    from trainer.config import config_from_options

    data, model_dir = small_dataset(scratch, tracks=3, seconds=20.0), os.path.join(scratch, "model")
    tiny = dict(filters=8, depth=4, disc_filters=8, crop_frames=64, batch_size=2, log_every=10**6)
    train.train(config_from_options(data, model_dir, steps=2, target="accompaniment", **tiny))
    return model_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="24 jobs from 4 clients instead of 200 from 8")
    args = parser.parse_args()
    jobs, clients = (24, 4) if args.quick else (200, 8)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        result = soak(tiny_model(scratch), jobs, clients)
    figures = result.figures()
    print("## Web app soak (`bench_soak`)\n")
    print(
        f"{jobs} jobs of a 1 s vocal from {clients} concurrent clients against `vocals2song serve --workers 2 "
        "--max_queued 4` (a tiny model, loopback); each client posts and polls its job to the end.\n"
    )
    columns = "jobs/s, p50 latency s, p95 latency s, done, refused (503), failed, lost, RSS end / warm, files left"
    print("| " + " | ".join(columns.split(", ")) + " |\n" + "|---" * 9 + "|")
    cells = [f"{figures['jobs_per_s']:.2f}", f"{figures['p50_s']:.2f}", f"{figures['p95_s']:.2f}", result.done]
    cells += [result.refused, len(result.failed), result.lost, f"{figures['rss_ratio']:.2f}", len(result.left_files)]
    print("| " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
