"""What a right chord chart is worth: each dev take played from a chart read off its true
accompaniment (``vocals2song generate --chart``).

#12's chroma target rewards the harmony that was played. ``benchmarks/ceiling.py`` measures how
close a melody-only accompanist can be expected to come (the composer's other setting); this
measures the other side: a singer who knows her song's chords writes them in a chart, and the
pipeline (transcription, the sung bars, voicing, FluidSynth, the U-Net reading the chart) plays
them. For each dev segment, on the bars the take's transcribed notes give, each bar, half bar or
beat gets the major, minor or diminished triad whose classes score highest in the *true*
accompaniment's mean chroma there (as ``chords.triad`` picks from the harmoniser's predictions),
and ``vocals2song evaluate`` scores the song it plays, paired per track against the released
model's ``metrics.json``. The truth is read, not learnt: nothing here trains or tunes anything.

``python -m benchmarks.chart_oracle [--model models/chorales] [--data_dir data/release/dataset]
[--resolution bar half beat]`` (``make chart-oracle``; needs the dev renders of ``make model`` and
FluidSynth; about 4 min a resolution here).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import numpy as np

from trainer import chords, evaluate, generate
from trainer.chart import Chart, WrittenChord
from trainer.export import RELEASED_MODEL, ExportedModel, load_model
from vocals2song import storage
from vocals2song.config import SEMITONES
from vocals2song.scores import Note

RESOLUTIONS = ("bar", "half", "beat")
"""How many chords a bar a chart holds: one, one each half (a bar of three keeps one), one a beat."""


def truth_chart(sung: tuple[Note, ...], truth: np.ndarray, frame_seconds: float, resolution: str) -> Chart:
    """The chart a singer who knows the chords would write for a take whose transcribed melody is
    ``sung`` (seconds) over an accompaniment whose chroma is ``truth`` ``(12, frames)``: on the
    take's bars from the first sung note's, ``resolution`` chords a bar, each the triad that fits
    the chroma there best; a stretch past the chroma's end repeats the chord before."""
    clock, starts, lengths = chords.bar_grid(sung, (None, None))
    opening = chords.bar_of(clock, starts, sung[0].start)
    bars, last = [], None
    for at, length in zip(starts[opening:], lengths[opening:], strict=True):
        parts = {"bar": 1, "half": 2 if round(length) % 2 == 0 else 1, "beat": max(1, round(length))}[resolution]
        written = []
        for part in range(parts):
            begin, end = (round(clock.seconds(at + length * k / parts) / frame_seconds) for k in (part, part + 1))
            frames = truth[:, max(0, begin) : max(begin + 1, end)]
            last = _best_triad(frames.mean(axis=1)) if frames.shape[1] else last
            written.extend([last] if last else [])
        bars.append(tuple(written))
    return Chart(tuple(bars))


def _best_triad(chroma: np.ndarray) -> WrittenChord:
    """The major, minor or diminished triad whose classes have the highest mean z-scored ``chroma``."""
    z = (chroma - chroma.mean()) / (chroma.std() + 1e-9)
    shapes = [[(root + step) % SEMITONES for step in shape] for root in range(SEMITONES) for shape in chords.TRIADS]
    best = max(shapes, key=lambda classes: float(np.mean(z[classes])))
    return best[0], tuple(best)


def charted(resolution: str):
    """``evaluate``'s model row played from each case's ``truth_chart``."""

    def made(model: ExportedModel, case: evaluate.Case) -> dict[str, np.ndarray]:
        config = model.spectral
        seconds = config.hop_length / config.sample_rate
        notes = generate.take_notes(model, case.vocals, generate.take_drift(model, case.vocals))
        truth = evaluate.chroma(np.abs(case.accompaniment), config.sample_rate, config.n_fft)
        written = truth_chart(chords.sung_notes(notes, seconds), truth, seconds, resolution) if notes else None
        return evaluate.model_stems(model, case, written)

    return made


def paired(metrics: dict, released: dict) -> tuple[float, float, int]:
    """The per-track song chroma difference against ``released``: mean, standard error, tracks ahead."""

    def song_chroma(scores: dict) -> np.ndarray:
        return np.array([scores["tracks"][name]["model"]["song"]["chroma"] for name in sorted(released["tracks"])])

    gain = song_chroma(metrics) - song_chroma(released)
    return float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain))), int((gain > 0).sum())


def table(rows: dict[str, dict], released: dict) -> str:
    """Markdown: the released model and each resolution's song chroma, LSD, excess and pairing."""
    lines = ["| chords | song chroma | song LSD dB | loudest-frame excess dB | paired against the released model |"]
    lines.append("|---|---|---|---|---|")
    for name, metrics in {"released model (harmoniser)": released, **rows}.items():
        model = metrics["overall"]["model"]
        pairing = "-" if metrics is released else "{:+.3f} (se {:.3f}), ahead on {}".format(*paired(metrics, released))
        pairing += f" of {len(released['tracks'])}" if metrics is not released else ""
        lines.append(
            f"| {name} | {model['song']['chroma']:.4f} | {model['song']['lsd_db']:.2f} | "
            f"{model['accompaniment']['frame_excess_db']:.1f} | {pairing} |"
        )
    vocal = released["overall"]["silence"]["song"]["chroma"]
    return "\n".join(lines) + f"\n\nThe vocal alone: song chroma {vocal:.4f}.\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=RELEASED_MODEL)
    parser.add_argument("--data_dir", default="data/release/dataset")
    parser.add_argument("--resolution", nargs="+", choices=RESOLUTIONS, default=list(RESOLUTIONS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # evaluate's line a segment
    model = load_model(args.model)
    released = json.loads(storage.read_text(os.path.join(args.model, "metrics.json")))
    rows = {
        f"true triads, {resolution}": evaluate.evaluate(model, args.data_dir, "test", 1, charted(resolution))
        for resolution in args.resolution
    }
    sys.stdout.write(table(rows, released))
    return 0


if __name__ == "__main__":
    sys.exit(main())
