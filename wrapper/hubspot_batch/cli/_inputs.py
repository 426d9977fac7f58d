"""Read the input file (JSONL or CSV, or JSONL on standard input) into numbered rows.

Every row keeps the line of the file it came from, so that every message,
result and failure can name it. Blank JSONL lines are skipped. Keys starting
with ``_`` that this command itself writes into a failures file (``_error``,
``_line``) are dropped, so that a fixed failures file can be fed back as is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import attrs

from ._csvmap import CsvHeaderError, convert_record, parse_header
from ._spec import FieldSpec

__all__ = ["InputFileError", "InputFormat", "InputRow", "detect_format", "read_input", "row_hash"]

InputFormat = Literal["jsonl", "csv"]

#: Keys the failures file adds to a row; dropped when such a file is read back.
ANNOTATIONS = ("_error", "_line")


class InputFileError(Exception):
    """The input cannot be read: a missing file, bad JSON on a line, a bad CSV header."""


@attrs.frozen
class InputRow:
    """One input: its position among the inputs, the file line it starts on, and its fields."""

    position: int
    line: int
    data: Mapping[str, Any]
    digest: str


def row_hash(data: Mapping[str, Any]) -> str:
    """A stable hash of a row's content (key order and whitespace do not matter)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def detect_format(path: str, override: str | None) -> InputFormat:
    """``jsonl`` or ``csv``: the override if given, else from the extension (standard input is JSONL)."""
    if override in ("jsonl", "csv"):
        return "csv" if override == "csv" else "jsonl"
    if path != "-" and path.lower().endswith(".csv"):
        return "csv"
    if path == "-" or path.lower().endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise InputFileError(f"{path}: cannot tell the format from the name; use a .jsonl or .csv file or --format")


def _jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise InputFileError(f"line {number}: expected a JSON object, got {type(value).__name__}")
        yield number, {k: v for k, v in value.items() if k not in ANNOTATIONS}


def _csv_rows(stream: io.TextIOBase | Any, spec: FieldSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if header is None:
            return
        try:
            columns = parse_header(header)
        except CsvHeaderError as exc:
            raise InputFileError(f"line 1: {exc}") from None
        last = reader.line_num
        for cells in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                raise InputFileError(f"line {start}: {len(cells)} cells but the header names {len(columns)} columns")
            yield start, convert_record(columns, cells, spec)
    except csv.Error as exc:
        raise InputFileError(f"line {reader.line_num}: {exc}") from None


def read_input(path: str, fmt: InputFormat, spec: FieldSpec) -> list[InputRow]:
    """Every row of the input, in order; raises :class:`InputFileError` naming the line."""
    try:
        if path == "-":
            stream: Any = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
            return _collect(stream, fmt, spec)
        with open(path, encoding="utf-8-sig", newline="") as stream:
            return _collect(stream, fmt, spec)
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _collect(stream: Any, fmt: InputFormat, spec: FieldSpec) -> list[InputRow]:
    source = _csv_rows(stream, spec) if fmt == "csv" else _jsonl_rows(stream)
    return [InputRow(i, line, data, row_hash(data)) for i, (line, data) in enumerate(source)]
