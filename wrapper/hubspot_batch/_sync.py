"""Incremental sync in a job: rows HubSpot already has are not sent; confirmed rows are remembered.

:class:`UnchangedFilter` is consulted twice per block of the source, by
:func:`._prepare.prepared_source`:

1. :meth:`UnchangedFilter.before`, on the caller's rows as they are: each
   dict row's key and payload digest, one lookup for the block; a row whose
   digest equals the stored one becomes an ``UNCHANGED`` outcome at once,
   without being checked or encoded (its payload is, byte for byte, one that
   HubSpot accepted). This is the unchanged path: a digest, a share of one
   query and an outcome per row.
2. :meth:`UnchangedFilter.after`, on the rows that were then prepared: the
   digest of each prepared row (which may differ: ids the client filled in,
   ``None`` values dropped, datetimes written out) against the stored one
   (the block's lookup reused, another only for keys it did not cover). A
   match is ``UNCHANGED`` too; the others go on to be sent, and their digests
   wait (by input index) for HubSpot's answer.

:meth:`UnchangedFilter.confirm` records the digests of the rows that
succeeded — only those: a failed or unsent row keeps its old digest and is
sent again next time. With ``full`` every row is sent and the state
refreshed.

The key is the endpoint's duplicate key (a communication's id and
``idProperty``, a status write's subscriber + subscription + channel, a
webhook subscription's id, a timeline event's template or type + id); the
digest is of the row as sent, less what the client adds per job
(``objectWriteTraceId``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._chunks import Item
from ._endpoints import Endpoint
from ._redis_urls import is_redis_url
from ._results import Outcome, OutcomeStatus, unchanged
from ._sync_state import StateError, SyncState, payload_hash, state_key, stored_digests

__all__ = ["UNCHANGED_NOTE", "Lookup", "SyncStateSource", "UnchangedFilter", "namespace_for", "open_state"]

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


def open_state(
    source: SyncStateSource, endpoint: Endpoint, namespace: str, clients: dict[str, Any] | None = None
) -> tuple[SyncState, bool]:
    """The state for one job, and whether the job opened it (and so closes it).

    ``clients``: Redis clients by URL, kept by the caller across jobs (and
    closed by it): a Redis state is opened on the one for its URL, made on
    first use, instead of a connection of its own per job.
    """
    if not isinstance(source, str | os.PathLike):
        if source.namespace != namespace:
            raise StateError(f"the sync state is for {source.namespace!r}, not {namespace!r}")
        return source, False
    if isinstance(source, str) and is_redis_url(source):
        from ._sync_redis import RedisState, connect

        if clients is None:
            return RedisState(source, namespace, endpoint=endpoint.name), True
        client = clients.get(source)
        if client is None:
            client = clients[source] = connect(source)
        return RedisState(client, namespace, endpoint=endpoint.name), True
    from ._sync_sqlite import SqliteState

    path = Path(source)
    if path.is_dir():
        path = path / (namespace.strip("/").replace(":", "_").replace("/", "_") + ".state")
    return SqliteState(path, namespace, endpoint=endpoint.name), True


class Lookup:
    """What :meth:`UnchangedFilter.before` found for one block of the caller's rows.

    For the rows it could key (at ``positions`` in the block): their state
    keys, digests (empty where the row could not be hashed as it was) and
    the digests stored for them (None: none).
    """

    __slots__ = ("digests", "keys", "positions", "rows", "stored")

    def __init__(
        self,
        rows: Sequence[Any],
        positions: Sequence[int],
        keys: list[str],
        digests: list[bytes],
        stored: list[bytes | None],
    ) -> None:
        self.rows = rows
        self.positions = positions
        self.keys = keys
        self.digests = digests
        self.stored = stored

    def known(self) -> dict[str, bytes | None]:
        """Each key looked up, with its stored digest (None: none stored)."""
        return dict(zip(self.keys, self.stored, strict=True))

    def same(self) -> dict[int, tuple[str, bytes]]:
        """By position: the key and digest of each row that preparing leaves as it is (less the ids it fills in).

        Preparing a dict row copies it and fills in ids, unless it drops
        ``None`` values or writes out datetimes (a row with a datetime has no
        digest here): so a row with a digest and no ``None`` value at the top
        gets the same key and digest once prepared.
        """
        rows = self.rows
        return {
            position: (key, digest)
            for position, key, digest in zip(self.positions, self.keys, self.digests, strict=True)
            if digest and None not in rows[position].values()
        }


_NOTHING = Lookup((), (), [], [], [])
_DICT_ONLY = {dict}


class UnchangedFilter:
    """Filters a job's source against a sync state (see the module's docstring) and records what HubSpot confirmed."""

    def __init__(self, state: SyncState, endpoint: Endpoint, *, full: bool = False, remember: bool = True) -> None:
        self.state = state
        self.full = full
        self.remember = remember
        self._key = endpoint.duplicate_key
        self._fills_ids = endpoint.creates
        self._drop = "objectWriteTraceId" if endpoint.trace_ids else None
        self._waiting: dict[int, tuple[str, bytes]] = {}
        self.unchanged = 0

    def _digest(self, row: Mapping[str, Any]) -> bytes:
        drop = self._drop
        if drop is not None and drop in row:
            row = {k: v for k, v in row.items() if k != drop}
        return payload_hash(row)

    def before(self, start: int, rows: Sequence[Any]) -> tuple[dict[int, Outcome], Lookup]:
        """The caller's rows of one block (the first at input index ``start``) that HubSpot already has.

        Returns their ``UNCHANGED`` outcomes by position in ``rows``, and the
        block's :class:`Lookup` for :meth:`after`. A row that is not a dict,
        or whose key or digest cannot be computed as it is, is left to be
        prepared (and then judged by :meth:`after`).
        """
        if self.full:
            return {}, _NOTHING
        positions, keys, digests = self._entries(rows)
        if not keys:
            return {}, _NOTHING
        stored = stored_digests(self.state, keys)
        note = UNCHANGED_NOTE
        decided = {
            position: unchanged(start + position, rows[position], note)
            for position, old, digest in zip(positions, stored, digests, strict=True)
            if old == digest
        }
        self.unchanged += len(decided)
        return decided, Lookup(rows, positions, keys, digests, stored)

    def _entries(self, rows: Sequence[Any]) -> tuple[Sequence[int], list[str], list[bytes]]:
        """The positions, state keys and digests of the rows (dicts) whose key can be had as they are.

        A row whose digest cannot be had as it is (a datetime in it) gets an
        empty one, which matches nothing: its key is still looked up, so that
        :meth:`after` needs no query of its own for it. A row of an endpoint
        that fills in ids, without one, is left out: its key is not known yet.
        """
        key_of = self._key
        digest_of = payload_hash if self._drop is None else self._digest
        if not self._fills_ids and set(map(type, rows)) == _DICT_ONLY:  # the usual block: one comprehension each
            try:
                return range(len(rows)), [state_key(key_of(row)) for row in rows], [digest_of(row) for row in rows]
            except Exception:  # some row needs a closer look: row by row
                pass
        positions: list[int] = []
        keys: list[str] = []
        digests: list[bytes] = []
        for position, row in enumerate(rows):
            if type(row) is not dict or (self._fills_ids and not row.get("id")):
                continue
            try:
                key = state_key(key_of(row))
            except Exception:  # an odd key: preparing the row says what it is
                continue
            try:
                digest = digest_of(row)
            except Exception:  # a datetime...: the prepared row's digest is compared in after()
                digest = b""
            positions.append(position)
            keys.append(key)
            digests.append(digest)
        return positions, keys, digests

    def after(self, block: list[Item | Outcome], looked: Lookup = _NOTHING) -> list[Item | Outcome]:
        """``block`` (prepared) with the rows whose prepared payload HubSpot already has made ``UNCHANGED``.

        ``looked`` is the block's lookup by :meth:`before`: only keys it did
        not cover are looked up again, and rows that preparing left as they
        were keep the key and digest it computed.
        """
        if not any(type(e) is Item for e in block):
            return block
        same = looked.same() if looked.keys else {}
        items: list[tuple[int, str, bytes]] = []
        for position, entry in enumerate(block):
            if type(entry) is Item:
                found = same.get(position)
                if found is None:
                    found = state_key(entry.key), self._digest(entry.row)
                items.append((position, *found))
        known = looked.known()
        if not self.full:
            missing = [key for _, key, _ in items if key not in known]
            if missing:
                known.update(zip(missing, stored_digests(self.state, missing), strict=True))
        out = list(block)
        waiting = self._waiting
        for position, key, digest in items:
            item = block[position]
            assert isinstance(item, Item)
            if not self.full and known.get(key) == digest:
                out[position] = unchanged(item.index, item.row, UNCHANGED_NOTE)
                self.unchanged += 1
            elif self.remember:
                waiting[item.index] = (key, digest)
        return out

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
