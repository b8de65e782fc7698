"""
openedx-events' schema derivation and serialization rules (event-bus.md section 3.1) and a minimal
Avro binary encoder, to check the data class against the published schema and byte vectors.
Not a test module.
"""
import struct
from datetime import datetime

import attr

from openedx_lti_provider_companion import openedx_imports

CLOUD_EVENT_DOC = "Avro Event Format for CloudEvents created with openedx_events/schema"
_SIMPLE = {bool: "boolean", int: "long", float: "double", bytes: "bytes", str: "string"}


def _avro_type(python_type):
    if python_type in _SIMPLE:
        return _SIMPLE[python_type]
    # Opaque types the custom serializers turn into strings.
    if python_type in (openedx_imports.CourseKey, openedx_imports.UsageKey, datetime):
        return "string"
    raise TypeError(f"no Avro mapping for {python_type!r}")


def schema_for(event_type, data_key, data_class):
    fields = []
    for field in attr.fields(data_class):
        avro_type = _avro_type(field.type)
        if field.default is None:
            fields.append({"name": field.name, "type": ["null", avro_type], "default": None})
        else:
            fields.append({"name": field.name, "type": avro_type})
    record = {"name": data_class.__name__, "type": "record", "fields": fields}
    return {
        "name": "CloudEvent",
        "type": "record",
        "doc": CLOUD_EVENT_DOC,
        "fields": [{"name": data_key, "type": record}],
        "namespace": event_type,
    }


def serialize(data):
    """attrs instance -> dict the way openedx-events' AvroSignalSerializer does it."""
    def value(v):
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, (openedx_imports.CourseKey, openedx_imports.UsageKey)):
            return str(v)
        return v
    return {field.name: value(getattr(data, field.name)) for field in attr.fields(type(data))}


def encode_long(n):
    zigzag = (n << 1) ^ (n >> 63)
    out = bytearray()
    while zigzag & ~0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


def encode(avro_type, value):
    if isinstance(avro_type, list):
        branch = 0 if value is None else 1
        assert avro_type[0] == "null" and len(avro_type) == 2
        return encode_long(branch) + (b"" if value is None else encode(avro_type[1], value))
    if isinstance(avro_type, dict):
        return b"".join(encode(f["type"], value[f["name"]]) for f in avro_type["fields"])
    if avro_type == "long":
        return encode_long(value)
    if avro_type == "double":
        return struct.pack("<d", value)
    if avro_type == "boolean":
        return b"\x01" if value else b"\x00"
    if avro_type == "string":
        raw = value.encode("utf-8")
        return encode_long(len(raw)) + raw
    raise TypeError(avro_type)
