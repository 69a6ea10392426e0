"""The model shipped in models/: it loads without --model, sings, and its card says what it measured."""

import json
import pathlib
import re

import numpy as np
import pytest
from conftest import vocal_in_song

from trainer import export, generate, style
from vocals2song import render

MODELS = pathlib.Path(__file__).resolve().parents[1] / "models"
CARD_ROWS = {
    "model (U-Net + played chords, the default)": "model",
    "silence (the vocals alone)": "silence",
    "average accompaniment": "average",
    "retrieval (another chorale's accompaniment)": "retrieval",
}


def melody(rate: int = 44100) -> np.ndarray:
    """A soprano line (A4 C5 E5 D5 C5 B4 A4 A4, half a second each) with vibrato: ``(1, samples)``."""
    notes = [69, 72, 76, 74, 72, 71, 69, 69]
    t = np.arange(rate // 2) / rate
    envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)
    line = []
    for note in notes:
        hz = 440.0 * 2 ** ((note - 69) / 12)
        phase = 2 * np.pi * hz * (t + 0.002 * np.sin(2 * np.pi * 5 * t))
        line.append(envelope * sum(0.2 / k * np.sin(k * phase) for k in (1, 2, 3)))
    return np.concatenate(line)[np.newaxis].astype(np.float32)


def test_the_model_card_shows_the_released_models_measured_song_scores():
    """Every number in the card's song table is the one `make model`'s evaluation wrote."""
    measured = json.loads((MODELS / "chorales" / "metrics.json").read_text())["overall"]
    card = (MODELS / "README.md").read_text()
    for label, system in CARD_ROWS.items():
        row = re.search(rf"^\| {re.escape(label)} \| \**([0-9.]+)\** \| \**([0-9.]+)\** \|$", card, re.MULTILINE)
        assert row, f"no row for {label} in models/README.md"
        song = measured[system]["song"]
        assert float(row[1]) == round(song["lsd_db"], 2) and float(row[2]) == round(song["chroma"], 3), label
    step = json.loads((MODELS / "chorales" / "model.json").read_text())["step"]
    assert f"({step:,})" in card


def test_the_released_model_accompanies_a_melody_without_being_asked_for():
    """No --model: the shipped model. The vocal comes back at its own level; the accompaniment
    is there (not silence), not louder than the voice by more than 6 dB, and sits under it:
    most of its energy below 1 kHz, where the chorales' alto, tenor and bass sound."""
    model = export.load_model(None)
    vocal = melody()
    song = generate.generate_song(model, vocal, 44100)
    gain, rest = vocal_in_song(song.mix, vocal)
    assert abs(gain - 1.0) < 0.05
    assert 0.03 < rest < 2.0, rest
    accompaniment = np.sum(list(song.stems.values()), axis=0)[0]
    power = np.abs(np.fft.rfft(accompaniment)) ** 2
    hz = np.fft.rfftfreq(accompaniment.size, 1 / 44100)
    assert power[hz < 1000].sum() > 0.5 * power.sum()


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_generate_prints_the_chord_chart_a_bar_at_a_time_and_writes_it_into_song_mid(tmp_path, capsys):
    """``vocals2song generate`` with the shipped model on the melody: song.mid is written and the
    printed chart is bars between bar lines, each of chord symbols, every one of them a marker of
    song.mid's chart, and how often the chords changed; song.txt holds the same bars under a line
    naming the key and tempo."""
    import mido

    from vocals2song import audio, cli

    audio.write(str(tmp_path / "take.wav"), melody(), 44100)
    assert cli.main(["generate", "--vocals", str(tmp_path / "take.wav"), "--output", str(tmp_path / "s.wav")]) == 0
    printed = capsys.readouterr().out.splitlines()
    line = next(line for line in printed if line.startswith("chords: "))
    said = next(line for line in printed if line.startswith("chords change: "))
    assert said in {f"chords change: {style.described(changes, True)}" for changes in style.READ_AS}
    assert line.startswith("chords: | ") and line.endswith(" |")
    bars = line.removeprefix("chords: | ").removesuffix(" |").split(" | ")
    markers = {m.text for track in mido.MidiFile(tmp_path / "s.mid").tracks for m in track if m.type == "marker"}
    assert 2 <= len(bars) <= 4 and all(bar.split() and set(bar.split()) <= markers for bar in bars)
    if "as a song" in said:  # its wide vibrato splits a note or two: read as a song, a chord a bar
        assert all(len(bar.split()) == 1 for bar in bars)
    head, *lines = (tmp_path / "s.txt").read_text().splitlines()  # the lead sheet: the same bars
    assert head.endswith(" beats a minute") and ("major" in head or "minor" in head)
    assert [bar for line in lines for bar in line.removeprefix("| ").removesuffix(" |").split(" | ")] == bars
