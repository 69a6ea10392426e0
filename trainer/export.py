"""The exported generator: the Keras model plus everything generation needs.

``MODEL_DIR/export/generator.keras`` and ``MODEL_DIR/export/model.json`` (spectral config,
feature config, source and target stems and their statistics, model config, step), so a
generator is loaded by path alone and can never be fed features of another encoding.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile

import numpy as np

from vocals2song import storage
from vocals2song.config import SpectralConfig
from vocals2song.features import FeatureCodec, FeatureConfig

RELEASED_MODEL = str(pathlib.Path(__file__).resolve().parents[1] / "models" / "chorales")
"""The model released with the repository (models/chorales: `make model` retrains it)."""
EXPORT_DIR = "export"
GENERATOR_FILE = "generator.keras"
METADATA_FILE = "model.json"


@dataclasses.dataclass
class ExportedModel:
    generator: object  # keras.Model
    spectral: SpectralConfig
    features: FeatureConfig
    source: str
    target: str
    source_codec: FeatureCodec
    target_codec: FeatureCodec
    multiple: int  # input sides must be multiples of this (2**depth)
    window_frames: int  # frames per generator call at generation: the training crop
    step: int


def export(model_dir: str, generator, metadata: dict) -> str:
    """Writes the generator and its metadata under ``model_dir/export``; returns that path."""
    out = storage.join(model_dir, EXPORT_DIR)
    with tempfile.TemporaryDirectory() as scratch:  # Keras writes local files; then copy (gs:// too)
        local = os.path.join(scratch, GENERATOR_FILE)
        generator.save(local)
        fs, resolved = storage.filesystem(out)
        fs.makedirs(resolved, exist_ok=True)
        fs.put_file(local, f"{resolved}/{GENERATOR_FILE}")
    storage.write_text(storage.join(out, METADATA_FILE), json.dumps(metadata, indent=1, sort_keys=True))
    return out


def load_model(path: str | None = None) -> ExportedModel:
    """Loads an export from ``path``: a model_dir or its ``export`` folder (local or gs://);
    without a path, the released model."""
    import keras

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
    metadata = json.loads(storage.read_text(metadata_path))
    with tempfile.TemporaryDirectory() as scratch:
        local = os.path.join(scratch, GENERATOR_FILE)
        fs, resolved = storage.filesystem(storage.join(path, GENERATOR_FILE))
        fs.get_file(resolved, local)
        generator = keras.models.load_model(local, compile=False)
    features = FeatureConfig(**metadata["features"])
    spectral = SpectralConfig.from_dict(metadata["spectral"])

    def codec(stem: str) -> FeatureCodec:
        stats = metadata["stats"][stem]
        mean, std = (np.asarray(stats[key], np.float32) for key in ("mean", "std"))
        return FeatureCodec(features, mean, std, spectral)

    return ExportedModel(
        generator=generator,
        spectral=spectral,
        features=features,
        source=metadata["source"],
        target=metadata["target"],
        source_codec=codec("source"),
        target_codec=codec("target"),
        multiple=2 ** metadata["model"]["depth"],
        window_frames=metadata["window_frames"],
        step=metadata["step"],
    )
