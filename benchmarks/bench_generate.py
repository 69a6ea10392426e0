"""Generation speed: real-time factor (audio seconds per wall second) for a 3-minute vocal
on CPU, predicted phase and Griffin-Lim, with the default model and `make model`'s recipe
(untrained weights: speed does not depend on them), and the page's time from upload to a
playable song."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
import time

import numpy as np

from benchmarks.fixtures import make_variable, release_train_config, small_dataset
from trainer import export, generate, inputs, train


def sung(seconds: float, rate: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))))[np.newaxis].astype(np.float32)


def exported(scratch: str, name: str, config: train.TrainConfig) -> export.ExportedModel:
    """``config``'s model, untrained (speed does not depend on the weights), exported and loaded."""
    train.train(dataclasses.replace(config, model_dir=f"{scratch}/{name}", steps=0))
    return export.load_model(f"{scratch}/{name}")


def timed(model: export.ExportedModel, vocal: np.ndarray, phase: str) -> float:
    started = time.perf_counter()
    generate.generate(model, vocal, 44100, phase=phase)
    return time.perf_counter() - started


def page_seconds(model_dir: str, seconds: float) -> tuple[float, float]:
    """(upload -> song playable, upload -> picture too) for a job on `vocals2song serve`, after
    one warm-up job (the model's first call builds its graphs)."""
    import httpx

    from benchmarks.bench_soak import start_server, vocal_wav, wait_until_up
    from benchmarks.fixtures import free_ports

    (port,) = free_ports()
    with tempfile.TemporaryDirectory(prefix="bench-page-") as scratch:
        server = start_server(model_dir, port, scratch, keep_seconds=600.0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0) as client:
                wait_until_up(client, server)
                data = vocal_wav(seconds)
                for _ in range(2):
                    times = _one_page_job(client, data)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    return times


def _one_page_job(client, data: bytes) -> tuple[float, float]:
    started, playable = time.monotonic(), None
    job = client.post("/api/jobs", files={"audio": ("take.wav", data, "audio/wav")}).json()
    while (state := client.get(f"/api/jobs/{job['id']}").json())["state"] not in ("done", "failed"):
        if playable is None and "song.wav" in state["ready"]:
            client.get(f"/api/jobs/{job['id']}/song.wav").raise_for_status()
            playable = time.monotonic() - started
        time.sleep(0.05)
    done = time.monotonic() - started
    if state["state"] != "done":
        raise RuntimeError(f"the page's job failed: {state['error']}")
    return (playable or done), done


def main(quick: bool = False) -> str:
    seconds = 30.0 if quick else 180.0
    vocal = sung(seconds)
    lines = [
        "## Generation speed (`bench_generate`)",
        "",
        f"A {seconds:.0f} s vocal at 44.1 kHz, CPU ({os.cpu_count()} cores), untrained weights. Real-time factor = "
        "audio seconds per wall second (>1 is faster than real time). Windows overlap by 1/"
        f"{generate.OVERLAP_SHARE}; the 'half overlap' row is the previous windowing, timed in the same run.",
        "",
        "| model | phase | wall s | real-time factor |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        data_1k = small_dataset(f"{scratch}/1k", tracks=4, seconds=15.0)
        default = train.TrainConfig(data_1k, "", batch_size=2, input=inputs.InputConfig(crop_frames=512))
        model = exported(scratch, "default", default)
        share = generate.OVERLAP_SHARE
        for phase in ("predicted", "griffinlim"):
            wall = timed(model, vocal, phase)
            lines.append(f"| default (64 filters, depth 8) | {phase} | {wall:.1f} | {seconds / wall:.2f} |")
        generate.OVERLAP_SHARE = 2
        try:
            wall = timed(model, vocal, "predicted")
        finally:
            generate.OVERLAP_SHARE = share
        lines.append(f"| default, half overlap (before) | predicted | {wall:.1f} | {seconds / wall:.2f} |")
        data_4k = small_dataset(f"{scratch}/4k", 4, 15.0, tuple(make_variable("RELEASE_DATASET_ARGS")))
        release = exported(scratch, "release", release_train_config(data_4k, ""))
        wall = timed(release, vocal, "griffinlim")
        lines.append(
            f"| `make model`'s recipe (logmag: Griffin-Lim only) | griffinlim | {wall:.1f} | {seconds / wall:.2f} |"
        )
        playable, done = page_seconds(f"{scratch}/release", 30.0)
    lines += [
        "",
        f"The page with `make model`'s recipe, a 30 s vocal: upload to playable song {playable:.1f} s, to the picture "
        f"too {done:.1f} s (the song is published before its picture is drawn).",
        "",
        "Targets: the default or released model >= 5x real time with predicted phase.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
