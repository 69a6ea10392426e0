"""Where ``--changes auto`` draws the line between a hymn and a song (``SONG_STEP_SHARE``).

``trainer/style.py`` reads a take as a song when its melody moves by step in fewer than
``SONG_STEP_SHARE`` of its moves. This measures that share on training data only: the training
chorales' vocals that ``make model`` rendered (FluidR3), and folk songs from music21's corpus
(``FOLK``: Essen folk songs and Aird's airs, none of them in the songs dev set) sung by the
training vocals' programs with the training soundfont, each through the transcription
``generate`` runs. The threshold is the chorales' ``MISREAD`` quantile: one training chorale in
twenty reads as a song. It prints the shares' quartiles, that quantile, and how many folk songs
read as songs at it.

``python -m benchmarks.hymn_or_song --chorales data/release/chorales`` (``make hymn-or-song``;
FluidSynth; ~10 min here).
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys
from collections.abc import Iterator

import numpy as np
import soundfile

from benchmarks import lead_sheets
from trainer import generate, style
from trainer.config import SONG_STEP_SHARE
from trainer.export import RELEASED_MODEL, ExportedModel, load_model
from vocals2song import codec, render
from vocals2song.scores import Note

FOLK = {"essenFolksong": 6, "airdsAirs": 15}
"""music21 corpus folders of melodies, and how many tunes are drawn from each of their files."""
TAKES = 170
"""Training chorale renders measured (drawn at random; the render job holds each in several keys)."""
SECONDS = 30.0
"""Each take's first seconds, as long as a sung verse."""
TEMPI = (80.0, 130.0)
"""Quarter notes a minute a folk song is sung at, drawn per song."""
MISREAD = 0.05
SEED = 0


def share(model: ExportedModel, vocal: np.ndarray) -> float | None:
    """``style.step_share`` of a mono take at the model's rate, as ``generate`` transcribes it."""
    spectrum = codec.stft(vocal[np.newaxis], model.spectral)[0]
    return style.step_share(generate.take_notes(model, spectrum, generate.take_drift(model, spectrum)))


def chorales(folder: str, rng: random.Random) -> Iterator[np.ndarray]:
    """The first ``SECONDS`` of ``TAKES`` training vocals of ``folder`` (``make model``'s renders)."""
    paths = sorted(glob.glob(os.path.join(folder, "train", "*", "vocals.wav")))
    if not paths:
        raise FileNotFoundError(f"{folder}/train: no rendered vocals (`make model` renders them)")
    for path in rng.sample(paths, min(TAKES, len(paths))):
        waveform, rate = soundfile.read(path, dtype="float32")
        yield waveform.reshape(len(waveform), -1).mean(axis=1)[: int(SECONDS * rate)]


def folk_songs(rate: int, rng: random.Random) -> Iterator[np.ndarray]:
    """``FOLK``'s tunes sung with a training vocal program, soundfont and a drawn tempo."""
    from music21 import corpus

    for folder, per_file in FOLK.items():
        for path in sorted(glob.glob(os.path.join(os.path.dirname(corpus.__file__), folder, "*.abc"))):
            works = list(corpus.parse(path).scores)
            for work in rng.sample(works, min(per_file, len(works))):
                beat = 60.0 / rng.uniform(*TEMPI)
                piece = lead_sheets.Piece("folk", _melody(work, beat), (), beat)
                if len(piece.melody) > 1:
                    program = rng.choice(render.PROGRAMS["vocals"])
                    vocal = lead_sheets.sung(piece, rate, render.TRAIN_SOUNDFONT, program)
                    yield vocal.reshape(len(vocal), -1).mean(axis=1)


def _melody(work, beat: float) -> tuple[Note, ...]:
    """A tune's first part's notes in its first ``SECONDS``, as the songs dev set sings them."""
    flat = (work.parts[0] if work.parts else work).stripTies().flatten()
    return tuple(note for note in lead_sheets.melody_of(flat, beat) if note.start < SECONDS)


def report(hymns: np.ndarray, songs: np.ndarray) -> str:
    """Markdown: each kind's quartiles of the share of moves by step, the threshold and what it reads."""
    threshold = float(np.quantile(hymns, MISREAD))
    lines = ["| training takes | n | share of moves by step: quartiles | read as songs |", "|---|---|---|---|"]
    for name, shares in (("chorales", hymns), ("folk songs", songs)):
        quartiles = " / ".join(f"{q:.2f}" for q in np.quantile(shares, (0.25, 0.5, 0.75)))
        lines.append(f"| {name} | {len(shares)} | {quartiles} | {np.mean(shares < threshold):.0%} |")
    lines.append(f"\nthe chorales' {MISREAD:.0%} quantile: {threshold:.3f} (SONG_STEP_SHARE {SONG_STEP_SHARE})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=RELEASED_MODEL)
    parser.add_argument("--chorales", required=True, help="the renders of `make model` (data/release/chorales)")
    args = parser.parse_args(argv)
    model, rng = load_model(args.model), random.Random(SEED)
    measured = {}
    for name, takes in (
        ("chorales", chorales(args.chorales, rng)),
        ("songs", folk_songs(model.spectral.sample_rate, rng)),
    ):
        shares = [share(model, take) for take in takes]
        measured[name] = np.array([value for value in shares if value is not None])
        print(f"{name}: {len(measured[name])} of {len(shares)} takes long enough to read", file=sys.stderr)
    sys.stdout.write(report(measured["chorales"], measured["songs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
