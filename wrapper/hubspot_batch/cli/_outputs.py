"""The files a run writes: results (every input), failures (ready to fix and resend), summary.

- ``--results``: one JSON line per input, in input order: ``line`` (in the
  input file), ``index`` (0-based position among the inputs), ``status``
  (``succeeded``, ``failed``, ``not_sent``) and HubSpot's ``result`` or the
  ``error`` (``category``, ``message``, ``statusCode``, ``context``...).
- ``--failures``: one JSON line per input that did not succeed: the input as
  given (for CSV, as converted), plus ``_line`` and ``_error`` (``category``,
  ``message``, ``status_code``). Both keys are ignored when the file is read
  back, so it can be fixed and fed to ``hubspot-batch run`` as is. For
  timeline events the ``id`` each event was sent with is kept, so that a
  resend can never create an event twice.
- ``--summary-json``: totals of the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from ._inputs import InputRow

__all__ = ["OutputWriter", "write_summary"]


def _dump(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"


def _open(path: str | None) -> IO[str] | None:
    return None if path is None else open(path, "w", encoding="utf-8")  # closed in close()


class OutputWriter:
    """Writes each input's outcome to the results and failures files, and counts them."""

    def __init__(self, results: str | None, failures: str | None) -> None:
        self._results = _open(results)
        try:
            self._failures = _open(failures)
        except OSError:
            if self._results is not None:
                self._results.close()
            raise
        self.counts: dict[str, int] = {"succeeded": 0, "unchanged": 0, "failed": 0, "not_sent": 0}

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, row: InputRow, outcome: Mapping[str, Any], event_id: str | None = None) -> None:
        """Record one input's outcome (``status`` plus ``result`` or ``error``, as the library reports it)."""
        status = str(outcome.get("status", "not_sent"))
        self.counts[status] = self.counts.get(status, 0) + 1
        if self._results is not None:
            self._results.write(_dump({"line": row.line, "index": row.position, **outcome}))
        if status not in ("succeeded", "unchanged") and self._failures is not None:
            error = outcome.get("error") or {}
            original = dict(row.data)
            if event_id and "id" not in original:
                original["id"] = event_id
            original["_line"] = row.line
            original["_error"] = {
                "category": error.get("category"),
                "message": error.get("message"),
                "status_code": error.get("statusCode"),
            }
            self._failures.write(_dump(original))

    def flush(self) -> None:
        """Flush both files (after each part, so that an interrupted run leaves what it had)."""
        for stream in (self._results, self._failures):
            if stream is not None:
                stream.flush()

    def close(self) -> None:
        """Close both files."""
        for stream in (self._results, self._failures):
            if stream is not None:
                stream.close()


def write_summary(path: str, summary: Mapping[str, Any]) -> None:
    """Write the totals as one JSON document."""
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(summary, stream, indent=2)
        stream.write("\n")
