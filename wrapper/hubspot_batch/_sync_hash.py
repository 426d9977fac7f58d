"""What an incremental sync compares: a digest of each row's payload, filed under a text form of its key.

:func:`payload_hash` is the 16-byte XXH3-128 digest of the row's *canonical
JSON*: UTF-8, compact (``,`` and ``:``), keys sorted at every depth, a float
with an integral value written as that integer (``1.0`` as ``1``), other
floats as Python's ``repr`` (what the json module writes). Two rows HubSpot
would read the same get the same digest, whatever the order of their keys.

Most rows hold no float. For those, orjson with ``OPT_SORT_KEYS`` writes
exactly the canonical JSON, several times faster than the json module, so
the common path is one type check per value, one orjson call and one XXH3
call (a non-cryptographic hash: the digest tells a changed payload from the
one stored for the same key, where 128 bits leave an accidental match out of
reach; nothing secret or adversarial depends on it). A row with a float (or
anything but dicts, lists, tuples, strings, integers, booleans and
``None``, or what orjson refuses, such as an integer
beyond 64 bits) is normalised and written by the json module instead: the
same bytes with or without orjson, and independent of how a given orjson
version formats floats (``1e-05`` is ``0.00001`` in orjson 3.13), so that an
upgrade does not make every stored digest stale.

:func:`state_key` is the text a row's key is filed under: the key itself if
it is a string, else the JSON array of a tuple's parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any

from xxhash import xxh3_128_digest

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is installed on CPython
    orjson = None  # type: ignore[assignment]

__all__ = ["DIGEST_SIZE", "canonical_json", "payload_hash", "state_key"]

DIGEST_SIZE = 16
"""Bytes in a :func:`payload_hash` digest."""


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


if c_make_encoder is not None:  # the json module's C encoder, built once (JSONEncoder.encode builds one per call)
    # No markers: a row that contains itself ends in RecursionError. Sorted keys, compact, NaN refused.
    _sorted_encoder = c_make_encoder(None, _not_json, c_encode_basestring, None, ":", ",", True, False, False)

    def _encode(value: Any) -> str:
        return "".join(_sorted_encoder(value, 0))

else:  # pragma: no cover - Python builds without the C accelerator
    _fallback_encoder = json.JSONEncoder(
        ensure_ascii=False, check_circular=False, allow_nan=False, sort_keys=True, separators=(",", ":")
    )

    def _encode(value: Any) -> str:
        return _fallback_encoder.encode(value)


_key_encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False, allow_nan=False, separators=(",", ":"))

_fast_dumps: Callable[[Any], bytes] | None
if orjson is not None:
    _SORTED = orjson.OPT_SORT_KEYS
    _orjson_dumps = orjson.dumps

    def _fast_dumps(value: Any) -> bytes:
        return _orjson_dumps(value, option=_SORTED)

else:  # pragma: no cover - orjson is installed on CPython
    _fast_dumps = None


def _plain_mapping(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` holds only dicts, lists, tuples, str, int, bool and None: orjson then writes it canonically."""
    for value in row.values():
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is dict:
            if not _plain_mapping(value):
                return False
        elif kind is list or kind is tuple:
            if not _plain_items(value):
                return False
        else:  # a float, a subclass, anything else: the normalising path decides
            return False
    return True


def _plain_items(items: list[Any] | tuple[Any, ...]) -> bool:
    for value in items:
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if kind is dict:
            if not _plain_mapping(value):
                return False
        elif kind is list or kind is tuple:
            if not _plain_items(value):
                return False
        else:
            return False
    return True


def _normalised(value: Any) -> Any:
    """``value`` with integral floats as ints, mappings as dicts and tuples as lists."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {key: _normalised(item) for key, item in value.items()}
    if kind is float or isinstance(value, float):
        return int(value) if value.is_integer() else value
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return [_normalised(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _normalised(item) for key, item in value.items()}
    return value  # a str or int subclass, or what the json module refuses with TypeError


def canonical_json(row: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``row`` that :func:`payload_hash` digests (see the module's docstring).

    Raises ``TypeError`` or ``ValueError`` for what is not JSON (NaN,
    infinities, unknown types, lone surrogates). Keys are meant to be
    strings: others take the json module's path, which writes int, float,
    bool and ``None`` keys as strings and refuses the rest.
    """
    if _fast_dumps is not None and type(row) is dict and _plain_mapping(row):
        try:
            return _fast_dumps(row)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate...
            pass
    return _encode(_normalised(row)).encode()


def payload_hash(row: Mapping[str, Any]) -> bytes:
    """The 16-byte XXH3-128 digest of ``row``'s canonical JSON: equal for rows HubSpot reads the same.

    Key order at any depth does not matter, nor ``1`` against ``1.0``;
    any other change of a value, at any depth, changes the digest.
    """
    if _fast_dumps is not None and type(row) is dict and _plain_mapping(row):
        try:
            data = _fast_dumps(row)
        except TypeError:
            data = _encode(_normalised(row)).encode()
    else:
        data = _encode(_normalised(row)).encode()
    return xxh3_128_digest(data)


def state_key(key: Hashable) -> str:
    """The stable text a row's key is stored under.

    A string is its own text; a tuple (of strings, ``None``, integers...) is
    the compact JSON array of its parts, e.g. ``("a@example.com", "123",
    "EMAIL")`` is ``'["a@example.com","123","EMAIL"]'``. Raises ``TypeError``
    for any other key.
    """
    if isinstance(key, str):
        return key
    if isinstance(key, tuple):
        if _fast_dumps is not None:
            for part in key:
                if type(part) is not str and part is not None:
                    break
            else:  # strings and None: orjson writes what the json module does, faster
                return _orjson_dumps(key).decode()
        return _key_encoder.encode(list(key))
    raise TypeError(f"a sync state key must be a str or a tuple, not {type(key).__name__}")
