"""Incremental sync in a job: rows HubSpot already has are not sent; confirmed rows are remembered.

:class:`UnchangedFilter` sits between the prepared rows and the engine. For
each block of prepared rows it looks their keys up in the :class:`SyncState`
(one query per block) and turns a row whose payload digest equals the stored
one into an ``UNCHANGED`` outcome; the rest go on to be sent, and their
digests wait (by input index) for HubSpot's answer. :meth:`UnchangedFilter.confirm`
records the digests of the rows that succeeded — only those: a failed or
unsent row keeps its old digest and is sent again next time. With ``full``
every row is sent and the state refreshed.

The key is the endpoint's duplicate key (a communication's id and
``idProperty``, a status write's subscriber + subscription + channel, a
webhook subscription's id, a timeline event's template or type + id); the
digest is of the row as sent, less what the client adds per job
(``objectWriteTraceId``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from ._chunks import Item
from ._endpoints import Endpoint
from ._redis_urls import is_redis_url
from ._results import Outcome, OutcomeStatus
from ._sync_state import StateError, SyncState, payload_hash, state_key

__all__ = ["UNCHANGED_NOTE", "SyncStateSource", "UnchangedFilter", "namespace_for", "open_state"]

UNCHANGED_NOTE = "not sent: HubSpot already has this payload (unchanged since it was last accepted)"

SyncStateSource = str | os.PathLike[str] | SyncState
"""What ``sync_state=`` takes: a SQLite file (or a directory: one file per endpoint), a Redis URL, or a state object.

A Redis URL (``redis://``, ``rediss://``, ``unix://``) keeps the state in
that Redis, one hash per namespace (endpoint, API version, app and portal):
every worker given the same URL and portal shares it.
"""


def namespace_for(path: str, portal: str | None) -> str:
    """The state's namespace: the request path (endpoint, API version, a webhook app's id) and the portal, if named."""
    return f"{path}:portal={portal}" if portal else path


def open_state(source: SyncStateSource, endpoint: Endpoint, namespace: str) -> tuple[SyncState, bool]:
    """The state for one job, and whether the job opened it (and so closes it)."""
    if not isinstance(source, str | os.PathLike):
        if source.namespace != namespace:
            raise StateError(f"the sync state is for {source.namespace!r}, not {namespace!r}")
        return source, False
    if isinstance(source, str) and is_redis_url(source):
        from ._sync_redis import RedisState

        return RedisState(source, namespace, endpoint=endpoint.name), True
    from ._sync_sqlite import SqliteState

    path = Path(source)
    if path.is_dir():
        path = path / (namespace.strip("/").replace(":", "_").replace("/", "_") + ".state")
    return SqliteState(path, namespace, endpoint=endpoint.name), True


class UnchangedFilter:
    """Filters a job's prepared source against a sync state and records what HubSpot confirmed."""

    def __init__(self, state: SyncState, endpoint: Endpoint, *, full: bool = False, remember: bool = True) -> None:
        self.state = state
        self.full = full
        self.remember = remember
        self._drop = "objectWriteTraceId" if endpoint.trace_ids else None
        self._waiting: dict[int, tuple[str, bytes]] = {}
        self.unchanged = 0

    def _digest(self, item: Item) -> bytes:
        row = item.row
        drop = self._drop
        if drop is not None and drop in row:
            row = {k: v for k, v in row.items() if k != drop}
        return payload_hash(row)

    async def filter(self, source: AsyncIterator[list[Item | Outcome]]) -> AsyncIterator[list[Item | Outcome]]:
        """The same blocks, with rows whose payload HubSpot already has replaced by ``UNCHANGED`` outcomes."""
        waiting = self._waiting
        async for block in source:
            items = [(i, state_key(e.key), self._digest(e)) for i, e in enumerate(block) if isinstance(e, Item)]
            stored = {} if self.full or not items else self.state.lookup([key for _, key, _ in items])
            out: list[Item | Outcome] = list(block)
            for position, key, digest in items:
                item = block[position]
                assert isinstance(item, Item)
                if stored.get(key) == digest:
                    out[position] = Outcome(item.index, OutcomeStatus.UNCHANGED, item.row, note=UNCHANGED_NOTE)
                    self.unchanged += 1
                elif self.remember:
                    waiting[item.index] = (key, digest)
            yield out

    def confirm(self, outcomes: Iterable[Outcome]) -> None:
        """Record the digests of the rows HubSpot confirmed; forget the others (their old digest stays)."""
        waiting = self._waiting
        pairs = []
        for outcome in outcomes:
            entry = waiting.pop(outcome.index, None)
            if entry is not None and outcome.status is OutcomeStatus.SUCCEEDED:
                pairs.append(entry)
        if pairs:
            self.state.record(pairs)
