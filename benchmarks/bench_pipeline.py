"""Dataset job throughput: Beam on the DirectRunner vs a plain loop doing the same work.

The loop reads each track's stems, cuts and encodes the segments, serializes them with the
same schema and writes one TFRecord per track: exactly what the job's DoFn does, minus
Beam. Its time is broken down (read, STFT, serialize, write) so the floor is visible.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from apache_beam.io.tfrecordio import _TFRecordUtil

from pipelines import dataset, segments, tracks
from pipelines.options import DatasetOptions
from vocals2song import synth
from vocals2song.schema import RecordSpec


def plain_loop(root: str, out: str) -> dict[str, float]:
    """Times the loop after one untimed warm-up of the readers, librosa and TensorFlow, so
    imports and first-call costs are not charged to it (Beam pays them in every worker)."""
    options = DatasetOptions(musdb_root=root, output_dir=out).segment_options
    spec = RecordSpec(options.config, options.stems, 1)
    found, _ = tracks.discover(root)
    warm = next(segments.cut(segments.load_stems(found[0][2], options), options))
    spec.serialize(warm.record("warm-up", "train", options.config))
    timings = dict.fromkeys(("read", "stft", "serialize", "write"), 0.0)
    audio_seconds = 0.0
    os.makedirs(out, exist_ok=True)
    for name, _, folder in found:
        started = time.perf_counter()
        waveforms = segments.load_stems(folder, options)
        timings["read"] += time.perf_counter() - started
        audio_seconds += next(iter(waveforms.values())).shape[1] / options.config.sample_rate
        with open(os.path.join(out, f"{len(os.listdir(out)):05d}.tfrecord"), "wb") as handle:
            cuts = segments.cut(waveforms, options)
            while True:
                started = time.perf_counter()
                cut = next(cuts, None)
                timings["stft"] += time.perf_counter() - started
                if cut is None:
                    break
                started = time.perf_counter()
                record = spec.serialize(cut.record(name, "train", options.config))
                timings["serialize"] += time.perf_counter() - started
                started = time.perf_counter()
                _TFRecordUtil.write_record(handle, record)
                timings["write"] += time.perf_counter() - started
    timings["total"] = sum(timings.values())
    timings["audio_seconds"] = audio_seconds
    return timings


def beam_run(root: str, out: str, *beam_args: str) -> float:
    started = time.perf_counter()
    dataset.run(DatasetOptions(musdb_root=root, output_dir=out), ["--runner=DirectRunner", *beam_args], ["bench"])
    return time.perf_counter() - started


def main(quick: bool = False) -> str:
    tracks_count, seconds = (4, 30.0) if quick else (16, 90.0)
    multi_args = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")
    with tempfile.TemporaryDirectory() as scratch:
        root, tiny = os.path.join(scratch, "musdb"), os.path.join(scratch, "tiny")
        synth.write_musdb(root, tracks_count, seconds, seed=21)
        synth.write_musdb(tiny, 1, 15.0, seed=21)
        loop = plain_loop(root, os.path.join(scratch, "loop"))
        audio = loop["audio_seconds"]
        in_memory = beam_run(root, os.path.join(scratch, "beam1"))
        multi = beam_run(root, os.path.join(scratch, "beam2"), *multi_args)
        # Fixed cost: the same runs on one 15 s track, where almost all the time is start-up.
        fixed_in_memory = beam_run(tiny, os.path.join(scratch, "tiny1"))
        fixed_multi = beam_run(tiny, os.path.join(scratch, "tiny2"), *multi_args)
    rows = [
        ("plain loop (1 process)", loop["total"], None),
        ("Beam DirectRunner, in-memory", in_memory, fixed_in_memory),
        ("Beam DirectRunner, multi_processing x2", multi, fixed_multi),
    ]
    lines = [
        "## Dataset job throughput (`bench_pipeline`)",
        "",
        f"{tracks_count} generated tracks x {seconds:.0f} s = {audio:.0f} s of audio, default options "
        "(mono, vocals+mixture, 15 s). 'Fixed cost' is the same run on one 15 s track (planning, runner "
        "start-up, worker imports); 'steady' is the rate with that cost taken off.",
        "",
        "| run | wall s | audio s per wall s | vs loop | fixed cost s | steady audio s per wall s | steady vs loop |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, wall, fixed in rows:
        steady = (
            "- | - | -"
            if fixed is None
            else f"{fixed:.1f} | {audio / (wall - fixed):.1f} | {loop['total'] / (wall - fixed):.2f}x"
        )
        lines.append(f"| {name} | {wall:.1f} | {audio / wall:.1f} | {loop['total'] / wall:.2f}x | {steady} |")
    lines += [
        "",
        "Loop breakdown: " + ", ".join(f"{k} {loop[k]:.1f} s" for k in ("read", "stft", "serialize", "write")),
        "",
        f"Targets: Beam x2 at least as fast as the loop: {'met' if multi <= loop['total'] else 'MISSED'}; "
        f"in-memory Beam within 1.5x of the loop: {'met' if in_memory <= 1.5 * loop['total'] else 'MISSED'}.",
        "The loop's imports and first calls are paid before its timer starts; Beam's wall times include them. "
        "On this 2-core machine the two workers also share the cores with the runner's own process. Where the "
        "steady column beats the loop but the wall column does not, the gap is the fixed cost, which a longer "
        "input amortises (`make bench-scale`: 72 audio s/s with 2 workers vs 51 in-memory on 3 h).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
