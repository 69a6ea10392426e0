"""Runs every benchmark and rewrites benchmarks/RESULTS.md (machine, date, command, tables).

``python -m benchmarks.run_all [--quick] [--only NAME ...]``; ``make bench`` runs it. With
``--only``, just those sections of RESULTS.md are replaced (each says when it was measured). Each
benchmark runs in a process of its own (bench_train splits the CPU into logical devices,
which TensorFlow allows only before it starts). Benchmarks report what they measured; they
assert nothing about timings.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time

NAMES = (
    "bench_codec",
    "bench_pipeline",
    "bench_input",
    "bench_train",
    "bench_stems",
    "bench_memory",
    "bench_generate",
    "bench_soak",
)
RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS.md")
SCALE_RESULTS = os.path.join(os.path.dirname(__file__), "RESULTS-dataset-scale.md")  # `make bench-scale`


def machine() -> str:
    import psutil

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, no GPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument("--only", nargs="*", default=list(NAMES), help="benchmarks to run")
    args = parser.parse_args()
    sections = previous_sections() if args.only != list(NAMES) else {}
    for name in args.only:
        started = time.monotonic()
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if args.quick else [])]
        run = subprocess.run(command, capture_output=True, text=True, check=False)
        if run.returncode:
            raise RuntimeError(f"{name} failed:\n{run.stderr[-3000:]}")
        section = run.stdout[run.stdout.index("## ") :].strip()
        sections[name] = (
            f"{section}\n\n({name} took {time.monotonic() - started:.0f} s; measured "
            f"{datetime.date.today().isoformat()} with `{' '.join(['python -m benchmarks.run_all', *sys.argv[1:]])}`)"
        )
        print(sections[name], flush=True)
    header = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}. Command: `make bench` (`python -m benchmarks.run_all`); each section says when "
        "it was measured and with which command.",
        "",
    ]
    body = [sections[name] for name in NAMES if name in sections]
    if os.path.exists(SCALE_RESULTS):  # the 3-hour run is separate; keep its last figures
        with open(SCALE_RESULTS) as handle:
            body.append(handle.read().strip())
    with open(RESULTS, "w") as handle:
        handle.write("\n".join(header) + "\n" + "\n\n".join(body) + "\n")


def previous_sections() -> dict[str, str]:
    """The benchmark sections of the current RESULTS.md, by benchmark name."""
    if not os.path.exists(RESULTS):
        return {}
    with open(RESULTS) as handle:
        chunks = [("## " + chunk).strip() for chunk in handle.read().split("\n## ")[1:]]
    return {name: chunk for chunk in chunks for name in NAMES if f"({name} took " in chunk}


if __name__ == "__main__":
    main()
