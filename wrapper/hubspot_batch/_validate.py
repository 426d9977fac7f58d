"""Check input rows against the request schema in the vendored specs, before sending.

The request-item schema of each endpoint is read from the OpenAPI document
the generated package was built from (``hubspot_batch_api/openapi.json``) and
compiled once into a checker for the parts of JSON Schema HubSpot uses: types,
``int32``/``int64``/``date-time`` formats, required fields, enums, nested
objects, string maps and arrays. Unknown fields are reported too (a typo in a
field name would otherwise be silently ignored by HubSpot). Every problem names
the input's index and the field's path, e.g. ``input 7: field 'properties.hs_timestamp'``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from ._errors import InputIssue

__all__ = ["Checker", "compile_schema", "inline_refs", "openapi_document", "request_item_schema"]

Checker = Callable[[Any, str, list[tuple[str, str]]], None]
"""A compiled schema: ``check(value, path, problems)`` appends ``(path, message)`` pairs."""

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


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


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def compile_schema(schema: Mapping[str, Any], document: Mapping[str, Any], *, strict_fields: bool = True) -> Checker:
    """Compile ``schema`` into a fast checker (recursively, resolving ``$ref``)."""
    schema = _resolve(schema, document)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _union_checker([compile_schema(s, document, strict_fields=strict_fields) for s in schema[key]])
    kind = schema.get("type")
    if kind is None and "properties" in schema:
        kind = "object"
    enum = schema.get("enum")
    if kind == "string":
        return _string_checker(schema.get("format"), tuple(enum) if enum else None)
    if kind == "integer":
        low, high = INT32 if schema.get("format") == "int32" else INT64
        return _integer_checker(low, high, schema.get("format") or "int64", tuple(enum) if enum else None)
    if kind == "number":
        return _simple_checker((int, float), "a number")
    if kind == "boolean":
        return _simple_checker(bool, "true or false")
    if kind == "array":
        item = compile_schema(schema.get("items", {}), document, strict_fields=strict_fields)
        return _array_checker(item)
    if kind == "object":
        return _object_checker(schema, document, strict_fields)
    return lambda value, path, problems: None


def _union_checker(options: list[Checker]) -> Checker:
    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        for option in options:
            found: list[tuple[str, str]] = []
            option(value, path, found)
            if not found:
                return
        problems.append((path, f"does not match any allowed shape (got {_type_name(value)})"))

    return check


def _string_checker(fmt: str | None, enum: tuple[Any, ...] | None) -> Checker:
    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        if fmt == "date-time" and isinstance(value, datetime):
            return
        if not isinstance(value, str):
            problems.append((path, f"must be a string, got {_type_name(value)}"))
        elif enum is not None and value not in enum:
            problems.append((path, f"must be one of {', '.join(map(str, enum))}; got {value!r}"))
        elif fmt == "date-time" and not _DATE_TIME.match(value):
            problems.append((path, f"must be an ISO 8601 date-time such as 2026-03-01T12:00:00Z; got {value!r}"))

    return check


def _integer_checker(low: int, high: int, fmt: str, enum: tuple[Any, ...] | None) -> Checker:
    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((path, f"must be an integer ({fmt}), got {_type_name(value)}"))
        elif not low <= value <= high:
            problems.append((path, f"must fit in {fmt}; got {value}"))
        elif enum is not None and value not in enum:
            problems.append((path, f"must be one of {', '.join(map(str, enum))}; got {value!r}"))

    return check


def _simple_checker(types: type | tuple[type, ...], what: str) -> Checker:
    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        bad_bool = types is not bool and isinstance(value, bool)
        if bad_bool or not isinstance(value, types):
            problems.append((path, f"must be {what}, got {_type_name(value)}"))

    return check


def _array_checker(item: Checker) -> Checker:
    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        if not isinstance(value, list | tuple):
            problems.append((path, f"must be a list, got {_type_name(value)}"))
            return
        for position, element in enumerate(value):
            item(element, f"{path}[{position}]", problems)

    return check


def _plain_type(schema: Mapping[str, Any], document: Mapping[str, Any]) -> type | None:
    """The Python type that alone proves a value valid (a string without enum or format), if any."""
    schema = _resolve(schema, document)
    if "enum" in schema or "format" in schema or any(k in schema for k in ("oneOf", "anyOf")):
        return None
    return {"string": str, "boolean": bool}.get(str(schema.get("type")))


def _object_checker(schema: Mapping[str, Any], document: Mapping[str, Any], strict_fields: bool) -> Checker:
    declared = schema.get("properties", {})
    properties = {name: compile_schema(sub, document, strict_fields=strict_fields) for name, sub in declared.items()}
    plain = {name: _plain_type(sub, document) for name, sub in declared.items()}
    required = tuple(schema.get("required", ()))
    extra = schema.get("additionalProperties")
    extra_check = compile_schema(extra, document, strict_fields=strict_fields) if isinstance(extra, Mapping) else None
    extra_plain = _plain_type(extra, document) if isinstance(extra, Mapping) else None
    closed = strict_fields and bool(properties) and extra_check is None and extra is not True
    known = ", ".join(sorted(properties))

    def check(value: Any, path: str, problems: list[tuple[str, str]]) -> None:
        if type(value) is not dict and not isinstance(value, Mapping):
            problems.append((path, f"must be an object, got {_type_name(value)}"))
            return
        prefix = f"{path}." if path else ""
        for name in required:
            if value.get(name) is None:
                problems.append((prefix + name, "is required"))
        for name, field_value in value.items():
            checker = properties.get(name)
            if checker is not None:
                # Fast path: a plain string (or bool) field needs no further look.
                if type(field_value) is plain[name] or (field_value is None and name not in required):
                    continue
                checker(field_value, prefix + name, problems)
            elif extra_check is not None:
                if type(field_value) is extra_plain and type(name) is str:
                    continue
                if not isinstance(name, str):
                    problems.append((path, f"has a key that is not a string: {name!r}"))
                    continue
                extra_check(field_value, prefix + name, problems)
            elif not isinstance(name, str):
                problems.append((path, f"has a key that is not a string: {name!r}"))
            elif closed:
                problems.append((prefix + name, f"is not a field of this endpoint (known fields: {known})"))

    return check


def issues_for(index: int, problems: list[tuple[str, str]]) -> list[InputIssue]:
    """Problems of one row as :class:`InputIssue` values."""
    return [InputIssue(index, path, message) for path, message in problems]
