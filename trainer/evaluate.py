"""How close generated songs are to the real ones, against baselines and a ceiling in one run.

Every full segment of a split is a test case: its vocal is turned into an accompaniment by
each system, and the result is scored twice, on valid frames and the model's bins only:

- **song** (what a listener hears): vocals + accompaniment against the true mixture;
- **accompaniment**: the accompaniment against the true one (mixture - vocals).

Systems: ``model`` (the vocal through ``generate.generate``, the very path a user's take
takes: level matching, windows, crossfades, bounds, phase, limiter); ``silence`` (the vocal
alone); ``average`` (the training accompaniment's mean spectrum in every frame, at the level
generation would give it, phase by Griffin-Lim); ``retrieval`` (another track's true
accompaniment under this vocal, level-matched to the true one: SingSong's baseline);
``oracle`` (the true accompaniment: song scores are then exact, a check of the metric).

Metrics: log-spectral distance (dB), spectral convergence, chroma agreement (mean per-frame
Pearson correlation of 12-bin pitch-class profiles: flat or silent profiles score 0, which
cosine of non-negative vectors does not), and for the accompaniment the excess of its
loudest frame over the true accompaniment's loudest (dB) and L1 of normalised log-magnitude.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator

import librosa
import numpy as np

from trainer import generate
from trainer.export import ExportedModel
from vocals2song import codec, inspection, storage
from vocals2song.features import spectrum_to_audio
from vocals2song.manifest import read_manifest

SYSTEMS = ("model", "silence", "average", "retrieval", "oracle")
SONG_METRICS = ("lsd_db", "spectral_convergence", "chroma")
ACCOMPANIMENT_METRICS = (*SONG_METRICS, "frame_excess_db", "l1")
LEVELS = {"song": SONG_METRICS, "accompaniment": ACCOMPANIMENT_METRICS}
POWER_FLOOR = 1e-10
log = logging.getLogger(__name__)


def chroma(magnitude: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    # norm=None: per-frame normalisation would blow float rounding in silent frames up to a profile.
    return librosa.feature.chroma_stft(S=np.square(magnitude), sr=sample_rate, n_fft=n_fft, tuning=0.0, norm=None)


def chroma_correlation(truth: np.ndarray, estimate: np.ndarray, sample_rate: int, n_fft: int) -> float:
    """Mean over frames of the Pearson correlation of the two magnitudes' chroma vectors."""
    c_true, c_pred = chroma(truth, sample_rate, n_fft), chroma(estimate, sample_rate, n_fft)
    c_true, c_pred = c_true - c_true.mean(axis=0), c_pred - c_pred.mean(axis=0)
    norms = np.linalg.norm(c_true, axis=0) * np.linalg.norm(c_pred, axis=0)
    return float(np.mean(np.where(norms > 1e-12, np.sum(c_true * c_pred, axis=0) / np.maximum(norms, 1e-12), 0.0)))


def spectrum_metrics(truth: np.ndarray, estimate: np.ndarray, sample_rate: int, n_fft: int) -> dict[str, float]:
    """LSD, spectral convergence and chroma of magnitude ``estimate`` against ``truth``."""
    log_true = 10 * np.log10(np.square(truth) + POWER_FLOOR)
    log_pred = 10 * np.log10(np.square(estimate) + POWER_FLOOR)
    return {
        "lsd_db": float(np.mean(np.sqrt(np.mean(np.square(log_true - log_pred), axis=0)))),
        "spectral_convergence": float(np.linalg.norm(truth - estimate) / max(np.linalg.norm(truth), 1e-12)),
        "chroma": chroma_correlation(truth, estimate, sample_rate, n_fft),
    }


def frame_excess_db(truth: np.ndarray, estimate: np.ndarray) -> float:
    """How far the estimate's loudest frame is above the truth's loudest frame, in dB."""
    loudest = [float(np.max(np.sum(np.square(m), axis=0))) + POWER_FLOOR for m in (estimate, truth)]
    return 10 * float(np.log10(loudest[0] / loudest[1]))


@dataclasses.dataclass(frozen=True)
class Case:
    """One test segment: complex mono spectra of vocals and true accompaniment, valid frames."""

    track: str
    vocals: np.ndarray
    accompaniment: np.ndarray
    samples: int


def cases(model: ExportedModel, data_dir: str, split: str, per_track: int | None = None) -> Iterator[Case]:
    """The split's segments as Cases, cut to their valid frames; only the first ``per_track``
    of each track when given."""
    manifest = read_manifest(data_dir)
    model.spectral.check_matches(
        type(model.spectral)(**{**manifest.config.to_dict(), "segment_seconds": model.spectral.segment_seconds}),
        data_dir,
    )
    for segment in inspection.read_segments(manifest, data_dir, split):
        if per_track is not None and segment.index >= per_track:
            continue
        stems = {name: codec.stored_to_complex(array).mean(axis=0) for name, array in segment.stems.items()}
        target = stems["accompaniment"] if "accompaniment" in stems else stems["mixture"] - stems["vocals"]
        valid = min(manifest.config.frames(segment.valid_samples), target.shape[1])
        yield Case(segment.track, stems["vocals"][:, :valid], target[:, :valid], segment.valid_samples)


def model_accompaniment(model: ExportedModel, case: Case) -> np.ndarray:
    """The model's accompaniment of the case's vocal through `generate`, as a complex spectrum."""
    config = model.spectral
    vocal = codec.istft(case.vocals[np.newaxis], config, case.samples)
    accompaniment = generate.generate(model, vocal, config.sample_rate, vocals=False)
    return codec.stft(accompaniment, config)[0][:, : case.vocals.shape[1]]


def average_accompaniment(model: ExportedModel, case: Case) -> np.ndarray:
    """The training accompaniment's mean spectrum in every frame, at the level generation
    gives this vocal (the inverse of its level gain), phase rebuilt by Griffin-Lim."""
    config, frames = model.spectral, case.vocals.shape[1]
    mean = np.exp(model.target_codec.mean.astype(np.float64)) / model.source_codec.level_gain(case.vocals)
    magnitude = np.repeat(mean[:, np.newaxis], frames, axis=1)
    waveform = spectrum_to_audio(magnitude, None, config, case.samples)
    return codec.stft(waveform, config)[0][:, :frames]


def retrieved(donor: np.ndarray, case: Case) -> np.ndarray:
    """Another track's accompaniment, tiled to the case's length, at the true one's level."""
    frames = case.accompaniment.shape[1]
    tiled = np.tile(donor, (1, int(np.ceil(frames / donor.shape[1]))))[:, :frames]
    scale = np.linalg.norm(case.accompaniment) / max(float(np.linalg.norm(tiled)), 1e-12)
    return tiled * scale


def score(model: ExportedModel, case: Case, systems: dict[str, np.ndarray]) -> dict[str, dict[str, dict]]:
    """system -> level -> metric for every system's complex accompaniment of one case."""
    config, bins = model.spectral, model.features.bins
    truth, mixture = np.abs(case.accompaniment[:bins]), np.abs((case.vocals + case.accompaniment)[:bins])
    true_features = model.target_codec.encode(case.accompaniment)
    rows = {}
    for system, accompaniment in systems.items():
        estimate = np.abs(accompaniment[:bins])
        song = np.abs((case.vocals + accompaniment)[:bins])
        rows[system] = {
            "song": spectrum_metrics(mixture, song, config.sample_rate, config.n_fft),
            "accompaniment": {
                **spectrum_metrics(truth, estimate, config.sample_rate, config.n_fft),
                "frame_excess_db": frame_excess_db(truth, estimate),
                "l1": float(np.mean(np.abs(model.target_codec.encode(accompaniment)[..., 0] - true_features[..., 0]))),
            },
        }
    return rows


def evaluate(model: ExportedModel, data_dir: str, split: str = "test", per_track: int | None = None) -> dict:
    """Metrics per track and overall (mean over segments) for the model, baselines and oracle;
    ``per_track`` limits the segments scored per track (the first ones)."""
    rows: dict[str, list[dict]] = {}

    def add(case: Case, donor: np.ndarray) -> None:
        scored = score(model, case, _systems(model, case, donor))
        rows.setdefault(case.track, []).append(scored)
        song = scored["model"]["song"]
        log.info(
            "[%d] %s: song LSD %.2f dB, chroma %.3f (vocals alone %.3f)",
            sum(map(len, rows.values())),
            case.track,
            song["lsd_db"],
            song["chroma"],
            scored["silence"]["song"]["chroma"],
        )

    first_track: list[Case] = []  # wait for a second track to lend them its accompaniment
    latest, other = None, None  # the latest case; the latest accompaniment of another track
    for case in cases(model, data_dir, split, per_track):
        if latest is not None and latest.track != case.track:
            other = latest.accompaniment
        latest = case
        if other is None:
            first_track.append(case)
            continue
        for waiting in first_track:
            add(waiting, case.accompaniment)
        first_track = []
        add(case, other)
    if not rows:
        raise ValueError(f"split {split!r} of {data_dir} needs segments of two tracks or more to evaluate")
    everything = [row for track in rows.values() for row in track]
    return {
        "split": split,
        "segments": len(everything),
        "target": model.target,
        "overall": _mean(everything),
        "tracks": {name: _mean(track) for name, track in sorted(rows.items())},
    }


def _systems(model: ExportedModel, case: Case, donor: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "model": model_accompaniment(model, case),
        "silence": np.zeros_like(case.accompaniment),
        "average": average_accompaniment(model, case),
        "retrieval": retrieved(donor, case),
        "oracle": case.accompaniment,
    }


def _mean(rows: list[dict]) -> dict:
    return {
        system: {
            level: {metric: float(np.mean([row[system][level][metric] for row in rows])) for metric in metrics}
            for level, metrics in LEVELS.items()
        }
        for system in SYSTEMS
    }


HEADERS = {
    "lsd_db": "LSD dB (lower)",
    "spectral_convergence": "spectral conv. (lower)",
    "chroma": "chroma corr. (higher)",
    "frame_excess_db": "loudest-frame excess dB",
    "l1": "L1 norm. log-mag (lower)",
}


def markdown(metrics: dict) -> str:
    """Song-level and accompaniment-level tables of the overall means, then per-track song rows."""
    lines = [f"{metrics['split']} split, {metrics['segments']} segments, target {metrics['target']}"]
    for level, columns in LEVELS.items():
        lines += ["", f"{level} level", "", _row(["system", *(HEADERS[m] for m in columns)]), _rule(len(columns))]
        for system in SYSTEMS:
            values = metrics["overall"][system][level]
            lines.append(_row([system, *(f"{values[m]:.3f}" for m in columns)]))
    lines += ["", _row(["track (model, song level)", *(HEADERS[m] for m in SONG_METRICS)]), _rule(len(SONG_METRICS))]
    for track, systems in metrics["tracks"].items():
        lines.append(_row([track, *(f"{systems['model']['song'][m]:.3f}" for m in SONG_METRICS)]))
    return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _rule(columns: int) -> str:
    return "|---" * (columns + 1) + "|"


def write(metrics: dict, output_dir: str) -> tuple[str, str]:
    json_path, md_path = storage.join(output_dir, "metrics.json"), storage.join(output_dir, "metrics.md")
    storage.write_text(json_path, json.dumps(metrics, indent=1))
    storage.write_text(md_path, markdown(metrics))
    return json_path, md_path
