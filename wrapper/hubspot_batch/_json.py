"""JSON in and out of the engine: strict where a row may hold anything, fast where it cannot.

- :func:`encode_strict` is the standard library's C encoder, compact and
  strict: NaN, infinities, lone surrogates and objects of unknown types raise
  (``ValueError`` / ``TypeError``), so that the row is reported, not sent.
- :func:`encode_plain` is for rows the endpoint's compiled schema has passed
  (``RowChecker.passes`` in :mod:`._validate`: typed fields, and free-form
  content holding only strings, 64-bit integers, booleans, ``None``, lists
  and dicts with string keys): orjson writes the same JSON several times
  faster (raising, like :func:`encode_strict`, on a lone surrogate). Without
  orjson (it is a dependency on CPython only), it is :func:`encode_strict`.
- :func:`decode` reads a response body with orjson, and with :func:`json.loads`
  what orjson refuses (``NaN``, escaped lone surrogates...), so that both
  read the same bodies.

orjson is used because the CPU a batch client spends is mostly JSON: on
the benchmark's rows it encodes a row about five times faster and decodes a
response about twice as fast as the standard library (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import json
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is installed on CPython
    orjson = None  # type: ignore[assignment]

__all__ = ["decode", "encode_plain", "encode_strict"]


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


if c_make_encoder is not None:  # the C encoder of the json module, built once (json.dumps builds one per call)
    # No markers: a value that contains itself ends in RecursionError, which callers report.
    _encode_value = c_make_encoder(None, _not_json, c_encode_basestring, None, ":", ",", False, False, False)

    def _text(value: Any) -> str:
        return "".join(_encode_value(value, 0))

else:  # pragma: no cover - Python builds without the C accelerator
    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    def _text(value: Any) -> str:
        return _encoder.encode(value)


def encode_strict(value: Any) -> bytes:
    """Strict compact UTF-8 JSON (no NaN, no lone surrogates); ``TypeError``/``ValueError`` otherwise."""
    return _text(value).encode()


if orjson is not None:

    def encode_plain(value: Any) -> bytes:
        """:func:`encode_strict` for plain values (see the module's docstring), faster; raises like it."""
        return orjson.dumps(value)

    _refused = orjson.JSONDecodeError

    def decode(content: bytes) -> Any:
        """The JSON value in ``content``; ``ValueError`` (or ``UnicodeDecodeError``) if there is none."""
        try:
            return orjson.loads(content)
        except _refused:
            return json.loads(content)

else:  # pragma: no cover - orjson is installed on CPython
    encode_plain = encode_strict

    def decode(content: bytes) -> Any:
        """The JSON value in ``content``; ``ValueError`` (or ``UnicodeDecodeError``) if there is none."""
        return json.loads(content)
