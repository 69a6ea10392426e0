"""The blind listening test (trainer/listening.py): what `prepare` writes and how `report`
unblinds and summarises ratings. The page itself is driven in a browser by test_browser.py."""

import json
import os
import re
import types

import numpy as np
import pytest

from trainer import evaluate, listening
from vocals2song import audio, cli, codec


def _key(folder: str) -> dict:
    with open(os.path.join(folder, listening.KEY_FILE)) as handle:
        return json.load(handle)


def test_every_melody_is_played_under_each_condition_at_one_level_behind_opaque_names(listening_test):
    key, listen = _key(listening_test), os.path.join(listening_test, listening.LISTEN_DIR)
    assert len(key["trials"]) == 2 and all(len(trial) == len(listening.CONDITIONS) for trial in key["trials"])
    played = [key["stimuli"][s] for trial in key["trials"] for s in trial]
    assert sorted(p["condition"] for p in played) == sorted(listening.CONDITIONS * 2)
    assert len({p["track"] for p in played}) == 2
    for trial in key["trials"]:
        assert len({key["stimuli"][s]["track"] for s in trial}) == 1  # one melody per page
    for stimulus in key["stimuli"]:
        assert re.fullmatch(r"[0-9a-f]{12}", stimulus)  # nothing in a name gives the condition away
        waveform, _ = audio.read(os.path.join(listen, f"{stimulus}.wav"))
        assert audio.rms_db(waveform) == pytest.approx(listening.STIMULUS_RMS_DB, abs=0.5)
    page = open(os.path.join(listen, listening.TRIALS_FILE)).read()
    assert key["test"] in page and "condition" not in page and "track" not in page
    assert {"index.html", "listen.js", "listen.css"} <= set(os.listdir(listen))


def test_the_original_is_the_true_mixture_and_the_retrieval_another_tracks_music(listening_test, model, dataset_dir):
    key, listen = _key(listening_test), os.path.join(listening_test, listening.LISTEN_DIR)
    cases = {case.track: case for case in evaluate.cases(model, dataset_dir, "test", per_track=1)}
    for stimulus, what in key["stimuli"].items():
        if what["condition"] not in ("original", "retrieval"):
            continue
        case = cases[what["track"]]
        mixture = codec.istft((case.vocals + case.accompaniment)[np.newaxis], model.spectral, case.samples)[0]
        played = audio.read(os.path.join(listen, f"{stimulus}.wav"))[0][0]
        agreement = np.corrcoef(mixture, played)[0, 1]
        assert agreement > 0.999 if what["condition"] == "original" else agreement < 0.9


def test_a_prepared_test_is_not_overwritten(listening_test, model, dataset_dir):
    with pytest.raises(FileExistsError, match="key.json exists"):
        listening.prepare(model, dataset_dir, listening_test, tracks=2, seed=1)


def _ratings(tmp_path, key: dict, listener: str, by_condition: dict, name: str | None = None) -> str:
    scores = {s: by_condition[what["condition"]] for s, what in key["stimuli"].items()}
    path = tmp_path / (name or f"{listener}.json")
    path.write_text(json.dumps({"test": key["test"], "listener": listener, "ratings": scores}))
    return str(path)


def test_the_report_unblinds_ratings_into_each_conditions_mean_and_the_models_paired_difference(
    listening_test, tmp_path, capsys
):
    key = _key(listening_test)
    files = [
        _ratings(tmp_path, key, "ann", {"original": 90, "model": 70, "retrieval": 20}),
        _ratings(tmp_path, key, "bob", {"original": 80, "model": 40, "retrieval": 30}),
    ]
    result = listening.report(listening.read_ratings(files, key))
    assert result["listeners"] == 2 and result["tracks"] == 2
    assert result["conditions"]["original"]["mean"] == pytest.approx(85.0)
    assert result["conditions"]["model"]["mean"] == pytest.approx(55.0)
    assert result["conditions"]["model"]["n"] == 4
    assert result["differences"]["model - original"]["mean"] == pytest.approx(-30.0)
    assert result["differences"]["model - retrieval"]["mean"] == pytest.approx(30.0)
    # Differences of -20, -20, -40, -40: sd 11.55, t(3) 3.182 -> half-width 18.4.
    assert result["differences"]["model - original"]["ci95"] == pytest.approx(18.4, abs=0.05)
    assert cli.main(["listening-report", listening_test, *files]) == 0
    assert "| model - original | -30.0 | +-18.4 | 4 |" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: {**r, "test": "0000"}, "rates test 0000"),
        (lambda r: {**r, "ratings": {**r["ratings"], "feedbeef0000": 50}}, "feedbeef0000, which is not a stimulus"),
        (lambda r: {**r, "ratings": {k: 101 for k in r["ratings"]}}, "outside 0-100"),
        (lambda r: {"listener": "ann"}, "not a ratings file"),
    ],
)
def test_ratings_that_do_not_belong_to_the_test_are_refused_naming_the_file(listening_test, tmp_path, change, message):
    key = _key(listening_test)
    path = _ratings(tmp_path, key, "ann", {"original": 90, "model": 70, "retrieval": 20})
    with open(path) as handle:
        ratings = change(json.load(handle))
    with open(path, "w") as handle:
        json.dump(ratings, handle)
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        listening.read_ratings([path], key)
    assert path in str(raised.value)


def test_two_files_from_one_listener_are_refused(listening_test, tmp_path):
    key = _key(listening_test)
    first = _ratings(tmp_path, key, "ann", {"original": 90, "model": 70, "retrieval": 20})
    second = _ratings(tmp_path, key, "ann", {"original": 10, "model": 70, "retrieval": 20}, name="again.json")
    with pytest.raises(ValueError, match="a second file from listener 'ann'"):
        listening.read_ratings([first, second], key)


def _songs_for(tracks: list[str], folder, rate: int = 22050) -> dict[str, np.ndarray]:
    """A stereo 22.05 kHz tone per track (another system's songs, at another rate), 1 s long."""
    folder.mkdir(exist_ok=True)
    songs = {}
    for index, track in enumerate(tracks):
        tone = np.sin(2 * np.pi * (220 + 110 * index) * np.arange(rate) / rate).astype(np.float32)
        songs[track] = np.stack([tone, tone]) * 0.3
        audio.write(str(folder / f"{track}.wav"), songs[track], rate)
    return songs


def test_another_systems_songs_join_each_melody_as_a_fourth_version(model, dataset_dir, tmp_path):
    tracks = [case.track for case in evaluate.cases(model, dataset_dir, "test", per_track=1)]
    _songs_for(tracks, tmp_path / "bach")
    key = listening.prepare(model, dataset_dir, str(tmp_path / "test"), 2, 0, f"bach={tmp_path / 'bach'}")
    assert all(len(trial) == 4 for trial in key["trials"])
    for stimulus, what in key["stimuli"].items():
        if what["condition"] != "bach":
            continue
        played, rate = audio.read(str(tmp_path / "test" / listening.LISTEN_DIR / f"{stimulus}.wav"))
        frequency = 220 + 110 * tracks.index(what["track"])
        spectrum = np.abs(np.fft.rfft(played[0][: rate // 2]))
        assert np.argmax(spectrum) * 2 == pytest.approx(frequency, abs=2)  # resampled, its own tone
        assert not played[0][rate + 100 :].any()  # padded with silence past its one second


def test_a_comparison_must_name_a_new_condition_and_cover_two_tracks(model, dataset_dir, tmp_path):
    tracks = [case.track for case in evaluate.cases(model, dataset_dir, "test", per_track=1)]
    _songs_for(tracks[:1], tmp_path / "one")
    with pytest.raises(ValueError, match="NAME a word other than model"):
        listening.prepare(model, dataset_dir, str(tmp_path / "a"), 2, 0, f"model={tmp_path / 'one'}")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        listening.prepare(model, dataset_dir, str(tmp_path / "b"), 2, 0, f"bach={tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match="two test tracks or more with a song in"):
        listening.prepare(model, dataset_dir, str(tmp_path / "c"), 2, 0, f"bach={tmp_path / 'one'}")
    assert not (tmp_path / "c").exists()  # refused before anything was written


def test_a_separator_is_not_a_model_to_listen_to_here(tmp_path):
    separator = types.SimpleNamespace(makes_accompaniment=False, target="vocals", source="mixture")
    with pytest.raises(ValueError, match="this one makes vocals from mixture"):
        listening.prepare(separator, "unused", str(tmp_path), 2, 0)
    assert not list(tmp_path.iterdir())  # nothing written
