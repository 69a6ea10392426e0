"""The meter of a sung melody (beats to a bar, and when the first bar starts), read off its
notes' onsets and lengths: where ``song.mid`` draws its bar lines.

Long notes fall on strong beats: in the 336 training chorales a note of one and a half beats or
more starts on beat 1 or 3 of a 4/4 bar six times as often as on beat 2 or 4, and on beat 1 of a
3/4 bar four times as often as on the other two together. ``SHARES`` holds, for each meter, how
often a note starts at each beat of the bar (or between beats) with each length, counted on those
chorales with repeated notes merged as the transcriber merges them; ``OPENINGS`` how often a
melody opens on each beat (most chorales open with a one-beat upbeat in 4/4). The meter and
opening under which a melody is likeliest win. Places in the bar come from the gaps between
onsets rounded to half beats (``beat.places``), so a take whose tempo drifts keeps its bar
lines. On the 34 dev chorales in 4/4 or 3/4, transcribed from their whole takes, 79% get both
the meter and the downbeat (74% from their first 15 s), where always guessing 4/4 with an
upbeat gets 68% (docs/model-notes.md, "Bar lines"). ``count`` counts them on the training
scores (entries ``[0, 373)`` of music21's Bach corpus but every tenth from the fifth, the dev
list's complement; never the dev or the reserved ones), and a test recounts them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vocals2song import beat

LENGTHS = (0.75, 1.4, 2.6)
"""Beats: the edges of a note's length class (short, one beat, two, longer)."""
SHARES = {
    4: ((0.022, 0.127, 0.083, 0.029), (0.02, 0.142, 0.008, 0.002), (0.023, 0.134, 0.078, 0.008),
        (0.028, 0.146, 0.016, 0.008), (0.112, 0.001, 0.01, 0.002)),
    3: ((0.013, 0.111, 0.194, 0.136), (0.016, 0.068, 0.052, 0.001), (0.024, 0.248, 0.014, 0.014),
        (0.094, 0.001, 0.009, 0.004)),
}  # fmt: skip
"""Beats to a bar -> share of notes starting at each beat of the bar (then between beats), by
length class (``LENGTHS``)."""
OPENINGS = {(4, 0): 0.244, (4, 1): 0.001, (4, 2): 0.007, (4, 3): 0.636, (3, 0): 0.073, (3, 1): 0.001, (3, 2): 0.037}
"""(beats to a bar, the bar's beat the first note falls on or after, from 0) -> share of melodies."""
MIN_NOTES = 4


@dataclasses.dataclass(frozen=True)
class Meter:
    """``beats`` to a bar, the first of them sounding at ``downbeat`` seconds."""

    beats: int
    downbeat: float


def find(onsets: np.ndarray, lengths: np.ndarray, period: float, beats: int | None = None) -> Meter:
    """The likeliest meter of notes starting at ``onsets`` and lasting ``lengths`` (seconds) at a
    beat of ``period`` seconds; 4/4 with an upbeat (the commonest) when there are fewer than
    ``MIN_NOTES``. ``beats``, when a user wrote the meter (a chord chart's), fixes the beats to a
    bar and leaves the downbeat to the notes: the likeliest under it where ``SHARES`` knows it,
    else the one the likeliest meter reads (a 2/4 or 6/4 bar line falls on a 4/4 or 3/4 one)."""
    places = beat.places(onsets, period)
    beat_zero = float(onsets[0]) - places[0] * period
    if len(onsets) < MIN_NOTES:
        return Meter(beats or 4, beat_zero + period)
    kinds = np.searchsorted(LENGTHS, np.asarray(lengths, np.float64) / period)
    on_a_beat = places == np.round(places)
    openings = [opening for opening in OPENINGS if opening[0] == beats] or list(OPENINGS)
    bar, first = max(openings, key=lambda opening: _log_likelihood(opening, places, kinds, on_a_beat))
    return Meter(beats or bar, beat_zero + (bar - first) % bar * period)


def _log_likelihood(opening: tuple[int, int], places: np.ndarray, kinds: np.ndarray, on_a_beat: np.ndarray) -> float:
    """log P(opening) + the sum over notes of log P(place in the bar, length class | meter)."""
    beats, first = opening
    shares = np.log(np.asarray(SHARES[beats]))
    rows = np.where(on_a_beat, (places.astype(int) + first) % beats, beats)
    return float(np.log(OPENINGS[opening]) + shares[rows, kinds].sum())


def signatures(meter: Meter, downbeat: int) -> tuple[tuple[int, int], ...]:
    """A file's time signatures as (beat, beats to a bar) in quarter-note beats, for a first
    downbeat ``downbeat`` beats into it: a short first bar up to it (the upbeat and any lead),
    then the meter's."""
    if downbeat <= 0:
        return ((0, meter.beats),)
    return ((0, downbeat), (downbeat, meter.beats))


def bar_starts(signatures: tuple[tuple[int, int], ...], until: float) -> list[float]:
    """The beats at which a file's bars start, from its ``signatures`` (see ``signatures``), up to
    and including the bar that holds beat ``until``."""
    starts = [float(at) for at, _ in signatures[:-1]]
    last, beats = signatures[-1]
    return starts + [float(last + beats * k) for k in range(int((until - last) // beats) + 1)]


def count(melodies: list[tuple[list[tuple[float, float, int]], tuple[float, float]]]) -> tuple[dict, dict]:
    """``SHARES`` and ``OPENINGS`` counted on written melodies: each (its notes as (start,
    length, pitch) in quarter notes, its meter as (quarters to a bar, quarters to the first
    downbeat)), those with bars of three or four quarter notes only. Repeated notes are merged
    as the transcriber merges them; each share is smoothed (add one), each opening's count by
    half."""
    notes_at: dict[tuple[int, int, int], int] = {}
    openings = dict.fromkeys(OPENINGS, 0)
    for notes, (bar, downbeat) in melodies:
        beats = round(bar)
        if bar != beats or beats not in SHARES:
            continue
        first = round(-downbeat) % beats
        openings[(beats, first)] += 1
        for start, length in _merged(notes):
            place = start + first
            row = round(place) % beats if abs(place - round(place)) <= 0.1 else beats
            key = (beats, row, int(np.searchsorted(LENGTHS, length)))
            notes_at[key] = notes_at.get(key, 0) + 1
    total = sum(openings.values())
    shared = {beats: _smoothed(notes_at, beats) for beats in SHARES}
    return shared, {key: round((n + 0.5) / (total + 0.5 * len(openings)), 3) for key, n in openings.items()}


def _merged(notes: list[tuple[float, float, int]]) -> list[tuple[float, float]]:
    """(start, length) of ``notes``, a note that repeats the pitch of the one it follows at once
    folded into it."""
    merged: list[list[float]] = []
    for start, length, pitch in sorted(notes):
        if merged and merged[-1][2] == pitch and abs(merged[-1][0] + merged[-1][1] - start) < 1e-6:
            merged[-1][1] += length
        else:
            merged.append([start, length, pitch])
    return [(start, length) for start, length, _ in merged]


def _smoothed(notes_at: dict[tuple[int, int, int], int], beats: int) -> tuple[tuple[float, ...], ...]:
    """P(place, length class | meter) for one meter: P(length | place) times P(place), each with
    one added to every count."""
    kinds = len(LENGTHS) + 1
    rows = [[notes_at.get((beats, row, kind), 0) for kind in range(kinds)] for row in range(beats + 1)]
    total = sum(map(sum, rows))
    return tuple(
        tuple(round((n + 1) / (sum(row) + kinds) * (sum(row) + 1) / (total + beats + 1), 3) for n in row)
        for row in rows
    )
