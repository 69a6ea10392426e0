"""How close generated songs are to the real ones, against baselines and a ceiling in one run.

Every full segment of a split is a test case: its vocal is turned into an accompaniment by
each system, and the result is scored on valid frames and the model's bins only:

- **song** (what a listener hears): vocals + accompaniment against the true mixture;
- **accompaniment**: the accompaniment (the sum of a multi-stem model's stems) against the
  true one (mixture - vocals);
- for a multi-stem model, **each stem** against the true stem (``drums``...), with its own
  average-stem and retrieval baselines.

Systems: ``model`` (the vocal through ``generate.generate``, the very path a user's take
takes: level matching, windows, crossfades, bounds, phase, limiter); ``silence`` (the vocal
alone); ``average`` (the training accompaniment's mean spectrum in every frame, at the level
generation would give it, phase by Griffin-Lim; per stem, each stem's); ``retrieval`` (another
track's true stems under this vocal, level-matched to the true one: SingSong's baseline);
``oracle`` (the true accompaniment: song scores are then exact, a check of the metric).

Metrics: log-spectral distance (dB), spectral convergence, chroma agreement (mean per-frame
Pearson correlation of 12-bin pitch-class profiles: flat or silent profiles score 0, which
cosine of non-negative vectors does not), and for the accompaniment the excess of its
loudest frame over the true accompaniment's loudest (dB) and L1 of normalised log-magnitude;
per stem also the correlation of onset-strength envelopes (do the hits land on the true ones).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator

import librosa
import numpy as np

from trainer import generate
from trainer.chart import Chart
from trainer.export import ExportedModel
from vocals2song import codec, inspection, storage
from vocals2song.features import spectrum_to_audio
from vocals2song.manifest import read_manifest

SYSTEMS = ("model", "silence", "average", "retrieval", "oracle")
SONG_METRICS = ("lsd_db", "spectral_convergence", "chroma")
ACCOMPANIMENT_METRICS = (*SONG_METRICS, "frame_excess_db", "l1")
STEM_METRICS = (*ACCOMPANIMENT_METRICS, "onset")
LEVELS = {"song": SONG_METRICS, "accompaniment": ACCOMPANIMENT_METRICS}
"""Every model's levels; a multi-stem model adds one per stem (``levels``)."""
POWER_FLOOR = 1e-10
log = logging.getLogger(__name__)


def chroma(magnitude: np.ndarray, sample_rate: int, n_fft: int) -> np.ndarray:
    # norm=None: per-frame normalisation would blow float rounding in silent frames up to a profile.
    return librosa.feature.chroma_stft(S=np.square(magnitude), sr=sample_rate, n_fft=n_fft, tuning=0.0, norm=None)


def chroma_correlation(truth: np.ndarray, estimate: np.ndarray, sample_rate: int, n_fft: int) -> float:
    """Mean over frames of the Pearson correlation of the two magnitudes' chroma vectors."""
    return float(np.mean(frame_correlations(chroma(truth, sample_rate, n_fft), chroma(estimate, sample_rate, n_fft))))


def frame_correlations(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Per frame (column) of two ``(classes, frames)`` profiles, their Pearson correlation; 0 where
    either is flat."""
    truth, estimate = truth - truth.mean(axis=0), estimate - estimate.mean(axis=0)
    norms = np.linalg.norm(truth, axis=0) * np.linalg.norm(estimate, axis=0)
    return np.where(norms > 1e-12, np.sum(truth * estimate, axis=0) / np.maximum(norms, 1e-12), 0.0)


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


def onset_correlation(truth: np.ndarray, estimate: np.ndarray, sample_rate: int, hop_length: int) -> float:
    """Pearson correlation of the two magnitudes' onset-strength envelopes (spectral flux of
    their dB spectra): whether the estimate's hits come where the truth's do. A constant
    envelope (a steady spectrum, silence) scores 0."""
    envelopes = [
        librosa.onset.onset_strength(
            S=librosa.amplitude_to_db(m, ref=1.0, amin=1e-5), sr=sample_rate, hop_length=hop_length
        )
        for m in (truth, estimate)
    ]
    a, b = (e - e.mean() for e in envelopes)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norm) if norm > 1e-12 else 0.0


@dataclasses.dataclass(frozen=True)
class Case:
    """One test segment: complex mono spectra of the vocals, the true accompaniment (mixture -
    vocals) and each of the model's target stems, and its valid samples."""

    track: str
    vocals: np.ndarray
    accompaniment: np.ndarray
    stems: dict[str, np.ndarray]
    samples: int


Made = Callable[[ExportedModel, Case], dict[str, np.ndarray]]
"""What fills a model's row: its stems for a case, as complex spectra (``model_stems``)."""


def cases(model: ExportedModel, data_dir: str, split: str, per_track: int | None = None) -> Iterator[Case]:
    """The split's segments as Cases, cut to their valid frames; only the first ``per_track``
    of each track when given."""
    manifest = read_manifest(data_dir)
    model.spectral.check_matches(
        type(model.spectral)(**{**manifest.config.to_dict(), "segment_seconds": model.spectral.segment_seconds}),
        data_dir,
    )
    manifest.require_stems(data_dir, ("mixture", "vocals", *model.stems), "to score the model against")
    for segment in inspection.read_segments(manifest, data_dir, split):
        if per_track is not None and segment.index >= per_track:
            continue
        stems = {name: codec.stored_to_complex(array).mean(axis=0) for name, array in segment.stems.items()}
        if "accompaniment" not in stems:
            stems["accompaniment"] = stems["mixture"] - stems["vocals"]
        valid = min(manifest.config.frames(segment.valid_samples), stems["vocals"].shape[1])
        targets = {stem: stems[stem][:, :valid] for stem in model.stems}
        cut = (stems["vocals"][:, :valid], stems["accompaniment"][:, :valid])
        yield Case(segment.track, *cut, targets, segment.valid_samples)


def model_stems(model: ExportedModel, case: Case, chart: Chart | None = None) -> dict[str, np.ndarray]:
    """The model's stems for the case's vocal through `generate` (playing ``chart`` when given),
    as complex spectra; played chords and drums count as part of the one accompaniment they are
    played with."""
    config = model.spectral
    vocal = codec.istft(case.vocals[np.newaxis], config, case.samples)
    song = generate.generate_song(model, vocal, config.sample_rate, vocals=False, chart=chart)
    made = {model.stems[0]: np.sum(list(song.stems.values()), axis=0)} if model.plays_chords else song.stems
    return {stem: codec.stft(x, config)[0][:, : case.vocals.shape[1]] for stem, x in made.items()}


def average_stems(model: ExportedModel, case: Case) -> dict[str, np.ndarray]:
    """Each stem's training mean spectrum in every frame, at the level generation gives this
    vocal (the inverse of its level gain), phase rebuilt by Griffin-Lim."""
    config, frames = model.spectral, case.vocals.shape[1]
    gain = model.source_codec.level_gain(case.vocals)
    averages = {}
    for stem, stem_codec in zip(model.stems, model.target_codec.codecs, strict=True):
        magnitude = np.repeat(np.exp(stem_codec.mean.astype(np.float64))[:, np.newaxis] / gain, frames, axis=1)
        waveform = spectrum_to_audio(magnitude, None, config, case.samples)
        averages[stem] = codec.stft(waveform, config)[0][:, :frames]
    return averages


def retrieved(donor: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Another track's stem, tiled to the true one's length, at the true one's level."""
    frames = truth.shape[1]
    tiled = np.tile(donor, (1, int(np.ceil(frames / donor.shape[1]))))[:, :frames]
    scale = np.linalg.norm(truth) / max(float(np.linalg.norm(tiled)), 1e-12)
    return tiled * scale


def score(model: ExportedModel, case: Case, systems: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, dict]]:
    """system -> level -> metric for every system's complex stems of one case: the song, the
    accompaniment (the stems' sum) and, for a multi-stem model, each stem."""
    config, bins = model.spectral, model.features.bins
    truth, mixture = np.abs(case.accompaniment[:bins]), np.abs((case.vocals + case.accompaniment)[:bins])
    rows = {}
    for system, stems in systems.items():
        accompaniment = np.sum(list(stems.values()), axis=0)
        estimate = np.abs(accompaniment[:bins])
        per_stem = {stem: _stem_metrics(model, case.stems[stem], stems[stem], i) for i, stem in enumerate(model.stems)}
        rows[system] = {
            "song": spectrum_metrics(
                mixture, np.abs((case.vocals + accompaniment)[:bins]), config.sample_rate, config.n_fft
            ),
            "accompaniment": {
                **spectrum_metrics(truth, estimate, config.sample_rate, config.n_fft),
                "frame_excess_db": frame_excess_db(truth, estimate),
                "l1": float(np.mean([metrics["l1"] for metrics in per_stem.values()])),
            },
            **(per_stem if len(model.stems) > 1 else {}),
        }
    return rows


def _stem_metrics(model: ExportedModel, truth: np.ndarray, estimate: np.ndarray, index: int) -> dict[str, float]:
    """One stem's metrics: the spectral ones, loudest-frame excess, L1 of its normalised log-magnitude, onsets."""
    config, bins, stem_codec = model.spectral, model.features.bins, model.target_codec.codecs[index]
    true, made = np.abs(truth[:bins]), np.abs(estimate[:bins])
    return {
        **spectrum_metrics(true, made, config.sample_rate, config.n_fft),
        "frame_excess_db": frame_excess_db(true, made),
        "l1": float(np.mean(np.abs(stem_codec.encode(estimate)[..., 0] - stem_codec.encode(truth)[..., 0]))),
        "onset": onset_correlation(true, made, config.sample_rate, config.hop_length),
    }


def evaluate(
    model: ExportedModel, data_dir: str, split: str = "test", per_track: int | None = None, made: Made | None = None
) -> dict:
    """Metrics per track and overall (mean over segments) for the model, baselines and oracle;
    ``per_track`` limits the segments scored per track (the first ones). ``made`` (a ``Made``):
    the model's row, ``model_stems`` unless a benchmark plays something else through the model
    (``benchmarks/chart_oracle.py``)."""
    if not model.makes_accompaniment:
        raise ValueError(f"evaluate scores accompaniment models; this one makes {model.target} from {model.source}")
    rows: dict[str, list[dict]] = {}

    def add(case: Case, donor: Case) -> None:
        scored = score(model, case, _systems(model, case, donor, made or model_stems))
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

    first_track: list[Case] = []  # wait for a second track to lend them its stems
    latest, other = None, None  # the latest case; the latest case of another track
    for case in cases(model, data_dir, split, per_track):
        if latest is not None and latest.track != case.track:
            other = latest
        latest = case
        if other is None:
            first_track.append(case)
            continue
        for waiting in first_track:
            add(waiting, case)
        first_track = []
        add(case, other)
    if not rows:
        raise ValueError(f"split {split!r} of {data_dir} needs segments of two tracks or more to evaluate")
    everything = [row for track in rows.values() for row in track]
    return {
        "split": split,
        "segments": len(everything),
        "target": model.target,
        "levels": {level: list(metrics) for level, metrics in levels(model.stems).items()},
        "overall": _mean(everything, model.stems),
        "tracks": {name: _mean(track, model.stems) for name, track in sorted(rows.items())},
    }


def levels(stems: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Level -> its metrics: song and accompaniment, and each stem of a multi-stem model."""
    return {**LEVELS, **({stem: STEM_METRICS for stem in stems} if len(stems) > 1 else {})}


def _systems(model: ExportedModel, case: Case, donor: Case, made: Made) -> dict[str, dict[str, np.ndarray]]:
    return {
        "model": made(model, case),
        "silence": {stem: np.zeros_like(truth) for stem, truth in case.stems.items()},
        "average": average_stems(model, case),
        "retrieval": {stem: retrieved(donor.stems[stem], truth) for stem, truth in case.stems.items()},
        "oracle": case.stems,
    }


def _mean(rows: list[dict], stems: tuple[str, ...]) -> dict:
    return {
        system: {
            level: {metric: float(np.mean([row[system][level][metric] for row in rows])) for metric in metrics}
            for level, metrics in levels(stems).items()
        }
        for system in SYSTEMS
    }


HEADERS = {
    "lsd_db": "LSD dB (lower)",
    "spectral_convergence": "spectral conv. (lower)",
    "chroma": "chroma corr. (higher)",
    "frame_excess_db": "loudest-frame excess dB",
    "l1": "L1 norm. log-mag (lower)",
    "onset": "onset corr. (higher)",
}


def markdown(metrics: dict) -> str:
    """Song-level and accompaniment-level tables of the overall means, then per-track song rows."""
    lines = [f"{metrics['split']} split, {metrics['segments']} segments, target {metrics['target']}"]
    for level, columns in metrics["levels"].items():
        lines += [
            "",
            f"{level} level",
            "",
            table_row(["system", *(HEADERS[m] for m in columns)]),
            table_rule(len(columns)),
        ]
        for system in SYSTEMS:
            values = metrics["overall"][system][level]
            lines.append(table_row([system, *(f"{values[m]:.3f}" for m in columns)]))
    lines += [
        "",
        table_row(["track (model, song level)", *(HEADERS[m] for m in SONG_METRICS)]),
        table_rule(len(SONG_METRICS)),
    ]
    for track, systems in metrics["tracks"].items():
        lines.append(table_row([track, *(f"{systems['model']['song'][m]:.3f}" for m in SONG_METRICS)]))
    return "\n".join(lines) + "\n"


def table_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def table_rule(columns: int) -> str:
    return "|---" * (columns + 1) + "|"


def write(metrics: dict, output_dir: str, table: str) -> tuple[str, str]:
    """``metrics.json`` and the markdown ``table`` of them as ``metrics.md``."""
    json_path, md_path = storage.join(output_dir, "metrics.json"), storage.join(output_dir, "metrics.md")
    storage.write_text(json_path, json.dumps(metrics, indent=1))
    storage.write_text(md_path, table)
    return json_path, md_path
