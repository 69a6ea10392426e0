"""The public Python API: cheap to import, flat keyword options, the same functions as the CLI."""

import inspect
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import LEAD_SHEET_HEAD, sung, with_harmoniser

import vocals2song
from trainer import config as train_config
from trainer import models
from vocals2song import render
from vocals2song.cli import main


def test_importing_the_package_loads_no_heavy_library():
    code = "import vocals2song, sys; print(*(m in sys.modules for m in ('tensorflow', 'apache_beam', 'librosa')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == [
        "False",
        "False",
        "False",
    ]


def test_the_command_line_is_built_without_tensorflow_beam_or_the_web_stack():
    heavy = ("tensorflow", "apache_beam", "fastapi", "uvicorn")
    code = f"import sys; from vocals2song import cli; cli.parser(); print(*(m in sys.modules for m in {heavy}))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["False"] * len(heavy)


@pytest.mark.parametrize("name", vocals2song.__all__)
def test_every_public_function_has_a_docstring_with_an_example(name):
    doc = inspect.getdoc(getattr(vocals2song, name))
    assert doc and f"vocals2song.{name}(" in doc, name


def test_flat_options_go_to_the_dataclass_that_owns_them():
    config = train_config.config_from_options(
        "d", "m", steps=7, crop_frames=128, depth=5, features="logmag", frequency="log"
    )
    assert (config.steps, config.input.crop_frames, config.model.depth) == (7, 128, 5)
    assert (config.input.features.kind, config.input.features.frequency) == ("logmag", "log")
    assert config.model.filters == models.ModelConfig().filters  # unset: the dataclass default
    with pytest.raises(TypeError, match=r"unknown training option\(s\) \['stepz'\]"):
        train_config.config_from_options("d", "m", stepz=7)


@pytest.mark.slow
def test_load_dataset_gives_feature_batches(dataset_dir):
    batch = next(iter(vocals2song.load_dataset(dataset_dir, "valid", batch_size=2, crop_frames=64)))
    source, target = (np.asarray(part) for part in batch)
    assert source.shape == target.shape == (2, 512, 64, 2)
    assert np.all(np.isfinite(source)) and abs(float(source[..., 0].mean())) < 3  # normalised log-magnitude


@pytest.mark.slow
def test_train_load_generate_and_evaluate_through_the_api(dataset_dir, tmp_path):
    model_dir = str(tmp_path / "model")
    tiny = dict(crop_frames=64, batch_size=2, filters=4, depth=4, disc_filters=4, dropout=0.0, shuffle_buffer=4)
    summary = vocals2song.train(dataset_dir, model_dir, steps=2, target="accompaniment", features="logmag", **tiny)
    assert summary["step"] == 2
    model = vocals2song.load_model(model_dir)
    chosen = vocals2song.load_model(model_dir, voicing="hedged", instrument="organ")
    assert (model.chords, model.voicing, model.instrument, model.drums) == ("none", "led", "strings", "none")
    assert (chosen.voicing, chosen.instrument) == ("hedged", "organ")  # generate's flags
    with pytest.raises(ValueError, match="--drums backbeat plays with the chords"):
        vocals2song.load_model(model_dir, drums="backbeat")  # this model has no harmoniser to play them
    with pytest.raises(TypeError, match="voice"):
        vocals2song.load_model(model_dir, voice="hedged")
    vocal = sung(1.5, 22050, 2)
    song, rate = vocals2song.generate(model, vocal, 22050)
    assert rate == 22050 and song.shape == vocal.shape
    accompaniment, _ = vocals2song.generate(model, vocal, 22050, vocals=False)
    assert accompaniment.shape == vocal.shape and not np.allclose(accompaniment, song, atol=0.01)
    metrics = vocals2song.evaluate(model_dir, dataset_dir, "test", segments_per_track=1)
    assert metrics["overall"]["oracle"]["song"]["lsd_db"] == pytest.approx(0.0, abs=1e-3)


def test_build_dataset_through_the_api(musdb_root, tmp_path):
    summary = vocals2song.build_dataset(musdb_root, str(tmp_path / "data"), segment_seconds=2.0)
    assert summary["segments"]["train"] > 0 and summary["segments"]["test"] > 0 and summary["failures"] == 0


def test_library_progress_is_logged_bare_and_quiet_silences_it(musdb_root, tmp_path, capsys):
    argv = ["dataset", "--musdb_root", musdb_root, "--output_dir", str(tmp_path / "a"), "--dry_run"]
    assert main(argv) == 0
    assert capsys.readouterr().err.startswith(f"plan for {musdb_root}")  # no timestamp on our progress
    assert main(["-q", *argv]) == 0
    assert "plan for" not in capsys.readouterr().err


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_a_song_its_chord_chart_and_its_midi_through_the_api(accompaniment_model, tmp_path):
    """generate_song keeps what the song is made of; chord_chart reads the chords it played as
    symbols where they change, and write_midi writes them with the melody (the chart as markers);
    a model that plays no chords has an empty chart and writes no MIDI; a chart's text given to
    generate_song is what plays."""
    import mido
    from test_melody import sung_notes

    take = sung_notes([(67, 0.6), (69, 0.5), (71, 0.5), (72, 0.8), (74, 0.4), (72, 0.6), (67, 1.0)])
    model = vocals2song.load_model(with_harmoniser(accompaniment_model, str(tmp_path / "e")))
    song = vocals2song.generate_song(model, take, 44100)
    assert song.mix.shape == take.shape and set(song.stems) == {"accompaniment", "chords"}
    chart = vocals2song.chord_chart(song)
    starts = [seconds for seconds, _ in chart]
    assert chart and starts == sorted(starts) and 0.0 <= starts[0] < 0.1 and starts[-1] < 4.4
    assert all(symbol and symbol[0] in "ABCDEFG" for _, symbol in chart)
    assert vocals2song.write_midi(song, str(tmp_path / "song.mid")) == str(tmp_path / "song.mid")
    markers = [m.text for track in mido.MidiFile(tmp_path / "song.mid").tracks for m in track if m.type == "marker"]
    assert markers == [symbol for _, symbol in chart]
    head, *bars = vocals2song.lead_sheet(song).splitlines()
    assert re.fullmatch(LEAD_SHEET_HEAD, head), head
    in_bars = " ".join(bars).replace("|", " ").split()  # each bar opens with the chord it holds
    assert [name for i, name in enumerate(in_bars) if i == 0 or name != in_bars[i - 1]] == markers
    plain = vocals2song.generate_song(vocals2song.load_model(accompaniment_model), take, 44100)
    assert plain.chords is None and vocals2song.chord_chart(plain) == [] and vocals2song.lead_sheet(plain) == ""
    assert vocals2song.write_midi(plain, str(tmp_path / "plain.mid")) is None and not (tmp_path / "plain.mid").exists()
    charted = vocals2song.generate_song(model, take, 44100, chart="| Am | Dm G7 | C |")
    assert [name for _, name in vocals2song.chord_chart(charted)][:3] == ["Am", "Dm", "G7"]
    assert (song.changes, charted.changes) == ("beat", "chart")  # a hymn's rhythm read off the take; the chart's
