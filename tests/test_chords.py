"""Chords played under a sung melody (trainer/chords.py): voicing, timing, and what FluidSynth plays."""

import itertools
import os
import re
import shutil
from dataclasses import replace

import librosa
import numpy as np
import pytest
from conftest import with_harmoniser

from trainer import chords
from trainer.config import CHORD_LEVEL_DB, INSTRUMENT_CHOICES, INSTRUMENTS, MELODY_PROGRAM, PLAYED_CHANGES, VOICINGS
from vocals2song import beat, chord_names, render
from vocals2song.melody import MelodyNote
from vocals2song.scores import Note, Score

C_MAJOR = np.array([3.0, 0, 0, 0, 2.0, 0, 0, 2.5, 0, 0, 0, 0])


@pytest.mark.parametrize("voicing", VOICINGS)
def test_a_chord_puts_the_strongest_class_in_the_bass_and_the_likely_ones_under_the_melody(voicing):
    played = chords.chord(C_MAJOR, melody_pitch=76, voicing=voicing)  # E5
    bass = [pitch for stem, pitch, _ in played if stem == "bass"]
    upper = {pitch: velocity for stem, pitch, velocity in played if stem == "other"}
    assert bass == [48]  # C3, in the bass register
    assert {pitch % 12 for pitch in upper} == {0, 4, 7}  # only the classes above the mean
    assert all(chords.UPPER_FLOOR <= pitch < 76 for pitch in upper)
    assert upper[72] == chords.VELOCITIES[1] > upper[67] > upper[64] >= chords.VELOCITIES[0]


def _upper(scores: np.ndarray, melody_pitch: int, voicing: str) -> list[int]:
    return [pitch % 12 for stem, pitch, _ in chords.chord(scores, melody_pitch, voicing) if stem == "other"]


def _semitone_pairs(classes: set[int]) -> int:
    return sum((a - b) % 12 == 1 for a in classes for b in classes)


def test_a_chordal_chord_is_one_chord_where_the_consonant_one_mixes_two():
    """A phrase end that hedges between Db major and F major under a sung F (the dev take's
    fermata): "consonant" plays Db-F-A, the notes of neither; "chordal" skips the A and takes the
    next likely class that keeps one chord, Ab (Db major). On random predictions the chordal
    chord is always one ``chord_names.TERTIAN`` chord with the bass, and otherwise consonant."""
    hedge = np.array([0.75, 1.4, -0.6, -0.5, -0.7, 0.8, -0.5, -0.6, 0.2, 0.6, 0.1, -0.5])  # Db F C A Ab Bb likely
    assert _upper(hedge, 77, "consonant") == [1, 5, 9]
    assert _upper(hedge, 77, "chordal") == [1, 5, 8]
    rng = np.random.default_rng(1)
    for melody in range(72, 84):
        for _ in range(20):
            scores = rng.gamma(0.5, size=12)
            played = chords.chord(scores, melody, "chordal")
            upper = [pitch % 12 for stem, pitch, _ in played if stem == "other"]
            assert chord_names.tertian({pitch % 12 for _, pitch, _ in played}) and _semitone_pairs(set(upper)) == 0
            assert upper[0] == scores.argmax() and all(scores[k] > scores.mean() for k in upper)
            assert len(upper) <= chords.MAX_UPPER and all((p - melody) % 12 not in (1, 11) for p in upper[1:])


def _upper_notes(score: Score) -> list[tuple[int, ...]]:
    """The upper notes of each chord of ``score``, in time order."""
    starts = sorted({note.start for note in score.parts["other"]})
    return [tuple(sorted(n.pitch for n in score.parts["other"] if n.start == start)) for start in starts]


def test_a_led_voicing_holds_its_inner_voices_where_the_melody_leaps():
    """C major under a melody that leaps G4 -> G5 -> C5 -> G4: right under the melody ("chordal")
    the upper notes leap with it, an octave at a time; "led" plays the same classes, each as near
    as it can be to the chord before's notes, never above the melody nor more than ``LED_SPAN``
    under it, so the voices move about half as far."""
    melody = (67, 79, 72, 67)
    notes = [MelodyNote(pitch, 10 * i, 10 * i + 10) for i, pitch in enumerate(melody)]
    played = {
        voicing: _upper_notes(chords.chord_score(notes, np.stack([C_MAJOR] * 4), 0.1, voicing))
        for voicing in ("chordal", "led")
    }
    for chordal, led, sung in zip(played["chordal"], played["led"], melody, strict=True):
        assert sorted(p % 12 for p in led) == sorted(p % 12 for p in chordal) == [0, 4, 7]
        assert all(sung - 1 - chords.LED_SPAN <= p < sung for p in led)

    def motion(chords_played: list[tuple[int, ...]]) -> float:
        pairs = itertools.pairwise(chords_played)
        return sum(min(abs(a - b) for b in before) for before, after in pairs for a in after)

    assert played["chordal"][1] == (67, 72, 76)  # G4 C5 E5: every voice an octave up with the melody
    assert played["led"][1] == (64, 67, 72)  # E4 held; C no lower than LED_SPAN under G5 allows
    assert (motion(played["chordal"]), motion(played["led"])) == (38, 20)  # semitones, over three moves


def test_a_consonant_chord_has_no_semitone_clash_where_the_hedged_one_is_a_cluster():
    """Scores that hedge over six neighbouring classes: "hedged" plays the cluster, "consonant"
    at most three of its classes, the likeliest first, none a semitone from another or from the
    sung note; checked on random predictions under every melody pitch class too."""
    cluster = np.array([5.0, 4.5, 4.0, 0, 3.5, 3.0, 0, 2.5, 0, 0, 0, 0])  # C C# D E F G likely
    upper = {voicing: _upper(cluster, 75, voicing) for voicing in VOICINGS}  # melody D#5
    assert set(upper["hedged"]) == {0, 1, 2, 4, 5, 7} and _semitone_pairs(set(upper["hedged"])) == 3
    assert upper["consonant"] == [0, 5, 7]  # C; C# clashes with C, D and E with the D# sung
    rng = np.random.default_rng(0)
    for melody in range(72, 84):
        for _ in range(20):
            scores = rng.gamma(0.5, size=12)
            hedged, played = _upper(scores, melody, "hedged"), _upper(scores, melody, "consonant")
            assert played[0] == hedged[0] == scores.argmax() and set(played) <= set(hedged)
            assert len(played) <= chords.MAX_UPPER and _semitone_pairs(set(played)) == 0
            assert all((p - melody) % 12 not in (1, 11) for p in played[1:])  # the likeliest is played regardless
    with pytest.raises(ValueError, match="voicing must be one of led, chordal, consonant, hedged"):
        chords.chord(cluster, 75, "jazz")


def test_a_chord_is_held_across_a_short_gap_and_not_across_a_rest():
    notes = [MelodyNote(72, 0, 10), MelodyNote(74, 12, 20), MelodyNote(76, 60, 70)]
    score = chords.chord_score(notes, np.stack([C_MAJOR] * 3), frame_seconds=0.1, voicing="consonant")
    bass = sorted(score.parts["bass"], key=lambda note: note.start)
    assert [round(note.start, 6) for note in bass] == [0.0, 1.2, 6.0]
    assert [round(note.duration, 6) for note in bass] == [1.2, 0.8, 1.0]  # held to the next; rest kept


def test_a_beat_rhythm_strikes_a_long_chord_again_on_each_beat_and_leaves_short_ones_alone():
    """Four one-beat notes at 0.5 s a beat, then one held for three beats: "held" strikes each
    chord once; "beat" strikes the long one on its second and third beats too, the others once."""
    lengths = (5, 5, 5, 5, 15)  # frames of 0.1 s
    starts = np.cumsum((0, *lengths[:-1]))
    notes = [
        MelodyNote(72 + 2 * i, int(start), int(start + length))
        for i, (start, length) in enumerate(zip(starts, lengths, strict=True))
    ]
    onsets = {}
    for rhythm in ("held", "beat"):
        score = chords.chord_score(notes, np.stack([C_MAJOR] * 5), 0.1, "consonant", rhythm)
        onsets[rhythm] = [round(note.start, 6) for note in sorted(score.parts["bass"], key=lambda n: n.start)]
        assert sum(note.duration for note in score.parts["bass"]) == pytest.approx(3.5)  # the same time sounding
        assert len(score.parts["vocals"]) == 5  # the melody is the sung one either way
    assert onsets == {"held": [0.0, 0.5, 1.0, 1.5, 2.0], "beat": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]}
    with pytest.raises(ValueError, match="rhythm must be one of held, beat"):
        chords.chord_score(notes, np.stack([C_MAJOR] * 5), 0.1, "consonant", "swing")


def test_an_arpeggio_strikes_the_bass_on_the_beats_and_picks_the_upper_notes_on_the_half_beats():
    """A C major chord held four beats (0.5 s each) broken: the bass held through it, the three
    upper notes one at a time on the half beats, low to high and back down, each ringing until it
    is picked again or the chord ends."""
    played = chords.chord(C_MAJOR, melody_pitch=76, voicing="consonant")
    upper = sorted(pitch for stem, pitch, _ in played if stem == "other")
    assert len(upper) == 3
    broken = chords.arpeggio(played, 0.0, 2.0, beat.Clock((0.0, 0.5), (0.0, 1.0)))
    bass = sorted((note.start, note.duration) for stem, note in broken if stem == "bass")
    assert bass == [(0.0, 2.0)]
    picked = sorted((note.start, note.pitch, note.duration) for stem, note in broken if stem == "other")
    low, middle, high = upper
    assert picked == [
        (0.0, low, 1.0),
        (0.25, middle, 0.5),
        (0.5, high, 1.0),
        (0.75, middle, 0.5),
        (1.0, low, 1.0),
        (1.25, middle, 0.5),
        (1.5, high, 0.5),
        (1.75, middle, 0.25),
    ]
    assert chords.arpeggio([("bass", 48, 80)], 0.0, 2.0, beat.Clock((0.0, 0.5), (0.0, 1.0))) == [
        ("bass", Note(48, 0.0, 2.0, 80))
    ]


G_MAJOR = np.roll(C_MAJOR, 7)
FOUR_BARS = [(72, 2, C_MAJOR), (76, 1, C_MAJOR), (74, 1, G_MAJOR), (79, 2, G_MAJOR), (77, 1, G_MAJOR)]
FOUR_BARS += [(74, 1, C_MAJOR), (72, 3, C_MAJOR), (71, 1, G_MAJOR), (72, 4, C_MAJOR)]
"""Four bars of 4/4 at 120 beats a minute: (pitch, beats, the harmoniser's prediction)."""


def test_a_bars_triad_keeps_its_third_under_a_passing_note_a_semitone_from_it():
    """Under one sung F5 a C major chord leaves out its E (a semitone from the note it sounds
    under); a bar's triad keeps it whatever note passes over it."""
    for voicing in ("led", "chordal", "consonant"):
        under_f = chords.chord(C_MAJOR, melody_pitch=77, voicing=voicing)
        bar = chords.chord(C_MAJOR, melody_pitch=77, voicing=voicing, under_note=False)
        assert {pitch % 12 for stem, pitch, _ in under_f if stem == "other"} == {0, 7}, voicing
        assert {pitch % 12 for stem, pitch, _ in bar if stem == "other"} == {0, 4, 7}, voicing


def test_the_chords_change_under_each_note_each_half_bar_or_each_bar():
    """ "note" plays a chord under each of the nine notes; "half" one on every half bar (two
    beats) and "bar" one on each bar line, each the triad that fits the bar's predictions and sung
    notes, root in the bass, held through the bar and voiced under its lowest sung note: C G C C,
    where the bar's mean prediction alone put the G the first bar's chords share in the bass."""
    frames_a_beat, notes, start = 25, [], 0
    for pitch, beats, _ in FOUR_BARS:
        notes.append(MelodyNote(pitch, start, start + beats * frames_a_beat - 2))
        start += beats * frames_a_beat
    predictions = np.stack([prediction for *_, prediction in FOUR_BARS])
    played = PLAYED_CHANGES
    scores = {changes: chords.chord_score(notes, predictions, 0.02, "led", changes=changes) for changes in played}
    assert chords.bar_lines(scores["bar"]) == [0.0, 2.0, 4.0, 6.0]
    onsets = {changes: sorted(note.start for note in score.parts["bass"]) for changes, score in scores.items()}
    assert onsets["note"] == pytest.approx([n.first * 0.02 for n in notes])
    assert onsets["half"] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert onsets["bar"] == pytest.approx([0.0, 2.0, 4.0, 6.0])
    bar = scores["bar"]
    assert [note.pitch % 12 for note in sorted(bar.parts["bass"], key=lambda n: n.start)] == [0, 7, 0, 0]
    assert [round(note.duration, 6) for note in sorted(bar.parts["bass"], key=lambda n: n.start)] == [2, 2, 2, 1.96]
    triads = {0.0: {0, 4, 7}, 2.0: {7, 11, 2}, 4.0: {0, 4, 7}, 6.0: {0, 4, 7}}
    lowest = {0.0: 72, 2.0: 74, 4.0: 71, 6.0: 72}
    for at, classes in triads.items():
        upper = [note.pitch for note in bar.parts["other"] if note.start == pytest.approx(at)]
        assert {pitch % 12 for pitch in upper} == classes and max(upper) < lowest[at], at
    assert chords.bar_chart(bar) == ("C", "G", "C", "C")
    broken = chords.chord_score(notes, predictions, 0.02, "led", "arpeggio", changes="bar")
    assert chords.bar_chart(broken) == ("C", "G", "C", "C")  # a broken chord is named by all its notes
    with pytest.raises(ValueError, match="changes must be one of beat, note, half, bar"):
        chords.chord_score(notes, predictions, 0.02, "led", changes="sometimes")


def test_a_run_of_short_notes_shares_one_chord_a_beat_and_a_longer_note_keeps_its_own():
    """ "beat": a quarter, two beats of eighths, a half note (a beat half a second) get four
    chords where "note" plays six: each pair of eighths one chord from both notes' predictions
    (the pair C then G: its bass the G both share), voiced under the pair's lower note."""
    line = [(72, 2, C_MAJOR), (74, 1, C_MAJOR), (76, 1, G_MAJOR), (77, 1, G_MAJOR), (79, 1, G_MAJOR), (72, 4, C_MAJOR)]
    notes, start = [], 0
    for pitch, eighths, _ in line:
        notes.append(MelodyNote(pitch, start, start + eighths * 12))
        start += eighths * 12 + 1
    predictions = np.stack([prediction for *_, prediction in line])
    played = {name: chords.chord_score(notes, predictions, 0.02, "led", changes=name) for name in ("note", "beat")}
    bass = {changes: sorted(score.parts["bass"], key=lambda n: n.start) for changes, score in played.items()}
    assert len(bass["note"]) == 6 and len(bass["beat"]) == 4
    assert [note.start for note in bass["beat"]] == pytest.approx([notes[i].first * 0.02 for i in (0, 1, 3, 5)])
    assert [note.pitch % 12 for note in bass["note"]] == [0, 0, 7, 7, 7, 0]
    assert [note.pitch % 12 for note in bass["beat"]] == [0, 7, 7, 0]
    pair = [note.pitch for note in played["beat"].parts["other"] if note.start == pytest.approx(notes[1].first * 0.02)]
    assert pair and max(pair) < 74


def test_the_songs_picture_draws_the_melody_and_its_chords_as_a_piano_roll():
    """Every note of the score (melody, bass, upper notes) is one bar at its pitch, onset and
    length; a song without played chords gets no roll."""
    from trainer import picture

    frame_seconds = 1024 / 44100
    score = chords.chord_score(
        [MelodyNote(76, 0, 40), MelodyNote(74, 40, 80)], np.stack([C_MAJOR] * 2), frame_seconds, "consonant"
    )
    vocal = 0.1 * np.sin(2 * np.pi * 659.3 * np.arange(2 * 44100) / 44100)[np.newaxis]
    figure = picture.song_figure(vocal, vocal, 44100, chords=score)
    (roll,) = [axis for axis in figure.axes if axis.get_title() == picture.ROLL_TITLE]
    bars = sorted(
        (round(b.get_y() + b.get_height() / 2), round(b.get_x(), 3), round(b.get_width(), 3)) for b in roll.patches
    )
    notes = [note for stem in ("vocals", "bass", "other") for note in score.parts[stem]]
    assert len(notes) == 2 + 2 + 6 and bars == sorted((n.pitch, round(n.start, 3), round(n.duration, 3)) for n in notes)
    assert [text.get_text() for text in roll.texts] == ["C"]  # the chart: one C major chord, struck twice
    assert roll.get_xlim() == pytest.approx((0.0, 2.0), abs=0.01)  # the take's length, no margin beyond it
    assert picture.ROLL_TITLE not in [axis.get_title() for axis in picture.song_figure(vocal, vocal, 44100).axes]


@pytest.mark.skipif(not render.can_render(render.DEV_SOUNDFONT), reason="needs FluidSynth and TimGM6mb")
def test_played_chords_sound_the_predicted_classes_at_the_set_level():
    rate, frame_seconds = 44100, 1024 / 44100
    vocal = 0.1 * np.sin(2 * np.pi * 659.3 * np.arange(2 * rate) / rate).astype(np.float32)
    notes = [MelodyNote(76, 0, 40), MelodyNote(74, 40, 80)]
    score = chords.chord_score(notes, np.stack([C_MAJOR] * len(notes)), frame_seconds, "consonant")
    assert [(n.pitch, round(n.start / frame_seconds)) for n in score.parts["vocals"]] == [(76, 0), (74, 40)]
    parts = chords.play(score, vocal, rate, render.DEV_SOUNDFONT, "strings")
    played = parts["chords"]
    assert played.shape == vocal.shape and parts["drums"].shape == vocal.shape and not parts["drums"].any()
    level_db = 10 * np.log10(np.mean(np.square(played, dtype=np.float64)) / np.mean(np.square(vocal, dtype=np.float64)))
    assert abs(level_db - CHORD_LEVEL_DB) < 0.1
    profile = librosa.feature.chroma_stft(y=played, sr=rate, n_fft=4096, tuning=0.0).mean(axis=1)
    assert np.corrcoef(profile, C_MAJOR)[0, 1] > 0.6
    assert profile.argmax() == 0  # C, doubled in the bass
    assert profile[[0, 4, 7]].mean() > 2 * profile[[1, 3, 6, 8, 10]].mean()  # the triad, not the black keys


@pytest.mark.skipif(not render.can_render(render.DEV_SOUNDFONT), reason="needs FluidSynth and TimGM6mb")
def test_each_instrument_plays_the_chord_at_the_set_level_and_sustains_or_fades_as_it_should():
    """One C major chord held 4 s under a sung E5: every instrument sounds its classes at the set
    level; strings, organ and choir hold it, a struck piano's or plucked guitar's fades by the end
    (what ``--rhythm beat`` is for), and the instruments are not one sound under five names."""
    rate, frame_seconds = 44100, 1024 / 44100
    vocal = 0.1 * np.sin(2 * np.pi * 659.3 * np.arange(4 * rate) / rate).astype(np.float32)
    notes = [MelodyNote(76, 0, round(4.0 / frame_seconds))]
    score = chords.chord_score(notes, np.stack([C_MAJOR]), frame_seconds, "consonant")
    centroids = {}
    for instrument in INSTRUMENT_CHOICES:
        played = chords.play(score, vocal, rate, render.DEV_SOUNDFONT, instrument)["chords"]
        level_db = 10 * np.log10(
            np.mean(np.square(played, dtype=np.float64)) / np.mean(np.square(vocal, dtype=np.float64))
        )
        assert abs(level_db - CHORD_LEVEL_DB) < 0.1, instrument
        profile = librosa.feature.chroma_stft(y=played, sr=rate, n_fft=4096, tuning=0.0).mean(axis=1)
        assert np.corrcoef(profile, C_MAJOR)[0, 1] > 0.6, instrument
        start, end = (
            np.mean(np.square(played[int(a * rate) : int(b * rate)], dtype=np.float64))
            for a, b in ((0.2, 1.0), (3.0, 3.8))
        )
        fade_db = 10 * np.log10(start / end)
        assert fade_db > 12 if instrument in ("piano", "guitar") else abs(fade_db) < 3, (instrument, fade_db)
        centroids[instrument] = float(librosa.feature.spectral_centroid(y=played, sr=rate).mean())
    assert min(abs(a - b) for a, b in itertools.combinations(centroids.values(), 2)) > 20, centroids
    with pytest.raises(ValueError, match="instrument must be one of strings, organ, piano, guitar, choir"):
        chords.play(score, vocal, rate, render.DEV_SOUNDFONT, "banjo")


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_chords_are_a_flag_played_beside_or_instead_of_the_generator(accompaniment_model, stems_model, tmp_path):
    """auto plays them only when the export ships a harmoniser; "add" is exactly the generator's
    accompaniment plus "only"'s, the chords (and a kit) stems of their own that sum to the song;
    asking for them without a harmoniser, or from a multi-stem model, or for drums without them, is
    an error that says why."""
    from conftest import sung

    from trainer import export, generate, harmoniser
    from trainer.config import CHORDS_WITH_A_HARMONISER

    folder = str(tmp_path / "export")
    shutil.copytree(os.path.join(accompaniment_model, "export"), folder)
    assert export.load_model(folder).chords == "none"
    with pytest.raises(ValueError, match="chords: this model plays no chords"):
        export.playing(export.load_model(folder), chords="only")  # a song's choice needs chords to play
    with pytest.raises(FileNotFoundError, match="harmoniser.keras"):
        export.load_model(folder, chords="add")
    with pytest.raises(ValueError, match="not one accompaniment"):
        export.load_model(stems_model, chords="only")
    with pytest.raises(ValueError, match="--drums backbeat plays with the chords, and the model in .* plays none"):
        export.load_model(folder, drums="backbeat")
    harmoniser._save(harmoniser.build(harmoniser.HarmoniserConfig(units=8, layers=1)), {}, folder)
    assert export.load_model(folder).chords == CHORDS_WITH_A_HARMONISER
    assert (export.load_model(folder).voicing, export.load_model(folder, voicing="hedged").voicing) == (
        VOICINGS[0],
        "hedged",
    )
    with pytest.raises(ValueError, match="voicing must be one of"):
        export.load_model(folder, voicing="jazz")
    assert export.load_model(folder, rhythm="beat").rhythm == "beat"
    with pytest.raises(ValueError, match="rhythm must be one of held, beat"):
        export.load_model(folder, rhythm="swing")
    vocal = sung(2.0, 44100, 1)
    songs = {
        mode: generate.generate_song(export.load_model(folder, chords=mode), vocal, 44100, vocals=False)
        for mode in ("none", "add", "only")
    }
    assert {mode: tuple(song.stems) for mode, song in songs.items()} == {
        "none": ("accompaniment",),
        "add": ("accompaniment", "chords"),
        "only": ("chords",),
    }
    chosen = export.playing(export.load_model(folder), chords="only")  # a song's choice, as the page makes it
    assert generate.stem_names(chosen) == ("chords",)
    assert generate.stem_names(export.playing(chosen, chords="add")) == ("accompaniment", "chords")
    assert np.sqrt(np.mean(np.square(songs["only"].mix))) > 0.1 * np.sqrt(np.mean(np.square(vocal)))
    np.testing.assert_allclose(songs["add"].mix, songs["none"].mix + songs["only"].mix, atol=1e-4)
    np.testing.assert_allclose(songs["add"].stems["chords"], songs["only"].stems["chords"], atol=1e-4)
    barred = generate.generate_song(export.load_model(folder, changes="bar"), vocal, 44100, vocals=False).chords
    first = min(note.start for note in barred.parts["vocals"])
    bar_lines = [round(at, 6) for at in (first, *chords.bar_lines(barred))]
    assert barred.parts["bass"] and {round(note.start, 6) for note in barred.parts["bass"]} <= set(bar_lines)
    kit = generate.generate_song(export.load_model(folder, drums="backbeat"), vocal, 44100, vocals=False)
    assert tuple(kit.stems) == ("accompaniment", "chords", "drums") and np.abs(kit.stems["drums"]).max() > 1e-3
    np.testing.assert_allclose(kit.mix, np.sum(list(kit.stems.values()), axis=0), atol=1e-6)


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_a_take_sung_off_a440_gets_chords_in_its_own_tuning(accompaniment_model, tmp_path):
    """Generation resamples a take to A = 440 and what it makes back: chords under a take 40 cents
    sharp sound 40 cents sharp, not a quarter tone off the voice, and the song keeps its length."""
    from test_melody import sung_notes

    from trainer import export, generate

    model = export.load_model(with_harmoniser(accompaniment_model, str(tmp_path / "export")), chords="only")
    line = [(67, 0.6), (69, 0.5), (71, 0.5), (72, 0.8), (74, 0.4), (72, 0.6)]
    tunings, measured = [], []
    for cents in (0.0, 40.0):
        take = sung_notes(line, cents)
        song = generate.generate_song(model, take, 44100, vocals=False)
        assert song.mix.shape == take.shape and np.abs(song.mix).max() > 0.01
        tunings.append(librosa.estimate_tuning(y=song.mix[0], sr=44100, n_fft=4096))
        measured.append(song.tuning)  # what the song's picture counts its pitch classes from
    assert abs(tunings[1] - tunings[0] - 0.4) < 0.06
    assert measured[0] == 0.0 and abs(measured[1] - 0.4) < 0.03


def _midi_notes(path: str) -> dict[str, list[tuple[float, int]]]:
    """Each track's (onset in seconds along the file's tempo map, pitch); its bends; its tempo
    maps (tempi in beats a minute); its onsets in beats; and its time signatures (beat, numerator,
    denominator)."""
    import mido

    midi = mido.MidiFile(path)
    assert midi.type == 1
    notes = {"tempo": [], "beats": {}, "meters": {}}
    for track in midi.tracks:
        now, ticks, tempo, notes[track.name], notes["beats"][track.name] = 0.0, 0, None, [], []
        notes["meters"][track.name] = []
        notes["tempo"].append(tuple(round(mido.tempo2bpm(m.tempo), 2) for m in track if m.type == "set_tempo"))
        for message in track:
            now += mido.tick2second(message.time, midi.ticks_per_beat, tempo) if message.time else 0.0
            ticks += message.time
            tempo = message.tempo if message.type == "set_tempo" else tempo
            if message.type == "note_on":
                notes["beats"][track.name].append(ticks / midi.ticks_per_beat)
                notes[track.name].append((now, message.note))
            if message.type == "pitchwheel":
                notes.setdefault("bends", []).append(message.pitch * 2 / 8191)  # semitones, GM's +-2 range
            if message.type == "marker":
                notes.setdefault("markers", []).append((now, message.text))
            if message.type == "time_signature":
                signature = (ticks / midi.ticks_per_beat, message.numerator, message.denominator)
                notes["meters"][track.name].append(signature)
    return notes


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_generate_writes_the_melody_and_its_chords_as_midi_on_the_takes_clock_and_tuning(accompaniment_model, tmp_path):
    """Beside song.wav and song.png: song.mid, one track each for the transcribed melody, the bass
    and the upper notes (a chord struck with every sung note, under it), a quarter note a second,
    every channel bent by the take's offset from A = 440 Hz; the same line sung 40 cents sharp
    (resampled to 440 inside generation, which stretches its time) keeps its onsets."""
    from test_melody import sung_notes

    from trainer import export, generate
    from trainer.config import GenerateOptions
    from vocals2song import audio

    folder = with_harmoniser(accompaniment_model, str(tmp_path / "export"))
    model = export.load_model(folder, chords="only")
    line = [(67, 0.6), (69, 0.5), (71, 0.5), (72, 0.8), (74, 0.4), (72, 0.6), (71, 0.5), (69, 0.5), (67, 1.0)]
    written = {}
    for cents in (0.0, 40.0):
        audio.write(str(tmp_path / "take.wav"), sung_notes(line, cents), 44100)
        options = GenerateOptions(vocals=str(tmp_path / "take.wav"), output=str(tmp_path / f"song{cents:.0f}.wav"))
        result = generate.generate_file(model, options)
        assert result.midi == str(tmp_path / f"song{cents:.0f}.mid")
        written[cents] = _midi_notes(result.midi)
        in_bars = " ".join(result.bars).split()  # each bar opens with the chord it holds: the chart, repeats added
        assert [name for index, name in enumerate(in_bars) if index == 0 or name != in_bars[index - 1]] == [
            text for _, text in written[cents]["markers"]
        ]
    sharp = written[40.0]
    assert set(sharp) == {"vocals", "bass", "other", "chords", "markers", "bends", "tempo", "beats", "meters"}
    assert "bends" not in written[0.0]
    assert len(set(sharp["tempo"])) == 1 and 46 < sharp["tempo"][0][-1] < 133  # the sung beat's, one map for all
    assert len(sharp["bends"]) == 3 and all(abs(bend - 0.4) < 0.03 for bend in sharp["bends"])
    assert [pitch for _, pitch in sharp["vocals"]] == [pitch for pitch, _ in line]
    onsets = {cents: np.array([seconds for seconds, _ in notes["vocals"]]) for cents, notes in written.items()}
    assert np.abs(onsets[40.0] - onsets[0.0]).max() < 0.03  # one frame: no 2.3% stretch (0.1 s by the last note)
    sung_at = np.cumsum([0.0] + [seconds for _, seconds in line[:-1]])
    assert np.abs(onsets[0.0] - sung_at).max() < 0.06  # seconds kept at the file's tempo (the transcriber lags)
    sung = {round(seconds, 6): pitch for seconds, pitch in sharp["vocals"]}
    assert [round(seconds, 6) for seconds, _ in sharp["bass"]] == list(sung)
    assert all(pitch < sung[round(seconds, 6)] for seconds, pitch in sharp["other"])
    symbols = [text for _, text in sharp["markers"]]  # the chord chart: a symbol where the chord changes
    assert sharp["markers"][0][0] == sharp["bass"][0][0] and all(a != b for a, b in itertools.pairwise(symbols))
    assert {round(seconds, 6) for seconds, _ in sharp["markers"]} <= set(sung)
    assert not generate.generate_file(export.load_model(folder, chords="none"), options).midi


def _line(beats: tuple[float, ...], predictions: np.ndarray | None = None) -> tuple[np.ndarray, chords.Score]:
    """A line of ``beats`` (lengths) sung at 75 beats a minute from 1.3 s, each note released a
    little early, under chords of ``predictions`` (C major throughout unless given): its onsets
    (seconds) and its ``chord_score``."""
    period, frame = 0.8, 0.01
    onsets = 1.3 + np.cumsum((0.0, *beats[:-1])) * period
    notes = [
        MelodyNote(67 + 2 * (i % 3), round(t / frame), round((t + b * period) / frame) - 4)
        for i, (t, b) in enumerate(zip(onsets, beats, strict=True))
    ]
    predictions = np.stack([C_MAJOR] * len(notes)) if predictions is None else predictions
    return onsets, chords.chord_score(notes, predictions, frame, "consonant")


def _written_line(beats: tuple[float, ...], path: str) -> tuple[np.ndarray, dict]:
    """``_line`` written as song.mid at ``path``: its onsets (seconds) and what the file holds
    (``_midi_notes``)."""
    onsets, score = _line(beats)
    chords.write_midi(score, 0.0, path, "strings")
    return onsets, _midi_notes(path)


def test_song_mid_names_the_chosen_instruments_programs(tmp_path):
    """Each track of song.mid starts with its General MIDI program: the melody's voice, and the
    bass's and upper notes' of the instrument the chords were played with."""
    import mido

    _, score = _line((1, 1, 2))
    for instrument in INSTRUMENT_CHOICES:
        path = str(tmp_path / f"{instrument}.mid")
        chords.write_midi(score, 0.0, path, instrument)
        programs = {
            track.name: [message.program for message in track if message.type == "program_change"]
            for track in mido.MidiFile(path).tracks
        }
        expected = {"vocals": MELODY_PROGRAM, **INSTRUMENTS[instrument]}
        assert {name: programs[name] for name in expected} == {name: [p] for name, p in expected.items()}
    assert INSTRUMENTS["guitar"] == {"bass": 32, "other": 24}  # acoustic bass, nylon guitar: GM's numbers from 0


def test_song_mid_puts_the_sung_beats_on_its_beats_after_a_lead(tmp_path):
    """A line at 75 beats a minute whose first beat comes 1.7 s into the take, after an eighth
    pickup: in the file every sung onset sits on the half-beat grid and every beat note on a beat,
    so quantising in a sequencer keeps the rhythm; the onsets keep their times in seconds."""
    beats = (0.5, 1, 1, 0.5, 0.5, 1, 2, 1, 1.5, 0.5, 1, 1, 2)
    onsets, written = _written_line(beats, str(tmp_path / "s.mid"))
    in_file = np.array(written["beats"]["vocals"])
    assert np.abs(in_file * 2 - np.round(in_file * 2)).max() < 0.05  # on the half-beat grid
    on_the_beat = in_file[1:][np.cumsum((0.0, *beats[1:-1])) % 1 == 0]
    assert np.abs(on_the_beat - np.round(on_the_beat)).max() < 0.03
    assert written["tempo"][0][-1] == pytest.approx(75.0, rel=0.01)
    assert np.abs(np.array([t for t, _ in written["vocals"]]) - onsets).max() < 0.002


def test_song_mid_draws_its_bar_lines_where_the_sung_meter_puts_them(tmp_path):
    """A 3/4 line sung after a one-beat upbeat, 1.3 s into the take: the file opens with a short
    bar holding the lead and the upbeat, then bars of three whose first beats carry the long
    notes; every track holds the same time signatures."""
    _, written = _written_line((1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 3), str(tmp_path / "s.mid"))
    in_file = np.round(written["beats"]["vocals"], 2)
    downbeat = in_file[1]  # the second note's
    assert written["meters"]["vocals"] == [(0.0, downbeat, 4), (downbeat, 3, 4)]
    assert all(meters == written["meters"]["vocals"] for meters in written["meters"].values())
    bar_starts = in_file[(in_file - downbeat) % 3 == 0]
    assert list(bar_starts) == list(downbeat + np.cumsum((0, 3, 3, 3, 3, 3)))  # the 2s and 3s, one a bar


def test_the_pictures_roll_draws_a_line_where_each_bar_starts():
    """The 3/4 line's bars start at 0 s (the lead and the upbeat) and then on the notes that
    start one; the roll draws a line at each."""
    from trainer import picture

    onsets, score = _line((1, 2, 1, 2, 1, 3, 2, 1, 2, 1, 3))
    lines = chords.bar_lines(score)
    assert lines[0] == 0.0 and np.abs(np.array(lines[1:]) - onsets[[1, 3, 5, 6, 8, 10]]).max() < 0.03
    vocal = 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(11 * 44100)) / 44100)[np.newaxis]
    (roll,) = [
        axis
        for axis in picture.song_figure(vocal, vocal, 44100, chords=score).axes
        if axis.get_title() == picture.ROLL_TITLE
    ]
    assert sorted(line.get_xdata()[0] for line in roll.lines) == pytest.approx(lines)


def test_the_chord_chart_reads_a_bar_at_a_time_with_the_sounding_chord_first():
    """A 3/4 line after an upbeat under C, then a bar of F, a bar of G changing to C on its last
    beat, then C held on to the end: each bar opens with the chord sounding at its first beat, changes
    follow in order, and a bar with no change repeats the chord it holds."""
    major = {root: np.roll(C_MAJOR, root) for root in (0, 5, 7)}
    roots = (0, 0, 0, 5, 5, 7, 0, 0, 0, 0, 0)  # a chord per note: the upbeat, then five bars of 2 + 1 beats
    _, score = _line((1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1), np.stack([major[root] for root in roots]))
    names = [name for _, name in chords.symbols(score)]
    assert len(names) == 4 and names[0] == names[3]
    c, f, g = names[:3]
    assert chords.bar_chart(score) == (c, c, f, f"{g} {c}", c, c)


def test_song_mid_carries_the_key_its_notes_fit(tmp_path):
    """The line under C, F and G major chords is in C major; the same a minor third lower (each
    note and chord moved down three semitones) in A major: the signature follows the notes."""
    import mido

    major = {root: np.roll(C_MAJOR, root) for root in (0, 5, 7)}
    roots = (0, 0, 0, 5, 5, 7, 0, 0, 7, 7, 0)
    _, score = _line((1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1), np.stack([major[root] for root in roots]))
    lower = Score(
        "lower", {stem: tuple(replace(n, pitch=n.pitch - 3) for n in notes) for stem, notes in score.parts.items()}
    )
    for written, key in ((score, "C"), (lower, "A")):
        chords.write_midi(written, 0.0, str(tmp_path / "k.mid"), "strings")
        tracks = mido.MidiFile(tmp_path / "k.mid").tracks
        assert {m.key for track in tracks for m in track if m.type == "key_signature"} == {key}
        assert all(any(m.type == "key_signature" for m in track) for track in tracks)


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_the_chords_follow_a_take_that_drifts_and_song_mid_bends_with_it(accompaniment_model, tmp_path):
    """The line of the melody test that sinks from 45 cents sharp to 55 flat: generation reads its
    notes along the drift, and the chords it plays, in song.mid and in the audio, bend with it: the
    file's pitch wheel goes down by most of a semitone, and the chords' partials sound lower at the
    end than at the start by about what the voice sank."""
    from test_melody import sung_notes

    from trainer import export, generate

    folder = with_harmoniser(accompaniment_model, str(tmp_path / "export"))
    model = export.load_model(folder, chords="only")
    line = [(67, 0.5), (69, 0.5), (71, 0.5), (72, 0.5), (74, 0.5), (72, 0.5)] * 4
    cents = np.linspace(45, -55, len(line))
    take = np.concatenate([sung_notes([note], c) for note, c in zip(line, cents, strict=True)], axis=1)
    song = generate.generate_song(model, take, 44100, vocals=False)
    assert [note.pitch for note in song.chords.parts["vocals"]] == [pitch for pitch, _ in line]
    generate.write_midi(song, str(tmp_path / "song.mid"))
    import mido

    for track in mido.MidiFile(tmp_path / "song.mid").tracks[:3]:  # the melody's, the bass's, the chords'
        wheel = [message.pitch * 2 / 8191 for message in track if message.type == "pitchwheel"]
        assert wheel[0] - wheel[-1] > 0.6 and all(a >= b - 0.005 for a, b in itertools.pairwise(wheel))
    head = chords.lead_sheet(song.chords, song.tuning).splitlines()[0]
    assert re.search(r", A = 4(4[6-9]|5\d) Hz falling to 4(2\d|3[0-4]) Hz$", head), head  # +45 to -55 cents, smoothed
    early, late = (_partials_cents(song.mix[0, part], 44100) for part in (slice(0, 3 * 44100), slice(-3 * 44100, None)))
    assert 0.5 < ((early - late) % 100) / 100 < 0.95  # sank by most of the 0.8 semitone between these


def _partials_cents(waveform: np.ndarray, rate: int) -> float:
    """Where a chord's partials sit between semitones, in cents (0-100), by their loudness."""
    spectrum = np.abs(np.fft.rfft(waveform * np.hanning(len(waveform))))
    hz = np.fft.rfftfreq(len(waveform), 1 / rate)
    loud = np.flatnonzero((spectrum > 0.05 * spectrum.max()) & (hz > 60) & (hz < 1500))
    phasor = np.sum(spectrum[loud] * np.exp(2j * np.pi * librosa.hz_to_midi(hz[loud])))
    return float(np.angle(phasor) / (2 * np.pi) * 100 % 100)


def test_the_concert_pitch_is_where_the_takes_a_is_and_follows_its_drift():
    score = chords.chord_score([MelodyNote(72, 0, 10)], np.stack([C_MAJOR]), 0.1, "chordal")
    assert chords.concert_pitch(score, 0.0) is None and "Hz" not in chords.lead_sheet(score)
    assert chords.concert_pitch(score, 0.33) == "A = 448 Hz"  # 440 * 2 ** (0.33 / 12)
    assert chords.lead_sheet(score, -0.5).splitlines()[0].endswith(", A = 427 Hz")
    drift = np.linspace(0.1, -0.3, 10)  # a tenth of a second a frame: a point every other frame
    drifting = chords.chord_score([MelodyNote(72, 0, 10)], np.stack([C_MAJOR]), 0.1, "chordal", drift=drift)
    expected = [(0.1 * frame, round(drift[frame], 3)) for frame in range(0, 10, 2)]
    assert list(drifting.bends) == [pytest.approx(point) for point in expected]
    assert chords.concert_pitch(drifting, 0.0) == "A = 443 Hz falling to 434 Hz"


def test_a_frame_bent_by_its_drift_moves_its_partials_by_that_many_semitones():
    """The generator plays at A = 440 Hz whatever the voice does; ``generate.bent`` moves each
    frame of its magnitudes by the take's drift there, so Griffin-Lim rebuilds them in its tuning."""
    from trainer import generate

    magnitude = np.zeros((2049, 3), np.float32)
    magnitude[400] = 1.0  # one partial, ~4.3 kHz at a 4096-point frame
    moved = generate.bent(magnitude, np.array([0.0, 0.5, -1.0]))
    np.testing.assert_array_equal(moved[:, 0], magnitude[:, 0])
    for frame, semitones in ((1, 0.5), (2, -1.0)):
        centre = np.sum(np.arange(2049) * moved[:, frame]) / moved[:, frame].sum()
        assert centre == pytest.approx(400 * 2 ** (semitones / 12), abs=0.05)


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_the_generators_frames_are_bent_by_a_drifting_takes_drift(accompaniment_model, tmp_path, monkeypatch):
    from test_melody import sung_notes

    from trainer import export, generate

    model = export.load_model(with_harmoniser(accompaniment_model, str(tmp_path / "export")), chords="none")
    line = [(67, 0.5), (69, 0.5), (71, 0.5), (72, 0.5), (74, 0.5), (72, 0.5)] * 4
    take = np.concatenate([sung_notes([n], c) for n, c in zip(line, np.linspace(45, -55, 24), strict=True)], axis=1)
    drifts = []
    monkeypatch.setattr(generate, "bent", lambda magnitude, drift: drifts.append(drift) or magnitude)
    generate.generate_song(model, take, 44100, phase="griffinlim")
    assert drifts and drifts[0][0] - drifts[0][-1] > 0.6  # the drift, from sharp to flat
    generate.generate_song(model, sung_notes(line, 30.0), 44100, phase="griffinlim")
    assert len(drifts) == 1  # a take that holds its tuning is not bent


def test_song_mids_pitch_wheel_carries_the_takes_offset_and_its_drift_together():
    assert chords.tuned_bends((), 0.0) == ()
    assert chords.tuned_bends((), 0.4) == ((0.0, 0.4),)  # in tune with the take from the first beat
    assert chords.tuned_bends(((0.0, 0.0), (8.0, -0.25)), 0.4) == ((0.0, 0.4), (8.0, 0.15))
