"""A vocal of any length in, a song out.

The vocal is downmixed and resampled to the model's rate, turned into features, and run
through the generator over windows that overlap by an eighth. Windows are crossfaded with weights
that sum to one: magnitudes are averaged and phases combined as a weighted circular
mean, so no seam and no cancellation between windows. Phase comes from the generator
("predicted") or from Griffin-Lim on the generated magnitude; when the model makes the
accompaniment, the input vocal is added back. With a harmoniser in the export, the take is
transcribed once into notes: the U-Net may read the harmoniser's pitch classes (``--harmony``)
and the same chords may be played as notes beside or instead of it (``--chords``, trainer/chords.py).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from trainer import chart, chords, drums, harmoniser, picture, style
from trainer.chart import Chart
from trainer.config import CHORDS_STEM, DRUM_STYLES, DRUMS_STEM, INSTRUMENT_CHOICES, PHASES, GenerateOptions
from trainer.export import ExportedModel
from vocals2song import audio, codec, melody, scores, storage
from vocals2song.config import SEMITONES
from vocals2song.features import spectrum_to_audio
from vocals2song.render import TRAIN_SOUNDFONT
from vocals2song.scores import Score

SILENCE_DB = -70.0
PEAK = 0.99
# Fraction of a generation's time spent in the generator, by phase method (measured with
# bench_generate's default model: Griffin-Lim takes about a quarter of the time).
GENERATOR_SHARE = {"predicted": 0.95, "source": 0.95, "griffinlim": 0.75}
log = logging.getLogger(__name__)


def stem_names(model: ExportedModel) -> tuple[str, ...]:
    """The stems ``generate_song`` gives for ``model``, in order: the generator's (none when it
    plays chords only, nor for a take ``--changes auto`` reads as a song), then the played chords
    and, with a kit chosen, the drums. The played parts
    are stems of their own so that the page's mixer and ``--stems`` can balance them; the
    generator's accompaniment stays one stem, as ``evaluate`` scores it."""
    if not model.plays_chords:
        return model.stems
    own = () if model.chords == "only" else model.stems
    return (*own, CHORDS_STEM, *((DRUMS_STEM,) if model.drums != DRUM_STYLES[0] else ()))


class GenerationError(ValueError):
    """An input cannot be turned into a song; the message names the file."""


def _phase_mode(model: ExportedModel, phase: str) -> str:
    if phase not in PHASES:
        raise ValueError(f"--phase must be one of {', '.join(PHASES)}, got {phase!r}")
    has_phase = model.features.channels > 1
    if phase == "auto":
        return "predicted" if has_phase else "source" if model.source == "mixture" else "griffinlim"
    if phase == "predicted" and not has_phase:
        raise ValueError("this model generates magnitude only (features 'logmag'): use --phase griffinlim")
    return phase


OVERLAP_SHARE = 8  # neighbouring windows share 1/8 of a window: each frame is generated 8/7 times


def crossfade_weights(frames: int, overlap: int) -> np.ndarray:
    """One in the middle, sin^2 rising over the first ``overlap`` frames and falling over the
    last: at a hop of ``frames - overlap`` neighbours sum to exactly one (sin^2 + cos^2)."""
    rise = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2
    weights = np.ones(frames)
    weights[:overlap], weights[frames - overlap :] = rise, rise[::-1]
    return weights


def generation_window(model: ExportedModel, at_least: int = 512) -> int:
    """Frames per generator call: the training crop, grown to ``at_least`` frames (fewer,
    larger calls; the generator is fully convolutional), a multiple of 2**depth."""
    frames = max(model.window_frames, at_least)
    return math.ceil(frames / model.multiple) * model.multiple


def crossfade_overlap(window: int) -> int:
    """Frames neighbouring windows share. Half a window (each frame generated twice) cost half
    of generation's time; an eighth still hides the edges, where the generator sees less
    context (the seam and whole-window tests in tests/test_generate.py hold)."""
    return max(1, window // OVERLAP_SHARE)


def generate_features(
    model: ExportedModel,
    source: np.ndarray,
    window: int,
    batch: int = 4,
    progress: Callable[[float], None] | None = None,
    harmony: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Source features ``(bins, frames, C)`` -> generated features per window, with their starts.

    ``progress`` is called with the fraction of windows done after each generator call;
    ``harmony`` ``(frames, 12)``, the take's pitch classes, replaces the generator's own head.
    """
    hop = window - crossfade_overlap(window)
    frames = source.shape[1]
    count = 1 + max(0, math.ceil((frames - window) / hop))
    extra = (count - 1) * hop + window - frames
    padded = np.pad(source, ((0, 0), (0, extra), (0, 0)), mode="edge")
    if harmony is not None:
        harmony = np.pad(harmony, ((0, extra), (0, 0)), mode="edge")
    starts = [index * hop for index in range(count)]
    outputs = []
    for first in range(0, count, batch):
        chosen = starts[first : first + batch]
        chunk = np.stack([padded[:, s : s + window] for s in chosen])
        given = None if harmony is None else np.stack([harmony[s : s + window] for s in chosen])
        outputs.extend(model.run(chunk, given))
        if progress:
            progress(len(outputs) / count)
    return list(zip(starts, outputs, strict=True))


def crossfaded(
    model: ExportedModel,
    spectrum: np.ndarray,
    mode: str,
    progress: Callable[[float], None] | None = None,
    harmony: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Complex source spectrum ``(bins_all, frames)`` -> each target stem's generated magnitude
    and, for predicted phase, unit phasors, both ``(stems, bins_all, frames)``: windows crossfaded.
    ``harmony`` ``(frames, 12)`` replaces the generator's head (``generate_features``)."""
    frames, stems = spectrum.shape[1], model.target_codec
    window = generation_window(model)
    shape = (len(stems.stems), model.spectral.bins, frames)
    magnitude = np.zeros(shape, np.float64)
    rotation = np.zeros(shape, np.complex128) if mode == "predicted" else None
    total = np.zeros(frames)
    weights = crossfade_weights(window, crossfade_overlap(window))
    source = model.source_codec.encode(spectrum)
    for start, features in generate_features(model, source, window, progress=progress, harmony=harmony):
        span = min(window, frames - start)
        if span <= 0:
            continue
        w = weights[:span]
        for index, (stem_codec, part) in enumerate(zip(stems.codecs, stems.split(features), strict=True)):
            magnitude[index, :, start : start + span] += w * stem_codec.magnitude(part)[:, :span]
            if rotation is not None:
                phase = np.angle(stem_codec.decode(part)[:, :span])
                rotation[index, :, start : start + span] += w * np.exp(1j * phase)
        total[start : start + span] += w
    phasors = None if rotation is None else np.exp(1j * np.angle(rotation))
    return magnitude / np.maximum(total, 1e-12), phasors


def take_notes(
    model: ExportedModel, spectrum: np.ndarray, drift: np.ndarray | None = None
) -> list[melody.MelodyNote] | None:
    """The take's melody notes, transcribed once for the whole take (so every window hears the
    same harmony) when the model uses its harmoniser, else None; ``drift``: the take's tuning
    per frame (``take_drift``), which the transcriber follows."""
    if model.harmoniser is None:
        return None
    return melody.transcribe(np.abs(spectrum), model.spectral.sample_rate, model.spectral.n_fft, drift)


def take_drift(model: ExportedModel, spectrum: np.ndarray) -> np.ndarray | None:
    """How the take's tuning moves per frame (``melody.drift``) for an accompaniment model, as
    ``_tuning`` measures its offset: the notes are read, the chords played and the generator's
    frames bent along it; None when it holds."""
    if not model.makes_accompaniment:
        return None
    config = model.spectral
    return melody.drift(np.abs(spectrum), config.sample_rate, config.n_fft, config.hop_length)


@dataclasses.dataclass(frozen=True)
class Song:
    """What one generation makes, every array ``(channels, samples)`` at the input's rate and
    length: ``mix`` (the song, or the model's output alone) and each generated stem; one limiter
    gain scales them all, so the stems sum to the generated part of ``mix``; ``tuning``: the take's
    offset from A = 440 Hz in semitones, which the accompaniment follows (0 when in tune);
    ``chords``: the transcribed melody and the chords played under it (``chords.chord_score``) when
    chords were played (None when no note was heard): times in seconds of the take, pitches at
    A = 440 (``tuning`` away from the take's), and the take's drift from ``tuning`` as its
    ``bends`` when it drifts (``melody.drift``); ``instrument``: what played them; ``changes``: how
    often they changed (``--changes auto`` read off the take, ``trainer/style.py``; ``style.CHARTED``
    where a chart's do)."""

    mix: np.ndarray
    stems: dict[str, np.ndarray]
    tuning: float = 0.0
    chords: Score | None = None
    instrument: str = INSTRUMENT_CHOICES[0]
    changes: str | None = None


def generate(
    model: ExportedModel,
    waveform: np.ndarray,
    sample_rate: int,
    phase: str = "auto",
    vocals: bool = True,
    chart: Chart | None = None,
) -> np.ndarray:
    """Vocals ``(channels, samples)`` at ``sample_rate`` -> song, same shape and rate: the
    ``mix`` of ``generate_song``."""
    return generate_song(model, waveform, sample_rate, phase, vocals, chart=chart).mix


def generate_song(
    model: ExportedModel,
    waveform: np.ndarray,
    sample_rate: int,
    phase: str = "auto",
    vocals: bool = True,
    progress: Callable[[float], None] | None = None,
    chart: Chart | None = None,
) -> Song:
    """Vocals ``(channels, samples)`` at ``sample_rate`` -> the song and its generated stems.

    The vocal is brought to the training vocals' level before the generator and the gain
    is undone afterwards, so a quiet take and a loud one get the same arrangement; the
    generated frames are bounded (``features.BOUND_STD``, ``CEILING_STD``); the input
    vocal is added back unchanged; a limiter touches only samples that would clip.
    ``vocals=False`` leaves the vocal out (accompaniment models only).
    ``progress`` receives the fraction done, from 0 to 1. ``chart``: a user's chords to play
    instead of the predicted ones (``trainer/chart.py``; a model that plays chords)."""
    mode = _phase_mode(model, phase)
    if not vocals and not model.makes_accompaniment:
        raise ValueError(
            f"this model generates the {model.target}, vocals included: --no-vocals needs an accompaniment model"
        )
    if chart:
        _check_plays_chords(model, "a chord chart")
    config = model.spectral
    mono = audio.resample(audio.to_channels(waveform, 1), sample_rate, config.sample_rate)
    tuning = _tuning(model, mono)
    made = _generated_in_its_tuning(model, mono, tuning, mode, progress, chart)
    stems = {stem: _as_input(x, config.sample_rate, sample_rate, waveform.shape) for stem, x in made.stems.items()}
    generated = np.sum(list(stems.values()), axis=0)
    song = waveform + generated if model.makes_accompaniment and vocals else generated
    limiter = audio.limiter_gain(song.astype(np.float32), sample_rate, PEAK)
    scaled = {stem: (x * limiter).astype(np.float32) for stem, x in stems.items()}
    played = made.arranged, model.instrument, made.changes
    return Song((song * limiter).astype(np.float32), scaled, tuning, *played)


def _tuning(model: ExportedModel, mono: np.ndarray) -> float:
    """An accompaniment model's take's offset from A = 440 Hz in semitones (``melody.tuning``);
    0 for other models, which generate at whatever tuning their input has."""
    if not model.makes_accompaniment:
        return 0.0
    config = model.spectral
    return melody.tuning(np.abs(codec.stft(mono, config)[0]), config.sample_rate, config.n_fft)


def _generated_in_its_tuning(
    model: ExportedModel,
    mono: np.ndarray,
    offset: float,
    mode: str,
    progress: Callable[[float], None] | None,
    chart: Chart | None,
) -> Made:
    """``_generated_stems`` for a take sung ``offset`` semitones off A = 440 Hz: the take is
    resampled to 440 (where the training takes were, and the transcriber's candidates are) and
    what is generated is resampled back, so the accompaniment sounds in the voice's tuning (the
    round trip may leave a sample more or less: ``_as_input`` fits the take's length). Resampling
    stretches time by the same factor as pitch, so the chords' score is shrunk back to the take's
    clock (2.3% for a take 40 cents sharp: 1.4 s by the end of a minute)."""
    config = model.spectral
    made = _generated_stems(model, audio.retuned(mono, config.sample_rate, -offset), mode, progress, chart)
    back = {stem: audio.retuned(x, config.sample_rate, offset) for stem, x in made.stems.items()}
    return Made(back, made.arranged and scores.stretched(made.arranged, 2.0 ** (-offset / SEMITONES)), made.changes)


class Made(NamedTuple):
    """A take's generated stems (each ``(1, samples)``), the chords' score when chords were played
    and how often they changed (``Song``)."""

    stems: dict[str, np.ndarray]
    arranged: Score | None
    changes: str | None


def _generated_stems(
    model: ExportedModel,
    mono: np.ndarray,
    mode: str,
    progress: Callable[[float], None] | None,
    chart: Chart | None,
) -> Made:
    """The mono take ``(1, samples)`` at the model's rate -> each generated stem's waveform there:
    the generator's and the played parts', as ``stem_names`` lists them (a played part is silent
    when no note was heard; the chords a ``chart``'s when given; the generator's left out when
    ``--changes auto`` plays a song's chords alone, ``style.setting``); the chords' score and how
    often they changed, when they were played."""
    config = model.spectral
    spectrum = codec.stft(mono, config)[0]
    drift = take_drift(model, spectrum)
    notes = take_notes(model, spectrum, drift)
    predicted = harmoniser.note_predictions(model.harmoniser, notes) if notes else None  # notes need a harmoniser
    frame_seconds = config.hop_length / config.sample_rate
    arranged, changes, alone = None, None, False
    if model.plays_chords and notes:
        changes, alone = (style.CHARTED, False) if chart else style.setting(model.changes, notes)
        playing = (model.voicing, model.rhythm, drift, changes, chart)
        arranged = drums.with_drums(chords.chord_score(notes, predicted, frame_seconds, *playing), model.drums)
    stems = {}
    if model.chords != "only" and not alone:
        harmony = _unet_harmony(model, notes, predicted, arranged if chart else None, spectrum.shape[1])
        stems = _generator_stems(model, spectrum, mono.shape[1], mode, progress, harmony, drift)
    if model.plays_chords:
        played = dict.fromkeys((CHORDS_STEM, DRUMS_STEM), np.zeros_like(mono[0]))
        if arranged:
            played = chords.play(arranged, mono[0], config.sample_rate, TRAIN_SOUNDFONT, model.instrument)
        stems |= {name: played[name][np.newaxis] for name in stem_names(model) if name in played}
    if progress:
        progress(1.0)
    return Made(stems, arranged, changes)


def _unet_harmony(
    model: ExportedModel, notes: list, predicted: np.ndarray | None, charted: Score | None, frames: int
) -> np.ndarray | None:
    """The pitch classes the U-Net reads per frame, with ``--harmony notes`` (else None: its own
    head's): the harmoniser's, or the chords of a user's chart as played (``charted``), so that
    the U-Net's accompaniment does not play the harmony the chart replaced."""
    if model.harmony != "notes":
        return None
    if charted is not None:
        return chords.frame_classes(charted, frames, model.spectral.hop_length / model.spectral.sample_rate)
    return harmoniser.frame_harmony(predicted, notes, frames)


def _generator_stems(
    model: ExportedModel,
    spectrum: np.ndarray,
    samples: int,
    mode: str,
    progress: Callable[[float], None] | None,
    harmony: np.ndarray | None,
    drift: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The take's complex spectrum -> the generator's stems as ``samples`` long waveforms, its
    level gain undone; ``harmony`` as ``crossfaded`` takes it. The generator plays at A = 440 Hz
    whatever the voice does, so with a ``drift`` (``take_drift``) each frame's magnitudes move by
    it before Griffin-Lim rebuilds their phase (a predicted phase would not fit moved partials:
    those stay)."""
    gain, share = model.source_codec.level_gain(spectrum), GENERATOR_SHARE[mode]
    on_window = (lambda done: progress(share * done)) if progress else None
    magnitudes, phasors = crossfaded(model, spectrum * gain, mode, on_window, harmony)
    if drift is not None and mode == "griffinlim":  # the take's own phase ("source") fits unmoved partials only
        magnitudes = np.stack([bent(magnitude, drift) for magnitude in magnitudes])
    if mode == "source":  # every stem takes the input's phase (a separator's mixture holds the stems')
        phasors = np.broadcast_to(np.exp(1j * np.angle(spectrum)), magnitudes.shape)
    on_stem = (lambda done: progress(share + (1.0 - share) * done)) if progress else None
    waveforms = _stem_waveforms(model, magnitudes, phasors, samples, on_stem)
    return {stem: waveform / gain for stem, waveform in waveforms.items()}


def bent(magnitude: np.ndarray, drift: np.ndarray) -> np.ndarray:
    """A ``(bins, frames)`` magnitude STFT with each frame's spectrum moved up by ``drift`` of it
    (one value a frame) in semitones: every frequency times 2**(drift / 12), read between bins linearly."""
    bins = np.arange(magnitude.shape[0])
    moved = np.empty_like(magnitude)
    for frame, semitones in enumerate(drift):
        moved[:, frame] = np.interp(bins * 2.0 ** (-semitones / SEMITONES), bins, magnitude[:, frame], right=0.0)
    return moved


def _stem_waveforms(model: ExportedModel, magnitudes, phasors, length: int, progress=None) -> dict[str, np.ndarray]:
    """Each stem's bounded magnitude (and phasors, or Griffin-Lim) -> mono waveform at the model's rate."""
    waveforms = {}
    for index, (stem, stem_codec) in enumerate(zip(model.stems, model.target_codec.codecs, strict=True)):
        stem_phasors = None if phasors is None else phasors[index]
        waveforms[stem] = spectrum_to_audio(
            stem_codec.cap_frames(magnitudes[index]), stem_phasors, model.spectral, length
        )
        if progress:
            progress((index + 1) / len(model.stems))
    return waveforms


def _as_input(generated: np.ndarray, rate: int, input_rate: int, shape: tuple[int, int]) -> np.ndarray:
    """A generated mono waveform at ``rate`` -> the input's rate, length and channels."""
    resampled = audio.resample(generated.astype(np.float32), rate, input_rate)[:, : shape[1]]
    return audio.to_channels(np.pad(resampled, ((0, 0), (0, shape[1] - resampled.shape[1]))), shape[0])


def read_vocals(path: str, limits: audio.AudioLimits | None = None) -> tuple[np.ndarray, int]:
    """Reads an input vocal; AudioError for unreadable, empty, silent or over-limit files
    (``limits`` defaults to ``audio.vocal_limits()``, checked on the header first)."""
    waveform, rate = audio.read(path, limits or audio.vocal_limits())
    level = audio.rms_db(waveform)
    if level < SILENCE_DB:
        raise audio.AudioError(f"{path}: is silent (RMS {level:.0f} dBFS): nothing to accompany")
    return waveform, rate


@dataclasses.dataclass
class Generated:
    source: str
    song: str | None
    picture: str | None
    seconds: float
    error: str | None = None
    stems: dict[str, str] = dataclasses.field(default_factory=dict)  # stem -> written path, with stems_dir
    midi: str | None = None  # the melody and the played chords, when chords were played
    lead_sheet: str | None = None  # their chart as text (``write_chart``), when chords were played
    bars: tuple[str, ...] = ()  # the played chords a bar at a time (``chords.bar_chart``), what the CLI prints
    concert_pitch: str | None = None  # where the take's A is, off 440 (``chords.concert_pitch``), printed too
    changes: str | None = None  # how often the played chords changed (``Song.changes``), printed too


SONG_FILE = "song.wav"  # beside the stems in a stems folder


def write_stems(song: Song, stems_dir: str, rate: int) -> dict[str, str]:
    """``stems_dir/<stem>.wav`` for each generated stem, and the mix as ``song.wav``."""
    written = {}
    for stem, waveform in song.stems.items():
        written[stem] = storage.join(stems_dir, f"{stem}.wav")
        audio.write(written[stem], waveform, rate)
    audio.write(storage.join(stems_dir, SONG_FILE), song.mix, rate)
    return written


def write_midi(song: Song, path: str) -> str | None:
    """The melody and the chords played under it as MIDI at ``path``; None (nothing written) when
    no chords were played: a model without them, or a take in which no note was heard."""
    if song.chords is None:
        return None
    chords.write_midi(song.chords, song.tuning, path, song.instrument)
    return path


def write_chart(song: Song, path: str) -> str | None:
    """The chords' lead sheet (key, meter, tempo, then the chords a bar at a time;
    ``chords.lead_sheet``) as text at ``path``; None (nothing written) when no chords were played."""
    import fsspec

    if song.chords is None:
        return None
    storage.ensure_parent(path)
    with fsspec.open(path, "w") as handle:
        handle.write(chords.lead_sheet(song.chords, song.tuning))
    return path


def _check_plays_chords(model: ExportedModel, what: str) -> None:
    """GenerationError naming ``what`` (a chart) when ``model`` plays no chords to play it with."""
    if not model.plays_chords:
        raise GenerationError(f"{what}: this model plays no chords (--chords add or only)")


def read_chart(model: ExportedModel, options: GenerateOptions) -> Chart | None:
    """``options.chart`` read (``chart.read``) before any audio is, or None without one;
    GenerationError when the model plays no chords or when the chart is the file the song's lead
    sheet would overwrite."""
    if not options.chart:
        return None
    _check_plays_chords(model, f"--chart {options.chart}")
    written = chart.read(options.chart)
    if os.path.abspath(options.chart) == os.path.abspath(os.path.splitext(options.output)[0] + ".txt"):
        raise GenerationError(
            f"--chart {options.chart} is where the lead sheet of {options.output} is written: "
            "give the chart or the song another name"
        )
    return written


def generate_file(model: ExportedModel, options: GenerateOptions) -> Generated:
    """One file (``options.vocals``) in, ``options.output`` and a PNG beside it (same name, .png)
    out, and the melody and chords as MIDI (.mid) and their chart (.txt) when chords were played; with
    ``options.stems`` each generated stem too (``write_stems``)."""
    started = time.monotonic()
    written_chart = read_chart(model, options)
    waveform, rate = read_vocals(options.vocals)
    song = generate_song(model, waveform, rate, options.phase, not options.no_vocals, chart=written_chart)
    audio.write(options.output, song.mix, rate)
    written = write_stems(song, options.stems, rate) if options.stems else {}
    png = os.path.splitext(options.output)[0] + ".png"
    picture.song_png(png, waveform, song, rate)
    midi = write_midi(song, os.path.splitext(options.output)[0] + ".mid")
    sheet = write_chart(song, os.path.splitext(options.output)[0] + ".txt")
    bars = chords.bar_chart(song.chords) if song.chords else ()
    pitch = chords.concert_pitch(song.chords, song.tuning) if song.chords else None
    seconds = time.monotonic() - started
    files = {"stems": written, "midi": midi, "lead_sheet": sheet}
    played = {"bars": bars, "concert_pitch": pitch, "changes": song.changes}
    return Generated(options.vocals, options.output, png, seconds, **files, **played)


def generate_dir(model: ExportedModel, options: GenerateOptions) -> list[Generated]:
    """Every file in the folder ``options.vocals`` -> ``options.output/<name>.wav`` (and its stems
    in ``options.stems/<name>/``); a bad file is reported and skipped, the others are still done."""
    fs, resolved = storage.filesystem(options.vocals)
    names = sorted(os.path.basename(p) for p in fs.ls(resolved, detail=False) if fs.isfile(p))
    if not names:
        raise GenerationError(f"{options.vocals}: no files to generate from")
    read_chart(model, options)  # a chart that cannot be played stops the folder before its first song
    results = []
    for index, name in enumerate(names, start=1):
        stem = os.path.splitext(name)[0]
        one = dataclasses.replace(
            options,
            vocals=storage.join(options.vocals, name),
            output=storage.join(options.output, stem + ".wav"),
            stems=storage.join(options.stems, stem) if options.stems else None,
        )
        try:
            result = generate_file(model, one)
            log.info("[%d/%d] %s -> %s (%.1f s)", index, len(names), name, one.output, result.seconds)
        except (audio.AudioError, GenerationError) as error:
            result = Generated(one.vocals, None, None, 0.0, str(error))
            log.error("[%d/%d] %s: FAILED: %s", index, len(names), name, error)
        results.append(result)
    return results
