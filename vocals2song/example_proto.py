"""``tf.train.Example`` wire format for the two feature kinds the schema uses, without TensorFlow.

The dataset job's workers serialise one example per segment; importing TensorFlow only to
build that protobuf cost each worker seconds of start-up and the message a copy of every
10 MB stem. The format is small (protobuf's documented wire encoding of ``Example``,
``Features``' map, ``BytesList`` and packed ``Int64List``), so it is written here directly:
:func:`serialize` gives the bytes ``Example.SerializeToString(deterministic=True)`` gives
(map keys sorted; a test compares the two), and :func:`parse` reads any such example,
returning large byte values as zero-copy memoryviews.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

Value = bytes | memoryview | Sequence[int]
"""A feature: one byte string (a one-element ``BytesList``) or a list of ints (``Int64List``)."""

_LENGTH_DELIMITED = 2
_VARINT = 0
_BYTES_LIST, _INT64_LIST = 1, 3  # field numbers of Feature's oneof
_MASK_64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a ``tf.train.Example`` of bytes and int64 features."""


def _varint(value: int) -> bytes:
    value &= _MASK_64  # negative int64s are ten-byte two's complement, as protobuf writes them
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload_length: int) -> bytes:
    """Tag and length of a length-delimited field; the payload follows."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(payload_length)


def _feature(value: Value) -> list[bytes | memoryview]:
    """One ``Feature`` message as pieces (the byte payload is not copied)."""
    if isinstance(value, bytes | bytearray | memoryview):
        number, payload = _BYTES_LIST, value  # BytesList: its one value as field 1
    else:
        number, payload = _INT64_LIST, b"".join(_varint(int(item)) for item in value)  # packed field 1
    inner = [_field(1, len(payload)), payload]
    return [_field(number, _length(inner)), *inner]


def _length(pieces: Sequence[bytes | memoryview]) -> int:
    return sum(len(piece) for piece in pieces)


def serialize(features: Mapping[str, Value]) -> bytes:
    """``{name: bytes or [int, ...]}`` -> serialized ``tf.train.Example``, keys in sorted order."""
    entries: list[bytes | memoryview] = []
    for name in sorted(features):
        key = name.encode()
        feature = _feature(features[name])
        entry = [_field(1, len(key)), key, _field(2, _length(feature)), *feature]
        entries += [_field(1, _length(entry)), *entry]
    return b"".join([_field(1, _length(entries)), *entries])


def parse(serialized: bytes | memoryview) -> dict[str, memoryview | list[int]]:
    """Serialized ``tf.train.Example`` -> ``{name: memoryview (bytes feature) or [int, ...]}``."""
    data = memoryview(serialized)
    features: dict[str, memoryview | list[int]] = {}
    for number, example_field in _messages(data):
        if number == 1:
            for entry_number, entry in _messages(example_field):
                if entry_number == 1:
                    name, value = _map_entry(entry)
                    features[name] = value
    return features


def _map_entry(entry: memoryview) -> tuple[str, memoryview | list[int]]:
    name, value = "", None
    for number, payload in _messages(entry):
        if number == 1:
            name = bytes(payload).decode()
        elif number == 2:
            value = _feature_value(payload)
    if value is None:
        raise WireError(f"feature {name!r} has no value")
    return name, value


def _feature_value(feature: memoryview) -> memoryview | list[int]:
    for number, payload in _messages(feature):
        if number == _BYTES_LIST:
            values = [value for field_number, value in _messages(payload) if field_number == 1]
            if len(values) != 1:
                raise WireError(f"a bytes feature holds {len(values)} values, the schema stores one")
            return values[0]
        if number == _INT64_LIST:
            return _packed_int64(payload)
    raise WireError("a feature is neither a bytes list nor an int64 list")


def _packed_int64(payload: memoryview) -> list[int]:
    """Int64List's values, packed (what TensorFlow writes) or one varint field each."""
    values = []
    for number, item in _fields(payload):
        if number != 1:
            continue
        if isinstance(item, int):
            values.append(item)
            continue
        position = 0
        while position < len(item):
            value, position = _read_varint(item, position)
            values.append(value)
    return [value - (1 << 64) if value >> 63 else value for value in values]


def _messages(data: memoryview) -> Iterator[tuple[int, memoryview]]:
    """``_fields`` of a message whose fields are all length-delimited (every one but Int64List)."""
    for number, payload in _fields(data):
        if isinstance(payload, int):
            raise WireError(f"field {number} is a varint where a message or bytes belong")
        yield number, payload


def _fields(data: memoryview) -> Iterator[tuple[int, memoryview | int]]:
    """Yields ``(field number, payload)``: a memoryview for length-delimited fields, an int for varints."""
    position = 0
    while position < len(data):
        tag, position = _read_varint(data, position)
        wire_type = tag & 7
        if wire_type == _VARINT:
            value, position = _read_varint(data, position)
            yield tag >> 3, value
            continue
        if wire_type != _LENGTH_DELIMITED:
            raise WireError(f"unexpected wire type {wire_type} at byte {position}")
        length, position = _read_varint(data, position)
        if position + length > len(data):
            raise WireError(f"a field of {length} bytes runs past the end ({len(data) - position} left)")
        yield tag >> 3, data[position : position + length]
        position += length


def _read_varint(data: memoryview, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= len(data):
            raise WireError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
