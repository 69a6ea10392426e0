"""The dataset job at scale on one machine: peak RSS (all worker processes summed) and
audio seconds per second for 20 minutes vs 3 hours of generated audio, on the
DirectRunner in-memory and with 2 worker processes; and the cost of gzip shards."""

from __future__ import annotations

import datetime
import glob
import os
import sys
import tempfile

from benchmarks import peak_rss
from benchmarks.run_all import machine
from vocals2song import synth

TRACK_SECONDS = 180.0


def run_job(root: str, out: str, *extra: str) -> peak_rss.Measured:
    command = [sys.executable, "-m", "vocals2song.cli", "dataset", "--musdb_root", root, "--output_dir", out, *extra]
    measured = peak_rss.run(command, timeout=7200)
    if measured.returncode:
        raise RuntimeError(measured.output[-3000:])
    return measured


def shard_bytes(out: str) -> int:
    return sum(os.path.getsize(path) for path in glob.glob(os.path.join(out, "*", "*.tfrecord*")))


def main(quick: bool = False) -> str:
    sizes = {"20 min": 20 * 60, "3 h": 3 * 3600} if not quick else {"3 min": 180, "30 min": 1800}
    modes = {
        "in-memory": (),
        "multi_processing x2": ("--direct_running_mode=multi_processing", "--direct_num_workers=2"),
    }
    lines = [
        "## Dataset job at scale (`bench_dataset_scale`)",
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}; command: `make bench-scale`.",
        "",
        f"Generated tracks of {TRACK_SECONDS:.0f} s, default options (mono, vocals+mixture, 15 s segments, "
        "uncompressed). Peak RSS is the sum over the job's process tree.",
        "",
        "| audio | runner | peak RSS (MB) | wall s | audio s per wall s | output GB |",
        "|---|---|---|---|---|---|",
    ]
    peaks: dict[str, list[int]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as scratch:
        roots = {}
        for label, seconds in sizes.items():
            roots[label] = os.path.join(scratch, label.replace(" ", ""))
            synth.write_musdb(roots[label], int(seconds // TRACK_SECONDS), TRACK_SECONDS, seed=31)
        for label, seconds in sizes.items():
            for mode, extra in modes.items():
                out = os.path.join(scratch, "out")
                measured = run_job(roots[label], out, "--overwrite", *extra)
                peaks[mode].append(measured.peak_rss_bytes)
                lines.append(
                    f"| {label} | {mode} | {measured.peak_rss_bytes / 1e6:,.0f} | {measured.seconds:.0f} | "
                    f"{seconds / measured.seconds:.1f} | {shard_bytes(out) / 1e9:.2f} |"
                )
        small = next(iter(sizes))
        compression_rows = []
        for compression in ("none", "gzip"):
            out = os.path.join(scratch, f"c-{compression}")
            measured = run_job(roots[small], out, "--compression", compression)
            compression_rows.append((compression, shard_bytes(out), measured.seconds))
    lines.append("")
    ratio = sizes[list(sizes)[1]] / sizes[small]
    for mode, (low, high) in peaks.items():
        verdict = "met" if high <= 1.15 * low and high < 4e9 else "MISSED"
        lines.append(
            f"- {mode}: {high / low:.2f}x the memory for {ratio:.0f}x the audio (target within 15%, < 4 GB: {verdict})."
        )
    lines += ["", f"Compression on {small} of audio:", "", "| shards | GB | wall s |", "|---|---|---|"]
    lines += [f"| {name} | {size / 1e9:.3f} | {seconds:.0f} |" for name, size, seconds in compression_rows]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
