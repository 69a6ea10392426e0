"""The lead-sheet benchmark (benchmarks/lead_sheets.py): its songs, how it reads a lead sheet and
how it scores played chords against written ones. Playing every song through the released model
is `make lead-sheets`, not here."""

import numpy as np
import pytest

from benchmarks import lead_sheets
from vocals2song.scores import Note, Score

TWO_BARS = """X:1
T:Two bars
M:4/4
L:1/4
K:C
"C"c e g c'|"G7"b d' "C"c'2|]
"""


def _parsed(text: str):
    from music21 import converter

    return converter.parse(text, format="abc")


def test_every_song_parses_with_full_bars_and_a_chord_from_its_first_full_bar():
    """A song whose bar is a beat short or long, or whose chords start late, would score the
    accompanist against a wrong harmony: each of songs.abc's bars but the pickup and the last
    holds its meter's beats, and a chord sounds from the first full bar on."""
    from music21 import converter, harmony

    works = converter.parse(lead_sheets.SONGS).scores
    assert len(works) >= 15
    for work in works:
        bars = list(work.parts[0].getElementsByClass("Measure"))
        short = [bar.number for bar in bars[1:-1] if bar.duration.quarterLength != bar.barDuration.quarterLength]
        assert not short, (work.metadata.title, short)
        symbols = work.parts[0].flatten().getElementsByClass(harmony.ChordSymbol)
        first_full = bars[0] if bars[0].duration.quarterLength == bars[0].barDuration.quarterLength else bars[1]
        assert symbols and symbols[0].getOffsetInHierarchy(work.parts[0]) <= first_full.offset, work.metadata.title


def test_a_lead_sheet_is_its_melody_in_a_singing_register_over_its_chords_until_the_next():
    """C5 E5 G5 C6 | B5 D6 C6: the melody an octave down (median C6 -> C5 is nearest D4-C5's
    middle), a beat 0.6 s at 100 a minute; C under the first bar, G7 for two beats, C to the end."""
    piece = lead_sheets.lead_sheet(_parsed(TWO_BARS), "two bars")
    assert [note.pitch for note in piece.melody] == [60, 64, 67, 72, 71, 74, 72]
    assert [note.start for note in piece.melody] == pytest.approx([0, 0.6, 1.2, 1.8, 2.4, 3.0, 3.6])
    spans = [(round(start, 3), round(end, 3), [p % 12 for p in pitches]) for start, end, pitches in piece.harmony]
    assert spans == [(0.0, 2.4, [0, 4, 7]), (2.4, 3.6, [7, 11, 2, 5]), (3.6, 4.8, [0, 4, 7])]


def test_played_chords_score_one_where_they_sound_the_written_ones_and_less_where_they_do_not():
    """Chords struck on the written changes with the written classes agree 1.0 and count three
    chords in eight beats; the same chords with the G7 bar played as C lose agreement; a frame
    where only one side sounds does not count."""
    piece = lead_sheets.lead_sheet(_parsed(TWO_BARS), "two bars")
    seconds = 4.8

    def chords_of(spans) -> Score:
        bass = [Note(pitches[0], start, end - start, 80) for start, end, pitches in spans]
        upper = [Note(p, start, end - start, 80) for start, end, pitches in spans for p in pitches[1:]]
        return Score("played", {"vocals": (), "bass": tuple(bass), "other": tuple(upper), "drums": ()})

    right = chords_of([(0.0, 2.4, (48, 52, 55)), (2.4, 3.6, (43, 47, 50, 53)), (3.6, 4.8, (48, 52, 55))])
    agreement, rate = lead_sheets.scored(piece, right, seconds)
    assert agreement == pytest.approx(1.0) and rate == pytest.approx(3 * 0.6 / seconds)
    wrong = chords_of([(0.0, 2.4, (48, 52, 55)), (2.4, 3.6, (48, 52, 55)), (3.6, 4.8, (48, 52, 55))])
    assert lead_sheets.scored(piece, wrong, seconds)[0] < 0.8
    late = chords_of([(1.2, 2.4, (48, 52, 55))])  # silent before 1.2 s: those frames are left out
    assert lead_sheets.scored(piece, late, seconds)[0] == pytest.approx(1.0)
    played = lead_sheets.frame_classes([(0.0, 0.1, 60, 1.0)], 4)
    assert np.isnan(lead_sheets.agreement(played, np.zeros((4, 12))))


def test_the_true_accompaniment_plays_each_written_chord_root_in_the_bass_and_all_of_it_under_the_melody():
    """C | G7 C: the song's true accompaniment holds C, G and C in the bass (E2-D#3) and each
    symbol's every class above it, none above the lowest note sung over it, as long as it is written."""
    piece = lead_sheets.lead_sheet(_parsed(TWO_BARS), "two bars")
    written = lead_sheets.written_chords(piece)
    assert [(n.pitch, round(n.start, 3), round(n.duration, 3)) for n in written.parts["bass"]] == [
        (48, 0.0, 2.4), (43, 2.4, 1.2), (48, 3.6, 1.2),
    ]  # fmt: skip
    for start, end, pitches in piece.harmony:
        upper = [n.pitch for n in written.parts["other"] if n.start == start]
        lowest = min(n.pitch for n in piece.melody if n.start < end and n.start + n.duration > start)
        assert sorted(p % 12 for p in upper) == sorted(p % 12 for p in pitches) and max(upper) <= lowest


def test_the_song_table_pairs_each_system_with_the_vocal_alone():
    """Two songs: a system 0.1 and 0.3 above the vocal alone is +0.200 (se 0.100) over it."""
    results = {"a": {"the vocal alone": 0.5, "default": 0.6}, "b": {"the vocal alone": 0.4, "default": 0.7}}
    table = lead_sheets.song_table(results)
    assert "| default | 0.650 | +0.200 (se 0.100) |" in table and "| the vocal alone | 0.450 | - |" in table
