"""The composer's-alternative benchmark's symbolic half: finding a tune's other settings and
moving one onto the tune's key and time line (benchmarks/ceiling.py). Its audio half renders
with FluidSynth and needs the release renders; it is run by `make ceiling`, not here."""

from benchmarks import ceiling
from vocals2song.scores import Note, Score

TUNE = (60, 62, 64, 65, 67, 65, 64, 62, 60)  # C D E F G F E D C


def setting(name, melody, starts, bass, other, shift=0):
    """A four-part score: ``melody`` at ``starts`` (each note lasting until the next), one bass
    and one inner note under each melody note; everything transposed by ``shift``."""
    ends = [*starts[1:], starts[-1] + 1.0]
    parts = {
        "vocals": tuple(Note(p + shift, s, e - s) for p, s, e in zip(melody, starts, ends, strict=True)),
        "bass": tuple(Note(p + shift, s, e - s) for p, s, e in zip(bass, starts, ends, strict=True)),
        "other": tuple(Note(p + shift, s, e - s) for p, s, e in zip(other, starts, ends, strict=True)),
        "drums": (),
    }
    return Score(name, parts)


QUARTERS = [float(i) for i in range(len(TUNE))]
HALVES = [2.0 * i for i in range(len(TUNE))]
OWN_BASS, OWN_INNER = (48, 43, 48, 41, 43, 50, 48, 43, 36), (55, 55, 55, 57, 59, 57, 55, 55, 52)
OTHER_BASS, OTHER_INNER = (45, 47, 43, 50, 47, 38, 45, 41, 48), (57, 57, 60, 57, 62, 60, 60, 57, 55)


def test_another_setting_in_another_key_and_rhythm_is_the_same_tune_and_an_unrelated_one_is_not():
    tune = setting("tune", TUNE, QUARTERS, OWN_BASS, OWN_INNER)
    other = setting("other", TUNE, HALVES, OTHER_BASS, OTHER_INNER, shift=5)
    unrelated = setting("unrelated", (60, 67, 60, 67, 72, 71, 69, 67, 72), QUARTERS, OWN_BASS, OWN_INNER)
    assert ceiling.same_tune(other, tune)
    assert not ceiling.same_tune(unrelated, tune)


def test_an_aligned_setting_sounds_in_the_tunes_key_at_its_times_over_its_soprano():
    tune = setting("tune", TUNE, QUARTERS, OWN_BASS, OWN_INNER)
    other = setting("other", TUNE, HALVES, OTHER_BASS, OTHER_INNER, shift=5)
    moved = ceiling.aligned(other, tune)
    assert moved.parts["vocals"] == tune.parts["vocals"]
    assert [n.pitch for n in moved.parts["bass"]] == list(OTHER_BASS)  # back down the fourth
    assert [n.start for n in moved.parts["bass"]] == QUARTERS  # half notes onto the tune's quarters
    assert [n.duration for n in moved.parts["other"]] == [1.0] * len(TUNE)


def test_an_ornamented_soprano_still_lines_up_where_it_agrees():
    tune = setting("tune", TUNE, QUARTERS, OWN_BASS, OWN_INNER)
    # The other setting's soprano passes through F# between G and F; its lower parts move under it.
    melody, starts = (*TUNE[:5], 66, *TUNE[5:]), [*HALVES[:5], 9.0, *HALVES[5:]]
    bass, inner = (*OTHER_BASS[:5], 50, *OTHER_BASS[5:]), (*OTHER_INNER[:5], 57, *OTHER_INNER[5:])
    other = setting("other", melody, starts, bass, inner, shift=-3)
    moved = ceiling.aligned(other, tune)
    assert [n.start for n in moved.parts["bass"]] == [*QUARTERS[:5], 4.5, *QUARTERS[5:]]
    assert [n.pitch for n in moved.parts["bass"]] == list(bass)


def test_twins_keep_one_of_each_other_harmony_and_drop_the_tunes_own():
    tune = setting("tune", TUNE, QUARTERS, OWN_BASS, OWN_INNER)
    repeat = setting("repeat", TUNE, HALVES, OWN_BASS, OWN_INNER, shift=2)  # the same harmony renamed
    other = setting("other", TUNE, HALVES, OTHER_BASS, OTHER_INNER, shift=5)
    other_again = setting("other again", TUNE, QUARTERS, OTHER_BASS, OTHER_INNER, shift=-1)
    unrelated = setting("unrelated", (60, 67, 60, 67, 72, 71, 69, 67, 72), QUARTERS, OWN_BASS, OWN_INNER)
    assert ceiling.harmony_agreement(repeat, tune) == 1.0
    assert ceiling.harmony_agreement(other, tune) < ceiling.SAME_SETTING
    found = ceiling.twins([tune, repeat, other, other_again, unrelated], [tune])
    assert [(t.name, [o.name for o in others]) for t, others in found] == [("tune", ["other"])]
