"""Hymn or song: how often a take's chords should change, read from its transcribed melody.

The harmoniser learnt Bach's chorales, which change chord under nearly every melody note; a song's
lead sheet changes once a bar or two, and under a song the chorales' setting lowered the song's
agreement with its written chords below the vocal alone's (docs/model-notes.md, "Songs"). Which of
the two a take is, is not in its rhythm (both move mostly in quarters) nor in how much of a bar one
triad covers; it is in how the melody moves: a chorale's soprano moves by step, a song's melody
leaps along its chords' notes. One number, the share of moves by step, with one threshold taken
from the training chorales (``SONG_STEP_SHARE``), reads 14 of 21 dev songs as songs and 1 of 37
dev chorales (docs/model-notes.md, "Hymn or song")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainer.config import CHANGES, MIN_MOVES, PLAYED_CHANGES, SONG_CHANGES, SONG_STEP_SHARE
from vocals2song import flags
from vocals2song.melody import MelodyNote

STEP = 2
"""The largest move, in semitones, that counts as a step (a whole tone)."""
CHARTED = "chart"
"""``Song.changes`` when a user's chart, not ``--changes``, says where the chords change."""
SAID = {
    "beat": "with each sung note, once a beat under quicker ones",
    "note": "with each sung note",
    "half": "each half bar",
    "bar": "each bar",
    CHARTED: "where the chart's do",
}
"""How often the played chords changed, as ``generate`` and the page say it."""
READ_AS = {
    "beat": "the melody moves by step, as a hymn's does",
    "bar": "the melody leaps along its chords, as a song's does, so they play alone",
}
"""What ``--changes auto`` read a take as, said the same way."""


def step_share(notes: Sequence[MelodyNote]) -> float | None:
    """The share of the melody's moves (pitch changes from one note to the next; a repeated note
    is no move) of at most ``STEP`` semitones; None for fewer than ``MIN_MOVES`` moves."""
    moves = np.diff([note.pitch for note in notes])
    moves = np.abs(moves[moves != 0])
    return float(np.mean(moves <= STEP)) if len(moves) >= MIN_MOVES else None


def reads_as_song(notes: Sequence[MelodyNote]) -> bool:
    """Whether the melody moves by step less than a chorale's does (``SONG_STEP_SHARE``)."""
    share = step_share(notes)
    return share is not None and share < SONG_STEP_SHARE


def setting(changes: str, notes: Sequence[MelodyNote]) -> tuple[str, bool]:
    """(the harmonic rhythm to play, whether the chords play alone) for a take whose melody is
    ``notes``: ``changes`` itself when it names one (the chords as ``--chords`` says); for "auto",
    ``SONG_CHANGES`` played alone when the take reads as a song, else the chorales' "beat"."""
    if flags.check_choice("changes", changes, CHANGES) != "auto":
        return changes, False
    return (SONG_CHANGES, True) if reads_as_song(notes) else (PLAYED_CHANGES[0], False)


def described(changes: str, auto: bool) -> str:
    """How often a song's chords changed (``Song.changes``), in words; with ``--changes auto``
    (``auto``), what the take was read as."""
    read = f" (auto: {READ_AS[changes]})" if auto and changes in READ_AS else ""
    return SAID[changes] + read
