import hashlib

import numpy as np
import pytest
import tensorflow as tf

from vocals2song.config import SpectralConfig
from vocals2song.schema import RecordError, RecordSpec, Segment

CONFIG = SpectralConfig(segment_seconds=0.5)
SPEC = RecordSpec(CONFIG, ("vocals", "mixture"), channels=1)


def make_segment(spec: RecordSpec = SPEC) -> Segment:
    rng = np.random.default_rng(0)
    stems = {stem: rng.standard_normal(spec.stem_shape).astype(np.float16) for stem in spec.stems}
    return Segment(
        track="Artist - Title",
        split="train",
        index=3,
        start_sample=66150,
        valid_samples=20000,
        sample_rate=44100,
        n_fft=1024,
        hop_length=256,
        stems=stems,
    )


SCHEMA_1_DIGEST = "40da48397b5c1e59da44d0be172e0a59c03747ccad3f55e85aabc1538aebbf2c"


def test_records_are_byte_identical_to_what_schema_version_1_wrote():
    """Recorded from the code that wrote schema 1: a refactor must not change the bytes (data sets
    made before it stay valid); a deliberate change bumps SCHEMA_VERSION and this digest."""
    assert hashlib.sha256(SPEC.serialize(make_segment())).hexdigest() == SCHEMA_1_DIGEST


def test_every_field_round_trips_in_numpy():
    segment = make_segment()
    parsed = SPEC.parse(SPEC.serialize(segment))
    for field in ("track", "split", "index", "start_sample", "valid_samples", "sample_rate", "n_fft", "hop_length"):
        assert getattr(parsed, field) == getattr(segment, field)
    for stem in SPEC.stems:
        assert parsed.stems[stem].dtype == np.float16
        np.testing.assert_array_equal(parsed.stems[stem], segment.stems[stem])


def test_tf_parser_returns_float16_tensors_of_the_schema_shape():
    segment = make_segment()
    dataset = tf.data.Dataset.from_tensor_slices([SPEC.serialize(segment)]).map(SPEC.parse_tf)
    (parsed,) = list(dataset.as_numpy_iterator())
    assert parsed["track"] == b"Artist - Title"
    assert parsed["segment_index"] == 3 and parsed["valid_samples"] == 20000
    for stem in SPEC.stems:
        assert parsed[stem].dtype == np.float16 and parsed[stem].shape == SPEC.stem_shape
        np.testing.assert_array_equal(parsed[stem], segment.stems[stem])


def test_serialize_rejects_float32_stems():
    segment = make_segment()
    segment.stems["vocals"] = segment.stems["vocals"].astype(np.float32)
    with pytest.raises(RecordError, match="stem 'vocals'.*float32.*schema wants float16"):
        SPEC.serialize(segment)


def test_parse_rejects_a_record_of_another_shape():
    stereo = RecordSpec(CONFIG, SPEC.stems, channels=2)
    record = stereo.serialize(make_segment(stereo))
    with pytest.raises(RecordError, match=r"stem 'vocals' has shape \[2, 513"):
        SPEC.parse(record)
    with pytest.raises(tf.errors.InvalidArgumentError, match="stem vocals shape differs"):
        list(tf.data.Dataset.from_tensor_slices([record]).map(SPEC.parse_tf))


def test_parse_rejects_a_wrong_dtype_field():
    example = tf.train.Example.FromString(SPEC.serialize(make_segment()))
    example.features.feature["mixture/dtype"].bytes_list.value[0] = b"float32"
    record = example.SerializeToString()
    with pytest.raises(RecordError, match="stem 'mixture' is stored as float32"):
        SPEC.parse(record)
    with pytest.raises(tf.errors.InvalidArgumentError, match="stem mixture is not stored as float16"):
        list(tf.data.Dataset.from_tensor_slices([record]).map(SPEC.parse_tf))


def test_parse_rejects_another_schema_version():
    example = tf.train.Example.FromString(SPEC.serialize(make_segment()))
    example.features.feature["schema_version"].int64_list.value[0] = 99
    with pytest.raises(RecordError, match="schema version 99"):
        SPEC.parse(example.SerializeToString())
