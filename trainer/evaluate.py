"""How close generated songs are to the real ones, against two baselines in the same run.

On every full segment of a split (valid frames only), the model's target spectrum is
compared with the true one by: L1 of normalised log-magnitude (what the model trains on),
log-spectral distance (dB), spectral convergence, and chroma agreement (mean per-frame
Pearson correlation of 12-bin pitch-class profiles: does it play the right pitch classes;
a flat or silent profile scores 0, which plain cosine of non-negative vectors does not). Baselines:
"silence" (the vocals with no accompaniment) and "average accompaniment" (the train
split's mean spectrum in every frame, i.e. normalised log-magnitude zero).
"""

from __future__ import annotations

import json
import math

import librosa
import numpy as np

from trainer.export import ExportedModel
from vocals2song import codec, inspection, storage
from vocals2song.manifest import read_manifest

METRICS = ("l1", "lsd_db", "spectral_convergence", "chroma")
SYSTEMS = ("model", "silence", "average")
POWER_FLOOR = 1e-10


def chroma(magnitude: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    # norm=None: per-frame normalisation would blow float rounding in silent frames up to a profile.
    return librosa.feature.chroma_stft(S=np.square(magnitude), sr=sample_rate, n_fft=n_fft, tuning=0.0, norm=None)


def spectrum_metrics(
    true_features, true_magnitude, features, magnitude, sample_rate: int, n_fft: int
) -> dict[str, float]:
    """The four metrics of one prediction against the truth, over the given frames."""
    log_true = 10 * np.log10(np.square(true_magnitude) + POWER_FLOOR)
    log_pred = 10 * np.log10(np.square(magnitude) + POWER_FLOOR)
    c_true, c_pred = chroma(true_magnitude, sample_rate, n_fft), chroma(magnitude, sample_rate, n_fft)
    c_true, c_pred = c_true - c_true.mean(axis=0), c_pred - c_pred.mean(axis=0)
    norms = np.linalg.norm(c_true, axis=0) * np.linalg.norm(c_pred, axis=0)
    correlation = np.where(norms > 1e-12, np.sum(c_true * c_pred, axis=0) / np.maximum(norms, 1e-12), 0.0)
    return {
        "l1": float(np.mean(np.abs(features[..., 0] - true_features[..., 0]))),
        "lsd_db": float(np.mean(np.sqrt(np.mean(np.square(log_true - log_pred), axis=0)))),
        "spectral_convergence": float(
            np.linalg.norm(true_magnitude - magnitude) / max(np.linalg.norm(true_magnitude), 1e-12)
        ),
        "chroma": float(np.mean(correlation)),
    }


def _generate_segment(model: ExportedModel, features: np.ndarray) -> np.ndarray:
    frames = features.shape[1]
    padded = math.ceil(frames / model.multiple) * model.multiple
    batch = np.pad(features, ((0, 0), (0, padded - frames), (0, 0)), mode="edge")[np.newaxis]
    return np.asarray(model.generator(batch, training=False), np.float32)[0, :, :frames]


def evaluate(model: ExportedModel, data_dir: str, split: str = "test") -> dict:
    """Metrics per track and overall (mean over segments) for the model and both baselines."""
    manifest = read_manifest(data_dir)
    model.spectral.check_matches(
        type(model.spectral)(**{**manifest.config.to_dict(), "segment_seconds": model.spectral.segment_seconds}),
        data_dir,
    )
    config = manifest.config
    rows: dict[str, dict[str, list[dict[str, float]]]] = {}
    for segment in inspection.read_segments(manifest, data_dir, split):
        stems = {name: codec.stored_to_complex(array).mean(axis=0) for name, array in segment.stems.items()}
        target = stems[model.target] if model.target in stems else stems["mixture"] - stems["vocals"]
        valid = min(config.frames(segment.valid_samples), target.shape[1])
        source, target = stems[model.source][:, :valid], target[:, :valid]
        true_features = model.target_codec.encode(target)
        silence = np.zeros_like(target) if model.target == "accompaniment" else source
        predictions = {
            "model": _generate_segment(model, model.source_codec.encode(source)),
            "silence": model.target_codec.encode(silence),
            "average": np.zeros_like(true_features),
        }
        true_magnitude = np.abs(target)
        track = rows.setdefault(segment.track, {system: [] for system in SYSTEMS})
        for system, features in predictions.items():
            magnitude = model.target_codec.magnitude(features)
            track[system].append(
                spectrum_metrics(true_features, true_magnitude, features, magnitude, config.sample_rate, config.n_fft)
            )
    if not rows:
        raise ValueError(f"split {split!r} of {data_dir} holds no segments to evaluate")

    def mean(values: list[dict[str, float]]) -> dict[str, float]:
        return {metric: float(np.mean([row[metric] for row in values])) for metric in METRICS}

    return {
        "split": split,
        "segments": sum(len(systems["model"]) for systems in rows.values()),
        "target": model.target,
        "overall": {system: mean([row for t in rows.values() for row in t[system]]) for system in SYSTEMS},
        "tracks": {name: {system: mean(t[system]) for system in SYSTEMS} for name, t in sorted(rows.items())},
    }


def markdown(metrics: dict) -> str:
    """The overall table (and per-track model rows) as markdown."""
    arrows = {"l1": "L1 (lower better)", "lsd_db": "LSD dB (lower)", "spectral_convergence": "SC (lower)"}
    header = [arrows.get(m, "chroma (higher)") for m in METRICS]
    lines = [
        f"{metrics['split']} split, {metrics['segments']} segments, target {metrics['target']}",
        "",
        "| system | " + " | ".join(header) + " |",
        "|---" * (len(METRICS) + 1) + "|",
    ]
    for system in SYSTEMS:
        values = metrics["overall"][system]
        lines.append(f"| {system} | " + " | ".join(f"{values[m]:.3f}" for m in METRICS) + " |")
    lines += ["", "| track (model) | " + " | ".join(header) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for track, systems in metrics["tracks"].items():
        lines.append(f"| {track} | " + " | ".join(f"{systems['model'][m]:.3f}" for m in METRICS) + " |")
    return "\n".join(lines) + "\n"


def write(metrics: dict, output_dir: str) -> tuple[str, str]:
    json_path, md_path = storage.join(output_dir, "metrics.json"), storage.join(output_dir, "metrics.md")
    storage.write_text(json_path, json.dumps(metrics, indent=1))
    storage.write_text(md_path, markdown(metrics))
    return json_path, md_path
