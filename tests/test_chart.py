"""A user's chord chart played under a take (trainer/chart.py, chords.chart_spans, generate --chart)."""

import os
import types

import numpy as np
import pytest
from conftest import with_harmoniser
from test_chords import C_MAJOR, FOUR_BARS

from trainer import chart, chords, generate
from trainer.config import GenerateOptions
from vocals2song import chord_names, render
from vocals2song.melody import MelodyNote
from vocals2song.scores import Note, Score

FRAME = 0.02
"""Seconds a frame: FOUR_BARS' notes are 25 frames a beat, 120 beats a minute."""


def _four_bars() -> tuple[list[MelodyNote], np.ndarray]:
    """FOUR_BARS as transcribed notes, each released two frames early, and their predictions."""
    notes, start = [], 0
    for pitch, beats, _ in FOUR_BARS:
        notes.append(MelodyNote(pitch, start, start + beats * 25 - 2))
        start += beats * 25
    return notes, np.stack([prediction for *_, prediction in FOUR_BARS])


def _chords_at(score) -> list[tuple[float, int, frozenset[int]]]:
    """Each chord of ``score`` as (onset, bass pitch class, the upper notes' classes)."""
    return [
        (
            round(bass.start, 6),
            bass.pitch % 12,
            frozenset(n.pitch % 12 for n in score.parts["other"] if abs(n.start - bass.start) < 1e-6),
        )
        for bass in sorted(score.parts["bass"], key=lambda note: note.start)
    ]


def test_every_symbol_a_chord_chart_names_reads_back_as_its_notes():
    """Each quality on each root, in root position and over its other notes, and a chord no
    quality names: ``read(name(...))`` gives back the bass and the classes; aliases read as the
    quality they stand for; an unknown note or quality is refused naming the symbol."""
    for root in range(12):
        for suffix, intervals in chord_names.QUALITIES:
            classes = {(root + step) % 12 for step in intervals}
            for bass in classes:
                bass_read, classes_read = chord_names.read(chord_names.name(bass, classes))
                assert (bass_read, set(classes_read)) == (bass, classes), (root, suffix, bass)
    assert chord_names.read("C7(no3)") == (0, (0, 7, 10))
    assert chord_names.read("C-D-E") == (0, (0, 2, 4))
    assert chord_names.read("Dmin7") == chord_names.read("Dm7") and chord_names.read("Bb-") == chord_names.read("Bbm")
    assert chord_names.read("F#m7b5/C")[0] == 0 and chord_names.read("Gbmaj7") == chord_names.read("F#maj7")
    with pytest.raises(chord_names.SymbolError, match="'Hm': 'H' is not a note"):
        chord_names.read("Hm")
    with pytest.raises(chord_names.SymbolError, match="'C9': unknown chord quality '9'"):
        chord_names.read("C9")


def test_a_chart_reads_bars_repeats_rests_and_a_meter():
    """Bars between bar lines over several lines, "%" the bar before, "-" and "N.C." a bar
    without chords, two chords sharing a bar; the head line's meter; comments ignored."""
    text = "My song, in G, 3/4 (sung slowly), pickup of 2 beats\n\n| G | C D7 | % |\n| - | Em | N.C. |\n"
    read = chart.parse(text, "song.txt")
    g, c, d7, em = (chord_names.read(symbol) for symbol in ("G", "C", "D7", "Em"))
    assert read == chart.Chart(((g,), (c, d7), (c, d7), (), (em,), ()), 3, 2.0)
    assert chart.parse("| C |").meter == (None, None)
    assert chart.parse("4/4, no pickup\n| C |").meter == (4, 0.0)
    assert chart.parse("pickup of 1.5 beats\n| C |").meter == (None, 1.5)
    assert chart.parse("pickup of 1 beat\n| C |").meter == (None, 1.0)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("| C | Cx |", r"song.txt, line 1: 'Cx': unknown chord quality 'x'"),
        ("4/4\n| % | C |", r"song.txt, line 2: '%' repeats the bar before, and there is none"),
        ("13/4\n| C |", r"song.txt, line 1: 13/4: a chart's bars have 2 to 12 beats"),
        ("C major, 4/4\nC F G C\n", r"song.txt: no bars"),
        ("4/4\n| - | N.C. | % |", r"song.txt: every bar rests, so there is nothing to play"),
        ("3/4, pickup of 3 beats\n| C |", r"song.txt: a pickup of 3 beats is a bar or more of 3/4"),
    ],
)
def test_a_chart_that_cannot_be_played_is_refused_naming_the_file_and_line(text, problem):
    with pytest.raises(chart.ChartError, match=problem):
        chart.parse(text, "song.txt")


def test_a_chart_file_is_checked_before_it_is_read(tmp_path):
    """A missing file, one larger than a page of text, one that is not text: each refused by name."""
    with pytest.raises(chart.ChartError, match="no such chart"):
        chart.read(str(tmp_path / "missing.txt"))
    large = tmp_path / "large.txt"
    large.write_text("| C |\n" * (chart.MAX_BYTES // 6 + 1))
    with pytest.raises(chart.ChartError, match=f"large.txt: {large.stat().st_size} bytes; a chart is at most"):
        chart.read(str(large))
    binary = tmp_path / "song.wav"
    binary.write_bytes(b"RIFF\xff\xfe\x00WAVE")
    with pytest.raises(chart.ChartError, match="song.wav: not a text file"):
        chart.read(str(binary))


def test_a_lead_sheet_read_back_plays_the_chords_it_names():
    """The four bars' chords a bar at a time, written as a lead sheet and read back as a chart,
    play the same notes at the same times (the predictions no longer matter)."""
    notes, predictions = _four_bars()
    barred = chords.chord_score(notes, predictions, FRAME, "led", changes="bar")
    charted = chords.chord_score(notes, 0 * predictions, FRAME, "led", chart=chart.parse(chords.lead_sheet(barred)))
    assert chords.bar_chart(barred) == chords.bar_chart(charted) == ("C", "G", "C", "C")
    for part in ("bass", "other"):
        scores = (barred, charted)
        both = [sorted((round(n.start, 6), n.pitch, round(n.duration, 6)) for n in x.parts[part]) for x in scores]
        assert both[0] == both[1], part


def test_a_charts_rests_are_played_as_rests_and_written_back_as_rests():
    """ "| C | - | G N.C. | C |" under the four bars of 4/4 (2 s each): nothing sounds in the second
    bar nor in the second half of the third; the lead sheet writes those rests ("N.C.") where they
    are, and read back it plays the same notes."""
    notes, predictions = _four_bars()
    score = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse("| C | - | G N.C. | C |"))
    assert [(at, bass) for at, bass, _ in _chords_at(score)] == [(0.0, 0), (4.0, 7), (6.0, 0)]
    assert chords.bar_chart(score) == ("C", "N.C.", "G N.C.", "C")
    again = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse(chords.lead_sheet(score)))
    assert _chords_at(again) == _chords_at(score)


def test_a_breath_between_chords_is_no_rest():
    """A gap under ``NO_CHORD_SECONDS`` between one chord's end and the next is not written as a
    rest; one as long is."""
    sung = (Note(72, 0.0, 4.0, 90),)

    def bass(*spans: tuple[float, float]) -> Score:
        notes = tuple(Note(48, start, end - start) for start, end in spans)
        return Score("s", {"vocals": sung, "bass": notes, "other": ()})

    short, long = bass((0, 1.0), (1.4, 4.0)), bass((0, 1.0), (1.5, 3.0))
    assert [name for _, name in chords.symbols(short)].count("N.C.") == 0
    assert [(at, name) for at, name in chords.symbols(long) if name == "N.C."] == [(1.0, "N.C."), (3.0, "N.C.")]


def test_a_charts_chords_share_their_bar_and_keep_every_note_written():
    """ "Cmaj7 Fsus4" shares the first 4/4 bar (two beats each); a major seventh a semitone from
    its root and a suspended fourth, which the predicted voicings leave out, sound as written;
    a slash chord puts its bass under; bars past the chart's last play nothing."""
    notes, predictions = _four_bars()
    score = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse("| Cmaj7 Fsus4 | G7/B |"))
    assert _chords_at(score) == [
        (0.0, 0, frozenset({0, 4, 7, 11})),
        (1.0, 5, frozenset({5, 10, 0})),
        (2.0, 11, frozenset({7, 11, 2, 5})),
    ]
    assert max(n.start + n.duration for n in score.parts["bass"]) == pytest.approx(4.0)
    assert all(n.velocity == chords.WRITTEN_VELOCITY for n in score.parts["other"])


def test_a_charts_meter_replaces_the_sung_one():
    """The four bars of 4/4 charted in 3/4: bar lines every three beats (1.5 s at 120 a minute),
    one chord on each, the lead sheet written back in 3/4; the same chart without a meter keeps 4/4."""
    notes, predictions = _four_bars()
    three = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse("3/4\n| C | F | G | C | Am | F |"))
    assert chords.bar_lines(three) == pytest.approx([0.0, 1.5, 3.0, 4.5, 6.0, 7.5])
    assert [at for at, *_ in _chords_at(three)] == pytest.approx([0.0, 1.5, 3.0, 4.5, 6.0, 7.5])
    sheet = ["C major, 3/4, no pickup, 120 beats a minute", "| C | F | G | C |", "| Am | F |"]
    assert chords.lead_sheet(three).splitlines() == sheet
    four = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse("| C | F | G | C | Am | F |"))
    assert chords.bar_lines(four) == pytest.approx([0.0, 2.0, 4.0, 6.0])


def test_a_charts_pickup_moves_the_bar_lines():
    """The four bars start on their first note ("no pickup", as the lead sheet says); charted with
    a pickup of one beat, the first bar is that beat and the bars start a beat later, the chords
    with them, and the lead sheet says so."""
    notes, predictions = _four_bars()
    barred = chords.chord_score(notes, predictions, FRAME, "led", changes="bar")
    assert chords.pickup(barred) == "no pickup" and ", no pickup, " in chords.lead_sheet(barred)
    moved = chords.chord_score(
        notes, predictions, FRAME, "led", chart=chart.parse("pickup of 1 beat\n| C | F | G | C | C |")
    )
    assert chords.bar_lines(moved) == pytest.approx([0.0, 0.5, 2.5, 4.5, 6.5])
    assert [at for at, *_ in _chords_at(moved)] == pytest.approx([0.0, 0.5, 2.5, 4.5, 6.5])
    assert chords.lead_sheet(moved).splitlines()[0] == "C major, 4/4, pickup of 1 beat, 120 beats a minute"


@pytest.mark.parametrize(
    "beats",
    [
        (0.5, 0.5, 1, 1, 1, 1, 2, 1, 1, 2, 4),  # two eighths before the first downbeat
        (1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 3),  # 3/4 after a one-beat upbeat
        (0.5, 1, 1, 2, 1, 1, 1, 1, 2, 2, 1, 1, 2, 4),  # 4/4 after an eighth
        (2, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 4),
    ],
)
def test_a_lead_sheet_read_back_keeps_its_bar_lines(beats):
    """Lines sung at 86 a minute from 0.07 s (the file's lead: one beat of 0.07 s): the lead
    sheet's meter and pickup, read back as a chart, put the bars where they were, and the pickup
    is counted in sung beats (two eighths: one beat)."""
    period, notes, at = 0.7, [], 0.07
    for index, length in enumerate(beats):
        notes.append(MelodyNote(67 + 2 * (index % 3), round(at / 0.01), round((at + length * period) / 0.01) - 3))
        at += length * period
    predictions = np.stack([C_MAJOR] * len(notes))
    barred = chords.chord_score(notes, predictions, 0.01, "led", changes="bar")
    read = chords.chord_score(notes, predictions, 0.01, "led", chart=chart.parse(chords.lead_sheet(barred)))
    assert chords.bar_lines(read) == pytest.approx(chords.bar_lines(barred))
    if beats[0] == 0.5 and beats[1] == 0.5:
        assert chords.pickup(barred) == "pickup of 1 beat"


def test_a_chart_without_a_pickup_starts_a_whole_bar_on_the_first_sung_note():
    """A line sung from 0.07 s in, whatever the notes suggest: a chart saying "4/4, no pickup" puts
    its first bar line on the first sung note and the next one four sung beats later (the file's
    lead, a beat of 0.07 s, is a bar of its own before them)."""
    period, notes, at = 0.7, [], 0.07
    for index, length in enumerate((1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 4)):
        notes.append(MelodyNote(67 + 2 * (index % 3), round(at / 0.01), round((at + length * period) / 0.01) - 3))
        at += length * period
    predictions = np.stack([C_MAJOR] * len(notes))
    score = chords.chord_score(notes, predictions, 0.01, "led", chart=chart.parse("4/4, no pickup\n| C | F | G | C |"))
    lines = chords.bar_lines(score)
    assert lines[:4] == pytest.approx([0.0, 0.07, 0.07 + 4 * period, 0.07 + 8 * period], abs=0.02)
    assert chords.pickup(score) == "no pickup"


def test_the_unet_reads_the_charts_chords_not_the_harmonisers():
    """With ``--harmony notes`` the U-Net's pitch classes are the chart's chords as played, frame
    by frame, a rest holding the nearest chord; with its own head it gets none."""
    notes, predictions = _four_bars()
    score = chords.chord_score(notes, predictions, FRAME, "led", chart=chart.parse("| F | - | G |"))
    frames = chords.frame_classes(score, 300, FRAME)
    assert set(np.flatnonzero(frames[10])) == {5, 9, 0} and set(np.flatnonzero(frames[250])) == {7, 11, 2}
    assert frames[10, 5] == 2  # F in the bass and above it
    np.testing.assert_array_equal(frames[120], frames[10])  # the bar without a chord: the F before, the G after
    np.testing.assert_array_equal(frames[180], frames[250])
    reads = types.SimpleNamespace(harmony="notes", spectral=types.SimpleNamespace(hop_length=441, sample_rate=22050))
    np.testing.assert_array_equal(generate._unet_harmony(reads, notes, predictions, score, 300), frames)
    assert generate._unet_harmony(types.SimpleNamespace(harmony="head"), notes, predictions, score, 300) is None


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_generate_plays_a_chart_and_writes_it_back(accompaniment_model, tmp_path):
    """``generate --chart``: the chords played are the chart's (its lead sheet beside the song
    reads as the chart); a model without chords, or a chart where the song's lead sheet goes, is
    refused before the take is read."""
    from conftest import sung

    from trainer import export
    from vocals2song import audio

    model = export.load_model(with_harmoniser(accompaniment_model, str(tmp_path / "export")), changes="bar")
    audio.write(str(tmp_path / "take.wav"), sung(4.0, 44100, 1), 44100)
    (tmp_path / "mine.txt").write_text("| Am | Dm G7 | C | F |\n")
    options = GenerateOptions(str(tmp_path / "take.wav"), str(tmp_path / "song.wav"), chart=str(tmp_path / "mine.txt"))
    result = generate.generate_file(model, options)
    written = chart.parse(open(result.lead_sheet).read())
    wanted = chart.parse("| Am | Dm G7 | C | F |").bars
    assert written.bars == wanted[: len(written.bars)] and len(written.bars) >= 2
    assert " ".join(result.bars).startswith("Am Dm G7")
    plain = export.load_model(os.path.join(accompaniment_model, "export"))
    with pytest.raises(generate.GenerationError, match="this model plays no chords"):
        generate.generate_file(plain, options)
    with pytest.raises(generate.GenerationError, match="a chord chart: this model plays no chords"):
        generate.generate_song(plain, sung(1.0, 44100, 1), 44100, chart=chart.parse("| C |"))
    (tmp_path / "song.txt").write_text("| C |\n")
    clash = GenerateOptions(str(tmp_path / "missing.wav"), str(tmp_path / "song.wav"), chart=str(tmp_path / "song.txt"))
    with pytest.raises(generate.GenerationError, match="is where the lead sheet of .*song.wav is written"):
        generate.generate_file(model, clash)
