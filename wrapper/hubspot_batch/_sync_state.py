"""Incremental sync: what HubSpot last accepted for each key, so that unchanged rows are not sent again.

A sync state keeps, for one endpoint and one namespace (an account, a
pipeline...), each row key's :func:`state_key` text mapped to the
:func:`payload_hash` of the last payload HubSpot *confirmed* for it. A row
whose digest equals the stored one is not sent (outcome ``UNCHANGED``); a
digest is recorded only once HubSpot has confirmed the row, so failed and
unsent rows keep their old digest and are sent again next time::

    with SqliteState("nightly.state", "portal-123", endpoint="communications") as state:
        keys = [state_key(k) for k in block_keys]
        stored = state.lookup(keys)                     # one query per block
        todo = [r for k, r in zip(keys, rows) if stored.get(k) != payload_hash(r)]
        ...                                             # send todo
        state.record(confirmed_pairs)                   # one transaction per call

Two stores implement :class:`SyncState`:

- :class:`~hubspot_batch._sync_sqlite.SqliteState`: one SQLite file per state,
  locked to one process at a time;
- :class:`~hubspot_batch._sync_redis.RedisState`: a Redis hash, for several
  workers sharing one state (needs the ``redis`` extra).

Neither loads the state into memory: keys are looked up block by block.
Both also have ``digests(keys)``, the stored digest of each key (``None``
where there is none) in the keys' order, which the engine prefers to
:meth:`SyncState.lookup` (a state of your own may leave it out:
:func:`stored_digests` then asks ``lookup``).
Problems opening a state raise :class:`StateError` before anything is sent.

The two stores are imported on first use (``sqlite3`` and redis-py are not
loaded by ``import hubspot_batch``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from ._errors import ConfigurationError
from ._sync_hash import DIGEST_SIZE, canonical_json, payload_hash, state_key

if TYPE_CHECKING:
    from ._sync_redis import RedisState
    from ._sync_sqlite import SqliteState

__all__ = [
    "DIGEST_SIZE",
    "RedisState",
    "SqliteState",
    "StateError",
    "SyncState",
    "canonical_json",
    "payload_hash",
    "state_key",
    "stored_digests",
]


class StateError(ConfigurationError):
    """A sync state cannot be used: damaged, another job's, in use, unreachable.

    The message names the state (its file, or the Redis server without its
    password) and says what to do.
    """


@runtime_checkable
class SyncState(Protocol):
    """Where an incremental sync keeps each key's last confirmed payload digest."""

    @property
    def namespace(self) -> str:
        """The namespace this state belongs to (with its endpoint)."""
        ...

    def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored digests of those of ``keys`` that have one."""
        ...

    def record(self, pairs: Iterable[tuple[str, bytes]]) -> None:
        """Store (key, digest) pairs, replacing older digests: all of them or, on an error, none."""
        ...

    def size(self) -> int:
        """How many keys have a digest."""
        ...

    def close(self) -> None:
        """Release the state (its lock, its connection); closing twice is allowed."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def stored_digests(state: SyncState, keys: Sequence[str]) -> list[bytes | None]:
    """The stored digest of each of ``keys`` (``None`` where there is none), in their order.

    The state's own ``digests(keys)`` when it has one, else its :meth:`SyncState.lookup`.
    """
    aligned = getattr(state, "digests", None)
    if aligned is not None:
        return list(aligned(keys))
    stored = state.lookup(keys)
    return [stored.get(key) for key in keys]


def __getattr__(name: str) -> Any:
    """The stores, imported on first use (they import this module for :class:`StateError`)."""
    if name == "SqliteState":
        from ._sync_sqlite import SqliteState

        return SqliteState
    if name == "RedisState":
        from ._sync_redis import RedisState

        return RedisState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
