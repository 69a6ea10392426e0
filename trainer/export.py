"""The exported generator: the Keras model plus everything generation needs.

``MODEL_DIR/export/generator.keras`` and ``MODEL_DIR/export/model.json`` (spectral config,
feature config, source and target stems and their statistics, model config, step), so a
generator is loaded by path alone and can never be fed features of another encoding.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import pathlib
import tempfile

import numpy as np

from trainer import layers
from trainer.config import (
    CHANGES,
    CHORDS_CHOICES,
    CHORDS_WITH_A_HARMONISER,
    DRUM_STYLES,
    HARMONISER_FILE,
    HARMONY_CHOICES,
    INSTRUMENT_CHOICES,
    PLAYED_CHORDS,
    RHYTHMS,
    VOICINGS,
    ModelConfig,
)
from vocals2song import flags, render, storage
from vocals2song.config import WITHOUT_VOCALS, SpectralConfig, stem_list
from vocals2song.features import FeatureCodec, FeatureConfig, StemsCodec


def _released_model() -> str:
    """The repository's ``models/chorales`` in a clone (`make model` retrains it there); where the
    package was installed from a wheel, the copy setup.py ships as ``vocals2song/released``, so a
    pip-installed package (a Colab notebook's) sings without a clone or a download."""
    clone = pathlib.Path(__file__).resolve().parents[1] / "models" / "chorales"
    installed = pathlib.Path(__file__).resolve().parents[1] / "vocals2song" / "released" / "chorales"
    return str(installed if installed.is_dir() and not clone.is_dir() else clone)


RELEASED_MODEL = _released_model()
"""The model released with the repository: see ``_released_model``."""
EXPORT_DIR = "export"
GENERATOR_FILE = "generator.keras"
METADATA_FILE = "model.json"


@dataclasses.dataclass(frozen=True)
class StemStatistics:
    """Per-row mean and standard deviation of a stem's log-magnitude (the data set's)."""

    mean: np.ndarray
    std: np.ndarray

    def to_dict(self) -> dict:
        return {"mean": np.asarray(self.mean).tolist(), "std": np.asarray(self.std).tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> StemStatistics:
        return cls(np.asarray(values["mean"], np.float32), np.asarray(values["std"], np.float32))

    @classmethod
    def of(cls, codec: FeatureCodec) -> StemStatistics:
        return cls(codec.mean, codec.std)

    @classmethod
    def of_stems(cls, codecs: StemsCodec) -> dict[str, StemStatistics]:
        return {stem: cls.of(codec) for stem, codec in zip(codecs.stems, codecs.codecs, strict=True)}


@dataclasses.dataclass(frozen=True)
class ExportMetadata:
    """Everything generation needs besides the weights (``model.json``): how audio becomes
    features (STFT and feature configs, statistics), which stems, and the network's config
    (which fixes the input multiple)."""

    spectral: SpectralConfig
    features: FeatureConfig
    model: ModelConfig
    source: str
    target: str  # a stem, or comma-separated stems: the generator's channel groups, in order
    source_stats: StemStatistics
    target_stats: dict[str, StemStatistics]  # per target stem
    step: int
    window_frames: int  # frames per generator call at generation: the training crop
    data_dir: str
    source_level: float | None = None  # active level of a typical training source (level matching)
    valid_l1: float | None = None  # validation L1 at ``step``, when it was measured there

    def to_dict(self) -> dict:
        return {
            "spectral": self.spectral.to_dict(),
            "features": self.features.to_dict(),
            "model": self.model.to_dict(),
            "source": self.source,
            "target": self.target,
            "stems": list(self.stems),
            "stats": {
                "source": self.source_stats.to_dict(),
                "targets": {stem: stats.to_dict() for stem, stats in self.target_stats.items()},
            },
            "step": self.step,
            "window_frames": self.window_frames,
            "data_dir": self.data_dir,
            "source_level": self.source_level,
            "valid_l1": self.valid_l1,
        }

    @classmethod
    def from_dict(cls, values: dict) -> ExportMetadata:
        return cls(
            spectral=SpectralConfig.from_dict(values["spectral"]),
            features=FeatureConfig(**values["features"]),
            model=ModelConfig(**values["model"]),
            source=values["source"],
            target=values["target"],
            source_stats=StemStatistics.from_dict(values["stats"]["source"]),
            target_stats=_target_stats(values),
            step=values["step"],
            window_frames=values["window_frames"],
            data_dir=values["data_dir"],
            source_level=values.get("source_level"),  # exports before it: estimated from the statistics
            valid_l1=values.get("valid_l1"),
        )

    @property
    def stems(self) -> tuple[str, ...]:
        """The target's stems, in the generator's channel order."""
        return stem_list(self.target)

    @property
    def makes_accompaniment(self) -> bool:
        """Whether the output is what a song adds to its vocal (the vocal is added back)."""
        return self.source == "vocals" and all(stem in WITHOUT_VOCALS for stem in self.stems)

    def source_codec(self) -> FeatureCodec:
        """The source's feature codec, level-matched to the training sources."""
        stats = self.source_stats
        return FeatureCodec(self.features, stats.mean, stats.std, self.spectral, self.source_level)

    def target_codec(self) -> StemsCodec:
        stats = [self.target_stats[stem] for stem in self.stems]
        return StemsCodec(self.stems, tuple(FeatureCodec(self.features, s.mean, s.std, self.spectral) for s in stats))


def _target_stats(values: dict) -> dict[str, StemStatistics]:
    """model.json's per-stem statistics; exports from before multi-stem targets kept one "target"."""
    stats = values["stats"]
    if "targets" not in stats:
        return {values["target"]: StemStatistics.from_dict(stats["target"])}
    return {stem: StemStatistics.from_dict(part) for stem, part in stats["targets"].items()}


@dataclasses.dataclass
class ExportedModel:
    """A loaded export: the generator, its metadata and the stems' feature codecs; and the
    note-level harmoniser (``trainer/harmoniser.py``) when the export ships one and it is used:
    ``harmony`` "notes" feeds its pitch classes to the U-Net in place of the head's, ``chords``
    "add" or "only" plays them as notes (``trainer/chords.py``, voiced and struck as ``voicing`` and
    ``rhythm`` say, changing as often as ``changes`` says, played by ``instrument``, with ``drums`` or
    none) beside or instead of the U-Net."""

    generator: object  # keras.Model
    metadata: ExportMetadata
    harmoniser: object | None = None  # keras.Model
    harmony: str = "head"
    chords: str = "none"
    voicing: str = VOICINGS[0]
    rhythm: str = RHYTHMS[0]
    changes: str = CHANGES[0]
    instrument: str = INSTRUMENT_CHOICES[0]
    drums: str = DRUM_STYLES[0]
    source_codec: FeatureCodec = dataclasses.field(init=False)
    target_codec: StemsCodec = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.source_codec = self.metadata.source_codec()
        self.target_codec = self.metadata.target_codec()

    @functools.cached_property
    def _generator_given_harmony(self):
        """The generator with its harmony head's output as a second input: the U-Net alone,
        reading whatever pitch classes it is given (the head's part of the graph is pruned)."""
        import keras

        from trainer.models import HARMONY_LAYER

        return keras.Model(
            [self.generator.input, self.generator.get_layer(HARMONY_LAYER).output], self.generator.output
        )

    def run(self, source: np.ndarray, harmony: np.ndarray | None = None) -> np.ndarray:
        """Source features ``(batch, rows, frames, C)`` -> generated features; with ``harmony``
        ``(batch, frames, 12)`` the U-Net reads it in place of its own head's prediction."""
        if harmony is None:
            return np.asarray(self.generator(source, training=False), dtype=np.float32)
        import tensorflow as tf

        inputs = [tf.constant(source, tf.float32), tf.constant(harmony, tf.float32)]
        return np.asarray(self._generator_given_harmony(inputs, training=False), dtype=np.float32)

    spectral = property(lambda self: self.metadata.spectral)
    features = property(lambda self: self.metadata.features)
    source = property(lambda self: self.metadata.source)
    target = property(lambda self: self.metadata.target)
    stems = property(lambda self: self.metadata.stems)
    makes_accompaniment = property(lambda self: self.metadata.makes_accompaniment)
    step = property(lambda self: self.metadata.step)
    window_frames = property(lambda self: self.metadata.window_frames)
    multiple = property(lambda self: self.metadata.model.multiple, doc="input sides must be multiples of this")
    plays_chords = property(lambda self: self.chords != "none", doc="whether generation plays the harmoniser's chords")


def export(model_dir: str, generator, metadata: ExportMetadata) -> str:
    """Writes the generator and its metadata under ``model_dir/export``; returns that path."""
    out = storage.join(model_dir, EXPORT_DIR)
    save_keras(generator, out, GENERATOR_FILE)
    storage.write_text(storage.join(out, METADATA_FILE), json.dumps(metadata.to_dict(), indent=1, sort_keys=True))
    return out


def exported_validation(model_dir: str) -> tuple[int, float] | None:
    """The step and validation L1 recorded with ``model_dir``'s export; None without an export or
    a measurement (a resumed ``--export_step best_valid`` run must beat it to replace it)."""
    path = storage.join(model_dir, EXPORT_DIR, METADATA_FILE)
    if not storage.exists(path):
        return None
    values = json.loads(storage.read_text(path))
    return None if values.get("valid_l1") is None else (values["step"], values["valid_l1"])


def save_keras(model, folder: str, name: str) -> None:
    """Saves a Keras model as ``folder/name`` (local or gs://: Keras writes local files only)."""
    with tempfile.TemporaryDirectory() as scratch:
        local = os.path.join(scratch, name)
        model.save(local)
        fs, resolved = storage.filesystem(folder)
        fs.makedirs(resolved, exist_ok=True)
        fs.put_file(local, f"{resolved}/{name}")


def load_keras(path: str, custom_objects: dict | None = None):
    """Loads the Keras model file at ``path`` (local or gs://), uncompiled."""
    import keras

    with tempfile.TemporaryDirectory() as scratch:
        local = os.path.join(scratch, os.path.basename(path))
        fs, resolved = storage.filesystem(path)
        fs.get_file(resolved, local)
        return keras.models.load_model(local, compile=False, custom_objects=custom_objects)


PLAYING = {
    "voicing": VOICINGS,
    "rhythm": RHYTHMS,
    "changes": CHANGES,
    "instrument": INSTRUMENT_CHOICES,
    "drums": DRUM_STYLES,
    "chords": PLAYED_CHORDS,
}
"""How a model's chords are played, each choice's values: what a listener may change per song."""


def playing(model: ExportedModel, **choices: str) -> ExportedModel:
    """``model`` voicing, striking and sounding its chords as ``choices`` (of ``PLAYING``) say: a
    shallow copy sharing the loaded networks, so a web job can choose without loading the model
    again."""
    if "chords" in choices and not model.plays_chords:
        raise ValueError("chords: this model plays no chords (--chords none, or no harmoniser)")
    played = copy.copy(model)
    for name, value in _checked_playing(choices).items():
        setattr(played, name, value)
    return played


def _checked_playing(choices: dict[str, str]) -> dict[str, str]:
    """``choices`` when each names a ``PLAYING`` choice and one of its values; else ValueError."""
    unknown = sorted(set(choices) - set(PLAYING))
    if unknown:
        raise ValueError(f"unknown playing choices {unknown}: known are {', '.join(PLAYING)}")
    return {name: flags.check_choice(name, value, PLAYING[name]) for name, value in choices.items()}


def load_model(
    path: str | None = None,
    harmony: str = "auto",
    chords: str = "auto",
    voicing: str = VOICINGS[0],
    rhythm: str = RHYTHMS[0],
    changes: str = CHANGES[0],
    instrument: str = INSTRUMENT_CHOICES[0],
    drums: str = DRUM_STYLES[0],
) -> ExportedModel:
    """Loads an export from ``path``: a model_dir or its ``export`` folder (local or gs://);
    without a path, the released model. ``harmony``: "auto" uses the export's note-level
    harmoniser when it has one, "notes" requires it, "head" ignores it (the generator's own
    harmony head decides, as trained). ``chords``: "add" plays the harmoniser's chords beside
    the generator's accompaniment, "only" instead of it, "none" not at all; "auto" adds them when
    the export ships a harmoniser, makes an accompaniment and FluidSynth can play them.
    ``voicing``: how they are voiced, "led", "chordal", "consonant" or "hedged"; ``rhythm``: when
    they are struck, "held" or "beat"; ``changes``: how often they change, each "beat" (under
    each note but one a beat under shorter ones), under each "note", each "half" bar or each
    "bar"; ``instrument``: what plays them (``INSTRUMENTS``; ``trainer/chords.py``);
    ``drums``: "backbeat" adds a kit on the sung beats (``trainer/drums.py``), "none"."""
    from trainer.models import HARMONY_LAYER

    playing = {"voicing": voicing, "rhythm": rhythm, "changes": changes, "instrument": instrument, "drums": drums}
    _checked_playing(playing)
    if path is None and not storage.exists(storage.join(RELEASED_MODEL, METADATA_FILE)):
        raise FileNotFoundError(f"no --model given and no released model in {RELEASED_MODEL} (`make model` trains it)")
    path = path or RELEASED_MODEL
    if not storage.exists(storage.join(path, METADATA_FILE)):
        path = storage.join(path, EXPORT_DIR)
    metadata_path = storage.join(path, METADATA_FILE)
    if not storage.exists(metadata_path):
        raise FileNotFoundError(
            f"no exported model at {path} ({METADATA_FILE} missing; train with `vocals2song train`)"
        )
    metadata = ExportMetadata.from_dict(json.loads(storage.read_text(metadata_path)))
    generator = load_keras(storage.join(path, GENERATOR_FILE), layers.CUSTOM_OBJECTS)
    shipped = storage.exists(storage.join(path, HARMONISER_FILE))
    has_head = any(layer.name == HARMONY_LAYER for layer in generator.layers)
    harmony, chords = _harmony(path, harmony, shipped, has_head), _chords(path, chords, shipped, metadata)
    if drums != DRUM_STYLES[0] and chords == "none":
        raise ValueError(f"--drums {drums} plays with the chords, and the model in {path} plays none (--chords)")
    used = harmony == "notes" or chords != "none"
    harmoniser = load_keras(storage.join(path, HARMONISER_FILE)) if used else None
    return ExportedModel(generator, metadata, harmoniser, harmony, chords, **playing)


def _harmony(path: str, harmony: str, shipped: bool, has_head: bool) -> str:
    """``harmony`` resolved to "notes" or "head" (see ``load_model``)."""
    flags.check_choice("harmony", harmony, HARMONY_CHOICES)
    if harmony == "notes" and not shipped:
        raise FileNotFoundError(
            f"--harmony notes: {path} has no {HARMONISER_FILE} (`vocals2song harmoniser` trains one)"
        )
    if harmony == "notes" and not has_head:
        raise ValueError(f"--harmony notes: the generator in {path} has no harmony head to replace (--harmony)")
    return "notes" if harmony == "notes" or (harmony == "auto" and shipped and has_head) else "head"


def _chords(path: str, chords: str, shipped: bool, metadata: ExportMetadata) -> str:
    """``chords`` resolved to "add", "only" or "none" (see ``load_model``)."""
    flags.check_choice("chords", chords, CHORDS_CHOICES)
    one_accompaniment = metadata.makes_accompaniment and len(metadata.stems) == 1
    if chords == "auto":
        playable = shipped and one_accompaniment and render.can_render(render.TRAIN_SOUNDFONT)
        return CHORDS_WITH_A_HARMONISER if playable else "none"
    if chords != "none" and not one_accompaniment:
        raise ValueError(f"--chords {chords}: the model in {path} makes {metadata.target}, not one accompaniment")
    if chords != "none" and not shipped:
        raise FileNotFoundError(f"--chords {chords}: {path} has no {HARMONISER_FILE} (`vocals2song harmoniser`)")
    return chords
