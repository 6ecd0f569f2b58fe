"""Conversion between plain Python values and DynamoDB's attribute-value format (low-level client)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _prepare(value: Any) -> Any:
    # DynamoDB has no float type; boto3 refuses floats rather than guess a precision.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _prepare(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_prepare(v) for v in value]
    return value


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Serialize a mapping, dropping None values (absent attributes keep sparse indexes sparse)."""
    return {k: _serializer.serialize(_prepare(v)) for k, v in values.items() if v is not None}


def to_attr(value: Any) -> dict[str, Any]:
    return _serializer.serialize(_prepare(value))


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value
