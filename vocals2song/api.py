"""The public Python API: the functions a notebook or a script calls, and the CLI too.

Every import of TensorFlow, Beam or librosa happens inside the function that needs it, so
``import vocals2song`` stays cheap (a test checks that TensorFlow is not imported).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import tensorflow as tf

    from trainer.export import ExportedModel
    from trainer.generate import Song


def render_scores(output_dir: str, beam_args: Sequence[str] = (), **options: Any) -> dict[str, Any]:
    """Renders scores to a MUSDB18-HQ-layout folder with FluidSynth (an Apache Beam job).

    ``options`` are ``RenderJobOptions`` fields (``bach=(0, 20)``, ``scores_dir``, ``split``,
    ``every``, ``except_every``) and ``RenderOptions`` fields (``soundfont``, ``keys``,
    ``tempo_range``, ``max_seconds``, ``seed``). Returns counts and the dead letters.

    >>> vocals2song.render_scores("chorales", bach=(0, 10), max_seconds=30)  # doctest: +SKIP
    """
    import dataclasses

    from pipelines import render as job
    from pipelines.options import RenderJobOptions
    from vocals2song import render

    ours = {field.name for field in dataclasses.fields(render.RenderOptions)}
    rendering = render.RenderOptions(**{key: value for key, value in options.items() if key in ours})
    rest = {key: value for key, value in options.items() if key not in ours}
    return job.run(RenderJobOptions(output_dir=output_dir, render=rendering, **rest), list(beam_args))


def build_dataset(musdb_root: str, output_dir: str, beam_args: Sequence[str] = (), **options: Any) -> dict[str, Any]:
    """MUSDB18-HQ layout -> float16 STFT TFRecords (the Beam job; DirectRunner unless
    ``beam_args`` names a runner). ``options``: ``DatasetOptions`` fields, e.g.
    ``stems=("vocals", "mixture")``, ``segment_seconds``, ``overwrite``. Returns a summary.

    >>> vocals2song.build_dataset("chorales", "data", overwrite=True)  # doctest: +SKIP
    """
    import sys

    from pipelines import dataset
    from pipelines.options import make_options

    return dataset.run(make_options(musdb_root, output_dir, **options), list(beam_args), sys.argv)


def load_dataset(
    data_dir: str,
    split: str = "train",
    batch_size: int = 4,
    training: bool | None = None,
    seed: int = 0,
    **options: Any,
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of ``(source, target)`` feature batches ``(batch, rows, frames, C)``
    for your own training code. ``training`` (default: split is "train") shuffles and repeats;
    ``options`` are training options of the input (``source``, ``target``, ``crop_frames``,
    ``features``, ``frequency``...), as ``train`` takes them.

    >>> source, target = next(iter(vocals2song.load_dataset("data", target="accompaniment")))  # doctest: +SKIP
    """
    from trainer import inputs
    from trainer.config import config_from_options
    from vocals2song.manifest import read_manifest

    config = config_from_options(data_dir, "", **options).input
    training = split == "train" if training is None else training
    return inputs.make_dataset(read_manifest(data_dir), data_dir, split, config, batch_size, training, seed)


def train(data_dir: str, model_dir: str, **options: Any) -> dict[str, Any]:
    """Trains (or resumes) a model; ``options`` are the ``vocals2song train`` flags as keywords
    (``steps=500, batch_size=8, crop_frames=256, depth=6, features="logmag"``). Returns the
    run's summary; the export is in ``model_dir/export``.

    >>> vocals2song.train("data", "model", steps=200, target="accompaniment")  # doctest: +SKIP
    """
    from trainer import train as trainer
    from trainer.config import config_from_options

    return trainer.train(config_from_options(data_dir, model_dir, **options))


def load_model(path: str | None = None, **accompanist: str) -> ExportedModel:
    """A trained model from ``model_dir`` or its ``export/`` (local or gs://); ``None`` loads the
    released model shipped in the repository and in the package, or raises FileNotFoundError
    saying how to make it.
    ``accompanist``: ``generate``'s flags of that name (``trainer.config.Accompanist``, whose
    defaults apply): ``harmony`` "auto", "notes", "head" (who picks the pitch classes);
    ``chords`` "auto", "add", "only", "none" (the harmoniser's chords played as notes);
    ``voicing`` "led", "chordal", "consonant", "hedged" (how those chords are voiced); ``rhythm``
    "held", "beat", "arpeggio" (when they are struck); ``changes`` "beat", "note", "half", "bar" (how
    often they change); ``instrument`` "strings", "organ", "piano", "guitar", "choir" (what plays them);
    ``drums`` "none", "backbeat" (a kit on the sung beats, with the chords).

    >>> model = vocals2song.load_model("model", voicing="hedged")  # doctest: +SKIP
    """
    import dataclasses

    from trainer import export
    from trainer.config import Accompanist

    return export.load_model(path, **dataclasses.asdict(Accompanist(**accompanist)))


def generate(
    model: ExportedModel | str | None, waveform: np.ndarray, sample_rate: int, **options: Any
) -> tuple[np.ndarray, int]:
    """Vocals ``(channels, samples)`` -> ``(song, sample_rate)``, same shape and rate.
    ``options``: ``phase`` ("auto", "predicted", "griffinlim", "source"), ``vocals=False`` for the
    accompaniment alone, ``chart`` a chord chart's text to play instead of the predicted chords
    (``generate --chart``: "| Am | Dm G7 | C |", a meter such as "3/4" on a line of its own).
    ``model`` may be a path (or None: the released model).

    >>> song, rate = vocals2song.generate(model, vocal, 44100)  # doctest: +SKIP
    """
    from trainer import generate as generation

    model = _model(model)
    return generation.generate(model, waveform, sample_rate, **_with_chart(options)), sample_rate


def generate_song(model: ExportedModel | str | None, waveform: np.ndarray, sample_rate: int, **options: Any) -> Song:
    """``generate``'s song with what went into it: ``song.mix``, ``song.stems`` (each generated
    stem, the played ``chords`` and ``drums`` each a stem of its own; they sum to the generated
    part of the mix), ``song.tuning`` (the take's offset from A = 440 Hz) and ``song.chords`` (the melody
    heard and the chords played under it, when the model plays chords; ``chord_chart`` and
    ``write_midi`` read it). Same options as ``generate``.

    >>> song = vocals2song.generate_song(None, vocal, 44100, chart="| C | F G7 | C |")  # doctest: +SKIP
    """
    from trainer import generate as generation

    return generation.generate_song(_model(model), waveform, sample_rate, **_with_chart(options))


def _with_chart(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with a ``chart`` given as text read into a Chart (``trainer/chart.py``)."""
    from trainer import chart

    text = options.get("chart")
    return {**options, "chart": chart.parse(text, "chart")} if isinstance(text, str) else options


def chord_chart(song: Song) -> list[tuple[float, str]]:
    """The chords a song plays as (seconds into the take, symbol) wherever the chord changes
    ("Am", "G7/B"; ``vocals2song/chord_names.py``); empty when it played none. The example is the
    released model on a dev chorale's soprano (bwv116.6, +4).

    >>> [(round(t, 2), name) for t, name in vocals2song.chord_chart(song)[:3]]  # doctest: +SKIP
    [(0.0, 'Db'), (0.46, 'Fm/C'), (0.91, 'Bbm')]
    """
    from trainer import chords

    return chords.symbols(song.chords) if song.chords else []


def lead_sheet(song: Song) -> str:
    """The chords a song plays as a lead sheet: a line naming the key, the meter, the pickup and
    the sung tempo (and, off A = 440 Hz, where the take's A is), then the chords four bars to a
    line, each bar opening with the chord it holds (what ``generate`` writes beside a song as .txt,
    and what ``chart=`` reads back, edited); empty when it played none. The example is the
    released model on a dev chorale's soprano (bwv116.6, +4).

    >>> print(vocals2song.lead_sheet(song).splitlines()[0])  # doctest: +SKIP
    Db major, 4/4, pickup of 1 beat, 75 beats a minute
    """
    from trainer import chords

    return chords.lead_sheet(song.chords, song.tuning) if song.chords else ""


def write_midi(song: Song, path: str) -> str | None:
    """The song's melody, chords and chord symbols as a MIDI file at ``path`` (what ``generate``
    writes beside a song); None, and nothing written, when it played no chords.

    >>> vocals2song.write_midi(song, "song.mid")  # doctest: +SKIP
    'song.mid'
    """
    from trainer import generate as generation

    return generation.write_midi(song, path)


def evaluate(
    model: ExportedModel | str | None, data_dir: str, split: str = "test", segments_per_track: int | None = None
) -> dict[str, Any]:
    """Song and accompaniment metrics of the model, the baselines and the oracle on a split
    (``metrics["overall"]["model"]["song"]["chroma"]``, and per track); for a separator
    (``--source mixture``) SDR per stem against the mixture as estimate
    (``metrics["overall"]["model"]["vocals"]["sdr_db"]``); see ``vocals2song evaluate``.

    >>> vocals2song.evaluate(model, "data", segments_per_track=1)["overall"]["model"]["song"]  # doctest: +SKIP
    """
    from trainer import evaluate as evaluation
    from trainer import separation

    model = _model(model)
    scorer = separation if separation.is_separator(model) else evaluation
    return scorer.evaluate(model, data_dir, split, segments_per_track)


def _model(model: ExportedModel | str | None) -> ExportedModel:
    return load_model(model) if model is None or isinstance(model, str) else model
