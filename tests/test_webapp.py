"""The web app's API through FastAPI's test client: jobs, bad input, the queue limit, expiry."""

from __future__ import annotations

import io
import os
import re
import threading
import time

import numpy as np
import pytest
import soundfile
from conftest import LEAD_SHEET_HEAD, sung, vocal_in_song, with_harmoniser
from fastapi.testclient import TestClient
from PIL import Image
from test_melody import sung_notes
from test_style import SONG

from trainer import export, style
from trainer.config import CHANGES, DRUM_STYLES, INSTRUMENT_CHOICES, PLAYED_CHORDS, RHYTHMS, VOICINGS
from vocals2song import melody, render
from vocals2song.cli import main
from webapp import app as webapp
from webapp import jobs as webjobs

RATE = 22050
SERVED = "http://127.0.0.1:8000"  # the address `serve` binds by default; the Host the checks expect


def served(app) -> TestClient:
    return TestClient(app, base_url=SERVED)


def wav_bytes(waveform: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform.T, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def post(client: TestClient, data: bytes, name: str = "take1.wav", **fields):
    return client.post("/api/jobs", files={"audio": (name, data, "audio/wav")}, data=fields)


def post_from(client: TestClient, data: bytes, origin: str):
    """A POST as a browser sends it from a page of ``origin``."""
    return client.post("/api/jobs", files={"audio": ("a.wav", data)}, headers={"Origin": origin})


def wait(client: TestClient, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["state"] in (webjobs.DONE, webjobs.FAILED):
            return state
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@pytest.fixture
def client(model):
    with served(webapp.create_app(model, webapp.Settings(max_seconds=8.0))) as client:
        yield client


def test_a_vocal_becomes_a_job_then_a_song_and_a_picture(client):
    vocal = sung(3.0, RATE, 2)
    created = post(client, wav_bytes(vocal), phase="griffinlim")
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["state"] in (webjobs.QUEUED, webjobs.RUNNING, webjobs.DONE)
    assert job["seconds"] == pytest.approx(3.0)
    finished = wait(client, job["id"])
    assert finished["state"] == webjobs.DONE, finished
    assert finished["progress"] == 1.0
    assert finished["options"] == {"phase": "griffinlim", "vocals": True}
    song = client.get(f"/api/jobs/{job['id']}/song.wav")
    assert song.status_code == 200 and song.headers["content-type"] == "audio/wav"
    data, rate = soundfile.read(io.BytesIO(song.content), always_2d=True)
    assert rate == RATE and data.shape == (vocal.shape[1], 2)
    gain, rest = vocal_in_song(data.T, vocal)
    assert 0.4 < gain < 1.02 and rest > 0.05, (gain, rest)  # the vocal, at most limited, and an accompaniment
    picture = client.get(f"/api/jobs/{job['id']}/song.png")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(picture.content)).size[0] > 300


def test_the_page_and_its_config_are_served_without_any_cdn(client):
    page = client.get("/")
    assert page.status_code == 200 and "MediaRecorder" not in page.text  # the script holds the logic
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # every asset comes from this server
    assert client.get("/api/config").json()["choices"]["phase"] == ["predicted", "griffinlim"]


@pytest.mark.parametrize(
    ("data", "fields", "status", "message"),
    [
        (b"these are not audio samples at all" * 10, {}, 422, "take1.wav: not a readable audio file"),
        (b"", {}, 422, "take1.wav: is empty"),
        (wav_bytes(sung(10.0, RATE, 1)), {}, 422, "over the 8 s limit"),
        (wav_bytes(sung(0.2, RATE, 3)), {}, 422, "take1.wav: 3 channels, over the limit of 2"),
        (wav_bytes(sung(0.2, 192_000, 1), 192_000), {}, 422, "take1.wav: sample rate 192,000 Hz is over the 96,000"),
        (wav_bytes(sung(1.0, RATE, 1)), {"phase": "magic"}, 400, "phase must be one of predicted, griffinlim"),
    ],
    ids=["not-audio", "empty", "too-long", "channels", "sample-rate", "bad-phase"],
)
def test_bad_input_gets_its_status_and_the_clis_message(client, data, fields, status, message):
    response = post(client, data, **fields)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert os.listdir(client.app.state.jobs.root) == []  # nothing kept of a refused upload


@pytest.mark.parametrize("seconds", [1.0, 5.0], ids=["counted-while-saved", "refused-by-content-length"])
def test_uploads_over_the_size_limit_are_refused(model, seconds):
    settings = webapp.Settings(max_upload_mb=0.05)
    with served(webapp.create_app(model, settings)) as client:
        response = post(client, wav_bytes(sung(seconds, RATE, 2)))  # 88 kB: under limit + form room; 441 kB: over
        assert response.status_code == 413
        assert response.json()["error"] == "the upload is over the 0.05 MB limit"
        assert os.listdir(client.app.state.jobs.root) == []


def test_no_user_supplied_name_reaches_the_file_system(client):
    job = post(client, wav_bytes(sung(1.0, RATE, 1)), name="../../escape.wav").json()
    wait(client, job["id"])
    jobs = client.app.state.jobs
    assert os.listdir(jobs.root) == [job["id"]]
    written = ["song.png", "song.wav", "track-accompaniment.wav", "track-vocals.wav"]  # our names only
    assert sorted(os.listdir(os.path.join(jobs.root, job["id"]))) == written
    assert not os.path.exists(os.path.join(os.path.dirname(jobs.root), "escape.wav"))


def test_job_ids_are_random_and_unknown_ones_are_404(client):
    ids = {post(client, wav_bytes(sung(1.0, RATE, 1))).json()["id"] for _ in range(2)}
    assert len(ids) == 2 and all(len(job_id) >= 22 for job_id in ids)  # 128 random bits
    for job_id in ids:
        wait(client, job_id)
    assert client.get("/api/jobs/not-a-job").status_code == 404
    assert client.get("/api/jobs/not-a-job/song.wav").status_code == 404


def test_a_full_queue_answers_503_with_a_message(model):
    release = threading.Event()

    def blocked(upload, name, options, directory, progress, publish):
        release.wait(30)
        raise RuntimeError("stopped by the test")

    jobs = webjobs.Jobs(blocked, workers=1, max_queued=1)
    with served(webapp.create_app(model, jobs=jobs)) as client:
        vocal = wav_bytes(sung(1.0, RATE, 1))
        first, second, third = (post(client, vocal) for _ in range(3))
        assert first.status_code == 202 and second.status_code == 202
        assert third.status_code == 503
        assert "the server is busy (1 running, 1 waiting, limit 1)" in third.json()["error"]
        release.set()
        failed = wait(client, first.json()["id"])
        assert failed["state"] == webjobs.FAILED and "stopped by the test" in failed["error"]
        assert client.get(f"/api/jobs/{first.json()['id']}/song.wav").status_code == 409
        wait(client, second.json()["id"])
        assert post(client, vocal).status_code == 202  # room again


def test_results_expire_and_are_deleted_without_any_request(model):
    jobs = webjobs.Jobs(webapp.make_work(model), keep_seconds=0.5, results=webapp.results(model))
    with served(webapp.create_app(model, jobs=jobs)) as client:
        job = post(client, wav_bytes(sung(1.0, RATE, 1)), phase="predicted").json()
        directory = os.path.join(jobs.root, job["id"])
        assert wait(client, job["id"])["state"] == webjobs.DONE
        deadline = time.monotonic() + 10
        while os.path.exists(directory) and time.monotonic() < deadline:
            time.sleep(0.2)  # the app's sweeper, not a request, removes it
        assert not os.path.exists(directory)
        assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_serve_with_a_missing_model_is_one_clear_error(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path / "nowhere")]) == 2
    assert "vocals2song serve: error:" in capsys.readouterr().err


def test_a_silent_vocal_is_decoded_in_the_pool_and_fails_its_job_by_name(client):
    job = post(client, wav_bytes(np.zeros((1, RATE), np.float32))).json()
    failed = wait(client, job["id"])
    assert failed["state"] == webjobs.FAILED
    assert "take1.wav: is silent" in failed["error"] and client.app.state.jobs.root not in failed["error"]
    assert os.listdir(os.path.join(client.app.state.jobs.root, job["id"])) == []  # the upload is gone


def test_nothing_is_decoded_in_the_request_and_over_limit_files_never_are(client, monkeypatch):
    decoded_in = []
    real_read = webapp.audio.read

    def read(path, limits):
        decoded_in.append(threading.current_thread().name)
        return real_read(path, limits)

    monkeypatch.setattr(webapp.audio, "read", read)
    refused = post(client, wav_bytes(sung(0.2, 48_000, 8), 48_000))  # cheap to send, 8 channels declared
    assert refused.status_code == 422 and "8 channels, over the limit of 2" in refused.json()["error"]
    assert decoded_in == []
    job = post(client, wav_bytes(sung(1.0, RATE, 1)))
    assert job.status_code == 202 and wait(client, job.json()["id"])["state"] == webjobs.DONE
    assert len(decoded_in) == 1 and decoded_in[0].startswith("generate")  # the bounded pool's threads


def test_the_config_states_the_header_limits(client):
    config = client.get("/api/config").json()
    assert (config["max_seconds"], config["max_channels"], config["max_sample_rate"]) == (8.0, 2, 96_000)


def test_a_page_of_another_site_cannot_submit_jobs(client):
    response = post_from(client, wav_bytes(sung(1.0, RATE, 1)), "http://evil.test")
    assert response.status_code == 403 and "'http://evil.test' are refused" in response.json()["error"]
    assert os.listdir(client.app.state.jobs.root) == []
    own = post_from(client, wav_bytes(sung(1.0, RATE, 1)), SERVED)
    assert own.status_code == 202
    wait(client, own.json()["id"])


def test_a_dns_rebinding_host_is_refused_even_for_reads(client):
    for method, path in (("GET", "/api/config"), ("GET", "/"), ("POST", "/api/jobs")):
        response = client.request(method, path, headers={"Host": "rebound.evil.test:8000"})
        assert response.status_code == 403, (method, path)
        assert "host 'rebound.evil.test:8000' are refused" in response.json()["error"]


def test_configured_origins_may_submit_and_name_their_host(model):
    settings = webapp.Settings(allowed_origins=("https://music.example.org",))
    with TestClient(webapp.create_app(model, settings), base_url="https://music.example.org") as client:
        vocal = wav_bytes(sung(1.0, RATE, 1))
        response = post_from(client, vocal, "https://music.example.org")
        assert response.status_code == 202, response.text
        wait(client, response.json()["id"])
        assert post_from(client, vocal, "https://other.example.org").status_code == 403


def test_two_jobs_draw_their_pictures_at_the_same_time(model):
    with served(webapp.create_app(model, webapp.Settings(workers=2))) as client:
        ids = [post(client, wav_bytes(sung(2.0, RATE, 1)), phase="griffinlim").json()["id"] for _ in range(2)]
        for job_id in ids:
            assert wait(client, job_id)["state"] == webjobs.DONE
            picture = Image.open(io.BytesIO(client.get(f"/api/jobs/{job_id}/song.png").content))
            assert picture.size == (1000, 800)


def test_the_song_is_served_while_its_picture_is_still_being_drawn(model, monkeypatch):
    """Time to first audio: the song is published as soon as it is written; the picture, seconds
    of work more, follows, and only then is the job done."""
    drawing, release = threading.Event(), threading.Event()
    draw = webapp.picture.write_png

    def slow_picture(*args, **kwargs):
        drawing.set()
        release.wait(30)
        draw(*args, **kwargs)

    monkeypatch.setattr(webapp.picture, "write_png", slow_picture)
    with served(webapp.create_app(model)) as client:
        job_id = post(client, wav_bytes(sung(2.0, RATE, 1))).json()["id"]
        assert drawing.wait(60)
        state = client.get(f"/api/jobs/{job_id}").json()
        tracks = ["track-vocals.wav", "track-accompaniment.wav"]  # published just before the song
        assert state["state"] == webjobs.RUNNING and state["ready"] == [*tracks, "song.wav"]
        song = client.get(f"/api/jobs/{job_id}/song.wav")
        assert song.status_code == 200 and soundfile.info(io.BytesIO(song.content)).duration == pytest.approx(2.0)
        assert client.get(f"/api/jobs/{job_id}/song.png").status_code == 409
        release.set()
        assert wait(client, job_id)["ready"] == [*tracks, "song.wav", "song.png"]
        assert client.get(f"/api/jobs/{job_id}/song.png").status_code == 200


def _tracks(client: TestClient, job: dict) -> dict[str, np.ndarray]:
    out = {}
    for track in job["tracks"]:
        response = client.get(track["url"])
        assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
        out[track["name"]] = soundfile.read(io.BytesIO(response.content), always_2d=True, dtype="float32")[0].T
    return out


def test_a_job_lists_the_songs_tracks_and_they_sum_to_the_song(client):
    """An accompaniment model's song has two tracks: the vocal as it sits in the song and the
    accompaniment; they sum to the song. Without the vocal only the accompaniment is a track."""
    vocal = sung(2.0, RATE, 1)
    job = wait(client, post(client, wav_bytes(vocal), phase="griffinlim").json()["id"])
    assert [track["name"] for track in job["tracks"]] == ["vocals", "accompaniment"]
    assert job["tracks"][0]["url"] == f"/api/jobs/{job['id']}/tracks/vocals.wav"
    tracks = _tracks(client, job)
    song = soundfile.read(io.BytesIO(client.get(f"/api/jobs/{job['id']}/song.wav").content), always_2d=True)[0].T
    assert np.max(np.abs(tracks["vocals"] + tracks["accompaniment"] - song)) < 3 * 2**-15  # PCM_16 rounding
    np.testing.assert_allclose(tracks["vocals"], vocal, atol=3 * 2**-15)  # the input, nothing limited at this level
    alone = wait(client, post(client, wav_bytes(vocal), phase="griffinlim", vocals="false").json()["id"])
    assert [track["name"] for track in alone["tracks"]] == ["accompaniment"]
    assert client.get(f"/api/jobs/{job['id']}/tracks/drums.wav").status_code == 404
    assert client.get(f"/api/jobs/{job['id']}/tracks/..%2Fsong.wav").status_code == 404
    assert client.get("/api/config").json()["stems"] == ["accompaniment"]


@pytest.mark.slow
def test_a_multi_stem_models_job_has_a_track_per_stem(stems_model):
    with served(webapp.create_app(export.load_model(stems_model))) as client:
        job = wait(client, post(client, wav_bytes(sung(2.0, RATE, 1)), phase="griffinlim").json()["id"])
        assert [track["name"] for track in job["tracks"]] == ["vocals", "drums", "bass", "other"]
        assert all(track.shape == (1, 2 * RATE) for track in _tracks(client, job).values())


def _strikes(track) -> int:
    return sum(message.type == "note_on" and message.velocity > 0 for message in track)


def _program(track) -> int:
    """The General MIDI program a song.mid track plays with (its one program change)."""
    (program,) = [message.program for message in track if message.type == "program_change"]
    return program


@pytest.mark.skipif(not render.can_render(render.TRAIN_SOUNDFONT), reason="needs FluidSynth and FluidR3_GM")
def test_a_model_that_plays_chords_offers_the_melody_and_chords_as_midi(
    accompaniment_model, client, tmp_path, monkeypatch
):
    """With a harmoniser the job publishes song.mid (melody, bass and chords tracks) after the
    picture, struck as the page chose, and the played chords and drums are tracks of the mixer; a
    take in which no note is heard, or a model that plays no chords, has none to offer, and the
    page is told why; a chart sent with the take is what plays, and one that cannot be played is
    refused naming its line."""
    import mido

    folder = with_harmoniser(accompaniment_model, str(tmp_path / "export"))
    with served(webapp.create_app(export.load_model(folder), webapp.Settings(max_seconds=8.0))) as chording:
        # changes named: the tiny model's 1024-point frames read this sine's vibrato as leaps (a song)
        job = wait(chording, post(chording, wav_bytes(sung(3.0, RATE, 2)), changes="beat").json()["id"])
        chord_files = [webjobs.MIDI_FILE, webjobs.CHART_FILE, webjobs.PLAYED_FILE]
        assert job["state"] == webjobs.DONE and job["ready"][-3:] == chord_files, job
        sheet = chording.get(f"/api/jobs/{job['id']}/song.txt")
        assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/plain")
        head, *bar_lines = sheet.text.splitlines()
        assert re.fullmatch(LEAD_SHEET_HEAD, head), head
        assert bar_lines and all(line.startswith("| ") and line.endswith(" |") for line in bar_lines)
        midi = chording.get(f"/api/jobs/{job['id']}/song.mid")
        assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi"
        tracks = mido.MidiFile(file=io.BytesIO(midi.content)).tracks
        assert [track.name for track in tracks] == ["vocals", "bass", "other", "chords"]
        assert all(any(message.type == "note_on" for message in track) for track in tracks[:3])
        assert any(message.type == "marker" for message in tracks[3])  # the chord symbols
        config = chording.get("/api/config").json()
        assert (config["plays_chords"], config["playing"]) == (
            True,
            ["voicing", "rhythm", "changes", "instrument", "drums", "chords"],
        )
        assert config["choices"] == {
            "phase": ["predicted", "griffinlim"],
            "voicing": list(VOICINGS),
            "rhythm": list(RHYTHMS),
            "changes": list(CHANGES),
            "instrument": list(INSTRUMENT_CHOICES),
            "drums": list(DRUM_STYLES),
            "chords": list(PLAYED_CHORDS),
        }
        assert config["defaults"] == {
            "phase": "predicted",
            "voicing": "led",
            "rhythm": "held",
            "changes": "auto",
            "instrument": "strings",
            "drums": "none",
            "chords": "add",
        }
        alone = wait(chording, post(chording, wav_bytes(sung(3.0, RATE, 2)), chords="only", changes="bar").json()["id"])
        assert [track["name"] for track in alone["tracks"]] == ["vocals", "chords"]  # no generator: the chords alone
        leaping = wav_bytes(sung_notes([(pitch, 0.5) for pitch in SONG]), 44100)  # --changes auto reads a song
        read = wait(chording, post(chording, leaping).json()["id"])
        assert [track["name"] for track in read["tracks"]] == ["vocals", "chords"]  # no generator track
        assert read["played"] == {"changes": "bar", "said": style.described("bar", True)}  # the page says why
        assert job["played"] == {"changes": "beat", "said": style.SAID["beat"]}  # named: nothing read
        choices = {"rhythm": "beat", "changes": "beat", "instrument": "piano", "drums": "backbeat"}
        queued = post(chording, wav_bytes(sung(3.0, RATE, 2)), **choices).json()
        assert {name: queued["options"][name] for name in choices} == choices
        on_beats = wait(chording, queued["id"])
        beat_tracks = mido.MidiFile(
            file=io.BytesIO(chording.get(f"/api/jobs/{on_beats['id']}/song.mid").content)
        ).tracks
        assert _strikes(beat_tracks[1]) > _strikes(tracks[1])  # the held note's chord struck on its beats too
        assert [_program(track) for track in beat_tracks[:3]] == [53, 0, 0]  # the piano's, where strings were
        assert beat_tracks[3].name == "drums" and _strikes(beat_tracks[3]) > _strikes(beat_tracks[0])
        assert [_program(track) for track in tracks[:3]] == [53, 42, 48]
        assert [track["name"] for track in job["tracks"]] == ["vocals", "accompaniment", "chords"]
        parts = _tracks(chording, on_beats)  # the kit is a track of its own, to balance or mute
        assert list(parts) == ["vocals", "accompaniment", "chords", "drums"] and np.abs(parts["drums"]).max() > 1e-3
        song = chording.get(f"/api/jobs/{on_beats['id']}/song.wav").content
        mixed = soundfile.read(io.BytesIO(song), always_2d=True, dtype="float32")[0].T
        assert np.max(np.abs(np.sum(list(parts.values()), axis=0) - mixed)) < 4 * 2**-15  # PCM_16 rounding
        refused = post(chording, wav_bytes(sung(1.0, RATE, 1)), rhythm="swing")
        assert refused.status_code == 400 and "rhythm must be one of held, beat" in refused.json()["error"]
        unknown = post(chording, wav_bytes(sung(1.0, RATE, 1)), changes="sometimes")
        assert unknown.status_code == 400 and "changes must be one of auto, beat, note" in unknown.json()["error"]
        banjo = post(chording, wav_bytes(sung(1.0, RATE, 1)), instrument="banjo")
        assert banjo.status_code == 400 and "instrument must be one of strings, organ" in banjo.json()["error"]
        charted = wait(chording, post(chording, wav_bytes(sung(3.0, RATE, 2)), chart="| Am | Dm G7 | C |").json()["id"])
        assert charted["options"]["chart"] == "| Am | Dm G7 | C |"
        assert chording.get(f"/api/jobs/{charted['id']}/song.txt").text.splitlines()[1].startswith("| Am | Dm G7")
        unplayable = post(chording, wav_bytes(sung(1.0, RATE, 1)), chart="C major\n| C | Q7 |")
        assert unplayable.status_code == 400 and unplayable.json()["error"].startswith("chart, line 2: 'Q7'")
        huge = post(chording, wav_bytes(sung(1.0, RATE, 1)), chart="| C |\n" * 12000)
        assert huge.status_code == 400 and "bytes; a chart is at most 65536" in huge.json()["error"]
        monkeypatch.setattr(melody, "transcribe", lambda *args: [])  # a take in which no note is heard
        unheard = wait(chording, post(chording, wav_bytes(sung(3.0, RATE, 2))).json()["id"])
        assert unheard["state"] == webjobs.DONE and webjobs.MIDI_FILE not in unheard["ready"], unheard
        for name in ("song.mid", "song.txt"):
            missing = chording.get(f"/api/jobs/{unheard['id']}/{name}")
            assert missing.status_code == 404 and "no sung note was heard" in missing.json()["error"]
    assert client.get("/api/config").json()["plays_chords"] is False
    no_chords = post(client, wav_bytes(sung(1.0, RATE, 1)), chart="| C |")
    assert no_chords.status_code == 400 and "plays no chords: it cannot play a chart" in no_chords.json()["error"]
    plain = wait(client, post(client, wav_bytes(sung(3.0, RATE, 2))).json()["id"])
    assert webjobs.MIDI_FILE not in plain["ready"]
    for name in ("song.mid", "song.txt"):
        refused = client.get(f"/api/jobs/{plain['id']}/{name}")
        assert refused.status_code == 404 and "plays no chords" in refused.json()["error"]
