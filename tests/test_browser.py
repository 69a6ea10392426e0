"""The page in a real browser: headless Chromium (the system's, driven by Playwright) against
`vocals2song serve`'s app on 127.0.0.1. Uploads a file, records from a fake microphone,
generates, and checks the player and the picture. Screenshots go to ``test-artifacts/``.

Chromium comes from Debian's ``chromium`` package (``infra/install_debian.sh``, run by
``make test``; ``.ci/run`` insists on it). Without it the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.request

import pytest
import soundfile
from conftest import sung, with_harmoniser

from benchmarks.fixtures import free_ports
from trainer.config import CHANGES, DRUM_STYLES, INSTRUMENT_CHOICES, PLAYED_CHORDS, RHYTHMS, VOICINGS
from vocals2song import render
from webapp import app as webapp

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("VOCALS2SONG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "test-artifacts")
# Chromium's own network chatter is refused on a closed network; these keep it quiet.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULT_TIMEOUT_MS = 180_000

if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
    pytest.skip(
        f"no Chromium at {CHROMIUM}: run infra/install_debian.sh (Debian package chromium) to run the browser tests",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the [dev] extra")


@pytest.fixture(scope="module")
def server(model):
    yield from _serve(model)


@pytest.fixture(scope="module")
def stems_server(stems_model):
    from trainer import export

    yield from _serve(export.load_model(stems_model))


@pytest.fixture(scope="module")
def chords_server(accompaniment_model, tmp_path_factory):
    from trainer import export

    if not render.can_render(render.TRAIN_SOUNDFONT):
        pytest.skip("needs FluidSynth and FluidR3_GM (infra/install_debian.sh render)")
    yield from _serve(
        export.load_model(with_harmoniser(accompaniment_model, str(tmp_path_factory.mktemp("chords") / "export")))
    )


def _serve(model):
    """The app served by uvicorn on 127.0.0.1 in a thread, as `vocals2song serve` runs it."""
    import uvicorn

    (port,) = free_ports()
    config = uvicorn.Config(webapp.create_app(model), host="127.0.0.1", port=port, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not served.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def vocal_file(tmp_path_factory) -> tuple[str, float]:
    path = str(tmp_path_factory.mktemp("browser") / "my take.wav")
    seconds = 3.0
    soundfile.write(path, sung(seconds, 44100, 1).T, 44100)
    return path, seconds


@pytest.fixture(scope="module")
def browser(vocal_file):
    """Chromium with a fake microphone that plays the generated vocal."""
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *QUIET,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={vocal_file[0]}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield launched
        launched.close()


def generate_and_check_song(page, seconds: float, shot: str) -> dict:
    """Clicks Generate, waits for the player and the picture, saves a screenshot and checks
    the song: no error, a duration within 0.05 s of ``seconds``, a picture that loaded.
    Returns what the page shows."""
    page.click("#generate")
    page.wait_for_selector("#result:not([hidden])", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function("document.getElementById('song').readyState >= 1", timeout=30_000)
    # The song plays first; the picture is shown when the job is done.
    picture = "document.getElementById('picture')"
    page.wait_for_function(f"!{picture}.hidden && {picture}.complete && {picture}.naturalWidth > 0", timeout=60_000)
    shown = page.evaluate(
        """() => ({
            duration: document.getElementById('song').duration,
            pictureWidth: document.getElementById('picture').naturalWidth,
            download: document.getElementById('download').getAttribute('href'),
            error: document.getElementById('error').textContent,
        })"""
    )
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, shot), full_page=True)
    assert shown["error"] == ""
    assert shown["duration"] == pytest.approx(seconds, abs=0.05)
    assert shown["pictureWidth"] > 300
    return shown


def test_upload_generate_and_play(server, browser, vocal_file):
    path, seconds = vocal_file
    page = browser.new_page()
    page.goto(server)
    assert page.title() == "Vocals2Song"
    page.wait_for_selector("#phase option", state="attached")  # /api/config fills them after the page loads
    assert page.locator("#phase option").all_inner_texts() == ["predicted", "griffinlim"]
    assert page.locator("#chord-options").is_hidden()  # this model plays no chords
    page.set_input_files("#file", path)
    shown = generate_and_check_song(page, seconds, "upload.png")
    assert shown["download"].endswith("/song.wav")
    assert "Done: 3.0 s of song" in page.inner_text("#status")


def test_record_from_the_microphone_generate_and_play(server, browser):
    page = browser.new_page()
    page.goto(server)
    page.click("#record")
    page.wait_for_selector("#record.recording")
    time.sleep(2.5)
    page.click("#record")
    page.wait_for_function("document.getElementById('record-status').textContent.startsWith('Recorded')")
    recorded = page.evaluate(
        """() => new Promise((resolve) => {
            const player = document.getElementById('input-player');
            if (player.readyState >= 1) resolve(player.duration);
            else player.addEventListener('loadedmetadata', () => resolve(player.duration));
        })"""
    )
    assert 1.5 < recorded < 5.0
    page.select_option("#phase", "griffinlim")
    generate_and_check_song(page, recorded, "record.png")


def test_a_bad_file_shows_the_servers_message(server, browser, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio, just words")
    page = browser.new_page()
    page.goto(server)
    page.set_input_files("#file", str(bad))
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "notes.wav: not a readable audio file" in page.inner_text("#error")
    assert page.locator("#result").is_hidden()


def _download(page, selector: str, path) -> str:
    with page.expect_download(timeout=60_000) as download:
        page.click(selector)
    download.value.save_as(str(path))
    return str(path)


def test_the_stems_mix_live_a_muted_stem_leaves_the_mix_and_a_stem_downloads(
    stems_server, browser, vocal_file, tmp_path
):
    """A drums,bass,other model: a row per track; each stem downloads whole; muting the loudest
    stem takes exactly that stem out of the downloaded mix (the difference is its track)."""
    import librosa
    import numpy as np

    path, seconds = vocal_file
    page = browser.new_page(accept_downloads=True)
    page.goto(stems_server)
    page.set_input_files("#file", path)
    generate_and_check_song(page, seconds, "stems.png")
    page.wait_for_selector("#mixer:not([hidden])", timeout=60_000)
    rows = page.locator(".track").evaluate_all("rows => rows.map((row) => row.dataset.track)")
    assert rows == ["vocals", "drums", "bass", "other"]
    stems = {}
    for stem in ("drums", "bass", "other"):
        downloaded = _download(page, f".track[data-track={stem}] .download", tmp_path / f"{stem}.wav")
        assert soundfile.info(downloaded).duration == pytest.approx(seconds, abs=0.01)
        stems[stem] = soundfile.read(downloaded, always_2d=True)
    loudest = max(stems, key=lambda stem: float(np.mean(stems[stem][0] ** 2)))  # a 4-step model's drums can be silent
    full = _download(page, "#mix-download", tmp_path / "full.wav")
    page.click(f".track[data-track={loudest}] .mute")
    assert page.get_attribute(f".track[data-track={loudest}] .mute", "aria-pressed") == "true"
    muted = _download(page, "#mix-download", tmp_path / "muted.wav")
    (full, rate), (muted, _) = (soundfile.read(p, always_2d=True) for p in (full, muted))
    track, track_rate = stems[loudest]
    track = librosa.resample(track[:, 0], orig_sr=track_rate, target_sr=rate)  # the page mixes at its own rate
    taken = (full - muted)[:, 0]
    length = min(len(taken), len(track))
    assert np.sqrt(np.mean(taken**2)) > 1e-3  # muting took something out
    assert np.corrcoef(taken[:length], track[:length])[0, 1] > 0.95  # and what it took is that stem
    page.click("#mix-play")
    assert page.evaluate("() => mixer.sources.length") == 4
    page.click("#mix-stop")
    page.screenshot(path=os.path.join(ARTIFACTS, "stems-mixer.png"), full_page=True)


def test_a_model_that_plays_chords_lets_the_listener_choose_how_and_offers_the_midi(chords_server, browser, vocal_file):
    """The chord choices appear with the model's defaults; a job run with "beat", changing each
    half bar, on the organ with drums says so in its state, and the page links the melody and its chords as MIDI;
    the lead sheet, edited, plays its chords under the same take."""
    path, seconds = vocal_file
    page = browser.new_page()
    page.goto(chords_server)
    page.wait_for_selector("#chord-options:not([hidden])")
    assert page.locator("#voicing option").all_inner_texts() == list(VOICINGS)
    assert page.locator("#rhythm option").all_inner_texts() == list(RHYTHMS)
    assert page.locator("#changes option").all_inner_texts() == list(CHANGES)
    assert page.locator("#instrument option").all_inner_texts() == list(INSTRUMENT_CHOICES)
    assert (page.input_value("#voicing"), page.input_value("#rhythm")) == (VOICINGS[0], RHYTHMS[0])
    assert page.locator("#drums option").all_inner_texts() == list(DRUM_STYLES)
    assert (page.input_value("#instrument"), page.input_value("#drums")) == (INSTRUMENT_CHOICES[0], "none")
    assert page.locator("#chords option").all_inner_texts() == list(PLAYED_CHORDS)  # beside the generator, or alone
    assert page.input_value("#chords") == PLAYED_CHORDS[0]
    page.select_option("#rhythm", "beat")
    page.select_option("#changes", "half")
    page.select_option("#instrument", "organ")
    page.select_option("#drums", "backbeat")
    page.set_input_files("#file", path)
    with page.expect_response(lambda response: response.url.endswith("/api/jobs")) as submitted:
        generate_and_check_song(page, seconds, "chords.png")
    job = submitted.value.json()
    chosen = {name: job["options"][name] for name in ("voicing", "rhythm", "changes", "instrument", "drums")}
    assert chosen == {
        "voicing": VOICINGS[0],
        "rhythm": "beat",
        "changes": "half",
        "instrument": "organ",
        "drums": "backbeat",
    }
    page.wait_for_selector("#midi-line:not([hidden])", timeout=60_000)
    assert page.inner_text("#changes-line") == "The chords change each half bar."  # named: nothing read
    assert page.get_attribute("#midi", "href").endswith(f"/api/jobs/{job['id']}/song.mid")
    page.wait_for_selector("#chart-box:not([hidden])")
    with urllib.request.urlopen(f"{chords_server}/api/jobs/{job['id']}/song.txt") as response:
        assert page.input_value("#chart").strip() == response.read().decode().strip()  # the lead sheet, shown
    assert page.get_attribute("#chart-download", "href").endswith(f"/api/jobs/{job['id']}/song.txt")
    head = page.input_value("#chart").splitlines()[0]
    page.fill("#chart", f"{head}\n| Am | Dm G7 | C |\n")  # the listener's own chords, under the same take
    with page.expect_response(lambda response: response.url.endswith("/api/jobs")) as resubmitted:
        page.click("#play-chart")
    again = resubmitted.value.json()
    assert again["options"]["chart"] == f"{head}\n| Am | Dm G7 | C |"
    page.wait_for_selector("#chart-box:not([hidden])", timeout=60_000)
    with urllib.request.urlopen(f"{chords_server}/api/jobs/{again['id']}/song.txt") as response:
        sheet = response.read().decode()
    assert page.input_value("#chart").strip() == sheet.strip() and sheet.splitlines()[1].startswith("| Am | Dm G7")
    assert page.inner_text("#changes-line") == "The chords change where the chart's do."  # this job's, not the last's
    page.screenshot(path=os.path.join(ARTIFACTS, "chart.png"), full_page=True)


def test_the_listening_page_from_disk_rates_every_version_and_downloads_what_the_report_unblinds(
    listening_test, browser, tmp_path
):
    """A listener opens the prepared folder's index.html (no server), rates each melody's versions
    (the test knows from the key which is which: the original 90, the model 60, the anchor 20),
    cannot go on before every version is rated nor download without a name, and downloads
    ratings that `listening-report` turns back into those scores."""
    from trainer import listening

    with open(os.path.join(listening_test, listening.KEY_FILE)) as handle:
        key = json.load(handle)
    wanted = {"original": 90, "model": 60, "retrieval": 20}
    page = browser.new_page()
    page.goto(f"file://{os.path.join(listening_test, listening.LISTEN_DIR, 'index.html')}")
    first, second = page.locator(".stimulus audio").nth(0), page.locator(".stimulus audio").nth(1)
    first.evaluate("player => player.play()")
    page.wait_for_function("document.querySelector('.stimulus audio').currentTime > 0.6", timeout=20_000)
    second.evaluate("player => player.play()")  # switching versions goes on from the same moment
    assert second.evaluate("player => player.currentTime") > 0.5 and first.evaluate("player => player.paused")
    second.evaluate("player => player.pause()")
    for trial in range(len(key["trials"])):
        assert page.inner_text("#heading") == f"Melody {trial + 1} of {len(key['trials'])}"
        rows = page.locator(".stimulus")
        assert rows.count() == len(listening.CONDITIONS)
        for index in range(rows.count()):
            stimulus = rows.nth(index).get_attribute("data-stimulus")
            assert page.locator("#next").is_disabled() or trial == len(key["trials"]) - 1
            rows.nth(index).locator("input[type=range]").fill(str(wanted[key["stimuli"][stimulus]["condition"]]))
        if trial < len(key["trials"]) - 1:
            page.click("#next")
    assert page.locator("#download").is_disabled()  # no name yet
    page.fill("#listener", "Ann")
    page.screenshot(path=os.path.join(ARTIFACTS, "listening-test.png"), full_page=True)
    with page.expect_download() as downloading:
        page.click("#download")
    ratings = str(tmp_path / "ratings.json")
    downloading.value.save_as(ratings)
    result = listening.report(listening.read_ratings([ratings], key))
    assert {name: row["mean"] for name, row in result["conditions"].items()} == wanted
    assert result["listeners"] == 1 and result["tracks"] == len(key["trials"])
