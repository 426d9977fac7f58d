"""Check input rows against the request schema in the vendored specs, before sending.

The request-item schema of each endpoint is read from the OpenAPI document
the generated package was built from (``hubspot_batch_api/openapi.json``),
turned from OpenAPI 3.0 into JSON Schema (:func:`json_schema`) and compiled
once per endpoint by jsonschema-rs (:class:`RowChecker`). A row that passes
:meth:`RowChecker.passes` needs no other look; for any other row,
:meth:`RowChecker.problems` names every problem with its field's path, e.g.
``input 7: field 'properties.hs_timestamp'`` (object keys dotted, list
positions as ``[3]``). Unknown fields are reported too: an object that
declares its fields allows no others (a typo in a field name would otherwise
be silently ignored by HubSpot).

From OpenAPI 3.0 to JSON Schema: ``$ref`` inlined; ``nullable`` adds
``null`` (except for top-level fields, whose ``None`` the client drops);
``int32``/``int64`` become bounds; boolean ``exclusiveMinimum`` /
``exclusiveMaximum`` become numbers; ``additionalProperties: false`` where
an object declares properties and says nothing of others (not under
``allOf``, whose branches each declare only part of the fields); fields the
client fills in (ids, trace ids) are not required of the caller;
``date-time`` is RFC 3339, as OpenAPI says.

What JSON Schema cannot say stays hand-written:

- **Values JSON cannot carry**, named by field: NaN and infinities
  (jsonschema-rs reads them as ``null``), lone surrogates, objects of other
  types (a ``datetime`` below the top level, ``Decimal``, a set...) and a
  value that contains itself. JSON Schema describes JSON documents; a Python
  row is not one yet (:func:`_plain_copy`).
- **Keys that are not strings**: ``json`` would quietly send ``1`` as ``"1"``.
- **Free-form content** (where the schema allows any value, such as timeline
  events' ``extraData``, or numbers, which may be NaN): :meth:`RowChecker.passes`
  passes a row only when such content holds exact ``str``, ``int``,
  ``bool``, ``None``, ``list`` and ``dict`` with string keys, which orjson
  writes as the ``json`` module does (:func:`_plain`); any other row takes
  the full way, which refuses what JSON cannot carry.

Elsewhere, not here: ``None`` of top-level fields is dropped, a top-level
``datetime`` becomes an ISO 8601 string, and a generated input model is read
by its ``to_dict()`` (``_prepare.prepare_row``); rules of one endpoint (an
email address for subscription statuses, which record a timeline event is
on, v3 fields at date-based versions) are its ``extra_check``
(``_endpoints``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema_rs import ValidationError, ValidationErrorKind

__all__ = ["RowChecker", "inline_refs", "json_schema", "openapi_document", "request_item_schema"]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BOUNDS = {"int32": INT32, "int64": INT64}
_MAX_DEPTH = 256
"""Nesting a row may have (orjson's limit is 254; HubSpot's objects nest a few levels)."""


@cache
def openapi_document() -> Mapping[str, Any]:
    """The merged OpenAPI document the generated package was built from."""
    text = resources.files("hubspot_batch_api").joinpath("openapi.json").read_text(encoding="utf-8")
    document: Mapping[str, Any] = json.loads(text)
    return document


def _resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        node: Any = document
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def request_item_schema(path: str, document: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The schema of one element of ``inputs`` in the POST body of ``path``."""
    document = document or openapi_document()
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    inputs = _resolve(body, document)["properties"]["inputs"]
    return _resolve(_resolve(inputs, document)["items"], document)


def inline_refs(schema: Mapping[str, Any], document: Mapping[str, Any], depth: int = 0) -> Any:
    """A copy of ``schema`` with every ``$ref`` replaced by what it points to."""
    if depth > 32:
        raise ValueError("schema nests too deeply (a reference cycle?)")
    if isinstance(schema, Mapping):
        if "$ref" in schema:
            return inline_refs(_resolve(schema, document), document, depth + 1)
        return {k: inline_refs(v, document, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(v, document, depth + 1) for v in schema]
    return schema


# --------------------------------------------------------------------------- OpenAPI 3.0 -> JSON Schema


def json_schema(
    schema: Mapping[str, Any], document: Mapping[str, Any], *, filled: Collection[str] = ()
) -> dict[str, Any]:
    """The JSON Schema (2020-12) that OpenAPI 3.0 ``schema`` means for a request row (see the module's docstring).

    ``filled``: top-level fields the client fills in when they are missing, so not required of the caller.
    """
    converted: dict[str, Any] = _convert(inline_refs(schema, document), top=True)
    if filled and "required" in converted:
        converted["required"] = [name for name in converted["required"] if name not in filled]
    return converted


def _convert(schema: Any, *, top: bool = False, nullable: bool = True, closed: bool = True) -> Any:
    """One schema converted; ``top``: the row's (whose fields' ``None`` the client drops, so never ``null``)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: _convert(sub, nullable=not top) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _convert(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_convert(sub, closed=key != "allOf") for sub in value]
        elif key != "nullable":
            out[key] = value
    kind = out.get("type")
    if kind is None and "properties" in out:
        kind = out["type"] = "object"
    if kind == "integer" and out.get("format") in _BOUNDS:
        low, high = _BOUNDS[out["format"]]
        out["minimum"] = max(low, out.get("minimum", low))
        out["maximum"] = min(high, out.get("maximum", high))
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(flag), bool) and out.pop(flag) and bound in out:  # a False flag is dropped too
            out[flag] = out.pop(bound)
    if kind == "object" and closed and out.get("properties") and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("nullable") is True and nullable:
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _free(schema: Any) -> bool:
    """Whether ``schema`` lets through some value orjson could write otherwise than the json module, or at all.

    That is: any value (no type), numbers (NaN, and floats orjson writes its
    own way), ``null`` beside a number, objects or lists whose content is not
    described, and unions (which branch matched is not known).
    """
    if not isinstance(schema, dict):
        return schema is not False
    if any(key in schema for key in ("oneOf", "anyOf", "allOf", "not")):
        return True
    kinds = schema.get("type")
    if kinds is None:
        return "enum" not in schema and "const" not in schema
    kinds = {kinds} if isinstance(kinds, str) else set(kinds)
    if "number" in kinds or ("integer" in kinds and "null" in kinds):
        return True
    if "object" in kinds:
        declared = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if (extra is True and not declared) or any(_free(sub) for sub in declared.values()):
            return True
        if extra is not False and _free(extra):
            return True
    return "array" in kinds and _free(schema.get("items", True))


# --------------------------------------------------------------------------- compiled per endpoint


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether free-form ``value`` holds only what :func:`~hubspot_batch._json.encode_plain` may write."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(INT64[0] <= value <= INT64[1])
    if depth >= 32:
        return False
    if kind is dict:
        return all(type(key) is str and _plain(item, depth + 1) for key, item in value.items())
    if kind is list:
        return all(_plain(item, depth + 1) for item in value)
    return False


class RowChecker:
    """One endpoint's request-item schema, compiled once: a fast yes/no test and every problem of a row.

    ``schema`` is the JSON Schema it checks (:func:`json_schema`).
    """

    __slots__ = ("_validator", "passes", "schema")

    def __init__(self, schema: Mapping[str, Any], document: Mapping[str, Any], *, filled: Collection[str] = ()) -> None:
        self.schema = json_schema(schema, document, filled=filled)
        self._validator = jsonschema_rs.Draft202012Validator(self.schema, validate_formats=True)
        self.passes: Callable[[Any], bool] = _fast_test(self._validator.is_valid, self.schema)
        """``passes(row)``: True only for a row with no problem whose top-level fields hold no ``None`` or
        ``datetime`` and whose free-form content is plain (see the module's docstring). Never raises."""

    def problems(self, row: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Every problem of a row, as ``(field path, message)``: the schema's, then what JSON cannot carry."""
        carried: list[tuple[str, str]] = []
        bad: list[str] = []  # where a value was left out of the copy: the schema's word on it is not wanted
        plain = _plain_copy(row, "", carried, bad, set())
        found = [
            (path, message)
            for error in self._validator.iter_errors(plain)
            for path, message in self._explain(error, plain)
            if not any(path == b or path.startswith((b + ".", b + "[")) for b in bad)
        ]
        return found + carried

    def _explain(self, error: ValidationError, plain: Any) -> list[tuple[str, str]]:
        """``(field path, message)`` for one error of jsonschema-rs, in this library's words."""
        path, value = _locate(plain, error.instance_path)
        schema = self._subschema(error.schema_path[:-1])
        fmt = schema.get("format")
        match error.kind:
            case ValidationErrorKind.Required(name):
                return [(_join(path, name), "is required")]
            case ValidationErrorKind.AdditionalProperties(unexpected):
                known = ", ".join(sorted(schema.get("properties", {})))
                message = f"is not a field of this endpoint (known fields: {known})"
                return [(_join(path, name), message) for name in unexpected]
            case ValidationErrorKind.Type(types):
                wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
                if "integer" in types and fmt:
                    wanted = wanted.replace("an integer", f"an integer ({fmt})")
                return [(path, f"must be {wanted}, got {_type_name(value)}")]
            case ValidationErrorKind.Enum(options):
                return [(path, f"must be one of {', '.join(map(str, options))}; got {_shown(value)}")]
            case ValidationErrorKind.Minimum(limit) | ValidationErrorKind.Maximum(limit) if fmt in _BOUNDS and (
                limit in _BOUNDS[fmt]
            ):
                return [(path, f"must fit in {fmt}; got {value}")]
            case ValidationErrorKind.Minimum(limit):
                return [(path, f"must be at least {limit}; got {value}")]
            case ValidationErrorKind.Maximum(limit):
                return [(path, f"must be at most {limit}; got {value}")]
            case ValidationErrorKind.ExclusiveMinimum(limit):
                return [(path, f"must be more than {limit}; got {value}")]
            case ValidationErrorKind.ExclusiveMaximum(limit):
                return [(path, f"must be less than {limit}; got {value}")]
            case ValidationErrorKind.Format("date-time"):
                return [(path, f"must be an ISO 8601 date-time such as 2026-03-01T12:00:00Z; got {_shown(value)}")]
            case ValidationErrorKind.Format(name):
                return [(path, f"must be a valid {name}; got {_shown(value)}")]
            case ValidationErrorKind.AnyOf() | ValidationErrorKind.OneOfNotValid():
                return [(path, f"does not match any allowed shape (got {_type_name(value)})")]
            case ValidationErrorKind.OneOfMultipleValid():
                return [(path, "matches more than one allowed shape")]
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        return [(path, message)]

    def _subschema(self, schema_path: Sequence[str | int]) -> Mapping[str, Any]:
        node: Any = self.schema
        for part in schema_path:
            node = node[part]
        return node if isinstance(node, Mapping) else {}


def _fast_test(is_valid: Callable[[Any], bool], schema: Mapping[str, Any]) -> Callable[[Any], bool]:
    """``is_valid`` (jsonschema-rs), and the free-form top-level fields proven plain (and not ``None``)."""
    if _free(schema.get("additionalProperties", True)):  # undeclared fields may hold anything (or a union)
        return lambda row: False  # the full way for every row
    free = tuple(name for name, sub in schema.get("properties", {}).items() if _free(sub))
    missing = object()

    def passes(row: Any) -> bool:
        try:
            if not is_valid(row):
                return False
        except (ValueError, TypeError, OverflowError, RecursionError):  # a value jsonschema-rs cannot read
            return False
        for name in free:
            value = row.get(name, missing)
            if value is not missing and (value is None or not _plain(value)):
                return False
        return True

    return passes


# --------------------------------------------------------------------------- what JSON cannot carry


def _plain_copy(
    value: Any, path: str, problems: list[tuple[str, str]], bad: list[str], within: set[int], depth: int = 0
) -> Any:
    """``value`` as plain JSON values for jsonschema-rs; what JSON cannot carry goes to ``problems``.

    Such a value is None in the copy and its path goes to ``bad``; a key that is not a string is left
    out. Subclasses of ``str``, ``int``, ``float``, ``dict`` and ``list``, and tuples, are what the
    ``json`` module writes them as. ``within``: the ids of the containers ``value`` is in.
    """
    if _leaf(value):
        return value
    reason = None
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            reason = "holds a lone surrogate character"
        else:
            return str.__str__(value)
    elif value is None or isinstance(value, bool):
        return value
    elif isinstance(value, int):
        return int.__int__(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            return float.__float__(value)
        reason = f"{value!r} is not a number JSON has"
    elif not isinstance(value, dict | list | tuple):
        reason = f"Object of type {type(value).__name__} is not JSON serializable"
    elif id(value) in within:
        reason = "contains itself"
    elif depth >= _MAX_DEPTH:
        reason = f"nested more than {_MAX_DEPTH} deep"
    if reason is not None:
        problems.append((path, f"cannot be sent as JSON: {reason}"))
        bad.append(path)
        return None
    within.add(id(value))
    depth += 1
    if isinstance(value, dict):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                if not isinstance(key, str):
                    problems.append((path, f"has a key that is not a string: {key!r}"))
                    continue
                try:
                    key.encode()
                except UnicodeEncodeError:
                    where = f"{path}.{key}" if path else key
                    problems.append((where, "cannot be sent as JSON: its name holds a lone surrogate character"))
                    continue
                key = str.__str__(key)
            if _leaf(item):
                copy[key] = item
            else:
                copy[key] = _plain_copy(item, f"{path}.{key}" if path else key, problems, bad, within, depth)
        result: Any = copy
    else:
        result = [
            item if _leaf(item) else _plain_copy(item, f"{path}[{i}]", problems, bad, within, depth)
            for i, item in enumerate(value)
        ]
    within.discard(id(value))
    return result


def _leaf(value: Any) -> bool:
    """Whether ``value`` is a JSON leaf as it is (most are): the quick test of :func:`_plain_copy`."""
    kind = type(value)
    return (kind is str and value.isascii()) or kind is int or kind is bool or value is None


# --------------------------------------------------------------------------- messages

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _locate(value: Any, where: Sequence[str | int]) -> tuple[str, Any]:
    """The field path of jsonschema-rs's instance path in ``value``, and what is there.

    ``["properties", "hs_timestamp"]`` -> ``properties.hs_timestamp``; ``["a", 3]`` -> ``a[3]``
    (a key that looks like a number comes as an int: what it is depends on where it is).
    """
    path = ""
    for part in where:
        if isinstance(value, list):
            path += f"[{part}]"
            value = value[int(part)]
        else:
            path = _join(path, str(part))
            value = value[str(part)]
    return path, value


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:100] + "..."
