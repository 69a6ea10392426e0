"""The sung meter read off note onsets and lengths (vocals2song/meter.py): song.mid's bar lines."""

import concurrent.futures
import multiprocessing
import os

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


def test_a_meter_a_user_writes_keeps_its_beats_and_takes_the_downbeat_from_the_notes():
    """The 3/4 melody after an upbeat: asked for 3 beats, the found downbeat; for 6 (a meter the
    counts do not know), 6 beats from the 3/4 downbeat; for 4, four beats wherever 4/4 fits best."""
    lengths, _, upbeat = MELODIES["3/4 after a one-beat upbeat"]
    onsets, held = sung(lengths, 0.8, 0)
    assert meter.find(onsets, held, 0.8, beats=3) == meter.find(onsets, held, 0.8)
    six = meter.find(onsets, held, 0.8, beats=6)
    assert six.beats == 6 and six.downbeat == pytest.approx(0.6 + upbeat * 0.8, abs=0.12)
    assert meter.find(onsets, held, 0.8, beats=4).beats == 4
    assert meter.find(onsets[:3], held[:3], 0.8, beats=3).beats == 3


def test_too_few_notes_read_as_4_4_after_an_upbeat_and_a_first_bar_runs_to_the_downbeat():
    found = meter.find(np.array([1.0, 1.5, 2.0]), np.array([0.4, 0.4, 0.4]), 0.5)
    assert found == meter.Meter(4, 1.5)
    assert meter.signatures(found, 2) == ((0, 2), (2, 4))
    assert meter.signatures(meter.Meter(3, 0.0), 0) == ((0, 3),)


def test_counting_merges_repeated_notes_and_skips_other_meters():
    """Two 3/4 melodies from the downbeat, half then quarter, the second repeating a pitch (two
    quarters that sound as one half note): every long note is counted on beat 1; one in a bar of
    six quarters (12/8) is not counted at all."""
    half_quarter = [(3.0 * bar, 2.0, 60) for bar in range(4)] + [(3.0 * bar + 2, 1.0, 62) for bar in range(4)]
    repeated = [(0.0, 1.0, 64), (1.0, 1.0, 64), (2.0, 1.0, 65), (3.0, 3.0, 67)]
    shares, openings = meter.count([(half_quarter, (3.0, 0.0)), (repeated, (3.0, 0.0)), (half_quarter, (6.0, 0.0))])
    long_on_one = shares[3][0][2] + shares[3][0][3]
    assert long_on_one > 5 * max(shares[3][row][kind] for row in (1, 2, 3) for kind in (2, 3))
    assert shares[3][2][1] > shares[3][1][1]  # the quarters on beat 3; the merged repeat leaves beat 2 empty
    assert openings[(3, 0)] == round(2.5 / 5.5, 3)  # two openings of seven kinds (halves smooth): the 12/8 left out
    assert sum(openings.values()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
def test_the_shipped_counts_are_the_training_chorales_counts():
    """SHARES and OPENINGS are what ``count`` makes of the training chorales (music21's Bach
    entries [0, 373) but every tenth from the fifth: the dev list's complement)."""
    from vocals2song import scores

    paths = [path for index, path in enumerate(scores.bach_sources(0, 373)) if index % 10 != 5]
    melodies = []
    # music21 parses on one core; spawned workers (not forked from a process running TensorFlow)
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count(), mp_context=spawn) as pool:
        parsed = list(pool.map(scores.read_score, paths, chunksize=16))
    for score in parsed:
        if score.meter:
            melodies.append(([(n.start, n.duration, n.pitch) for n in score.parts["vocals"]], score.meter))
    assert len(melodies) > 300
    assert meter.count(melodies) == (meter.SHARES, meter.OPENINGS)
