"""The beat of a sung melody, read off its note onsets: the tempo ``song.mid`` is written at, so a
sequencer's grid follows the singer.

Sung notes are mostly one beat long, some half or twice that, a few dotted: a beat period P
explains the gaps between onsets when each is near one of those multiples of P. The period is the
one of a log-spaced grid of candidates (46-133 beats a minute) that scores best, each gap counting
by how near (Gaussian in octaves) it is to a multiple of P, weighted by how common that multiple
is; then the onsets are fitted to the half-beat grid it implies. On the dev chorales' takes
(their first 15 s, transcribed; the renders' tempo is known) 86% of estimates are within 3% of
the true tempo, 92% within 6%, none an octave off (docs/model-notes.md, "Chords a listener can
stand"). The beats themselves follow the singer (``follow``): counted from the gaps between
onsets at that tempo (half a beat off when that puts more onsets on a beat: an eighth-note
upbeat), opening with a lead of one beat up to the first sung beat, then pinned to the
sung onsets, so they stay the sung ones over a whole take (on the dev takes 87% of onsets within
0.1 beat of ``song.mid``'s half-beat grid, 61% at one tempo; "Bar lines"); the chords'
re-strikes (``--rhythm beat``) fall on them too. Only the grid depends on all this: a note's
time in seconds does not.
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
ON_THE_GRID = 0.05
"""A beat this close to a file's start (in beats) is taken to be on it: no lead, so no lead
tempo more than 1 / ON_THE_GRID times the beat's."""
ANCHOR_BEATS = 2.0
"""A followed clock (``follow``) is pinned to a sung onset at most every this many beats."""


def lead(first: float, period: float) -> tuple[float, int]:
    """(seconds, beats) of a file's opening before the first sung beat at or after 0, for sung
    beats ``period`` seconds apart, one of them at ``first``: that beat's time, counted as one
    beat, so the file's beat 1 is that sung beat and a sequencer's grid falls on every sung beat
    (the lead's tempo is the beat's times ``period / seconds``: up to ``1 / ON_THE_GRID``). (0, 0)
    when a beat falls within ``ON_THE_GRID`` of 0. A lead of two beats at most twice the tempo
    put the first sung beat between grid lines whenever it came in less than half a beat: 17 of
    the 37 dev takes (docs/model-notes.md, "Bar lines")."""
    seconds = first % period
    if min(seconds, period - seconds) < ON_THE_GRID * period:
        return 0.0, 0
    return seconds, 1


def beat_seconds(onsets: np.ndarray, default: float = 1.0) -> float:
    """The beat period in seconds of a melody whose notes start at ``onsets`` (seconds,
    ascending); ``default`` when there are fewer than ``MIN_ONSETS`` notes to tell."""
    onsets = np.asarray(onsets, np.float64)
    gaps = np.diff(onsets)
    gaps = gaps[gaps > SHORTEST_GAP]
    if len(gaps) < MIN_ONSETS - 1:
        return default
    coarse = float(PERIODS[np.argmax(_fit(gaps))])
    halves = np.round((onsets - onsets[0]) / (coarse / 2))
    if np.ptp(halves) == 0:
        return coarse
    return float(2 * np.polyfit(halves, onsets, 1)[0])


def _fit(gaps: np.ndarray) -> np.ndarray:
    """How well each of ``PERIODS`` explains the gaps between onsets (higher is better)."""
    ratios = np.log2(gaps[None, :] / PERIODS[:, None])
    return sum(
        w * np.exp(-np.square(ratios - np.log2(m)) / (2 * SPREAD_OCTAVES**2)).sum(axis=1) for m, w in MULTIPLES.items()
    )


def places(onsets: np.ndarray, period: float) -> np.ndarray:
    """Each onset's place in beats from the beat at or just before the first onset: the gaps
    between onsets rounded to half beats (so a slight drift in tempo does not move later notes
    off the beat), shifted by half a beat when that puts more of them on a beat (an eighth-note
    upbeat)."""
    gaps = np.round(np.diff(np.asarray(onsets, np.float64)) / period * 2) / 2
    placed = np.concatenate([[0.0], np.cumsum(gaps)])
    return placed + 0.5 if np.mean(placed == np.round(placed)) < 0.5 else placed


@dataclasses.dataclass(frozen=True)
class Clock:
    """A file's beats pinned to the sung ones: ``times`` (seconds) sound at ``beats`` (both
    increasing), linearly between them and at the last step's tempo after them."""

    times: tuple[float, ...]
    beats_at: tuple[float, ...]

    def beats(self, seconds: float) -> float:
        """Where a time in the take falls in the file, in beats."""
        if seconds <= self.times[-1]:
            return float(np.interp(seconds, self.times, self.beats_at))
        slope = (self.beats_at[-1] - self.beats_at[-2]) / (self.times[-1] - self.times[-2])
        return self.beats_at[-1] + (seconds - self.times[-1]) * slope

    def seconds(self, beats: float) -> float:
        """When a beat of the file sounds in the take (``beats`` the other way round)."""
        if beats <= self.beats_at[-1]:
            return float(np.interp(beats, self.beats_at, self.times))
        slope = (self.times[-1] - self.times[-2]) / (self.beats_at[-1] - self.beats_at[-2])
        return self.times[-1] + (beats - self.beats_at[-1]) * slope

    def between(self, start: float, end: float, margin: float = 0.0, per_beat: int = 1) -> np.ndarray:
        """The file's whole beats (or ``per_beat`` steps a beat: 2 for half beats) more than
        ``margin`` beats after ``start`` and before ``end`` (seconds), in seconds."""
        low, high = (self.beats(start) + margin) * per_beat, (self.beats(end) - margin) * per_beat
        return np.array([self.seconds(at / per_beat) for at in np.arange(np.floor(low) + 1, np.ceil(high))])

    def tempi(self) -> tuple[tuple[float, float], ...]:
        """The file's tempo map, (beat, beats a minute): one step per pair of pins."""
        steps = zip(self.times, self.times[1:], self.beats_at, self.beats_at[1:], strict=False)
        return tuple((b0, round(60.0 * (b1 - b0) / (t1 - t0), 3)) for t0, t1, b0, b1 in steps)


def follow(onsets: np.ndarray, period: float) -> Clock:
    """A clock that keeps a take's sung beats on the file's whole beats however the tempo drifts:
    the beats counted from the gaps between onsets (``places``), the file opening with a lead up
    to the first of them (``lead``), then pinned to every sung onset that falls on a beat at
    least ``ANCHOR_BEATS`` after the last pin. A tempo read once for a whole take drifts a beat
    off within a minute when it is 2% out; pinned, it cannot."""
    onsets = np.asarray(onsets, np.float64)
    placed = places(onsets, period)
    start = onsets[0] - placed[0] * period  # the sung beat at or just before the first onset
    opening, counted = lead(start, period)
    first = counted + round((start - opening) / period)  # that beat's place in the file
    times, beats_at = ([0.0, opening], [0.0, float(counted)]) if counted else ([0.0], [0.0])
    for time, place in zip(onsets, placed + first, strict=True):
        far_enough = place >= beats_at[-1] + (ANCHOR_BEATS if len(times) > 2 else 0.5)
        if place == round(place) and far_enough and time > times[-1]:
            times.append(float(time))
            beats_at.append(float(place))
    if len(times) < 2:
        times, beats_at = [0.0, period], [0.0, 1.0]
    return Clock(tuple(times), tuple(beats_at))
