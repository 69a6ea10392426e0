"""Drums on the sung beats (trainer/drums.py): where the hits fall, how loud, and song.mid's kit."""

import librosa
import numpy as np
import pytest
from test_chords import _line

from trainer import chords, drums
from trainer.config import CHORD_LEVEL_DB, DRUMS_LEVEL_DB
from vocals2song import render

THREE_FOUR = (1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 3)
"""test_chords' 3/4 line after a one-beat upbeat: bars of three from its second note."""


def _hits(score, key: int) -> np.ndarray:
    return np.array(sorted(note.start for note in score.parts["drums"] if note.pitch == key))


def test_a_backbeat_kicks_on_each_bar_and_snares_on_the_other_beats_of_the_sung_clock():
    """The 3/4 line at 75 beats a minute: a kick on every bar line the chords' bars have from the
    first sung note on, a snare on the two other beats (the upbeat's too), a hi-hat on every half
    beat to the end of the last note; every sung onset on a beat has a hit under it."""
    onsets, score = _line(THREE_FOUR)
    drummed = drums.with_drums(score, "backbeat")
    assert drummed.parts["vocals"] == score.parts["vocals"] and drummed.parts["other"] == score.parts["other"]
    kicks, snares, hats = (_hits(drummed, key) for key in (drums.KICK, drums.SNARE, drums.HIHAT))
    bars = np.array([start for start in chords.bar_lines(score) if start >= onsets[0] - 0.01])
    np.testing.assert_allclose(kicks, bars[bars < onsets[-1] + 3 * 0.8], atol=1e-6)
    assert len(snares) == 2 * len(kicks) + 1  # two a bar, and the upbeat
    assert snares[0] == pytest.approx(onsets[0]) and kicks[0] == pytest.approx(onsets[1])
    beats = np.sort(np.concatenate([kicks, snares]))
    np.testing.assert_allclose(np.diff(beats), 0.8, atol=1e-6)  # one hit a beat at the sung tempo
    np.testing.assert_allclose(hats[::2], beats, atol=1e-6)
    np.testing.assert_allclose(hats[1::2], beats[: len(hats[1::2])] + 0.4, atol=1e-6)
    end = max(note.start + note.duration for note in score.parts["vocals"])
    assert end - 0.4 <= hats[-1] < end
    assert all(np.abs(beats - onset).min() < 1e-6 for onset in onsets)  # every note of this line is on a beat


def test_a_bar_of_four_kicks_on_its_first_and_third_beats():
    onsets, score = _line((1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 4))
    drummed = drums.with_drums(score, "backbeat")
    kicks, snares = _hits(drummed, drums.KICK), _hits(drummed, drums.SNARE)
    bars = np.array(chords.bar_lines(score))
    assert bars[1] == pytest.approx(onsets[0]) and np.diff(bars[1:]).round(6).tolist() == [3.2] * (len(bars) - 2)
    for bar in bars[1:]:
        assert np.abs(kicks - bar).min() < 1e-6 and np.abs(kicks - (bar + 1.6)).min() < 1e-6
        assert np.abs(snares - (bar + 0.8)).min() < 1e-6 and np.abs(snares - (bar + 2.4)).min() < 1e-6


def test_no_drums_leaves_the_score_alone_and_an_unknown_style_is_refused():
    _, score = _line(THREE_FOUR)
    assert drums.with_drums(score, "none") is score
    with pytest.raises(ValueError, match="drums must be one of none, backbeat, got 'jazz'"):
        drums.with_drums(score, "jazz")


@pytest.mark.skipif(not render.can_render(render.DEV_SOUNDFONT), reason="needs FluidSynth and TimGM6mb")
def test_played_drums_sound_on_their_hits_at_their_level_and_leave_the_chords_level_alone():
    """The same chords played with and without the kit: the kit is a part of its own at
    ``DRUMS_LEVEL_DB`` under the vocal, its onsets on the hits, and the chords keep their level
    and their samples."""
    rate = 44100
    onsets, score = _line(THREE_FOUR)
    seconds = max(note.start + note.duration for note in score.parts["vocals"]) + 0.5
    vocal = 0.1 * np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * rate)) / rate).astype(np.float32)
    plain = chords.play(score, vocal, rate, render.DEV_SOUNDFONT, "strings")
    drummed = drums.with_drums(score, "backbeat")
    both = chords.play(drummed, vocal, rate, render.DEV_SOUNDFONT, "strings")
    kit = both["drums"]

    def level(x: np.ndarray) -> float:
        return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) / np.mean(np.square(vocal, dtype=np.float64)))

    assert not plain["drums"].any() and abs(level(plain["chords"]) - CHORD_LEVEL_DB) < 0.1
    assert abs(level(kit) - DRUMS_LEVEL_DB) < 0.1
    assert level(both["chords"] - plain["chords"]) < CHORD_LEVEL_DB - 40  # the kit leaves the chords as they were
    found = librosa.onset.onset_detect(y=kit, sr=rate, units="time", backtrack=False)
    hits = np.unique(np.round([note.start for note in drummed.parts["drums"]], 6))
    assert len(found) >= 0.8 * len(hits)
    assert np.median([np.abs(hits - t).min() for t in found]) < 0.03  # the onsets are the hits


def test_song_mid_plays_the_kit_on_channel_ten(tmp_path):
    import mido

    _, score = _line(THREE_FOUR)
    path = str(tmp_path / "song.mid")
    chords.write_midi(drums.with_drums(score, "backbeat"), 0.0, path, "strings")
    (kit,) = [track for track in mido.MidiFile(path).tracks if track.name == "drums"]
    struck = [message for message in kit if message.type == "note_on" and message.velocity > 0]
    assert {message.channel for message in struck} == {9} and not any(m.type == "program_change" for m in kit)
    assert {message.note for message in struck} == {drums.KICK, drums.SNARE, drums.HIHAT}


def test_the_songs_roll_marks_the_kicks_and_snares_under_the_bass():
    from trainer import picture

    _, score = _line(THREE_FOUR)
    drummed = drums.with_drums(score, "backbeat")
    seconds = max(note.start + note.duration for note in score.parts["vocals"]) + 0.5
    vocal = 0.1 * np.sin(2 * np.pi * 440.0 * np.arange(int(seconds * 44100)) / 44100)[np.newaxis]
    (roll,) = [
        axis
        for axis in picture.song_figure(vocal, vocal, 44100, chords=drummed).axes
        if axis.get_title() == picture.ROLL_TITLE
    ]
    marks = {line.get_marker(): line for line in roll.lines if line.get_marker() in ("o", "x")}
    np.testing.assert_allclose(marks["o"].get_xdata(), _hits(drummed, drums.KICK))
    np.testing.assert_allclose(marks["x"].get_xdata(), _hits(drummed, drums.SNARE))
    lowest_bass = min(note.pitch for note in score.parts["bass"])
    assert all(y < lowest_bass - 1 for line in marks.values() for y in line.get_ydata())
    assert roll.get_ylim()[0] < min(marks["o"].get_ydata()) and "drums: kick o, snare x" in [
        t.get_text() for t in roll.texts
    ]
    (plain,) = [
        axis
        for axis in picture.song_figure(vocal, vocal, 44100, chords=score).axes
        if axis.get_title() == picture.ROLL_TITLE
    ]
    assert not [line for line in plain.lines if line.get_marker() in ("o", "x")]  # no kit, no row


def test_a_line_that_starts_off_the_beat_gets_its_first_hit_with_its_first_note():
    """An eighth-note pickup before a 4/4 line: the kit comes in with the singer (a hi-hat on the
    pickup, the kick on the downbeat after it), not on the beat before the first note."""
    onsets, score = _line((0.5, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 4))
    hits = sorted((note.start, note.pitch) for note in drums.with_drums(score, "backbeat").parts["drums"])
    assert hits[0] == pytest.approx((onsets[0], drums.HIHAT))
    assert hits[1:3] == [pytest.approx((onsets[1], drums.KICK)), pytest.approx((onsets[1], drums.HIHAT))]
    assert onsets[1] == pytest.approx(chords.bar_lines(score)[1])  # the downbeat
