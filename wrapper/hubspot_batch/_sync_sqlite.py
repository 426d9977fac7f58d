"""A sync state in one SQLite file, used by one job at a time.

The file holds two tables::

    state(key TEXT PRIMARY KEY, hash BLOB) WITHOUT ROWID
    meta(name TEXT PRIMARY KEY, value TEXT)     -- format, endpoint, namespace

in WAL mode with ``synchronous=NORMAL``: each :meth:`SqliteState.record` is
one transaction, so a job killed at any moment (even by SIGKILL) loses at
most the call in progress, and the file opens again as it was after the last
committed call. (A power cut may also lose the last few commits: they are
then sent again, which is harmless.)

Opening checks, before anything is sent, and raises
:class:`~hubspot_batch._sync_state.StateError` naming the file when:

- it is not a SQLite database, is damaged (``PRAGMA quick_check``) or is
  some other program's database: it is never written to;
- it belongs to another endpoint or namespace, or a newer format;
- another job (or another :class:`SqliteState` of this process) has it open.

The last is an exclusive lock on ``<file>.lock``, held until :meth:`close`,
with the holder's pid written in it: ``flock`` on POSIX (the kernel drops
it when the holder dies, however it dies), ``msvcrt.locking`` on Windows.
The lock file is left in place: deleting it would let two jobs lock two
different files of the same name.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ._json import encode_plain
from ._sync_state import StateError

if TYPE_CHECKING:
    from ._sync_state import SyncState

__all__ = ["FORMAT", "LOOKUP_CHUNK", "SqliteState"]

FORMAT = 1
"""The version of the file's layout, stored in ``meta`` (a newer one is refused)."""

LOOKUP_CHUNK = 500
"""Most keys in one ``SELECT ... WHERE key IN (...)``."""

_UPSERT = "INSERT INTO state(key, hash) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET hash = excluded.hash"
_SCHEMA = (
    "CREATE TABLE state(key TEXT PRIMARY KEY, hash BLOB) WITHOUT ROWID",
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
)
_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)
_WINDOWS_LOCK_OFFSET = 1 << 30  # the byte locked on Windows, away from the pid (a locked byte cannot be read there)


_ALIGNED = "SELECT s.hash FROM json_each(?) AS j LEFT JOIN state AS s ON s.key = j.value ORDER BY j.key"
"""Each key of a JSON array's stored digest (NULL where none), in the array's order: one bound parameter."""


def _json_array(keys: Sequence[str]) -> str | None:
    """The keys as one JSON array, as text (SQLite reads a BLOB as its binary JSON); None for a lone surrogate."""
    try:
        return encode_plain(list(keys)).decode()
    except (TypeError, ValueError):  # lookup() then says what SQLite makes of it
        return None


@lru_cache(maxsize=64)
def _select(count: int) -> str:
    return f"SELECT key, hash FROM state WHERE key IN ({','.join('?' * count)})"


class _LockFile:
    """An exclusive, non-blocking lock on ``path`` (created if missing), holding this process's pid."""

    def __init__(self, path: str, state: str) -> None:
        self._fd: int | None = None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(f"cannot create the lock file {path} of state file {state}: {exc}") from exc
        self._fd = fd
        try:
            if not _try_lock(fd):
                raise StateError(
                    f"state file {state} is in use by another running job (pid {_read_pid(fd)}): "
                    f"wait for it to finish or use another --state file"
                )
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            self.release()
            raise StateError(f"cannot lock state file {state} ({path}): {exc}") from exc
        except BaseException:
            self.release()
            raise

    def __del__(self) -> None:  # a state dropped without close() must not keep its file locked
        try:
            self.release()
        except Exception:  # at interpreter shutdown
            pass

    def release(self) -> None:
        """Unlock and close (closing the descriptor drops the lock in any case); twice is allowed."""
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                _unlock(fd)
            except OSError:
                pass
            os.close(fd)


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class SqliteState:
    """A sync state in the SQLite file ``path`` (created if missing), for ``endpoint`` and ``namespace``.

    Raises :class:`~hubspot_batch._sync_state.StateError` when the file
    cannot be used (see the module's docstring). ``check=False`` skips the
    integrity check at open (``PRAGMA quick_check``: 0.1 to 0.3 seconds per
    million keys). ``cache_mb`` is SQLite's page cache (its default,
    2 MB): a larger one barely speeds up lookups in random key order, which
    are bound by memory latency, and costs its size in RSS.

    Safe to share between threads (calls are serialised); one process at a
    time. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        namespace: str,
        *,
        endpoint: str,
        check: bool = True,
        cache_mb: int = 2,
    ) -> None:
        self.path = os.fspath(path)
        self.namespace = namespace
        self.endpoint = endpoint
        self._mutex = threading.Lock()
        self._lock = _LockFile(f"{self.path}.lock", self.path)
        self._db: sqlite3.Connection | None = None
        self._json_each = True  # until SQLite says it has no json_each
        try:
            self._db = self._open(check=check, cache_mb=cache_mb)
        except BaseException:
            self._lock.release()
            raise

    def __repr__(self) -> str:
        return f"SqliteState({self.path!r}, {self.namespace!r}, endpoint={self.endpoint!r})"

    def _open(self, *, check: bool, cache_mb: int) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            # Read before writing anything: a file that is not ours is never changed (not even its journal mode).
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                self._create(db)
            elif {"state", "meta"} <= tables:
                self._check_meta(dict(db.execute("SELECT name, value FROM meta").fetchall()))
                if check:
                    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
                    if problems != ["ok"]:
                        raise self._damaged("; ".join(map(str, problems)))
                db.execute("PRAGMA journal_mode = WAL")
            else:
                raise self._damaged(f"it holds other tables ({', '.join(sorted(tables))})")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute(f"PRAGMA cache_size = {-1024 * max(1, int(cache_mb))}")
        except BaseException as exc:
            db.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        return db

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise self._damaged("it changed while being opened")
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta(name, value) VALUES (?, ?)",
                [("format", str(FORMAT)), ("endpoint", self.endpoint), ("namespace", self.namespace)],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _check_meta(self, meta: dict[str, str]) -> None:
        form = meta.get("format", "")
        if not form.isdigit() or "endpoint" not in meta or "namespace" not in meta:
            raise self._damaged("its meta table is incomplete")
        if int(form) > FORMAT:
            raise StateError(
                f"state file {self.path} was written by a newer hubspot-batch (format {form}, this one reads "
                f"up to {FORMAT}): upgrade hubspot-batch or use another --state file"
            )
        if (meta["endpoint"], meta["namespace"]) != (self.endpoint, self.namespace):
            raise StateError(
                f"state file {self.path} belongs to {meta['endpoint']} {meta['namespace']!r}, "
                f"not {self.endpoint} {self.namespace!r}: use another --state file"
            )

    def _damaged(self, detail: str) -> StateError:
        return StateError(f"{self.path} is not a hubspot-batch state file (or is damaged): {detail}")

    def _error(self, exc: sqlite3.Error) -> StateError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in _DAMAGED:
            return self._damaged(str(exc))
        return StateError(f"state file {self.path}: {exc}")

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"state file {self.path} is closed")
        return self._db

    def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored digests of those of ``keys`` that have one (one query per :data:`LOOKUP_CHUNK` keys)."""
        count = len(keys)
        with self._mutex:
            db = self._connection()
            try:
                if count <= LOOKUP_CHUNK:
                    return dict(db.execute(_select(count), keys)) if count else {}
                found: dict[str, bytes] = {}
                for start in range(0, count, LOOKUP_CHUNK):
                    chunk = keys[start : start + LOOKUP_CHUNK]
                    found.update(db.execute(_select(len(chunk)), chunk))
                return found
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def digests(self, keys: Sequence[str]) -> list[bytes | None]:
        """The stored digest of each of ``keys``, ``None`` where there is none, in the same order.

        One query per call: the keys go as one JSON array (SQLite's
        ``json_each``), which costs less per key than binding each to an
        ``IN (...)`` list and building a dict of the answer. Without SQLite's
        JSON functions (a build that leaves them out), :meth:`lookup` answers.
        """
        if not keys:
            return []
        array = _json_array(keys) if self._json_each else None
        if array is not None:
            with self._mutex:
                db = self._connection()
                try:
                    return [digest for (digest,) in db.execute(_ALIGNED, (array,))]
                except sqlite3.OperationalError as exc:
                    if "json_each" not in str(exc):
                        raise self._error(exc) from exc
                    self._json_each = False
                except sqlite3.Error as exc:
                    raise self._error(exc) from exc
        stored = self.lookup(keys)
        return [stored.get(key) for key in keys]

    def record(self, pairs: Iterable[tuple[str, bytes]]) -> None:
        """Store (key, digest) pairs, replacing older digests, in one transaction: all or none."""
        with self._mutex:
            db = self._connection()
            try:
                db.execute("BEGIN")
                try:
                    db.executemany(_UPSERT, pairs)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def size(self) -> int:
        """How many keys have a digest."""
        with self._mutex:
            db = self._connection()
            try:
                return int(db.execute("SELECT count(*) FROM state").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def close(self) -> None:
        """Close the file (SQLite folds the WAL back into it) and release the lock; twice is allowed."""
        with self._mutex:
            db, self._db = self._db, None
            try:
                if db is not None:
                    db.close()
            finally:
                self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


if TYPE_CHECKING:
    _IS_A_SYNC_STATE: type[SyncState] = SqliteState
