"""The checkpoint: each input's outcome in SQLite, so that a rerun resumes where a run stopped.

One row per input, keyed by its line number and a hash of its content (an
edited line is a new input). Outcomes are committed after each part the
library yields, in one transaction, in WAL mode: a process killed at any
moment (``kill -9`` included) loses at most the part it was writing, and
those inputs are simply sent again. For timeline events, each input's event
``id`` is stored *before* anything is sent, so that a resend uses the same id
and HubSpot's "already exists" tells the library it landed the first time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["Checkpoint", "CheckpointError", "Record"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
    line INTEGER NOT NULL,
    row_hash TEXT NOT NULL,
    event_id TEXT,
    status TEXT,
    outcome TEXT,
    PRIMARY KEY (line, row_hash)
);
"""

#: Failure categories that say nothing final about the input: such inputs are sent again on a rerun.
TRANSIENT_CATEGORIES = frozenset(
    {"RETRIES_EXHAUSTED", "TRANSPORT_ERROR", "INVALID_RESPONSE", "MISSING_RESULT", "INTERNAL_ERROR", "RATE_LIMIT"}
)


class CheckpointError(Exception):
    """The checkpoint file cannot be used (unreadable, or written by a different job)."""


@attrs.frozen
class Record:
    """What the checkpoint knows about one input: its event id and, once finished, its outcome."""

    event_id: str | None
    status: str | None
    outcome: Mapping[str, Any] | None

    @property
    def finished(self) -> bool:
        """True when the input needs no resend: it succeeded or HubSpot gave a final answer."""
        if self.status in ("succeeded", "unchanged"):
            return True
        if self.status != "failed" or self.outcome is None:
            return False
        error = self.outcome.get("error") or {}
        code = error.get("statusCode")
        transient = error.get("category") in TRANSIENT_CATEGORIES or (
            isinstance(code, int) and (code == 429 or code >= 500)
        )
        return not transient


Key = tuple[int, str]


class Checkpoint:
    """An open checkpoint file; use as a context manager."""

    def __init__(self, path: str, job: str) -> None:
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            found = self._db.execute("SELECT value FROM meta WHERE key = 'job'").fetchone()
        except sqlite3.Error as exc:
            raise CheckpointError(f"{path}: cannot use as a checkpoint ({exc})") from None
        if found is None:
            with self._transaction():
                self._db.execute("INSERT INTO meta (key, value) VALUES ('job', ?)", (job,))
        elif found[0] != job:
            self._db.close()
            raise CheckpointError(
                f"{path} is the checkpoint of another job ({found[0]}), not of {job}; use another file"
            )

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def load(self) -> dict[Key, Record]:
        """Every input the checkpoint knows, by ``(line, row hash)``."""
        records: dict[Key, Record] = {}
        for line, digest, event_id, status, outcome in self._db.execute(
            "SELECT line, row_hash, event_id, status, outcome FROM inputs"
        ):
            records[(line, digest)] = Record(event_id, status, json.loads(outcome) if outcome else None)
        return records

    def remember_ids(self, ids: Iterable[tuple[Key, str]]) -> None:
        """Store the event id of each input (kept if one is already stored), in one transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO inputs (line, row_hash, event_id) VALUES (?, ?, ?) "
                "ON CONFLICT (line, row_hash) DO UPDATE SET event_id = COALESCE(inputs.event_id, excluded.event_id)",
                [(line, digest, event_id) for (line, digest), event_id in ids],
            )

    def record(self, outcomes: Iterable[tuple[Key, str, Mapping[str, Any]]]) -> None:
        """Store the outcomes of finished inputs, in one transaction."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO inputs (line, row_hash, status, outcome) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (line, row_hash) DO UPDATE SET status = excluded.status, outcome = excluded.outcome",
                [
                    (line, digest, status, json.dumps(outcome, ensure_ascii=False, separators=(",", ":")))
                    for (line, digest), status, outcome in outcomes
                ],
            )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
