"""The render job on a score written here: MUSDB18-HQ layout, exact sums, pitch, keys, dead letters."""

from __future__ import annotations

import json
import os

import librosa
import numpy as np
import pytest
import soundfile

from vocals2song import render, scores
from vocals2song.cli import main

SOUNDFONT = render.DEV_SOUNDFONT
pytestmark = pytest.mark.skipif(
    not (os.path.exists(SOUNDFONT) and render.shutil.which("fluidsynth")),
    reason="fluidsynth and timgm6mb-soundfont are not installed (infra/install_debian.sh installs them)",
)
MELODY = (72, 74, 76, 77, 79, 77, 76, 74, 72, 71, 72, 74, 76, 74, 72, 72)  # MIDI notes, one per beat
BASS = (48, 43, 45, 41)  # one per bar


def write_duet(path: str) -> None:
    """Four bars of 4/4 in C: a soprano in quarter notes over a bass in whole notes."""
    from music21 import instrument, meter, note, stream

    piece = stream.Score()
    for name, pitches, length in (("Soprano", MELODY, 1.0), ("Bass", BASS, 4.0)):
        part = stream.Part()
        part.partName = name
        part.insert(0, instrument.Vocalist() if name == "Soprano" else instrument.Bass())
        part.append(meter.TimeSignature("4/4"))
        for pitch in pitches:
            part.append(note.Note(pitch, quarterLength=length))
        piece.insert(0, part)
    piece.write("musicxml", fp=path)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scores")
    write_duet(str(folder / "duet.musicxml"))
    (folder / "broken.musicxml").write_text("<score-partwise><part id='P1'><measure>")
    (folder / "noise.mid").write_bytes(b"MThd this is not a midi file")
    out = str(tmp_path_factory.mktemp("rendered"))
    args = ["render", "--scores_dir", str(folder), "--output_dir", out, "--keys", "2", "--soundfont", SOUNDFONT]
    assert main([*args, "--tempo", "120:120", "--runner", "DirectRunner"]) == 0
    rows = {row["track"]: row for row in map(json.loads, open(os.path.join(out, "render-train.jsonl")))}
    return out, rows


def stems_of(out: str, track: str) -> dict[str, np.ndarray]:
    folder = os.path.join(out, "train", track)
    return {name: soundfile.read(os.path.join(folder, f"{name}.wav"), dtype="int16")[0] for name in render.STEMS}


def test_every_stem_of_a_track_is_written_and_the_mixture_is_their_exact_sum(rendered):
    out, rows = rendered
    assert len(rows) == 2 and sorted(os.listdir(os.path.join(out, "train"))) == sorted(rows)
    for track in rows:
        stems = stems_of(out, track)
        lengths = {len(samples) for samples in stems.values()}
        assert len(lengths) == 1 and lengths.pop() > 8 * 44100 * 0.9  # 16 beats at 120 per minute, plus tails
        parts = sum(stems[name].astype(np.int32) for name in ("vocals", "drums", "bass", "other"))
        np.testing.assert_array_equal(stems["mixture"].astype(np.int32), parts)
        assert not stems["drums"].any() and not stems["other"].any()  # the duet has no such parts
        assert np.abs(stems["bass"]).max() > 1000 and np.abs(stems["vocals"]).max() > 1000


def note_chroma(samples: np.ndarray, rate: int = 44100, tempo: float = 120.0) -> np.ndarray:
    """Pitch-class energy in the middle of each melody note: ``(notes, 12)``."""
    chroma = librosa.feature.chroma_stft(y=samples.astype(np.float32) / 32768, sr=rate, n_fft=4096, hop_length=512)
    beat = 60 / tempo * rate / 512  # frames per beat
    return np.stack([chroma[:, int((i + 0.3) * beat) : int((i + 0.7) * beat)].mean(axis=1) for i in range(len(MELODY))])


def test_the_vocal_sounds_the_scores_pitch_classes_in_the_drawn_key(rendered):
    out, rows = rendered
    for track, row in rows.items():
        heard = note_chroma(stems_of(out, track)["vocals"]).argmax(axis=1)
        expected = (np.array(MELODY) + row["shift"]) % 12
        assert np.mean(heard == expected) >= 0.9, (track, heard, expected)


def test_transposing_by_k_shifts_the_vocals_chroma_by_k(rendered):
    out, rows = rendered
    (first, a), (second, b) = sorted(rows.items())
    chroma_a, chroma_b = (note_chroma(stems_of(out, t)["vocals"]).mean(axis=0) for t in (first, second))
    k = b["shift"] - a["shift"]
    assert k % 12 != 0
    assert np.corrcoef(np.roll(chroma_a, k), chroma_b)[0, 1] > 0.9
    assert np.corrcoef(chroma_a, chroma_b)[0, 1] < 0.5  # untransposed, the profiles differ


def test_scores_that_fail_to_parse_are_dead_letters_naming_the_file(rendered):
    out, _ = rendered
    failures = {
        os.path.basename(row["file"]): row["reason"]
        for row in map(json.loads, open(os.path.join(out, "failures", "render-train.jsonl")))
    }
    assert set(failures) == {"broken.musicxml", "noise.mid"}
    assert "noise.mid: not a readable MIDI file" in failures["noise.mid"]
    assert "broken.musicxml" in failures["broken.musicxml"]
    assert not os.path.exists(os.path.join(out, ".progress"))


def test_arrangements_are_the_same_for_the_same_seed_and_differ_for_another():
    score = scores.Score("x", {"vocals": (scores.Note(60, 0, 1),), "bass": (), "other": (), "drums": ()})
    options = render.RenderOptions(keys=3, soundfont=SOUNDFONT)
    assert render.arrangements(score, options) == render.arrangements(score, options)
    other = render.arrangements(score, render.RenderOptions(keys=3, soundfont=SOUNDFONT, seed=1))
    assert other != render.arrangements(score, options)
    assert len({a.shift for a in render.arrangements(score, options)}) == 3


def test_the_reserved_chorales_and_soundfonts_cannot_be_rendered():
    from music21 import corpus

    total = len(corpus.getComposer("bach"))
    with pytest.raises(scores.ScoreError, match="reserved for independent evaluation"):
        scores.bach_sources(0, total - scores.RESERVED_BACH + 1)
    assert len(scores.bach_sources(total - scores.RESERVED_BACH - 1)) == 1
    with pytest.raises(ValueError, match="reserved for evaluation"):
        render.RenderOptions(soundfont="/usr/share/sounds/sf2/MuseScore_General.sf3")


def test_render_scores_through_the_python_api(tmp_path):
    import vocals2song

    folder = tmp_path / "scores"
    folder.mkdir()
    write_duet(str(folder / "duet.musicxml"))
    out = str(tmp_path / "out")
    summary = vocals2song.render_scores(out, scores_dir=str(folder), soundfont=SOUNDFONT, tempo_range=(120.0, 120.0))
    assert summary["tracks"] == 1 and summary["failures"] == []
    assert len(os.listdir(os.path.join(out, "train"))) == 1


def test_a_track_ends_every_note_it_starts():
    """A note shorter than a tick is left out (its off would sort before its on, and a held string
    would keep FluidSynth rendering for as long as it is let), every other note's off comes after
    its on, and the track ends by releasing every note of its channel."""
    note = scores.Note
    notes = (note(60, 0.0, 1.0), note(64, 1.0, 1e-15), note(67, 1.0, 0.5), note(60, 1.0, 1.0))
    arrangement = render.Arrangement("t", 0, 60.0, {"other": 48}, 0)
    track = render.midi_track(notes, "other", arrangement, 0, channel=0)
    sounding, tick = {}, 0
    for message in track:
        tick += message.time
        if message.type == "note_on":
            sounding[message.note] = sounding.get(message.note, 0) + 1
        elif message.type == "note_off":
            assert sounding.get(message.note, 0) > 0, (message, tick)
            sounding[message.note] -= 1
    assert not any(sounding.values()) and 64 not in sounding
    assert track[-1].type == "control_change" and track[-1].control == render.ALL_NOTES_OFF
    assert tick == 2 * render.TICKS
