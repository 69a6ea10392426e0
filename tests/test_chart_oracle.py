"""The right-chart benchmark's chart reading (benchmarks/chart_oracle.py): the triads a singer who
knows the chords would write, read off a true accompaniment's chroma on the take's bars. Its audio
half plays them through the released model and needs the release renders; `make chart-oracle`
runs it, not here."""

import numpy as np
import pytest
from test_chart import FRAME, _four_bars

from benchmarks import chart_oracle
from trainer import chords

MAJOR = {"C": (0, 4, 7), "F": (5, 9, 0), "G": (7, 11, 2), "Am": (9, 0, 4)}


def _chroma(beats: list[str], frames_a_beat: int = 25) -> np.ndarray:
    """A true accompaniment's chroma ``(12, frames)`` sounding one triad a beat, with a little noise."""
    columns = []
    for name in beats:
        column = np.full(12, 0.05)
        column[list(MAJOR[name])] = 1.0
        columns += [column] * frames_a_beat
    return np.stack(columns, axis=1) + np.random.default_rng(0).uniform(0, 0.02, (12, len(columns)))


def test_a_truth_chart_holds_the_triads_the_accompaniment_sounds_at_each_resolution():
    """Four bars of 4/4 at 120 a minute over C C F G | Am Am F G | C C C C | G C C C: a triad a
    beat reads them back; a half bar each half's (a tie goes to either chord sounding in it); a
    bar the one that sounds longest in it."""
    notes, _ = _four_bars()
    sung = chords.sung_notes(notes, FRAME)
    beats = "C C F G Am Am F G C C C C G C C C".split()
    truth = _chroma(beats)
    by_beat = chart_oracle.truth_chart(sung, truth, FRAME, "beat")
    assert [tuple(chord[1] for chord in bar) for bar in by_beat.bars] == [
        tuple(MAJOR[name] for name in beats[k : k + 4]) for k in range(0, 16, 4)
    ]
    by_bar = chart_oracle.truth_chart(sung, truth, FRAME, "bar")
    assert [bar[0][1] for bar in by_bar.bars] == [MAJOR["C"], MAJOR["Am"], MAJOR["C"], MAJOR["C"]]
    by_half = chart_oracle.truth_chart(sung, truth, FRAME, "half")
    assert [len(bar) for bar in by_half.bars] == [2, 2, 2, 2] and by_half.bars[1][0][1] == MAJOR["Am"]
    assert by_half.bars[2] == (by_beat.bars[2][0],) * 2


def test_a_stretch_past_the_accompaniments_end_repeats_the_chord_before():
    notes, _ = _four_bars()
    short = _chroma("C C F G Am Am".split())  # six beats of chroma under a sixteen-beat take
    charted = chart_oracle.truth_chart(chords.sung_notes(notes, FRAME), short, FRAME, "beat")
    assert [chord[1] for chord in charted.bars[1]] == [MAJOR["Am"]] * 4 and charted.bars[3][3][1] == MAJOR["Am"]


@pytest.mark.parametrize("ahead", [True, False])
def test_the_table_pairs_each_resolution_with_the_released_model(ahead):
    """Per-track song chroma differences against the released metrics: mean, standard error and
    how many tracks are ahead, in the table's last column."""

    def metrics(values):
        tracks = {f"t{i}": {"model": {"song": {"chroma": v}}} for i, v in enumerate(values)}
        song = {"chroma": np.mean(values), "lsd_db": 16.0}
        overall = {"model": {"song": song, "accompaniment": {"frame_excess_db": -7.0}}}
        return {"tracks": tracks, "overall": {**overall, "silence": {"song": {"chroma": 0.4}}}}

    released = metrics([0.5, 0.6, 0.7])
    other = metrics([0.6, 0.6, 0.9] if ahead else [0.4, 0.5, 0.6])
    mean, error, count = chart_oracle.paired(other, released)
    assert mean == pytest.approx(0.1 if ahead else -0.1) and count == (2 if ahead else 0) and error >= 0
    assert f"{mean:+.3f} (se {error:.3f}), ahead on {count} of 3 |" in chart_oracle.table({"beat": other}, released)
