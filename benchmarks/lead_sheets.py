"""How the played chords agree with a song's written ones, per harmonic rhythm (``--changes``).

The released accompanist learnt its harmony from Bach's chorales, where the chord changes under
nearly every melody note; #12's dev set is chorales too. People sing songs, where a lead sheet
writes a chord a bar or two. This benchmark asks what each ``--changes`` plays on both kinds of
music, by one measure: the frame-by-frame Pearson correlation of the played chords' pitch classes
(bass and upper notes, weighted by velocity) with the true harmony's (a song's chord symbols, a
chorale's alto, tenor and bass), over the frames where both sound, and how many chords a beat.

Songs: ``benchmarks/songs/songs.abc`` (lead sheets written for this project from traditional and
public-domain tunes) and the lead sheets music21 ships (``CORPUS_SHEETS``). Each melody is rendered
as a vocal (voice oohs, the dev soundfont; an octave moved into a singing register, ``TEMPO``) and
goes through the path ``generate`` takes: transcription, the harmoniser, ``chords.chord_score``
with the model's voicing and rhythm. Chorales (``--chorales``): the first 15 s of each dev render
of ``make model`` (as ``evaluate`` plays them), scored against the score's lower parts.

And what a listener hears: each song's written chords played on a guitar (the dev soundfont) under
its vocal is the song's truth, and the vocal alone and the songs ``generate`` makes with each of
``SETTINGS`` are scored against it as ``evaluate`` scores a chorale's song (per-frame chroma
correlation), paired against the vocal alone.

``python -m benchmarks.lead_sheets [--model models/chorales] [--chorales data/release/chorales]``
(``make lead-sheets``; FluidSynth; ~3 min in all here).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator

import numpy as np
import soundfile

from trainer import chords, evaluate, generate, harmoniser, style
from trainer.config import CHANGES, CHORD_LEVEL_DB
from trainer.export import RELEASED_MODEL, ExportedModel, load_model
from vocals2song import codec, render, scores
from vocals2song.config import SEMITONES
from vocals2song.scores import Note, Score

SONGS = os.path.join(os.path.dirname(__file__), "songs", "songs.abc")
CORPUS_SHEETS = (
    "leadSheet/fosterBrownHair.mxl",
    "leadSheet/berlinAlexandersRagtime.mxl",
    "nottingham-dataset/reelsa-c.abc",
)
"""music21's own lead sheets with chord symbols (two tunes in the Nottingham file)."""
TEMPO = 100.0
"""Quarter notes a minute every song is sung at."""
REGISTER = (62, 72)
"""The melody's median pitch is moved by octaves into this range (D4 to C5)."""
VOICE_PROGRAM = 53
"""Voice oohs."""
FRAME_SECONDS = 0.05
CHORALE_SECONDS = 15.0
SETTINGS = {
    "the default (`--changes auto`)": {},
    "`--changes beat` (the chorales' setting)": {"changes": "beat"},
    "`--changes bar`": {"changes": "bar"},
    "`--changes bar --chords only`": {"changes": "bar", "chords": "only"},
    "`--chords only`": {"chords": "only"},
    "`--chords none` (the U-Net alone)": {"chords": "none"},
}
"""The accompanist's settings scored at song level on the songs (``load_model``'s arguments)."""
TRUTH_INSTRUMENT = "guitar"
TRUTH_LEVEL_DB = 4.5
"""The written chords are played on a guitar this many dB over the vocal's RMS (the training
chorales' accompaniment's median level against their vocal) as the song's true accompaniment."""


@dataclasses.dataclass(frozen=True)
class Piece:
    """A melody to sing and its true harmony: ``harmony`` as (start, end, MIDI pitches, lowest
    first) in seconds, a chord symbol's or a chorale's note; ``beat``: seconds a quarter note."""

    name: str
    melody: tuple[Note, ...]
    harmony: tuple[tuple[float, float, tuple[int, ...]], ...]
    beat: float


def frame_classes(events, frames: int) -> np.ndarray:
    """``(start, end, pitch, weight)`` in seconds -> ``(frames, 12)`` weight of each pitch class
    sounding in each ``FRAME_SECONDS`` frame."""
    classes = np.zeros((frames, SEMITONES))
    for start, end, pitch, weight in events:
        first, last = round(start / FRAME_SECONDS), round(end / FRAME_SECONDS)
        classes[first : min(frames, max(first + 1, last)), pitch % SEMITONES] += weight
    return classes


def agreement(played: np.ndarray, truth: np.ndarray) -> float:
    """Mean Pearson correlation of ``played`` and ``truth`` ``(frames, 12)`` over the frames where
    both sound (NaN when none do)."""
    both = (played.sum(axis=1) > 0) & (truth.sum(axis=1) > 0)
    return float(np.mean(evaluate.frame_correlations(truth[both].T, played[both].T))) if both.any() else float("nan")


def lead_sheet(work, name: str) -> Piece:
    """A music21 score with chord symbols -> its first part's melody (ties merged), sung at
    ``TEMPO`` in ``REGISTER``, and each symbol's pitch classes until the next symbol or the end."""
    from music21 import harmony

    flat = work.parts[0].stripTies().flatten()
    beat = 60.0 / TEMPO
    melody = melody_of(flat, beat)
    if not melody:
        raise ValueError(f"{name}: no melody notes")
    written = flat.getElementsByClass(harmony.ChordSymbol)
    symbols = sorted((float(symbol.offset), [p.midi for p in symbol.pitches]) for symbol in written)
    end = max(note.start + note.duration for note in melody) / beat
    ends = [at for at, _ in symbols[1:]] + [end]
    spans = zip(symbols, ends, strict=True)
    return Piece(name, melody, tuple((at * beat, until * beat, tuple(pitches)) for (at, pitches), until in spans), beat)


def melody_of(flat, beat: float) -> tuple[Note, ...]:
    """A flat music21 part's notes in seconds at ``beat`` seconds a quarter, moved by octaves so
    that their median pitch falls in ``REGISTER``; () without notes."""
    notes = [(float(n.offset), float(n.quarterLength), n.pitch.midi) for n in flat.notes if n.isNote]
    if not notes:
        return ()
    shift = SEMITONES * round((np.mean(REGISTER) - np.median([pitch for *_, pitch in notes])) / SEMITONES)
    return tuple(Note(pitch + shift, start * beat, length * beat, 90) for start, length, pitch in notes)


def songs(path: str = SONGS) -> Iterator[Piece]:
    """Every lead sheet of ``path`` (ABC) and of ``CORPUS_SHEETS``."""
    from music21 import converter, corpus

    for work in converter.parse(path).scores:
        yield lead_sheet(work, work.metadata.title)
    for source in CORPUS_SHEETS:
        parsed = corpus.parse(source)
        for index, work in enumerate(parsed.scores if hasattr(parsed, "scores") else [parsed]):
            yield lead_sheet(work, work.metadata.title or f"{os.path.basename(source)} {index + 1}")


def sung(
    piece: Piece, sample_rate: int, soundfont: str = render.DEV_SOUNDFONT, program: int = VOICE_PROGRAM
) -> np.ndarray:
    """``piece``'s melody rendered as a vocal (``program`` of ``soundfont``, the dev one unless said)."""
    options = render.RenderOptions(soundfont=soundfont, sample_rate=sample_rate, velocity_jitter=0)
    arrangement = render.Arrangement(piece.name, 0, 60.0, {"vocals": program, "bass": 0, "other": 0}, 0)
    score = Score(piece.name, {"vocals": piece.melody, "bass": (), "other": (), "drums": ()})
    return render.render(score, arrangement, options)["vocals"]


def played(model: ExportedModel, vocal: np.ndarray, changes: tuple[str, ...]) -> dict[str, Score | None]:
    """The chords ``generate`` would play under ``vocal`` (mono, the model's rate) for each of
    ``changes`` ("auto" as it reads this take, ``style.setting``)."""
    config = model.spectral
    spectrum = codec.stft(vocal[np.newaxis], config)[0]
    drift = generate.take_drift(model, spectrum)
    notes = generate.take_notes(model, spectrum, drift)
    if not notes:
        return dict.fromkeys(changes)
    predicted = harmoniser.note_predictions(model.harmoniser, notes)
    seconds = config.hop_length / config.sample_rate
    playing = (model.voicing, model.rhythm, drift)
    return {
        name: chords.chord_score(notes, predicted, seconds, *playing, style.setting(name, notes)[0]) for name in changes
    }


def scored(piece: Piece, arranged: Score | None, seconds: float) -> tuple[float, float]:
    """(agreement with ``piece``'s harmony, chords struck a beat) of one played ``arranged``."""
    frames = int(seconds / FRAME_SECONDS) + 1
    truth = frame_classes([(start, end, p, 1.0) for start, end, pitches in piece.harmony for p in pitches], frames)
    if arranged is None:
        return float("nan"), 0.0
    notes = [note for stem in ("bass", "other") for note in arranged.parts[stem]]
    mine = frame_classes([(n.start, n.start + n.duration, n.pitch, n.velocity) for n in notes], frames)
    strikes = len({round(note.start, 3) for note in arranged.parts["bass"]})
    return agreement(mine, truth), strikes * piece.beat / seconds


def chorales(folder: str, sample_rate: int) -> Iterator[tuple[Piece, np.ndarray]]:
    """Each dev render of ``folder`` (``render-test.jsonl``): its vocal's first ``CHORALE_SECONDS``
    and the score's lower parts at the render's tempo and key."""
    with open(os.path.join(folder, "render-test.jsonl"), encoding="utf-8") as lines:
        for line in lines:
            track = json.loads(line)
            waveform, rate = soundfile.read(os.path.join(folder, "test", track["track"], "vocals.wav"), dtype="float32")
            if rate != sample_rate:
                raise ValueError(f"{track['track']}: {rate} Hz where the model works at {sample_rate}")
            score, beat = scores.read_score(track["source"]), 60.0 / track["tempo"]
            lower = [note for stem in ("bass", "other") for note in score.parts[stem]]
            harmony = tuple((n.start * beat, (n.start + n.duration) * beat, (n.pitch + track["shift"],)) for n in lower)
            mono = waveform.reshape(len(waveform), -1).mean(axis=1)
            yield Piece(track["track"], (), harmony, beat), mono[: int(CHORALE_SECONDS * rate)]


def written_chords(piece: Piece) -> Score:
    """A lead sheet's chords as a ``chords.chord_score`` plays a chart: each symbol's lowest note's
    class in the bass, all its classes above it under the lowest note sung while it sounds."""
    parts: dict[str, list[Note]] = {"bass": [], "other": []}
    for start, end, pitches in piece.harmony:
        sounding = [note.pitch for note in piece.melody if note.start < end and note.start + note.duration > start]
        harmony = (pitches[0] % SEMITONES, tuple(pitch % SEMITONES for pitch in pitches))
        for stem, pitch, velocity in chords.written(harmony, min(sounding or [REGISTER[1]]), ()):
            parts[stem].append(Note(pitch, start, end - start, velocity))
    return Score(piece.name, {"vocals": piece.melody, "drums": (), **{stem: tuple(n) for stem, n in parts.items()}})


def song_level(path: str, pieces: list[tuple[Piece, np.ndarray]]) -> dict:
    """Per piece: the song chroma (``evaluate.chroma_correlation``, as ``evaluate`` scores a song)
    of the vocal alone and of each of ``SETTINGS``' songs against the vocal with its written chords
    played (``TRUTH_INSTRUMENT``, ``TRUTH_LEVEL_DB``, the dev soundfont)."""
    models = {name: load_model(path, **setting) for name, setting in SETTINGS.items()}
    config = next(iter(models.values())).spectral
    results = {}
    for piece, vocal in pieces:
        written = chords.play(written_chords(piece), vocal, config.sample_rate, render.DEV_SOUNDFONT, TRUTH_INSTRUMENT)
        truth = _magnitude(vocal + written["chords"] * 10 ** ((TRUTH_LEVEL_DB - CHORD_LEVEL_DB) / 20), config)
        songs_of = {"the vocal alone": vocal}
        for name, model in models.items():
            songs_of[name] = generate.generate_song(model, vocal[np.newaxis], config.sample_rate).mix[0]
        results[piece.name] = {
            name: evaluate.chroma_correlation(truth, _magnitude(song, config), config.sample_rate, config.n_fft)
            for name, song in songs_of.items()
        }
        print(piece.name, {name: round(value, 3) for name, value in results[piece.name].items()}, file=sys.stderr)
    return results


def _magnitude(waveform: np.ndarray, config) -> np.ndarray:
    """A mono waveform's magnitude STFT as ``evaluate`` takes it."""
    return np.abs(codec.stft(waveform[np.newaxis].astype(np.float32), config)[0])


def measure(model: ExportedModel, pieces: Iterator[tuple[Piece, np.ndarray]], changes: tuple[str, ...]) -> dict:
    """Per piece and per ``changes``: (agreement, chords a beat)."""
    rate = model.spectral.sample_rate
    results = {}
    for piece, vocal in pieces:
        results[piece.name] = {
            name: scored(piece, arranged, len(vocal) / rate) for name, arranged in played(model, vocal, changes).items()
        }
        print(piece.name, {name: round(value[0], 3) for name, value in results[piece.name].items()}, file=sys.stderr)
    return results


def table(title: str, results: dict, changes: tuple[str, ...]) -> str:
    """Markdown: each ``changes``' mean agreement, paired against the first's, and chords a beat."""
    lines = [f"| {title} ({len(results)}) | agreement with the true harmony | against {changes[0]} | chords a beat |"]
    lines.append("|---|---|---|---|")
    first = np.array([results[piece][changes[0]][0] for piece in results])
    for name in changes:
        values = np.array([results[piece][name] for piece in results])
        pairing = "-" if name == changes[0] else _paired(values[:, 0] - first)
        lines.append(f"| `--changes {name}` | {np.nanmean(values[:, 0]):.3f} | {pairing} | {values[:, 1].mean():.2f} |")
    return "\n".join(lines) + "\n"


def song_table(results: dict) -> str:
    """Markdown: each system's mean song chroma on the songs, paired against the vocal alone."""
    lines = [f"| songs ({len(results)}), song level | song chroma | against the vocal alone |", "|---|---|---|"]
    alone = np.array([results[piece]["the vocal alone"] for piece in results])
    for name in next(iter(results.values())):
        values = np.array([results[piece][name] for piece in results])
        pairing = "-" if name == "the vocal alone" else _paired(values - alone)
        lines.append(f"| {name} | {values.mean():.3f} | {pairing} |")
    return "\n".join(lines) + "\n"


def _paired(gain: np.ndarray) -> str:
    """A paired difference's mean and standard error."""
    return f"{gain.mean():+.3f} (se {gain.std(ddof=1) / np.sqrt(len(gain)):.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=RELEASED_MODEL)
    parser.add_argument("--chorales", default=None, help="the renders of `make model` (data/release/chorales)")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    rate = model.spectral.sample_rate
    pieces = [(piece, sung(piece, rate)) for piece in songs()]
    output = table("songs", measure(model, iter(pieces), CHANGES), CHANGES)
    output += "\n" + song_table(song_level(args.model, pieces))
    if args.chorales:
        dev = measure(model, chorales(args.chorales, rate), CHANGES)
        output += "\n" + table("dev chorales, first 15 s", dev, CHANGES)
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
