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
