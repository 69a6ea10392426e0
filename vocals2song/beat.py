"""The beat of a sung melody, read off its note onsets: the tempo ``song.mid`` is written at, so a
sequencer's grid follows the singer.

Sung notes are mostly one beat long, some half or twice that, a few dotted: a beat period P
explains the gaps between onsets when each is near one of those multiples of P. The period is the
one of a log-spaced grid of candidates (46-133 beats a minute) that scores best, each gap counting
by how near (Gaussian in octaves) it is to a multiple of P, weighted by how common that multiple
is; then the onsets are fitted to the half-beat grid it implies, whose parity that puts most
onsets on a beat gives the beats' phase. On the dev chorales' takes (their first 15 s,
transcribed; the renders' tempo is known) 86% of estimates are within 3% of the true tempo, 92%
within 6%, none an octave off (docs/model-notes.md, "Chords a listener can stand"). A file opens
with a lead of one or two beats up to the first sung beat, so its beats are the sung ones. Only
the grid depends on all this: a note's time in seconds does not.
"""

from __future__ import annotations

import dataclasses

import numpy as np

MULTIPLES = {1.0: 1.0, 0.5: 0.8, 2.0: 0.8, 1.5: 0.5, 3.0: 0.5, 4.0: 0.4, 0.75: 0.3}
"""Gap between two onsets in beats -> how much a gap that long counts (beats first, then halves
and doubles, then dotted values)."""
PERIODS = np.exp(np.linspace(np.log(0.45), np.log(1.3), 600))
"""Candidate beat periods, seconds: 133 to 46 beats a minute."""
SPREAD_OCTAVES = 0.05
SHORTEST_GAP = 0.1
"""Seconds: closer onsets are a split note, not a rhythm."""
MIN_ONSETS = 4
ON_THE_GRID = 0.02
"""A beat this close to a file's start (in beats) is taken to be on it: no lead tempo."""


@dataclasses.dataclass(frozen=True)
class Beat:
    """A sung beat: its ``period`` and the time of one of its beats (``first``, at or before the
    first onset), both in seconds."""

    period: float
    first: float

    @property
    def lead(self) -> tuple[float, int]:
        """(seconds, beats) of a file's opening before the first sung beat at or after 0: that
        beat's time, counted as one beat (two when it comes in less than half a beat), so a
        sequencer's grid falls on the sung beats after it at a lead tempo at most twice the beat's.
        (0, 0) when a beat falls within ``ON_THE_GRID`` of 0."""
        seconds = self.first % self.period
        if min(seconds, self.period - seconds) < ON_THE_GRID * self.period:
            return 0.0, 0
        return (seconds, 1) if seconds >= self.period / 2 else (seconds + self.period, 2)

    def beats(self, seconds: float) -> float:
        """Where a time in the take falls in a file written at ``tempi``, in beats."""
        lead, counted = self.lead
        if seconds < lead:
            return seconds / lead * counted
        return counted + (seconds - lead) / self.period

    def tempi(self) -> tuple[tuple[float, float], ...]:
        """The file's tempo map, (beat, beats a minute): the lead's tempo, then the beat's."""
        lead, counted = self.lead
        steady = 60.0 / self.period
        return ((0.0, 60.0 * counted / lead), (float(counted), steady)) if counted else ((0.0, steady),)

    def times(self, start: float, end: float) -> np.ndarray:
        """The beats strictly between ``start`` and ``end`` (seconds)."""
        first = np.floor((start - self.first) / self.period) + 1
        beats = self.first + self.period * np.arange(first, np.ceil((end - self.first) / self.period))
        return beats[(beats > start) & (beats < end)]


def find(onsets: np.ndarray, default: float = 1.0) -> Beat:
    """The beat of a melody whose notes start at ``onsets`` (seconds, ascending); a ``default``
    second period from the first onset when there are fewer than ``MIN_ONSETS`` notes to tell."""
    onsets = np.asarray(onsets, np.float64)
    gaps = np.diff(onsets)
    gaps = gaps[gaps > SHORTEST_GAP]
    origin = float(onsets[0]) if len(onsets) else 0.0
    if len(gaps) < MIN_ONSETS - 1:
        return Beat(default, origin)
    coarse = float(PERIODS[np.argmax(_fit(gaps))])
    halves = np.round((onsets - onsets[0]) / (coarse / 2))
    if np.ptp(halves) == 0:
        return Beat(coarse, origin)
    slope, intercept = np.polyfit(halves, onsets, 1)
    on_the_beat = int(np.sum(halves % 2 == 1) > np.sum(halves % 2 == 0))  # most notes start on a beat
    first = intercept + on_the_beat * slope
    return Beat(float(2 * slope), float(first - 2 * slope * np.ceil((first - onsets[0]) / (2 * slope))))


def _fit(gaps: np.ndarray) -> np.ndarray:
    """How well each of ``PERIODS`` explains the gaps between onsets (higher is better)."""
    ratios = np.log2(gaps[None, :] / PERIODS[:, None])
    return sum(
        w * np.exp(-np.square(ratios - np.log2(m)) / (2 * SPREAD_OCTAVES**2)).sum(axis=1) for m, w in MULTIPLES.items()
    )
