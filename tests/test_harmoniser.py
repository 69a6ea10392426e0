"""The note-level harmoniser (trainer/harmoniser.py) and generation with it."""

import dataclasses
import json
import os

import numpy as np
import pytest

from trainer import harmoniser
from trainer.harmoniser import HarmoniserConfig, HarmoniserOptions
from vocals2song import melody
from vocals2song.scores import Note, Score

TINY = HarmoniserConfig(units=16, layers=1, steps=250, batch=8)


def chorale(melody_pitches: list[int], chord_of, quarters: float = 1.0) -> Score:
    """A melody with a bass and an inner part that ``chord_of(pitch)`` gives, note for note."""
    parts = {"vocals": [], "bass": [], "other": []}
    for index, pitch in enumerate(melody_pitches):
        start = index * quarters
        parts["vocals"].append(Note(pitch, start, quarters))
        bass, inner = chord_of(pitch)
        parts["bass"].append(Note(bass, start, quarters))
        parts["other"].append(Note(inner, start, quarters))
    return Score("toy", {stem: tuple(notes) for stem, notes in parts.items()})


def thirds_and_fifths(pitch: int) -> tuple[int, int]:
    """A toy harmony rule: under each melody note its major third and fifth below."""
    return pitch - 20, pitch - 17


def test_an_example_weights_pitch_classes_by_how_long_they_sound_under_each_note():
    score = Score(
        "two",
        {
            "vocals": (Note(72, 0.0, 2.0), Note(74, 2.0, 1.0)),
            "bass": (Note(48, 0.0, 1.0), Note(43, 1.0, 2.0)),
        },
    )
    features, target, weights = harmoniser.score_example(score)
    assert np.argmax(features[:, :12], axis=1).tolist() == [0, 2]
    np.testing.assert_allclose(weights, [2.0, 1.0])
    assert target[0, 0] == 1.0 and target[0, 7] == 1.0  # C for one quarter, G for one
    assert target[1, 7] == 1.0 and target[1].sum() == 1.0


def test_note_features_ignore_tempo_and_transposing_rolls_the_pitch_classes():
    slow = harmoniser.note_features([60, 64, 67], [1.0, 1.0, 2.0])
    fast = harmoniser.note_features([60, 64, 67], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(slow, fast)
    up = harmoniser.note_features([63, 67, 70], [1.0, 1.0, 2.0])
    np.testing.assert_allclose(up[:, :12], np.roll(slow[:, :12], 3, axis=1))


def test_an_excerpt_is_a_stretch_of_the_melody_timed_against_its_own_median_note():
    melody_pitches = list(range(60, 80))
    durations = [1.0] * 10 + [4.0] * 10  # the whole melody's median note: 2.5 quarters
    example = (harmoniser.note_features(melody_pitches, durations), np.eye(12)[np.arange(20) % 12], np.array(durations))
    rng = np.random.default_rng(1)
    for _ in range(20):
        features, target, weights = harmoniser.excerpt(example, rng)
        assert len(features) >= harmoniser.MIN_EXCERPT_NOTES
        pitches = features[:, :12].argmax(axis=1)
        assert np.all(np.diff(pitches) % 12 == 1)  # contiguous notes, in order
        np.testing.assert_allclose(target.argmax(axis=1), pitches)  # targets travel with their notes
        np.testing.assert_allclose(features[:, 12], np.log2(weights / np.median(weights)))
    short = tuple(part[:8] for part in example)
    assert harmoniser.excerpt(short, rng) is short


def test_a_tiny_harmoniser_learns_a_harmony_rule_in_every_key():
    """Trained on melodies in C only (the batches transpose them), it predicts the rule's
    pitch classes for melodies in other keys far better than before training."""
    rng = np.random.default_rng(0)
    melodies = [rng.choice([60, 62, 64, 65, 67, 69, 71, 72], 16).tolist() for _ in range(24)]
    examples = [harmoniser.score_example(chorale(m, thirds_and_fifths)) for m in melodies]
    held_out = [harmoniser.score_example(chorale([p + 5 for p in m], thirds_and_fifths)) for m in melodies[:6]]
    untrained = harmoniser.score(harmoniser.build(TINY), held_out)
    trained = harmoniser.score(harmoniser.train(examples, TINY), held_out)
    assert trained > 0.8 and trained > untrained + 0.3


def test_predictions_averaged_over_keys_transpose_exactly_with_the_melody():
    """One reading of an untrained network is not transposition-equivariant; the average over
    the twelve keys is, to rounding: a melody three semitones up gets the same prediction rolled."""
    model = harmoniser.build(TINY)
    melody_in_c = harmoniser.note_features([60, 64, 67, 65, 62], [1, 1, 2, 1, 1])
    up = harmoniser.note_features([63, 67, 70, 68, 65], [1, 1, 2, 1, 1])
    one_reading = np.asarray(model(melody_in_c[None]))[0], np.asarray(model(up[None]))[0]
    assert np.abs(np.roll(one_reading[0], 3, axis=1) - one_reading[1]).max() > 1e-3
    averaged = harmoniser.predict(model, np.stack([melody_in_c, up]))
    np.testing.assert_allclose(averaged[1], np.roll(averaged[0], 3, axis=1), atol=1e-5)


def test_frame_harmony_holds_each_notes_prediction_and_fills_rests_from_the_nearest():
    model = harmoniser.build(TINY)
    notes = [melody.MelodyNote(60, 2, 6), melody.MelodyNote(67, 10, 14)]
    per_note = harmoniser.note_predictions(model, notes)
    frames = harmoniser.frame_harmony(per_note, notes, 16)
    np.testing.assert_allclose(per_note, harmoniser.predict(model, harmoniser.note_features([60, 67], [4, 4])[None])[0])
    np.testing.assert_allclose(frames[[0, 2, 5, 7]], np.repeat(per_note[:1], 4, axis=0), rtol=1e-5)
    np.testing.assert_allclose(frames[[9, 10, 15]], np.repeat(per_note[1:], 3, axis=0), rtol=1e-5)
    assert not np.any(harmoniser.frame_harmony(None, [], 5))


def test_the_job_trains_on_a_folder_of_scores_and_names_the_file_it_could_not_read(tmp_path):
    scores_dir = tmp_path / "scores"
    scores_dir.mkdir()
    for index in range(3):
        write_midi(scores_dir / f"song{index}.mid", [60 + index, 64, 67, 65, 64, 62, 60])
    (scores_dir / "broken.mid").write_bytes(b"not a midi file")
    options = HarmoniserOptions(str(tmp_path / "out"), scores_dir=str(scores_dir), config=TINY)
    summary = harmoniser.run(dataclasses.replace(options, config=dataclasses.replace(TINY, steps=5)))
    assert summary["melodies"] == 3 and len(summary["failures"]) == 1 and "broken.mid" in summary["failures"][0]
    assert os.path.exists(tmp_path / "out" / "harmoniser.keras")
    assert json.loads((tmp_path / "out" / "harmoniser.json").read_text())["melodies"] == 3

    (tmp_path / "model" / "export").mkdir(parents=True)
    (tmp_path / "model" / "export" / "model.json").write_text("{}")  # a model_dir: it goes to its export
    harmoniser.run(
        dataclasses.replace(options, output_dir=str(tmp_path / "model"), config=dataclasses.replace(TINY, steps=2))
    )
    assert os.path.exists(tmp_path / "model" / "export" / "harmoniser.keras")


def write_midi(path, pitches: list[int]) -> None:
    """A two-track MIDI file: the melody and a bass a tenth below, one beat per note."""
    import mido

    song = mido.MidiFile(ticks_per_beat=480)
    for name, shift in (("melody", 0), ("bass", -15)):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        for pitch in pitches:
            track.append(mido.Message("note_on", note=pitch + shift, velocity=80, time=0))
            track.append(mido.Message("note_off", note=pitch + shift, velocity=0, time=480))
        song.tracks.append(track)
    song.save(path)


@pytest.mark.slow
def test_an_export_with_a_harmoniser_sings_with_it_and_the_head_choice_is_a_flag(dataset_dir, tmp_path):
    """The U-Net reads the harmoniser's pitch classes in place of its head's: given the head's
    own prediction it makes exactly the generator's output; given another, something else."""
    from conftest import stems_config, sung, tiny_model_config

    from trainer import export, generate, train
    from trainer.models import harmony_model

    config = stems_config(dataset_dir, str(tmp_path), target="accompaniment", steps=1)
    train.train(dataclasses.replace(config, model=dataclasses.replace(tiny_model_config(), harmony=True)))
    with pytest.raises(FileNotFoundError, match="harmoniser.keras"):
        export.load_model(str(tmp_path), harmony="notes")
    harmoniser._save(harmoniser.build(TINY), {}, str(tmp_path / "export"))
    with_notes, with_head = export.load_model(str(tmp_path)), export.load_model(str(tmp_path), harmony="head")
    assert with_notes.harmony == "notes" and with_head.harmony == "head"

    rows, channels = with_head.generator.input_shape[1], with_head.generator.input_shape[-1]
    source = np.random.default_rng(0).normal(size=(1, rows, 64, channels)).astype(np.float32)
    head = np.asarray(harmony_model(with_head.generator)(source))
    np.testing.assert_allclose(with_notes.run(source, head), with_head.run(source), atol=1e-5)
    assert np.abs(with_notes.run(source, np.roll(head, 5, axis=-1)) - with_head.run(source)).max() > 1e-3

    vocal = sung(2.0, 44100, 1)
    by_notes, by_head = generate.generate(with_notes, vocal, 44100), generate.generate(with_head, vocal, 44100)
    assert by_notes.shape == by_head.shape == (1, 88200) and not np.allclose(by_notes, by_head)


def test_the_command_line_trains_one_from_a_folder_of_midi_files(tmp_path, capsys):
    from vocals2song.cli import main

    for index in range(2):
        write_midi(tmp_path / f"tune{index}.mid", [67, 69, 71, 72 - index, 71, 69, 67])
    args = ["harmoniser", "--scores_dir", str(tmp_path), "--output_dir", str(tmp_path / "out")]
    assert main([*args, "--steps", "3", "--units", "4", "--layers", "1", "--every", "1:0"]) == 0
    assert "harmoniser: 2 melodies (0 skipped)" in capsys.readouterr().out
    assert os.path.exists(tmp_path / "out" / "harmoniser.keras")
