"""The record schema: one ``tf.train.Example`` per segment, written and parsed here only.

Each stored stem is a float16 complex STFT ``(channels, bins, frames, 2)`` kept as raw
bytes next to its shape and dtype (``tf.train.Feature`` float lists are float32 only).
Examples are written and read in numpy by :mod:`vocals2song.example_proto` (the dataset job's
workers never import TensorFlow); ``parse_tf`` reads them in tf.data. Parsing checks dtype and
shape and fails with a message naming the field.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vocals2song import example_proto
from vocals2song.config import SpectralConfig

SCHEMA_VERSION = 1
STORED_DTYPE_NAME = "float16"
SCALAR_FIELDS = (  # (record field, Segment attribute, bytes or int): the one list of them
    ("track", "track", bytes),
    ("split", "split", bytes),
    ("segment_index", "index", int),
    ("start_sample", "start_sample", int),
    ("valid_samples", "valid_samples", int),
    ("sample_rate", "sample_rate", int),
    ("n_fft", "n_fft", int),
    ("hop_length", "hop_length", int),
)
TF_FIELDS = ("track", "segment_index", "valid_samples")
"""The scalar fields the training input needs (``parse_tf`` reads only these)."""


class RecordError(ValueError):
    """A record does not match the schema (wrong version, dtype or shape)."""


@dataclasses.dataclass
class Segment:
    """One segment of one track, as stored.

    Attributes:
      track: track folder name, e.g. "Artist - Title".
      split: "train", "valid" or "test".
      index: segment number within the track, from 0.
      start_sample: first sample of the segment in the track, at ``sample_rate``.
      valid_samples: samples before zero padding (less than a segment only for the last).
      sample_rate, n_fft, hop_length: the spectral config the stems were encoded with.
      stems: stem name -> float16 ``(channels, bins, frames, 2)``.
    """

    track: str
    split: str
    index: int
    start_sample: int
    valid_samples: int
    sample_rate: int
    n_fft: int
    hop_length: int
    stems: dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class RecordSpec:
    """What a data set's records hold: the spectral config, the stems and the channel count."""

    config: SpectralConfig
    stems: tuple[str, ...]
    channels: int

    @property
    def stem_shape(self) -> tuple[int, int, int, int]:
        """Shape of every stored stem tensor: (channels, bins, frames, 2)."""
        return (self.channels, self.config.bins, self.config.segment_frames, 2)

    def serialize(self, segment: Segment) -> bytes:
        """Segment -> serialized ``tf.train.Example`` (written without TensorFlow, see example_proto)."""
        missing = set(self.stems) - set(segment.stems)
        if missing:
            raise RecordError(f"segment {segment.index} of {segment.track!r} lacks stems {sorted(missing)}")
        feature: dict[str, example_proto.Value] = {"schema_version": [SCHEMA_VERSION]}
        for name, attribute, kind in SCALAR_FIELDS:
            value = getattr(segment, attribute)
            feature[name] = value.encode() if kind is bytes else [value]
        for stem in self.stems:
            array = segment.stems[stem]
            if array.dtype != np.float16 or array.shape != self.stem_shape:
                raise RecordError(
                    f"stem {stem!r} of {segment.track!r} is {array.dtype}{list(array.shape)}, "
                    f"schema wants float16{list(self.stem_shape)}"
                )
            feature[f"{stem}/stft"] = memoryview(np.ascontiguousarray(array)).cast("B")
            feature[f"{stem}/shape"] = list(array.shape)
            feature[f"{stem}/dtype"] = STORED_DTYPE_NAME.encode()
        return example_proto.serialize(feature)

    def parse(self, serialized: bytes) -> Segment:
        """Serialized example -> Segment, in numpy (inspection, evaluation, tests)."""
        try:
            feature = example_proto.parse(serialized)
        except example_proto.WireError as error:
            raise RecordError(f"record is not a tf.train.Example: {error}") from None

        def field(name: str) -> memoryview | list[int]:
            if name not in feature:
                raise RecordError(f"record has no field {name!r}")
            return feature[name]

        def scalar(name: str, kind: type = int) -> int | str:
            value = field(name)
            return bytes(value).decode() if kind is bytes else int(value[0])

        version = scalar("schema_version")
        if version != SCHEMA_VERSION:
            raise RecordError(f"record schema version {version}, this code reads {SCHEMA_VERSION}")
        stems = {}
        for stem in self.stems:
            if f"{stem}/stft" not in feature:
                raise RecordError(f"record has no stem {stem!r}")
            raw, shape = field(f"{stem}/stft"), tuple(field(f"{stem}/shape"))
            self._check(stem, scalar(f"{stem}/dtype", bytes), shape, len(raw))
            stems[stem] = np.frombuffer(raw, dtype=np.float16).reshape(shape)
        return Segment(**{attribute: scalar(name, kind) for name, attribute, kind in SCALAR_FIELDS}, stems=stems)

    def _check(self, stem: str, dtype: str, shape: tuple[int, ...], nbytes: int) -> None:
        if dtype != STORED_DTYPE_NAME:
            raise RecordError(f"stem {stem!r} is stored as {dtype}, schema wants {STORED_DTYPE_NAME}")
        if shape != self.stem_shape:
            raise RecordError(f"stem {stem!r} has shape {list(shape)}, schema wants {list(self.stem_shape)}")
        if nbytes != 2 * int(np.prod(shape)):
            raise RecordError(
                f"stem {stem!r} holds {nbytes} bytes, shape {list(shape)} needs {2 * int(np.prod(shape))}"
            )

    def parse_tf(self, serialized):
        """Serialized example tensor -> dict of tensors, for tf.data.

        Returns ``track`` (string), ``segment_index``, ``valid_samples`` (int64) and one
        float16 ``(channels, bins, frames, 2)`` tensor per stem. A wrong version, dtype or
        byte count fails the pipeline with an InvalidArgumentError naming the field.
        """
        import tensorflow as tf

        kinds = {name: tf.string if kind is bytes else tf.int64 for name, _, kind in SCALAR_FIELDS}
        spec = {name: tf.io.FixedLenFeature([], kinds[name]) for name in TF_FIELDS}
        spec["schema_version"] = tf.io.FixedLenFeature([], tf.int64)
        for stem in self.stems:
            spec[f"{stem}/stft"] = tf.io.FixedLenFeature([], tf.string)
            spec[f"{stem}/shape"] = tf.io.FixedLenFeature([4], tf.int64)
            spec[f"{stem}/dtype"] = tf.io.FixedLenFeature([], tf.string)
        features = tf.io.parse_single_example(serialized, spec)
        checks = [
            tf.debugging.assert_equal(
                features["schema_version"],
                tf.constant(SCHEMA_VERSION, tf.int64),
                message=f"record schema version differs from {SCHEMA_VERSION}",
            )
        ]
        out = {name: features[name] for name in TF_FIELDS}
        for stem in self.stems:
            raw = tf.io.decode_raw(features[f"{stem}/stft"], tf.float16)
            checks += [
                tf.debugging.assert_equal(
                    features[f"{stem}/dtype"],
                    tf.constant(STORED_DTYPE_NAME),
                    message=f"stem {stem} is not stored as {STORED_DTYPE_NAME}",
                ),
                tf.debugging.assert_equal(
                    features[f"{stem}/shape"],
                    tf.constant(self.stem_shape, tf.int64),
                    message=f"stem {stem} shape differs from the schema's {list(self.stem_shape)}",
                ),
                tf.debugging.assert_equal(
                    tf.size(raw, out_type=tf.int64),
                    tf.constant(int(np.prod(self.stem_shape)), tf.int64),
                    message=f"stem {stem} byte count does not match its shape",
                ),
            ]
            out[stem] = raw
        with tf.control_dependencies(checks):
            for stem in self.stems:
                out[stem] = tf.reshape(tf.identity(out[stem]), self.stem_shape)
        return out
