"""The sung beat read off note onsets (vocals2song/beat.py), the tempo song.mid is written at."""

import numpy as np
import pytest

from vocals2song import beat

BEATS = (1.0, 1.0, 0.5, 0.5, 1.0, 2.0, 1.0, 1.5, 0.5, 1.0, 1.0, 3.0, 1.0, 0.5, 0.5, 2.0)
"""A chorale-like rhythm in beats: mostly quarters, some eighths, halves, a dotted quarter and half."""


@pytest.mark.parametrize("bpm", [50, 63, 75, 92, 120])
def test_the_beat_of_a_chorale_like_rhythm_is_found_within_two_percent_without_octave_errors(bpm):
    rng = np.random.default_rng(bpm)
    onsets = np.cumsum((0.0, *BEATS[:-1])) * 60.0 / bpm + rng.normal(0.0, 0.012, len(BEATS))  # a sung timing
    onsets = 0.7 + np.sort(onsets)  # the take starts after a breath
    assert beat.beat_seconds(onsets) == pytest.approx(60.0 / bpm, rel=0.02)


def test_a_melody_in_even_quarters_reads_as_its_quarters_and_too_few_notes_as_the_default():
    assert beat.beat_seconds(np.arange(8) * 0.8) == pytest.approx(0.8, rel=0.01)
    assert beat.beat_seconds(np.array([0.0, 0.8, 1.6]), default=1.0) == 1.0
    assert beat.beat_seconds(np.array([0.0, 0.05, 0.1, 0.15, 0.9]), default=1.0) == 1.0  # split notes, one gap


@pytest.mark.parametrize("bpm", [63, 92])
def test_the_beats_fall_where_the_sung_quarters_start_even_when_the_take_opens_on_an_upbeat(bpm):
    period = 60.0 / bpm
    onsets = 1.3 + np.cumsum((0.0, 0.5, *BEATS[:-1])) * period  # an eighth-note pickup, then the rhythm
    clock = beat.follow(onsets, beat.beat_seconds(onsets))
    assert clock.beats(onsets[0]) % 1.0 == pytest.approx(0.5, abs=0.05)  # the pickup, half a beat in
    on_beats = onsets[1:][np.isin(np.cumsum((0.0, *BEATS[:-1])) % 1.0, 0.0)]  # the notes that start a beat
    in_file = np.array([clock.beats(t) for t in on_beats])
    assert np.abs(in_file - np.round(in_file)).max() < 0.05
    between = clock.between(onsets[1], onsets[1] + 4.5 * period)
    assert np.allclose(between - onsets[1], period * np.arange(1, 5), atol=0.01)  # +1..+4 beats, not the start
    assert len(clock.between(onsets[1], onsets[1] + 4.5 * period, margin=0.6)) == 3  # +4 is within 0.6 of the end
    halves = clock.between(onsets[1], onsets[1] + 4.5 * period, per_beat=2)  # +0.5 .. +4 beats
    assert np.allclose(halves - onsets[1], period * np.arange(1, 9) / 2, atol=0.01)


@pytest.mark.parametrize(
    ("first", "lead", "lead_tempo"),
    [
        (0.5, (0.5, 1), 120.0),  # more than half a beat in: one lead beat
        (0.07, (0.07, 1), 60.0 / 0.07),  # less: one short beat, so the first sung beat is on the grid
        (-0.3, (0.5, 1), 120.0),  # a beat before the file starts: the next one counts
        (0.83, (0.0, 0), 60.0 / 0.83),  # within ON_THE_GRID: on the grid already, its first beat 0.83 s
    ],
)
def test_a_files_beats_fall_on_the_sung_ones_after_a_lead_of_one_beat(first, lead, lead_tempo):
    """Quarters at 75 a minute whose beat falls at ``first``: the file opens with ``lead``
    (seconds, beats) at ``lead_tempo``, then every sung beat from the first is one of its beats."""
    assert beat.lead(first, 0.8) == pytest.approx(lead)
    onsets = first + 0.8 * np.arange(1 if first < 0 else 0, 10)
    clock = beat.follow(onsets, 0.8)
    in_file = np.array([clock.beats(t) for t in onsets if t >= lead[0]])
    assert np.allclose(in_file, np.round(in_file), atol=0.01) and np.allclose(np.diff(in_file), 1.0)
    assert clock.tempi()[0][1] == pytest.approx(lead_tempo, rel=0.02)
    assert clock.tempi()[-1][1] == pytest.approx(75.0)


def test_a_followed_clock_keeps_a_drifting_take_on_the_files_beats_where_one_tempo_loses_them():
    """A take in quarters after an eighth upbeat and 1.3 s of silence whose beat slows by 3% over
    60 beats (a singer's drift), sung with a little timing noise: pinned to the sung onsets, every
    quarter lands on a whole beat of the file and the upbeat on a half one; one tempo for the whole
    take puts the late quarters between beats."""
    beats = np.arange(61.0)
    onsets = 1.3 + 0.75 * (np.concatenate([[-0.5], beats]) + 0.0005 * np.concatenate([[0.0], beats**2]))
    onsets += np.random.default_rng(0).normal(0.0, 0.01, len(onsets))
    assert np.array_equal(beat.places(onsets, 0.75), np.concatenate([[0.5], beats + 1]))
    clock = beat.follow(onsets, beat.beat_seconds(onsets))
    in_file = np.array([clock.beats(t) for t in onsets])
    assert np.abs(in_file[1:] - np.round(in_file[1:])).max() < 0.1
    assert abs(in_file[0] % 1 - 0.5) < 0.1 and np.all(np.diff(np.round(in_file[1:])) == 1)
    lead_tempo, sung_tempo = clock.tempi()[0][1], clock.tempi()[2][1]
    assert 0 < lead_tempo <= 2 * sung_tempo and 70 < sung_tempo < 90
    late = (onsets[-10:] - onsets[1]) / beat.beat_seconds(onsets)  # on a grid of one tempo from the first beat
    assert np.abs(late - np.round(late)).max() > 0.2
