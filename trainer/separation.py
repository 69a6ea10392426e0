"""How well a separator recovers its stems: SDR by BSS Eval v4, the MUSDB18 papers' score.

A separator is a model trained the other way round, ``--source mixture --target vocals`` (or
several stems). Every segment of a split is a test case: its mixture goes through
``generate.generate_song`` (the path a user's song takes) and each estimated stem is scored
against the true one with ``museval`` (1 s windows, the median over windows per segment, as
museval's track scores are), beside the baseline that returns the mixture as every stem.
Overall numbers are the median over segments, as the field reports them.
"""

from __future__ import annotations

import logging

import numpy as np

from trainer import generate
from trainer.evaluate import table_row, table_rule
from trainer.export import ExportedModel
from vocals2song import codec, inspection
from vocals2song.manifest import read_manifest

SYSTEMS = ("model", "mixture")
log = logging.getLogger(__name__)


def is_separator(model: ExportedModel) -> bool:
    return model.source == "mixture"


def sdr(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Median over 1 s windows of BSS Eval v4's SDR (dB) of a mono ``estimate`` of ``reference``
    (both ``(samples,)``); windows where the reference is silent do not count."""
    try:
        import museval
    except (ImportError, RuntimeError) as error:  # musdb's stempeg raises RuntimeError without ffmpeg
        raise RuntimeError(
            "SDR needs museval (pip install 'vocals2song[separation]') and ffmpeg, which its musdb "
            f"dependency looks for when imported (apt-get install ffmpeg): {error}"
        ) from error
    scores = museval.evaluate(reference[None, :, None], estimate[None, :, None], win=sample_rate, hop=sample_rate)[0]
    return float(np.nanmedian(scores[0])) if np.isfinite(scores[0]).any() else float("nan")


def _waveforms(model: ExportedModel, data_dir: str, split: str, per_track: int | None):
    """(track, mixture, {stem: true waveform}) per segment: mono, valid samples only."""
    manifest = read_manifest(data_dir)
    manifest.require_stems(data_dir, ("mixture", *model.stems), "to separate and score", derive=False)
    config = model.spectral
    for segment in inspection.read_segments(manifest, data_dir, split):
        if per_track is not None and segment.index >= per_track:
            continue
        waves = {
            stem: codec.istft(
                codec.stored_to_complex(segment.stems[stem]).mean(axis=0)[np.newaxis], config, segment.valid_samples
            )[0]
            for stem in ("mixture", *model.stems)
        }
        yield segment.track, waves.pop("mixture"), waves


def evaluate(model: ExportedModel, data_dir: str, split: str = "test", per_track: int | None = None) -> dict:
    """SDR per stem of the model and of the mixture-as-estimate baseline: per segment, per track
    (median) and overall (median over segments)."""
    rate = model.spectral.sample_rate
    rows: dict[str, list[dict]] = {}
    for track, mixture, truths in _waveforms(model, data_dir, split, per_track):
        estimates = generate.generate_song(model, mixture[np.newaxis], rate).stems
        row = {
            "model": {stem: sdr(truth, estimates[stem][0], rate) for stem, truth in truths.items()},
            "mixture": {stem: sdr(truth, mixture, rate) for stem, truth in truths.items()},
        }
        rows.setdefault(track, []).append(row)
        log.info("[%d] %s: SDR %s", sum(map(len, rows.values())), track, _summary(row))
    if not rows:
        raise ValueError(f"split {split!r} of {data_dir} holds no segments to evaluate")
    everything = [row for track in rows.values() for row in track]
    return {
        "task": "separation",
        "split": split,
        "segments": len(everything),
        "source": model.source,
        "target": model.target,
        "overall": _median(everything, model.stems),
        "tracks": {name: _median(track, model.stems) for name, track in sorted(rows.items())},
    }


def _summary(row: dict) -> str:
    return ", ".join(
        f"{stem} {value:.2f} dB (mixture {row['mixture'][stem]:.2f})" for stem, value in row["model"].items()
    )


def _median(rows: list[dict], stems: tuple[str, ...]) -> dict:
    return {
        system: {stem: {"sdr_db": float(np.nanmedian([row[system][stem] for row in rows]))} for stem in stems}
        for system in SYSTEMS
    }


def markdown(metrics: dict) -> str:
    """One table: SDR per stem for the model and the mixture-as-estimate baseline, then per track."""
    stems = list(metrics["overall"]["model"])
    lines = [
        f"{metrics['split']} split, {metrics['segments']} segments, {metrics['source']} -> {metrics['target']}",
        "",
        table_row(["system", *(f"{stem} SDR dB (higher)" for stem in stems)]),
        table_rule(len(stems)),
    ]
    for system in SYSTEMS:
        lines.append(table_row([system, *(f"{metrics['overall'][system][s]['sdr_db']:.2f}" for s in stems)]))
    lines += ["", table_row(["track (model)", *stems]), table_rule(len(stems))]
    for track, systems in metrics["tracks"].items():
        lines.append(table_row([track, *(f"{systems['model'][s]['sdr_db']:.2f}" for s in stems)]))
    return "\n".join(lines) + "\n"
