"""Turn one CSV record into one input row, with types taken from the endpoint's schema.

- a plain column ``name`` is the field ``name``;
- a dotted column ``parent.name`` is key ``name`` of the object field
  ``parent`` (``properties.hs_communication_body``, ``tokens.plan``,
  ``extraData.source``, ``timelineIFrame.width``...);
- an empty cell means "absent" (an object whose cells are all empty is absent);
- values are converted to the type the schema gives the field: integers
  (``id`` of a webhook subscription, ``subscriptionId``, iframe ``width`` and
  ``height``), booleans (``active``: true/false, 1/0, yes/no, any case),
  numbers, and JSON text for object or array fields given as one plain
  column; strings stay as they are.

A cell that cannot be converted is kept as text so that the library's
validation reports it with its line and field like any other invalid value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ._spec import FieldSpec

__all__ = ["CsvHeaderError", "convert_record", "parse_header"]

_INT = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

Column = tuple[str, ...]
"""A column's path: ``("id",)`` or ``("properties", "hs_timestamp")``."""


class CsvHeaderError(ValueError):
    """The header row cannot be used (empty, duplicate or malformed column names)."""


def parse_header(header: Sequence[str]) -> list[Column]:
    """The field path of each column; dotted names split once at the first dot."""
    if not header or not any(name.strip() for name in header):
        raise CsvHeaderError("the first line must name the columns")
    columns: list[Column] = []
    seen: set[Column] = set()
    for position, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            raise CsvHeaderError(f"column {position} has no name")
        parent, dot, child = name.partition(".")
        column: Column = (parent, child) if dot else (name,)
        if not all(column):
            raise CsvHeaderError(f"column {position} ({name!r}) is not 'field' or 'field.key'")
        if column in seen:
            raise CsvHeaderError(f"column {name!r} appears twice")
        seen.add(column)
        columns.append(column)
    plain = {c[0] for c in columns if len(c) == 1}
    for column in columns:
        if len(column) == 2 and column[0] in plain:
            raise CsvHeaderError(f"column {'.'.join(column)!r} conflicts with column {column[0]!r}")
    return columns


def _convert(cell: str, spec: FieldSpec | None) -> Any:
    kind = spec.kind if spec is not None else "string"
    text = cell.strip()
    if kind == "integer":
        return int(text) if _INT.match(text) else cell
    if kind == "boolean":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else cell
    if kind == "number":
        try:
            return float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return cell
    if kind in ("object", "array"):
        try:
            return json.loads(text)
        except ValueError:
            return cell
    return cell


def convert_record(columns: Sequence[Column], cells: Sequence[str], spec: FieldSpec) -> dict[str, Any]:
    """One CSV record as an input row (cells beyond the header are ignored; missing ones are empty)."""
    row: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=False):
        if cell == "":
            continue
        if len(column) == 1:
            row[column[0]] = _convert(cell, spec.child(column[0]))
            continue
        parent_name, key = column
        parent = spec.child(parent_name)
        nested = row.setdefault(parent_name, {})
        nested[key] = _convert(cell, parent.child(key) if parent is not None else None)
    return row
