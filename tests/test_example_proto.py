"""The hand-written tf.train.Example wire format against TensorFlow's own."""

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from vocals2song import example_proto

FEATURES = {
    "schema_version": [1],
    "track": b"Artist - Title",
    "empty": b"",
    "ints": [-5, 0, 127, 128, 2**40, -(2**63)],
    "stem/stft": np.arange(3000, dtype=np.float16).tobytes(),
}


def tf_example(features: dict) -> tf.train.Example:
    def feature(value):
        if isinstance(value, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=value))

    return tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in features.items()}))


def test_serialize_writes_tensorflows_deterministic_bytes():
    assert example_proto.serialize(FEATURES) == tf_example(FEATURES).SerializeToString(deterministic=True)


def test_serialize_takes_a_memoryview_without_changing_the_bytes():
    array = np.linspace(-1, 1, 999, dtype=np.float16)
    as_view = example_proto.serialize({"x": memoryview(array).cast("B")})
    assert as_view == example_proto.serialize({"x": array.tobytes()})


def test_parse_reads_what_tensorflow_wrote():
    parsed = example_proto.parse(tf_example(FEATURES).SerializeToString())
    assert {name: bytes(v) if isinstance(v, memoryview) else v for name, v in parsed.items()} == FEATURES


def test_parse_reads_unpacked_int64_lists():
    # Parsers must accept repeated varints as well as the packed form TensorFlow writes.
    feature = b"\x1a\x04" + b"\x08\x05\x08\x07"  # Int64List with value 5 and 7, one field each
    entry = b"\x0a\x01n" + b"\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    assert example_proto.parse(b"\x0a" + bytes([len(features)]) + features) == {"n": [5, 7]}


def test_a_truncated_record_is_a_clear_error():
    serialized = example_proto.serialize(FEATURES)
    with pytest.raises(example_proto.WireError, match="runs past the end"):
        example_proto.parse(serialized[:-10])


def test_serializing_a_segment_does_not_import_tensorflow():
    """The dataset job's workers write records; TensorFlow would cost each of them seconds."""
    code = (
        "import sys, numpy as np\n"
        "from pipelines import shards, segments, stats, tracks\n"
        "from vocals2song.config import SpectralConfig\n"
        "from vocals2song.schema import RecordSpec, Segment\n"
        "spec = RecordSpec(SpectralConfig(segment_seconds=1.0), ('vocals',), 1)\n"
        "stems = {'vocals': np.zeros(spec.stem_shape, np.float16)}\n"
        "segment = Segment(track='t', split='train', index=0, start_sample=0, valid_samples=1,\n"
        "                  sample_rate=44100, n_fft=1024, hop_length=256, stems=stems)\n"
        "assert spec.parse(spec.serialize(segment)).track == 't'\n"
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_varint_where_a_message_belongs_is_a_wire_error():
    with pytest.raises(example_proto.WireError, match="field 1 is a varint"):
        example_proto.parse(b"\x08\x05")
