"""How far a melody-only accompanist can be expected to go: Bach's other setting of a dev tune.

#12 asks for a song whose chroma agrees with the true mixture 0.10 better than the vocal alone.
A model that hears only the melody can at best play *a* good harmony, not the one that was
played; the best stand-in for "a good harmony" that can be measured is the composer's own
alternative. Bach set many chorale tunes more than once, so for each dev chorale (music21's
Bach entries ``[0, 373)``, every tenth from index 5: the released model's dev set) this finds
the other settings of its tune in the same range, moves their alto, tenor and bass onto this
chorale's soprano (its key and its note times), renders them with the dev track's own draws
(programs, tempo, transposition) through the *training* soundfont (the accompanist plays with
that one too, so the dev soundfont's timbre is no gift), and scores the song exactly as
``vocals2song evaluate`` does on the track's first segment, at the true accompaniment's level
and 6 dB under it. The chorale's own setting, rendered the same way, is the ceiling of a
perfect harmony; the released model's row is read from its ``metrics.json``. Symbolic use of
the training chorales only: nothing here trains or tunes anything.

``python -m benchmarks.ceiling [--model models/chorales] [--data_dir data/release/dataset]``
(``make ceiling``; needs the dev renders of ``make model`` and FluidSynth; 2 min here).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import sys

import numpy as np

from trainer import evaluate
from trainer.export import RELEASED_MODEL, ExportedModel, load_model
from vocals2song import audio, codec, render, scores, storage
from vocals2song.scores import Note, Score

SAME_TUNE = 0.85
"""Two sopranos are one tune when their interval sequences (repeats merged) match this well
(``difflib``'s ratio): Bach's settings of a tune differ in passing notes and cadences."""
SAME_SETTING = 0.8
"""Two settings of a tune are one harmony when their lower parts agree this well
(``harmony_agreement``): 0.87-0.99 for the corpus's repeats, at most 0.72 between Bach's
different settings of a dev tune."""
DEV_RANGE, DEV_EVERY, DEV_SEED = (0, 373), (10, 5), 1
"""The released model's dev set (``make model``): entries, the dev list, its render seed."""
LEVELS_DB = (0.0, -3.0, -6.0, -9.0)
"""The played setting's level against the true accompaniment's."""
SONG_LEVEL_DB = -6.0
"""The level of the songs ``--songs_dir`` writes: the best of ``LEVELS_DB`` for Bach's other settings."""


def melody(score: Score) -> list[Note]:
    """The soprano's notes with repeated pitches merged into the first (a tune's identity)."""
    merged: list[Note] = []
    for note in score.parts["vocals"]:
        if not merged or merged[-1].pitch != note.pitch:
            merged.append(note)
    return merged


def _intervals(notes: list[Note]) -> list[int]:
    return [b.pitch - a.pitch for a, b in zip(notes, notes[1:], strict=False)]


def note_pairs(setting: Score, tune: Score) -> list[tuple[Note, Note]]:
    """(setting's note, tune's note) pairs of their merged sopranos where the two agree on the
    intervals around them, in order."""
    a, b = melody(setting), melody(tune)
    matcher = difflib.SequenceMatcher(None, _intervals(a), _intervals(b), autojunk=False)
    pairs = []
    for first, second, size in matcher.get_matching_blocks():
        if size:
            pairs += [(a[first + k], b[second + k]) for k in range(size + 1)]
    return sorted(set(pairs), key=lambda pair: pair[1].start)


def same_tune(setting: Score, tune: Score) -> bool:
    """Whether two scores set one tune, in any key (``SAME_TUNE``)."""
    a, b = _intervals(melody(setting)), _intervals(melody(tune))
    return bool(a and b) and difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= SAME_TUNE


def aligned(setting: Score, tune: Score) -> Score:
    """``tune``'s soprano over ``setting``'s alto, tenor and bass, moved to the tune's key (the
    median interval between the matched soprano notes) and onto its time line (each matched
    soprano onset of the setting lands on the tune's; linear between them; nothing before 0)."""
    pairs = note_pairs(setting, tune)
    if len(pairs) < 2:
        raise ValueError(f"{setting.name} and {tune.name} share fewer than two soprano notes")
    shift = int(np.median([theirs.pitch - ours.pitch for ours, theirs in pairs]))
    anchors = _increasing([(ours.start, theirs.start) for ours, theirs in pairs])
    source, target = (np.array(side, float) for side in zip(*anchors, strict=True))

    def clock(time: float) -> float:
        if time <= source[0]:
            return max(0.0, float(target[0] + time - source[0]))
        if time >= source[-1]:
            return float(target[-1] + time - source[-1])
        return float(np.interp(time, source, target))

    moved = scores.warped(setting, clock)
    lower = {
        stem: tuple(dataclasses.replace(n, pitch=n.pitch + shift) for n in moved.parts[stem])
        for stem in ("bass", "other")
    }
    return Score(tune.name, {"vocals": tune.parts["vocals"], **lower, "drums": ()})


def _increasing(anchors: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The anchors whose both times rise from the last one kept (a monotonic clock)."""
    kept: list[tuple[float, float]] = []
    for source, target in sorted(anchors):
        if not kept or (source > kept[-1][0] and target > kept[-1][1]):
            kept.append((source, target))
    return kept


def harmony_agreement(setting: Score, tune: Score) -> float:
    """How alike ``setting``'s lower parts, moved onto ``tune``, are to the tune's own: the mean
    over bass and the inner voices of ``difflib``'s ratio of their pitch sequences."""
    moved = aligned(setting, tune)
    return float(
        np.mean(
            [
                difflib.SequenceMatcher(
                    None, _pitches(moved.parts[stem]), _pitches(tune.parts[stem]), autojunk=False
                ).ratio()
                for stem in ("bass", "other")
            ]
        )
    )


def _pitches(notes: tuple[Note, ...]) -> list[int]:
    return [n.pitch for n in notes]


def twins(corpus: list[Score], dev: list[Score]) -> list[tuple[Score, list[Score]]]:
    """Each dev score that has other settings of its tune in ``corpus``, with them: one of each
    harmony (the corpus holds a few settings twice under two names, BWV 41.6 and 171.6)."""
    found = []
    for tune in dev:
        others: list[Score] = []
        for other in corpus:
            if other is tune or not same_tune(other, tune) or harmony_agreement(other, tune) >= SAME_SETTING:
                continue
            if all(harmony_agreement(other, kept) < SAME_SETTING for kept in others):
                others.append(other)
        if others:
            found.append((tune, others))
    return found


def played(score: Score, arrangement: render.Arrangement, samples: int) -> np.ndarray:
    """The alto, tenor and bass of ``score`` rendered with ``arrangement``'s draws through the
    training soundfont: its first ``samples`` samples, mono."""
    options = render.RenderOptions(soundfont=render.TRAIN_SOUNDFONT)
    lower = Score(score.name, {**score.parts, "vocals": ()})
    stems = render.render(lower, arrangement, options)
    accompaniment = (stems["bass"] + stems["other"])[:samples]
    return np.pad(accompaniment, (0, samples - len(accompaniment)))


def _scale(case: evaluate.Case, spectrum: np.ndarray) -> float:
    """The gain that brings ``spectrum`` to the true accompaniment's level."""
    return float(np.linalg.norm(case.accompaniment)) / max(float(np.linalg.norm(spectrum)), 1e-12)


def song_chroma(model: ExportedModel, case: evaluate.Case, accompaniment: np.ndarray) -> dict[str, float]:
    """Song chroma (``evaluate``'s metric) of the case's vocal over ``accompaniment`` at each of
    ``LEVELS_DB`` against the true accompaniment's level."""
    config, bins = model.spectral, model.features.bins
    spectrum = codec.stft(accompaniment, config)[0][:, : case.vocals.shape[1]]
    scale, mixture = _scale(case, spectrum), np.abs((case.vocals + case.accompaniment)[:bins])
    return {
        f"{level:+g} dB": evaluate.chroma_correlation(
            mixture,
            np.abs((case.vocals + spectrum * scale * 10 ** (level / 20))[:bins]),
            config.sample_rate,
            config.n_fft,
        )
        for level in LEVELS_DB
    }


def song(model: ExportedModel, case: evaluate.Case, accompaniment: np.ndarray) -> np.ndarray:
    """The case's vocal over ``accompaniment`` at ``SONG_LEVEL_DB`` against the true
    accompaniment's level: mono samples, for ``vocals2song listening-test --compare``."""
    spectrum = codec.stft(accompaniment, model.spectral)[0][:, : case.vocals.shape[1]]
    vocal = codec.istft(case.vocals[np.newaxis], model.spectral, case.samples)[0]
    return vocal + accompaniment * _scale(case, spectrum) * 10 ** (SONG_LEVEL_DB / 20)


def measure(model_dir: str | None, data_dir: str, songs_dir: str | None = None) -> dict[str, dict[str, float]]:
    """Track -> system -> song chroma on the dev tracks whose tune has another setting: the
    vocal alone, the released model (its ``metrics.json``), Bach's other settings (their mean)
    and the track's own setting at each level. With ``songs_dir``, each track's vocal over its
    first other setting is written there as ``<track>.wav`` (``song``)."""
    model = load_model(model_dir, chords="none")
    released = json.loads(storage.read_text(os.path.join(model_dir or RELEASED_MODEL, "metrics.json")))["tracks"]
    paths = scores.score_paths(bach=DEV_RANGE)
    corpus = [scores.read_score(path) for path in paths]
    dev = [score for index, score in enumerate(corpus) if index % DEV_EVERY[0] == DEV_EVERY[1]]
    settings = {tune.name: others for tune, others in twins(corpus, dev)}
    options = render.RenderOptions(soundfont=render.DEV_SOUNDFONT, seed=DEV_SEED)
    rows = {}
    for case in evaluate.cases(model, data_dir, "test", per_track=1):
        tune = next((score for score in dev if case.track.startswith(f"{score.name} ")), None)
        if tune is None or tune.name not in settings:
            continue
        arrangement = render.arrangements(tune, options)[0]
        own = song_chroma(model, case, played(tune, arrangement, case.samples))
        accompaniments = [played(aligned(o, tune), arrangement, case.samples) for o in settings[tune.name]]
        others = [song_chroma(model, case, accompaniment) for accompaniment in accompaniments]
        if songs_dir:
            written = song(model, case, accompaniments[0])
            audio.write(os.path.join(songs_dir, f"{case.track}.wav"), written[np.newaxis], model.spectral.sample_rate)
        rows[case.track] = {
            "vocal alone": released[case.track]["silence"]["song"]["chroma"],
            "released model": released[case.track]["model"]["song"]["chroma"],
            **{f"other setting {level}": float(np.mean([o[level] for o in others])) for level in own},
            **{f"own setting {level}": value for level, value in own.items()},
            "settings": len(others),
        }
        print(case.track, rows[case.track], file=sys.stderr, flush=True)
    return rows


def markdown(rows: dict[str, dict[str, float]]) -> str:
    """The per-track table and its mean row."""
    columns = [column for column in next(iter(rows.values())) if column != "settings"]
    lines = ["| track | other settings | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for track, row in rows.items():
        lines.append(f"| {track} | {row['settings']} | " + " | ".join(f"{row[c]:.3f}" for c in columns) + " |")
    means = [np.mean([row[c] for row in rows.values()]) for c in columns]
    lines.append(f"| **mean of {len(rows)}** | | " + " | ".join(f"**{m:.3f}**" for m in means) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="an export (default: the released model)")
    parser.add_argument("--data_dir", default="data/release/dataset", help="the dev set's data set (make model)")
    parser.add_argument(
        "--songs_dir", default=None, help="write each track's vocal over Bach's other setting here (for --compare)"
    )
    args = parser.parse_args()
    print(markdown(measure(args.model, args.data_dir, args.songs_dir)))


if __name__ == "__main__":
    main()
