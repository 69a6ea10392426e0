"""The sung meter read off note onsets and lengths (vocals2song/meter.py): song.mid's bar lines."""

import numpy as np
import pytest

from vocals2song import meter

MELODIES = {
    "3/4 from the downbeat": ((2, 1, 1, 1, 1, 2, 1, 3, 2, 1, 1, 1, 1, 3), 3, 0.0),
    "4/4 after a one-beat upbeat": ((1, 1, 1, 2, 1, 1, 1, 1, 2, 2, 1, 1, 2, 4), 4, 1.0),
    "4/4 from the downbeat": ((2, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 4), 4, 0.0),
    "4/4 after an eighth upbeat": ((0.5, 1, 1, 2, 1, 1, 1, 1, 2, 2, 1, 1, 2, 4), 4, 0.5),
    "3/4 after a one-beat upbeat": ((1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 3), 3, 1.0),
}
"""name -> (note lengths in beats, beats to a bar, beats from the first onset to the first downbeat)."""


def sung(lengths, period: float, seed: int, drift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Onsets and lengths (seconds) of a melody sung from 0.6 s with a little timing noise, each
    note released a tenth early (a breath), its beat ``drift`` longer with every beat."""
    beats = np.cumsum((0.0, *lengths[:-1]))
    onsets = 0.6 + period * (beats + drift * beats**2 / 2) + np.random.default_rng(seed).normal(0, 0.01, len(beats))
    return onsets, 0.9 * period * np.asarray(lengths, np.float64)


@pytest.mark.parametrize("name", MELODIES)
def test_the_meter_and_the_first_downbeat_are_found_from_where_the_long_notes_fall(name):
    lengths, beats, upbeat = MELODIES[name]
    for seed, period in enumerate((0.55, 0.8, 1.1)):
        onsets, held = sung(lengths, period, seed)
        found = meter.find(onsets, held, period * 1.02)  # a beat found 2% off
        assert found.beats == beats
        assert found.downbeat == pytest.approx(0.6 + upbeat * period, abs=0.15 * period)


def test_too_few_notes_read_as_4_4_after_an_upbeat_and_a_first_bar_runs_to_the_downbeat():
    found = meter.find(np.array([1.0, 1.5, 2.0]), np.array([0.4, 0.4, 0.4]), 0.5)
    assert found == meter.Meter(4, 1.5)
    assert meter.signatures(found, 2) == ((0, 2), (2, 4))
    assert meter.signatures(meter.Meter(3, 0.0), 0) == ((0, 3),)
