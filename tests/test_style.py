"""Hymn or song: ``--changes auto`` reads a take's melody (trainer/style.py)."""

import os
import shutil

import numpy as np
import pytest
from test_melody import sung_notes

from trainer import style
from trainer.config import MIN_MOVES, SONG_STEP_SHARE
from vocals2song import render
from vocals2song.melody import MelodyNote

HYMN = [60, 62, 64, 62, 60, 59, 60, 62, 64, 65, 64, 62, 60]
"""A chorale-like line: every move a step."""
SONG = [60, 64, 67, 64, 60, 67, 64, 60, 65, 69, 65, 60, 67]
"""A song-like line along its chords' notes: every move a leap."""


def notes(pitches: list[int]) -> list[MelodyNote]:
    return [MelodyNote(pitch, 10 * index, 10 * index + 9) for index, pitch in enumerate(pitches)]


def moved(moves: list[int]) -> list[int]:
    """A melody from C4 making ``moves`` (semitones)."""
    return [60, *(60 + np.cumsum(moves)).tolist()]


def test_the_share_of_moves_by_step_counts_moves_not_repeated_notes():
    assert style.step_share(notes(HYMN)) == 1.0
    assert style.step_share(notes(SONG)) == 0.0
    mixed = [60, 62, 62, 62, 64, 67, 65, 64, 60, 62, 67]  # moves 2, 2, 3, -2, -1, -4, 2, 5: five steps of eight
    assert style.step_share(notes(mixed)) == 5 / 8
    assert style.step_share(notes(HYMN[: MIN_MOVES - 1] + [60] * 9)) is None  # too few moves to read


def test_auto_reads_a_leaping_melody_as_a_song_and_a_stepwise_one_or_a_short_one_as_a_hymn():
    assert style.setting("auto", notes(SONG)) == ("bar", True)
    assert style.setting("auto", notes(HYMN)) == ("beat", False)
    assert style.setting("auto", notes(SONG[:MIN_MOVES])) == ("beat", False)  # one move short of reading
    assert 0.6 < SONG_STEP_SHARE < 0.7
    assert style.reads_as_song(notes(moved([2, -2, 2, -1, 1, 2, 4, -5, 3, -4])))  # 6 steps of 10
    assert not style.reads_as_song(notes(moved([2, -2, 2, -1, 1, 2, 1, -5, 3, -4])))  # 7 of 10
    assert style.setting("half", notes(SONG)) == ("half", False)  # a named rhythm is kept, with --chords
    with pytest.raises(ValueError, match="changes must be one of auto, beat"):
        style.setting("often", notes(SONG))


def test_how_often_the_chords_changed_is_said_with_what_auto_read():
    assert style.described("bar", True) == (
        "each bar (auto: the melody leaps along its chords, as a song's does, so they play alone)"
    )
    assert (
        style.described("beat", True)
        == "with each sung note, once a beat under quicker ones (auto: the melody moves by step, as a hymn's does)"
    )
    assert style.described("bar", False) == "each bar"  # named, nothing read
    assert style.described("chart", True) == "where the chart's do"


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_auto_plays_a_songs_chords_a_bar_and_alone_and_a_hymns_with_the_generator(accompaniment_model, tmp_path):
    """A sung song gets a chord a bar and no generator stem (not made); a sung hymn gets the
    chorales' setting, the generator sounding; a song with ``--changes bar`` named keeps the
    generator."""
    from trainer import chords, export, generate, harmoniser

    folder = str(tmp_path / "export")
    shutil.copytree(os.path.join(accompaniment_model, "export"), folder)
    harmoniser._save(harmoniser.build(harmoniser.HarmoniserConfig(units=8, layers=1)), {}, folder)
    takes = {name: sung_notes([(pitch, 0.5) for pitch in line]) for name, line in (("hymn", HYMN), ("song", SONG))}
    made = {
        (name, changes): generate.generate_song(export.load_model(folder, changes=changes), take, 44100, vocals=False)
        for name, take in takes.items()
        for changes in ("auto", "bar")
    }
    assert {key: song.changes for key, song in made.items()} == {
        ("hymn", "auto"): "beat",
        ("hymn", "bar"): "bar",
        ("song", "auto"): "bar",
        ("song", "bar"): "bar",
    }
    loudness = {key: {stem: np.abs(x).max() for stem, x in song.stems.items()} for key, song in made.items()}
    assert tuple(made[("song", "auto")].stems) == ("chords",) and loudness[("song", "auto")]["chords"] > 1e-3
    assert min(loudness[key]["accompaniment"] for key in made if key != ("song", "auto")) > 1e-3
    song = made[("song", "auto")].chords
    bar_lines = {round(at, 6) for at in (min(n.start for n in song.parts["vocals"]), *chords.bar_lines(song))}
    assert {round(note.start, 6) for note in song.parts["bass"]} <= bar_lines
    np.testing.assert_allclose(made[("song", "auto")].stems["chords"], made[("song", "bar")].stems["chords"], atol=1e-4)


def test_the_threshold_benchmark_takes_the_chorales_quantile_and_counts_what_reads_as_a_song():
    from benchmarks import hymn_or_song

    hymns = np.linspace(0.5, 1.0, 101)  # its 5% quantile: 0.525
    songs = np.array([0.3, 0.5, 0.52, 0.6, 0.9])
    table = hymn_or_song.report(hymns, songs)
    assert "the chorales' 5% quantile: 0.525" in table
    assert "| chorales | 101 | 0.62 / 0.75 / 0.88 | 5% |" in table
    assert "| folk songs | 5 | 0.50 / 0.52 / 0.60 | 60% |" in table
