"""The web app: one page to record or upload a vocal, and a JSON API for generation jobs.

``POST /api/jobs`` (multipart: ``audio`` file, optional ``phase`` and ``vocals``, and for a model
that plays chords ``voicing``, ``rhythm``, ``changes``, ``instrument``, ``drums`` and ``chart``, a
chord chart's text to play instead of the predicted chords, as ``generate --chart`` reads it)
checks the upload the way the CLI checks a file, and the chart before it, then queues a job;
``GET /api/jobs/{id}`` gives its state, progress and the song's tracks (each generated stem, the
played chords and drums, and the vocal when the song keeps it, with their URLs) and how often the
chords changed (``played``: what ``--changes auto`` read the melody as);
``GET /api/jobs/{id}/song.wav``, ``/song.png``, ``/tracks/{name}.wav`` and, from a model that
plays chords, ``/song.mid`` (the melody and its chords) and ``/song.txt`` (their lead sheet)
give the results. The tracks sum to the song. The page (``static/``) polls the job and shows the
player, a mixer of the tracks (Web Audio), the picture and the lead sheet, which the listener may
edit and play again under the same take; it needs no network beyond this server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import urllib.parse

import numpy as np
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile

from trainer import chart, export, generate, picture, style
from trainer.config import DRUM_STYLES, PLAYED_CHORDS
from trainer.export import ExportedModel
from vocals2song import audio
from webapp import jobs as jobs_module
from webapp.settings import Settings

STATIC = pathlib.Path(__file__).parent / "static"
UPLOAD_NAME = "upload"  # the only name an upload gets on disk
CHUNK = 1 << 20
FORM_OVERHEAD = 1 << 16  # multipart boundaries and the small option fields around the file


STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _hostname(netloc: str) -> str | None:
    return urllib.parse.urlsplit(f"//{netloc}").hostname


def refusal(method: str, host: str | None, origin: str | None, settings: Settings) -> str | None:
    """Why a request must be refused (403), or None: its Host is not one of ours (DNS
    rebinding), or a state-changing request comes from another site's page (CSRF).
    Clients that send no Origin (curl, scripts) are not browsers acting for a page."""
    allowed = settings.allowed_hosts
    if _hostname(host or "") not in allowed:
        return f"requests for host {host!r} are refused: serve answers {', '.join(sorted(allowed))}"
    if method in STATE_CHANGING and origin is not None:
        own = origin == f"http://{host}" or origin == f"https://{host}"
        if not own and origin not in settings.allowed_origins:
            return (
                f"jobs from pages of {origin!r} are refused: only this server's page may submit "
                "(vocals2song serve --allowed_origins adds others)"
            )
    return None


def model_options(model: ExportedModel) -> dict:
    """The listener-facing options this model supports (the page builds its controls from them):
    ``choices`` and ``defaults`` for the phase and, under ``playing``'s names, for how the chords
    are played (one value each, the model's, when it plays none)."""
    phases = [
        *(["predicted"] if model.features.channels > 1 else []),
        *(["source"] if model.source == "mixture" else []),  # a separator's stems share the mixture's phase
        "griffinlim",
    ]
    chords = model.plays_chords
    playing = {name: list(values) if chords else [getattr(model, name)] for name, values in export.PLAYING.items()}
    return {
        "choices": {"phase": phases, **playing},
        "defaults": {"phase": phases[0], **{name: getattr(model, name) for name in export.PLAYING}},
        "playing": list(export.PLAYING),
        "can_drop_vocals": model.makes_accompaniment,
        "plays_chords": chords,
    }


CHOSEN = ("phase", *export.PLAYING)
"""The page's choices a job takes, each one of ``model_options``' ``choices``; all but the first
only from a model that plays chords."""


VOCAL_TRACK = "vocals"  # the input vocal as it sits in the song, beside the generated stems


def track_names(model: ExportedModel, keep_vocals: bool) -> list[str]:
    """The song's parts the page mixes: the input vocal (when the song keeps it) and each
    generated stem (``generate.stem_names``: the played chords and drums among them)."""
    return [*([VOCAL_TRACK] if keep_vocals and model.makes_accompaniment else []), *generate.stem_names(model)]


def played(model: ExportedModel, options: dict) -> ExportedModel:
    """``model`` playing as a job's ``options`` chose (``export.playing``)."""
    return export.playing(model, **{name: options[name] for name in export.PLAYING if name in options})


def all_tracks(model: ExportedModel) -> list[str]:
    """Every track a job of this model may have: the generator's and a kit's too when it plays chords."""
    kit = export.playing(model, drums=DRUM_STYLES[-1], chords=PLAYED_CHORDS[0]) if model.plays_chords else model
    return track_names(kit, True)


def results(model: ExportedModel) -> frozenset[str]:
    """Every file a job of this model may publish, whatever it chose to play."""
    chords = {jobs_module.MIDI_FILE, jobs_module.CHART_FILE, jobs_module.PLAYED_FILE}
    chord_files = chords if model.plays_chords else set()
    return jobs_module.RESULTS | chord_files | {jobs_module.track_file(name) for name in all_tracks(model)}


def make_work(model: ExportedModel, limits: audio.AudioLimits | None = None) -> jobs_module.Work:
    """The job body: decode the upload (inside the bounded pool, never in the event loop),
    delete it, then the CLI's generation and picture, and the song's tracks, written into the
    job's directory."""

    def work(upload: str, shown: str, options: dict, directory: str, progress, publish) -> None:
        try:
            waveform, sample_rate = generate.read_vocals(upload, limits)
        except audio.AudioError as error:
            raise audio.AudioError(str(error).replace(upload, shown)) from error
        finally:
            os.remove(upload)  # the decoded waveform is all the job needs
        written = chart.parse(options["chart"]) if options.get("chart") else None
        song = generate.generate_song(
            played(model, options), waveform, sample_rate, options["phase"], options["vocals"], progress, written
        )
        tracks = dict(song.stems)
        if VOCAL_TRACK in track_names(model, options["vocals"]):
            tracks = {VOCAL_TRACK: song.mix - np.sum(list(song.stems.values()), axis=0), **tracks}
        for name, part in tracks.items():
            audio.write(os.path.join(directory, jobs_module.track_file(name)), part, sample_rate)
            publish(jobs_module.track_file(name))
        audio.write(os.path.join(directory, jobs_module.SONG_FILE), song.mix, sample_rate)
        publish(jobs_module.SONG_FILE)  # playable now; the picture takes seconds more
        picture.song_png(os.path.join(directory, jobs_module.PICTURE_FILE), waveform, song, sample_rate)
        publish(jobs_module.PICTURE_FILE)
        if generate.write_midi(song, os.path.join(directory, jobs_module.MIDI_FILE)):
            publish(jobs_module.MIDI_FILE)
        if generate.write_chart(song, os.path.join(directory, jobs_module.CHART_FILE)):
            publish(jobs_module.CHART_FILE)
        if song.changes:
            pathlib.Path(directory, jobs_module.PLAYED_FILE).write_text(json.dumps({"changes": song.changes}))
            publish(jobs_module.PLAYED_FILE)

    return work


async def _save_upload(upload: UploadFile, path: str, limit: int) -> int:
    """Copies the upload to ``path``, refusing it once it passes ``limit`` bytes."""
    size = 0
    with open(path, "wb") as handle:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the upload is over the {limit / 1e6:g} MB limit")
            handle.write(chunk)
    return size


def _check_header(path: str, shown_name: str, limits: audio.AudioLimits) -> float:
    """The upload's duration after its header passed the checks and limits; errors name
    the user's file, not our path. Nothing is decoded here."""
    try:
        header = audio.info(path)
        limits.check(header)
        return header.seconds
    except audio.AudioError as error:
        raise HTTPException(422, str(error).replace(path, shown_name)) from error


def create_app(model: ExportedModel, settings: Settings | None = None, jobs: jobs_module.Jobs | None = None) -> FastAPI:
    """The app around one loaded model (loaded once, shared by every job); default limits
    without ``settings``."""
    settings = settings or Settings()
    jobs = jobs or jobs_module.Jobs(
        make_work(model, settings.limits),
        settings.workers,
        settings.max_queued,
        settings.keep_minutes * 60,
        results=results(model),
    )
    app = FastAPI(title="Vocals2Song", lifespan=_lifespan(jobs), docs_url=None, redoc_url=None)
    app.state.jobs = jobs

    @app.middleware("http")
    async def same_site_only(request: Request, call_next):
        reason = refusal(request.method, request.headers.get("host"), request.headers.get("origin"), settings)
        return _error(403, reason) if reason else await call_next(request)

    @app.exception_handler(HTTPException)
    async def as_json(_: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail))

    options = model_options(model)
    app.include_router(_pages(model, settings, options))
    app.include_router(_job_routes(model, settings, jobs, options))
    app.include_router(_result_routes(model, jobs))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _lifespan(jobs: jobs_module.Jobs):
    """Sweeps expired results while the app runs (they expire even when nobody calls the API)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        async def sweep() -> None:
            while True:
                await asyncio.sleep(min(60.0, max(1.0, jobs.keep_seconds / 2)))
                jobs.expire()

        sweeper = asyncio.create_task(sweep())
        yield
        sweeper.cancel()
        jobs.close()

    return lifespan


def _pages(model: ExportedModel, settings: Settings, options: dict) -> APIRouter:
    """The page and what it needs to know about the model (``options``) and the limits."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @router.get("/api/config")
    def config() -> dict:
        return {
            **options,
            "max_upload_mb": settings.max_upload_mb,
            "max_seconds": settings.max_seconds,
            "max_sample_rate": settings.limits.max_sample_rate,
            "max_channels": settings.limits.max_channels,
            "keep_minutes": settings.keep_minutes,
            "target": model.target,
            "stems": list(model.stems),
        }

    return router


def _job_routes(model: ExportedModel, settings: Settings, jobs: jobs_module.Jobs, options: dict) -> APIRouter:
    """Submitting a job, checked against the model's ``options`` and the upload limits."""
    router = APIRouter()

    @router.post("/api/jobs", status_code=202)
    async def create_job(request: Request):
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            return _error(411, "send the upload with a Content-Length")
        if int(length) > settings.max_upload_bytes + FORM_OVERHEAD:
            return _error(413, f"the upload is over the {settings.max_upload_mb:g} MB limit")
        async with request.form(max_files=1, max_fields=len(CHOSEN) + 3) as form:
            return await _submit(form, model, settings, jobs, options)

    return router


def _find(jobs: jobs_module.Jobs, job_id: str) -> jobs_module.Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job (unknown, or its results expired)")
    return job


def _published(jobs: jobs_module.Jobs, job_id: str, name: str, media_type: str) -> FileResponse:
    """A job's result file once it is published (409 until then)."""
    job = _find(jobs, job_id)
    path = jobs.result(job, name)
    if path is None:
        raise HTTPException(409, f"the job is {job.state} and its {name} is not ready")
    return FileResponse(path, media_type=media_type)


def _played(jobs: jobs_module.Jobs, job: jobs_module.Job) -> dict:
    """How the job's chords were played (``PLAYED_FILE``: how often they changed, and that in
    words, ``style.described``), once published; {} before, and for a model that plays none."""
    path = jobs.result(job, jobs_module.PLAYED_FILE) if jobs_module.PLAYED_FILE in jobs.results else None
    if not path:
        return {}
    changes = json.loads(pathlib.Path(path).read_text())["changes"]
    return {"changes": changes, "said": style.described(changes, job.options.get("changes") == "auto")}


def _result_routes(model: ExportedModel, jobs: jobs_module.Jobs) -> APIRouter:
    """Polling a job, and fetching its song, picture and tracks once each is published."""
    router = APIRouter()

    @router.get("/api/jobs/{job_id}")
    def job_state(job_id: str) -> dict:
        job = _find(jobs, job_id)
        chosen = track_names(played(model, job.options), job.options["vocals"])
        names = [name for name in chosen if jobs_module.track_file(name) in job.ready]
        tracks = [{"name": name, "url": f"/api/jobs/{job_id}/tracks/{name}.wav"} for name in names]
        return {**job.public(jobs.keep_seconds), "tracks": tracks, "played": _played(jobs, job)}

    @router.get("/api/jobs/{job_id}/song.wav")
    def song(job_id: str) -> FileResponse:
        return _published(jobs, job_id, jobs_module.SONG_FILE, "audio/wav")

    @router.get("/api/jobs/{job_id}/song.png")
    def song_picture(job_id: str) -> FileResponse:
        return _published(jobs, job_id, jobs_module.PICTURE_FILE, "image/png")

    @router.get("/api/jobs/{job_id}/tracks/{name}.wav")
    def track(job_id: str, name: str) -> FileResponse:
        if name not in all_tracks(model):
            raise HTTPException(
                404, f"this model's songs have no track {name!r} (they have {', '.join(all_tracks(model))})"
            )
        return _published(jobs, job_id, jobs_module.track_file(name), "audio/wav")

    router.include_router(_chord_routes(model, jobs))
    return router


def _chord_routes(model: ExportedModel, jobs: jobs_module.Jobs) -> APIRouter:
    """The played chords as MIDI and as a lead sheet: 404 saying why when the model plays none or
    no sung note was heard in the take."""
    router = APIRouter()

    def chords_file(job_id: str, name: str, what: str, media_type: str) -> FileResponse:
        if name not in results(model):
            raise HTTPException(404, f"this model plays no chords (--chords none, or no harmoniser): no {what}")
        job = _find(jobs, job_id)
        if job.state == jobs_module.DONE and name not in job.ready:
            raise HTTPException(404, f"no sung note was heard in this take, so no chords were played: no {what}")
        return _published(jobs, job_id, name, media_type)

    @router.get("/api/jobs/{job_id}/song.mid")
    def midi(job_id: str) -> FileResponse:
        return chords_file(job_id, jobs_module.MIDI_FILE, "MIDI", "audio/midi")

    @router.get("/api/jobs/{job_id}/song.txt")
    def chart(job_id: str) -> FileResponse:
        return chords_file(job_id, jobs_module.CHART_FILE, "lead sheet", "text/plain; charset=utf-8")

    return router


def _chart_refusal(text: str, plays_chords: bool) -> str | None:
    """Why a job's chord chart cannot be played (``chart.parse``'s reason, naming the line), or None
    (no chart, or one that reads)."""
    if not text:
        return None
    if not plays_chords:
        return "this model plays no chords: it cannot play a chart"
    try:
        chart.check_size(len(text.encode()), "chart")
        chart.parse(text)
    except chart.ChartError as error:
        return str(error)
    return None


async def _submit(form, model: ExportedModel, settings: Settings, jobs: jobs_module.Jobs, options: dict):
    """Checks the form's options and the upload's header, then queues the job (or says why not)."""
    upload = form.get("audio")
    if not isinstance(upload, UploadFile):
        return _error(400, "no file in the form field 'audio'")
    offered = CHOSEN if options["plays_chords"] else CHOSEN[:1]
    chosen = {name: str(form.get(name) or options["defaults"][name]) for name in offered}
    for name, value in chosen.items():
        if value not in options["choices"][name]:
            listed = ", ".join(options["choices"][name])
            return _error(400, f"{name} must be one of {listed} for this model, got {value!r}")
    keep_vocals = str(form.get("vocals", "true")).lower() not in ("false", "0", "off", "no")
    if not keep_vocals and not options["can_drop_vocals"]:
        return _error(400, f"this model generates the {model.target}, vocals included: it cannot drop them")
    written = "\n".join(str(form.get("chart") or "").strip().splitlines())  # a browser's form sends CRLF
    refused = _chart_refusal(written, options["plays_chords"])
    if refused:
        return _error(400, refused)
    job_id, directory = jobs.new_directory()
    path = os.path.join(directory, UPLOAD_NAME)
    shown = os.path.basename(upload.filename or "the upload")
    try:
        size = await _save_upload(upload, path, settings.max_upload_bytes)
        if size == 0:
            raise HTTPException(422, f"{shown}: is empty (0 bytes)")
        seconds = _check_header(path, shown, settings.limits)
        chosen = {**chosen, "vocals": keep_vocals, **({"chart": written} if written else {})}
        job = jobs.submit(job_id, directory, path, shown, seconds, chosen)
    except HTTPException as error:
        jobs.discard(directory)
        return _error(error.status_code, error.detail)
    except jobs_module.QueueFull as error:
        return _error(503, str(error))
    return job.public(jobs.keep_seconds)
