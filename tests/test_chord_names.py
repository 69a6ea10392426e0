"""Chord symbols for played chords (vocals2song/chord_names.py): song.mid's markers, the roll's chart."""

import numpy as np
import pytest

from vocals2song import chord_names

C, Db, D, Eb, E, F, Gb, G, Ab, A, Bb, B = range(12)


@pytest.mark.parametrize(
    ("bass", "upper", "symbol"),
    [
        (C, {E, G}, "C"),
        (A, {C, E}, "Am"),
        (G, {B, D, F}, "G7"),
        (A, {C, E, G}, "Am7"),
        (F, {A, C, E}, "Fmaj7"),
        (B, {D, F}, "Bdim"),
        (C, {E, G, A}, "C6"),
        (C, {F, G}, "Csus4"),
        (C, {G}, "C5"),
        (E, {C, G}, "C/E"),  # an inversion: the bass is not the root
        (C, {D, F, A}, "Dm7/C"),
        (C, {E, A}, "Am/C"),
        (C, {E, Bb}, "C7"),  # a seventh chord without its fifth keeps its name
        (E, {C}, "C/E"),
        (C, {G, Bb}, "C7(no3)"),  # without its third it says so
        (C, {D, Gb}, "D7/C"),
        (C, {D, E}, "C-D-E"),  # no quality: its notes from the bass up
        (G, set(), "G"),
    ],
)
def test_a_chord_is_named_by_its_commonest_reading_with_the_bass_as_root_when_it_can_be(bass, upper, symbol):
    assert chord_names.name(bass, upper) == symbol


def test_a_transposed_chord_gets_the_transposed_name():
    for quality_upper, suffix in (({4, 7}, ""), ({3, 7, 10}, "m7"), ({4, 10}, "7"), ({3, 6}, "dim")):
        for shift in range(12):
            named = chord_names.name(shift, {(k + shift) % 12 for k in quality_upper})
            assert named == chord_names.PITCH_NAMES[shift] + suffix


def _scale(tonic: int, minor: bool = False) -> np.ndarray:
    """Seconds each pitch class sounds in a tune in that key: the tonic triad longest."""
    steps = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
    durations = np.zeros(12)
    for index, step in enumerate(steps):
        durations[(tonic + step) % 12] = 4.0 if index in (0, 2, 4) else 1.5
    return durations


def test_the_names_are_spelt_in_the_key_the_music_fits():
    assert chord_names.spelling(_scale(Db)) == chord_names.FLATS  # five flats: Db, not C#
    assert chord_names.spelling(_scale(D, minor=True)) == chord_names.FLATS  # F major's signature
    assert chord_names.spelling(_scale(E)) == chord_names.SHARPS  # four sharps: G#, not Ab
    assert chord_names.spelling(_scale(Db, minor=True)) == chord_names.SHARPS  # C# minor: E major's
    assert chord_names.spelling(_scale(C)) == chord_names.PITCH_NAMES
    assert chord_names.spelling(np.zeros(12)) == chord_names.PITCH_NAMES  # nothing to tell
    assert chord_names.name(Ab, {C, Eb}, chord_names.spelling(_scale(Db))) == "Ab"
    assert chord_names.name(Ab, {C, Eb}, chord_names.spelling(_scale(E))) == "G#"


def test_the_key_is_named_as_a_midi_key_signature_spells_it():
    named = {tonic: chord_names.key_name(_scale(tonic)) for tonic in range(12)}
    assert named == dict(enumerate(("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")))
    minors = {tonic: chord_names.key_name(_scale(tonic, minor=True)) for tonic in range(12)}
    assert minors == dict(enumerate(("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")))
    assert chord_names.key_name(np.zeros(12)) is None


def test_the_sung_note_completes_an_open_chord_and_leaves_a_full_one_alone():
    assert chord_names.name(G, {D, F}) == "G7(no3)"
    assert chord_names.name(G, {D, F}, melody=B) == "G7"  # the voice sings the missing third
    assert chord_names.name(C, {E}, melody=G) == "C"
    assert chord_names.name(C, {E, G}, melody=A) == "C"  # a sung passing note is not the chord
    assert chord_names.name(C, {E, G}, melody=D) == "C"
    assert chord_names.name(C, {D, E}, melody=G) == "C-D-E"  # nothing reads better with it


def test_tertian_chords_are_stacked_thirds_in_any_inversion_or_part():
    for classes in ({0, 4}, {0, 4, 7}, {4, 7, 0}, {7, 11, 2, 5}, {11, 2, 5, 8}, {9, 0, 4, 7}, {0, 7}):
        assert chord_names.tertian(classes), classes
    for classes in ({0, 4, 8}, {0, 5, 7}, {0, 2, 7}, {0, 4, 11}, {0, 1}, {0, 2, 4}):
        assert not chord_names.tertian(classes), classes
