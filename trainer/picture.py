"""The song's picture: what a generation made, drawn for people who would rather look than read.

Rows, top to bottom: the input vocals' and the song's spectrograms (and each generated stem's when
there are several) on a log-frequency axis and one dB scale; the song's pitch classes over time in
the take's tuning; and, when chords were played, the melody as transcribed with the chords under
it as a piano roll, the notes a musician would read off ``song.mid``.

Drawn on a ``Figure`` of its own, not through pyplot, whose global state is not thread-safe: the
web app draws in several worker threads at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import fsspec
import librosa
import numpy as np

from trainer.config import CHORDS_STEM, DRUMS_STEM
from trainer.drums import KICK, SNARE
from vocals2song import chord_names, storage
from vocals2song.scores import Score

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from trainer.generate import Song

PICTURE_HZ = (30.0, 8000.0)  # the frequency range: bass fundamentals to the vocal's upper harmonics
PICTURE_TOP_DB = 80.0  # the dynamic range under the loudest bin (and pitch-class frame)
ROLL_COLOURS = {"vocals": "black", "bass": "tab:blue", "other": "tab:orange"}
ROLL_TITLE = "melody (black) and chords (blue: bass, orange: upper notes; darker = louder), their symbols and bars"
DRUM_MARKS = {KICK: "o", SNARE: "x"}
"""The roll's marks for a played kit's kick and snare (``trainer/drums.py``), in a row under the
bass; the hi-hat on every half beat would only blacken it."""
CHART_FONT, CHART_ROWS = 7, 2
"""The chord symbols' size in points, and the rows they are staggered on so that more fit."""


def pitch_classes(spectrum: np.ndarray, sample_rate: int, tuning: float) -> np.ndarray:
    """The pitch classes ``(12, frames)`` of a 4096-point magnitude spectrogram, each frame's
    shares scaled to a maximum of 1, with C at ``tuning`` semitones off 440's. Frames more than
    ``PICTURE_TOP_DB`` under the loudest are 0: scaled to 1, a silent tail's rounding noise would
    paint the panel with random full-strength classes."""
    power = librosa.feature.chroma_stft(S=np.square(spectrum), sr=sample_rate, n_fft=4096, tuning=tuning, norm=None)
    peak = power.max(axis=0)
    audible = peak > peak.max() * 10 ** (-PICTURE_TOP_DB / 10)
    return np.where(audible, power / np.maximum(peak, 1e-30), 0.0)


def song_figure(
    vocals: np.ndarray,
    song: np.ndarray,
    sample_rate: int,
    stems: dict[str, np.ndarray] | None = None,
    tuning: float = 0.0,
    chords: Score | None = None,
) -> Figure:
    """The picture of ``song`` made from ``vocals`` (both ``(channels, samples)``): spectrograms
    on a log-frequency axis (a chord is a stack of lines whose spacing does not depend on the key)
    on one dB scale (so the accompaniment's level beside the vocal shows), the song's pitch
    classes counted ``tuning`` semitones off A = 440 Hz (at 440 a take sung a quarter tone sharp
    would smear over two classes), and ``chords`` (``Song.chords``) as a piano roll."""
    from matplotlib.figure import Figure

    named = [("input vocals", vocals), ("generated song", song), *((f"stem: {s}", x) for s, x in (stems or {}).items())]
    panels = len(named) + 1 + (chords is not None)
    figure = Figure(figsize=(10, 2.5 * len(named) + 3 + 2.5 * (chords is not None)), layout="constrained")
    ratios = (*(2,) * len(named), 1, *((2,) if chords is not None else ()))
    axes = figure.subplots(panels, 1, sharex=True, height_ratios=ratios)
    spectra = [np.abs(librosa.stft(w.mean(axis=0), n_fft=4096, hop_length=1024)) for _, w in named]
    times = librosa.frames_to_time(np.arange(spectra[0].shape[1]), sr=sample_rate, hop_length=1024)
    _spectrograms(figure, axes, [title for title, _ in named], spectra, times, sample_rate)
    chroma = pitch_classes(spectra[1], sample_rate, tuning)
    image = axes[len(named)].pcolormesh(times, np.arange(12), chroma, shading="nearest", cmap="magma", vmin=0, vmax=1)
    axes[len(named)].set_yticks(np.arange(12), chord_names.SHARPS, fontsize=7)
    axes[len(named)].set_title("song's pitch classes")
    figure.colorbar(image, ax=axes[len(named)], label="share")
    if chords is not None:
        _roll(axes[-1], chords)
    axes[-1].set_xlim(times[0], times[-1])  # the take's length: a bar chart's margins would widen every panel
    axes[-1].set_xlabel("time (s)")
    return figure


def _spectrograms(figure: Figure, axes, titles: list[str], spectra: list[np.ndarray], times, sample_rate: int) -> None:
    """One spectrogram per axis, on one dB scale under the loudest bin of them all."""
    reference = max(float(spectrum.max()) for spectrum in spectra) or 1.0
    frequencies = librosa.fft_frequencies(sr=sample_rate, n_fft=4096)
    shown = (frequencies >= PICTURE_HZ[0]) & (frequencies <= PICTURE_HZ[1])
    for axis, title, spectrum in zip(axes, titles, spectra, strict=False):
        decibels = librosa.amplitude_to_db(spectrum[shown], ref=reference, top_db=PICTURE_TOP_DB)
        shade = {"shading": "nearest", "cmap": "magma", "vmin": -PICTURE_TOP_DB, "vmax": 0}
        image = axis.pcolormesh(times, frequencies[shown], decibels, **shade)
        axis.set_yscale("log")
        axis.set_title(title)
        axis.set_ylabel("frequency (Hz)")
        figure.colorbar(image, ax=axis, label="dB")


def _roll(axis: Axes, chords: Score) -> None:
    """The melody and its chords as bars: one per note, at its MIDI pitch, from its onset for its
    duration (seconds), shaded by velocity, edged in white so that a chord struck again shows
    where; labelled with the octaves' Cs; grey lines where ``song.mid``'s bars start; the drums'
    kicks and snares under it when a kit played (``_drum_row``)."""
    from matplotlib.colors import to_rgba

    from trainer.chords import bar_lines

    pitches = [note.pitch for stem in ROLL_COLOURS for note in chords.parts.get(stem, ())]
    for stem, colour in ROLL_COLOURS.items():
        notes = chords.parts.get(stem, ())
        if notes:
            shades = [to_rgba(colour, 0.25 + 0.75 * note.velocity / 127) for note in notes]
            axis.barh(
                [n.pitch for n in notes], [n.duration for n in notes], left=[n.start for n in notes], height=0.8,
                color=shades, edgecolor="white", linewidth=0.6, label=stem,
            )  # fmt: skip
    if pitches:
        low, high = min(pitches) - 2, max(pitches) + 2 + 2 * CHART_ROWS
        low = _drum_row(axis, chords, low)
        axis.set_ylim(low, high)
        octaves = range(12 * (low // 12 + 1), high + 1, 12)
        axis.set_yticks(list(octaves), [f"C{c // 12 - 1}" for c in octaves])
        _chart(axis, chords, high - 1.2)
        for seconds in bar_lines(chords):
            axis.axvline(seconds, color="0.75", linewidth=0.8, zorder=0)
    axis.set_title(ROLL_TITLE)
    axis.set_ylabel("pitch")


def _drum_row(axis: Axes, chords: Score, low: int) -> int:
    """The kit's kicks and snares (``DRUM_MARKS``) in green on a row under ``low``, the roll's
    lowest; returns the roll's new lowest (``low`` without drums)."""
    hits = [note for note in chords.parts.get("drums", ()) if note.pitch in DRUM_MARKS]
    if not hits:
        return low
    for key, mark in DRUM_MARKS.items():
        starts = [note.start for note in hits if note.pitch == key]
        axis.plot(starts, [low - 1] * len(starts), mark, color="tab:green", markersize=4, linestyle="none")
    axis.text(0.0, low - 2.8, "drums: kick o, snare x", fontsize=CHART_FONT, color="tab:green", va="center")
    return low - 4


def _chart(axis: Axes, chords: Score, top: float) -> None:
    """The chord symbols along the top of the roll, each at its chord's onset, on two staggered
    rows; one that would overlap both rows' last symbol is left out of the picture (``song.mid``'s
    markers hold them all)."""
    from trainer.chords import symbols

    end = max(note.start + note.duration for stem in chords.parts.values() for note in stem)
    inches = axis.get_position().width * axis.figure.get_figwidth()
    seconds_per_char = end * CHART_FONT * 0.6 / 72 / inches  # a character is about 0.6 em wide
    free = [-end] * CHART_ROWS  # where each row is free again
    for start, name in symbols(chords):
        row = next((row for row, at in enumerate(free) if start >= at), None)
        if row is not None:
            axis.text(start, top - 1.6 * row, name, fontsize=CHART_FONT, va="center", clip_on=True)
            free[row] = start + (len(name) + 1) * seconds_per_char


def write_png(path: str, figure: Figure) -> None:
    """``figure`` as a PNG at a local or gs:// ``path``."""
    storage.ensure_parent(path)
    with fsspec.open(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)


def song_png(path: str, vocals: np.ndarray, song: Song, sample_rate: int) -> None:
    """The picture of one generation: a row per generator stem when there are several, pitch
    classes in the take's tuning, the piano roll when chords were played (the played parts are
    drawn there, not as rows)."""
    own = {stem: x for stem, x in song.stems.items() if stem not in (CHORDS_STEM, DRUMS_STEM)}
    stems = own if len(own) > 1 else None
    write_png(path, song_figure(vocals, song.mix, sample_rate, stems, song.tuning, song.chords))
