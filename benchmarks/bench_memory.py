"""Training memory vs data set size: peak RSS of a 50-step run on N and 10N segments.

The trainer streams shards and shuffles crops, so memory should not follow the number of
segments. Demo-sized model (the data pipeline, not the weights, is what is measured here),
crops of 128 frames (the memory of a step does not grow with the data), shuffle buffer 64 crops.
"""

from __future__ import annotations

import os
import sys
import tempfile

from benchmarks import peak_rss
from benchmarks.fixtures import small_dataset
from vocals2song.manifest import read_manifest

STEPS = 50


def main(quick: bool = False) -> str:
    counts = (2, 20) if quick else (4, 40)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for tracks in counts:
            data_dir = small_dataset(os.path.join(scratch, f"d{tracks}"), tracks=tracks, seconds=30.0)
            segments = read_manifest(data_dir).segments("train")
            command = [
                sys.executable, "-m", "vocals2song.cli", "train", "--data_dir", data_dir,
                "--model_dir", os.path.join(scratch, f"m{tracks}"), "--steps", str(STEPS), "--filters", "16",
                "--depth", "6", "--disc_filters", "16", "--batch_size", "4", "--crop_frames", "128",
                "--log_every", "25", "--summary_every", "1000", "--eval_every", "1000", "--checkpoint_every", "1000",
            ]  # fmt: skip
            measured = peak_rss.run(command)
            if measured.returncode:
                raise RuntimeError(measured.output[-2000:])
            rows.append((segments, measured.peak_rss_bytes, measured.seconds))
    growth = rows[1][1] / rows[0][1]
    lines = [
        "## Training memory vs data set size (`bench_memory`)",
        "",
        f"Peak RSS (process tree) of `vocals2song train` for {STEPS} steps, batch 4, 512x128 crops, demo-sized model.",
        "",
        "| train segments | peak RSS (MB) | wall s |",
        "|---|---|---|",
    ]
    lines += [f"| {segments} | {rss / 1e6:,.0f} | {seconds:.0f} |" for segments, rss, seconds in rows]
    lines += [
        "",
        f"10x the segments: {growth:.2f}x the memory (target within 10%: {'met' if growth <= 1.1 else 'MISSED'}).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
