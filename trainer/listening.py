"""A blind listening test: does the music fit the voice?

``evaluate``'s chroma credits only the harmony that was played; a listener credits any harmony
that fits (Bach's own other setting of a tune scores no better than the released model there:
``make ceiling``). ``prepare`` writes a folder that listeners open in a browser, no server
needed: for each of the first test tracks, the same vocal under each condition, every stimulus
at one loudness, named by an opaque id and in a shuffled order; the listener rates each from 0
to 100 and downloads the ratings. ``report`` unblinds them with the key, which stays outside the
listeners' folder, and gives each condition's mean with its 95% interval and the model's paired
difference from each other condition.

Conditions: ``model`` (the song ``generate`` makes from the vocal), ``original`` (the true
mixture: a hidden reference) and ``retrieval`` (another track's accompaniment under this vocal,
level-matched as ``evaluate``'s baseline: an anchor that does not fit); with ``--compare
NAME=DIR``, another system's songs too (``DIR/<track>.wav``: ``python -m benchmarks.ceiling
--songs_dir DIR`` writes Bach's other setting of each dev tune under its vocal).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import pathlib
import random
import re
import secrets
import shutil

import numpy as np

from trainer import evaluate, generate
from trainer.export import ExportedModel
from vocals2song import audio, codec

CONDITIONS = ("model", "original", "retrieval")
STIMULUS_RMS_DB = -20.0
"""Every stimulus's level (dBFS RMS; a limiter keeps peaks under 0 dBFS): louder is not better."""
PAGE = pathlib.Path(__file__).parent / "listening_page"
"""The page listeners open (copied into every prepared test)."""
LISTEN_DIR, KEY_FILE, TRIALS_FILE = "listen", "key.json", "trials.js"
SCORE_RANGE = (0, 100)
log = logging.getLogger(__name__)


def stimuli(
    model: ExportedModel, case: evaluate.Case, donor: evaluate.Case, extra: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Condition -> mono waveform of the case's segment at ``STIMULUS_RMS_DB``: ``CONDITIONS``
    and the ``extra`` songs (another system's, ``compared``)."""
    config = model.spectral
    vocal = codec.istft(case.vocals[np.newaxis], config, case.samples)
    accompaniments = {
        "original": case.accompaniment,
        "retrieval": evaluate.retrieved(donor.accompaniment, case.accompaniment),
    }
    made = {
        name: codec.istft((case.vocals + a)[np.newaxis], config, case.samples) for name, a in accompaniments.items()
    }
    made["model"] = generate.generate_song(model, vocal, config.sample_rate).mix
    return {name: levelled(waveform, config.sample_rate) for name, waveform in {**made, **extra}.items()}


def levelled(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """``waveform`` at ``STIMULUS_RMS_DB``, peaks limited."""
    gain = 10 ** ((STIMULUS_RMS_DB - audio.rms_db(waveform)) / 20)
    return audio.limit((waveform * gain).astype(np.float32), sample_rate)


def comparison(text: str | None) -> tuple[str, str] | None:
    """``--compare NAME=DIR`` -> (name, folder); None when not given."""
    if text is None:
        return None
    name, _, folder = text.partition("=")
    if not re.fullmatch(r"[\w-]+", name) or not folder or name in CONDITIONS:
        raise ValueError(f"--compare {text}: give NAME=DIR, NAME a word other than {', '.join(CONDITIONS)}")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--compare {text}: {folder} is not a folder")
    return name, folder


def compared(folder: str, case: evaluate.Case, sample_rate: int) -> np.ndarray | None:
    """``folder/<track>.wav`` as the case's segment (mono, at ``sample_rate``, its length), or
    None when the folder has no song for the track."""
    path = os.path.join(folder, f"{case.track}.wav")
    if not os.path.exists(path):
        return None
    waveform, rate = audio.read(path)
    mono = audio.resample(audio.to_channels(waveform, 1), rate, sample_rate)[:, : case.samples]
    return np.pad(mono, ((0, 0), (0, case.samples - mono.shape[1])))


def paired_cases(
    model: ExportedModel, data_dir: str, tracks: int, compare: tuple[str, str] | None = None
) -> list[tuple[evaluate.Case, evaluate.Case]]:
    """The first segment of the first ``tracks`` test tracks (those ``compare``'s folder has a
    song for, when given), each with the next one (the last with the first) lending its
    accompaniment to the retrieval condition."""
    cases = evaluate.cases(model, data_dir, "test", per_track=1)
    if compare:
        cases = (case for case in cases if os.path.exists(os.path.join(compare[1], f"{case.track}.wav")))
    first = list(itertools.islice(cases, tracks))
    if len(first) < 2:
        where = f" with a song in {compare[1]}" if compare else ""
        raise ValueError(f"{data_dir}: a listening test needs two test tracks or more{where}, found {len(first)}")
    return [(case, first[(index + 1) % len(first)]) for index, case in enumerate(first)]


def prepare(
    model: ExportedModel, data_dir: str, output_dir: str, tracks: int, seed: int, compare: str | None = None
) -> dict:
    """Writes the test into ``output_dir``: ``listen/`` (the page, the stimuli, the trials) and
    ``key.json`` (which stimulus is which). ``compare`` ("NAME=DIR") adds another system's songs
    (``DIR/<track>.wav``) as a condition. Returns the key."""
    if not model.makes_accompaniment:
        raise ValueError(
            f"a listening test plays accompaniment models; this one makes {model.target} from {model.source}"
        )
    output, compare_to = pathlib.Path(output_dir), comparison(compare)
    if (output / KEY_FILE).exists():
        raise FileExistsError(
            f"{output / KEY_FILE} exists: a prepared test is not overwritten (ratings may refer to it)"
        )
    pairs = paired_cases(model, data_dir, tracks, compare_to)
    rng, listen = random.Random(seed), output / LISTEN_DIR
    listen.mkdir(parents=True, exist_ok=True)
    key = {"test": secrets.token_hex(8), "stimuli": {}, "trials": []}
    for index, (case, donor) in enumerate(pairs):
        extra = {compare_to[0]: compared(compare_to[1], case, model.spectral.sample_rate)} if compare_to else {}
        made = stimuli(model, case, donor, extra)
        log.info("[%d/%d] %s: %s", index + 1, len(pairs), case.track, ", ".join(made))
        named = {f"{rng.getrandbits(48):012x}": name for name in made}
        for stimulus, condition in named.items():
            audio.write(str(listen / f"{stimulus}.wav"), made[condition], model.spectral.sample_rate)
            key["stimuli"][stimulus] = {"track": case.track, "condition": condition}
        order = list(named)
        rng.shuffle(order)
        key["trials"].append(order)
    rng.shuffle(key["trials"])
    _write_page(listen, key)
    (output / KEY_FILE).write_text(json.dumps(key, indent=1))
    return key


def _write_page(listen: pathlib.Path, key: dict) -> None:
    """The page's files, and the trials as a script (a page opened from disk cannot fetch JSON)."""
    for name in ("index.html", "listen.js", "listen.css"):
        shutil.copy(PAGE / name, listen / name)
    trials = {"test": key["test"], "trials": key["trials"]}
    (listen / TRIALS_FILE).write_text(f"const TEST = {json.dumps(trials)};\n")


@dataclasses.dataclass(frozen=True)
class Rating:
    listener: str
    track: str
    condition: str
    score: float


def read_ratings(paths: list[str], key: dict) -> list[Rating]:
    """Every rating in the page's downloaded files, unblinded with ``key``; a file that is not
    ratings of this test, or rates a stimulus it does not hold, is an error naming it."""
    rows = []
    for path in paths:
        try:
            ratings = json.loads(pathlib.Path(path).read_text())
            test, listener, scores = ratings["test"], str(ratings["listener"]), ratings["ratings"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path}: not a ratings file of the listening page ({type(error).__name__}: {error})"
            ) from error
        if any(row.listener == listener for row in rows):
            raise ValueError(f"{path}: a second file from listener {listener!r}")
        if test != key["test"]:
            raise ValueError(f"{path}: rates test {test}, the key is of test {key['test']}")
        for stimulus, score in scores.items():
            if stimulus not in key["stimuli"]:
                raise ValueError(f"{path}: rates {stimulus}, which is not a stimulus of test {key['test']}")
            if not isinstance(score, int | float) or not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]:
                raise ValueError(f"{path}: {stimulus} scored {score!r}, outside {SCORE_RANGE[0]}-{SCORE_RANGE[1]}")
            rows.append(Rating(listener, **key["stimuli"][stimulus], score=float(score)))
    return rows


def interval(values: list[float]) -> dict[str, float]:
    """Mean, count and the half-width of its 95% Student-t interval (0 for one value)."""
    from scipy import stats

    array = np.asarray(values, np.float64)
    half = (
        float(stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / np.sqrt(len(array))) if len(array) > 1 else 0.0
    )
    return {"mean": float(array.mean()), "n": len(array), "ci95": half}


def report(rows: list[Rating]) -> dict:
    """Each condition's score, and the model's paired difference from each other condition (the
    same listener and track)."""
    if not rows:
        raise ValueError("no ratings to report")
    by_cell = {(r.listener, r.track, r.condition): r.score for r in rows}
    rated = {r.condition for r in rows}
    conditions = [*(c for c in CONDITIONS if c in rated), *sorted(rated - set(CONDITIONS))]
    differences = {}
    for other in (c for c in conditions if c != "model"):
        pairs = [
            s - by_cell[(lis, tr, other)]
            for (lis, tr, c), s in by_cell.items()
            if c == "model" and (lis, tr, other) in by_cell
        ]
        if pairs:
            differences[f"model - {other}"] = interval(pairs)
    return {
        "listeners": len({r.listener for r in rows}),
        "tracks": len({r.track for r in rows}),
        "conditions": {c: interval([r.score for r in rows if r.condition == c]) for c in conditions},
        "differences": differences,
    }


def markdown(result: dict) -> str:
    """The report as a Markdown table."""
    lines = [
        f"{result['listeners']} listener(s), {result['tracks']} track(s); "
        "scores 0-100: how well the music fits the voice.",
        "",
        "| condition | mean | 95% interval | ratings |",
        "|---|---|---|---|",
    ]
    for name, row in {**result["conditions"], **result["differences"]}.items():
        lines.append(f"| {name} | {row['mean']:.1f} | +-{row['ci95']:.1f} | {row['n']} |")
    return "\n".join(lines)
