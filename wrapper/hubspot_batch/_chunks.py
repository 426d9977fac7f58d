"""Turn a stream of prepared rows into batches HubSpot accepts.

A batch holds at most ``size`` rows and never two rows with the same key
(HubSpot rejects a whole batch with duplicate ids). A row whose key is
already in the open batch is deferred to a later batch, and a later row with
that key waits behind it, so input order (last write wins) is kept; the
engine additionally holds a batch back until the earlier batches that share
one of its keys have finished.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

__all__ = ["Chunk", "Chunker", "Item"]


@attrs.define(slots=True, eq=False)
class Item:
    """One prepared row: its index in the caller's input, the row to send, its duplicate key, its JSON."""

    index: int
    row: Mapping[str, Any]
    key: Hashable
    body: bytes = attrs.field(repr=False)


@attrs.frozen(slots=True)
class Chunk:
    """One batch: a sequence number, its items (at most ``size``, keys unique) and their duplicate keys."""

    seq: int
    items: tuple[Item, ...]
    keys: frozenset[Hashable] = attrs.field(eq=False, repr=False)

    @keys.default
    def _keys(self) -> frozenset[Hashable]:
        return frozenset(item.key for item in self.items)


_NOTHING: tuple[Chunk, ...] = ()


@attrs.define
class Chunker:
    """Incremental batcher: :meth:`add` rows, collect full batches, :meth:`flush` at the end."""

    size: int
    _open: list[Item] = attrs.field(factory=list, init=False)
    _open_keys: set[Hashable] = attrs.field(factory=set, init=False)
    _deferred: deque[Item] = attrs.field(factory=deque, init=False)
    _deferred_keys: dict[Hashable, int] = attrs.field(factory=dict, init=False)
    _seq: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("batch size must be at least 1")

    @property
    def pending(self) -> int:
        """Rows held but not yet in a finished batch."""
        return len(self._open) + len(self._deferred)

    def add(self, item: Item) -> Sequence[Chunk]:
        """Take one item; return the batches that became full (usually none)."""
        key = item.key
        if key in self._open_keys or key in self._deferred_keys:
            self._defer(item)
        else:
            self._open.append(item)
            self._open_keys.add(key)
        if len(self._open) < self.size:
            return _NOTHING
        return [self._close(), *self._drain_deferred(final=False)]

    def flush(self) -> Iterator[Chunk]:
        """Yield every remaining batch (the input has ended)."""
        while self._open or self._deferred:
            if self._open:
                yield self._close()
            yield from self._drain_deferred(final=True)

    def _place(self, item: Item) -> None:
        self._open.append(item)
        self._open_keys.add(item.key)

    def _defer(self, item: Item) -> None:
        self._deferred.append(item)
        self._deferred_keys[item.key] = self._deferred_keys.get(item.key, 0) + 1

    def _close(self) -> Chunk:
        chunk = Chunk(self._seq, tuple(self._open), frozenset(self._open_keys))
        self._seq += 1
        self._open = []
        self._open_keys = set()
        return chunk

    def _drain_deferred(self, *, final: bool) -> Iterator[Chunk]:
        """Move deferred rows, in order, into the new open batch (a key at most once)."""
        still: deque[Item] = deque()
        blocked: set[Hashable] = set()
        while self._deferred:
            item = self._deferred.popleft()
            if item.key in self._open_keys or item.key in blocked:
                still.append(item)
                blocked.add(item.key)
                continue
            count = self._deferred_keys[item.key] - 1
            if count:
                self._deferred_keys[item.key] = count
            else:
                del self._deferred_keys[item.key]
            self._place(item)
            if len(self._open) >= self.size:
                still.extend(self._deferred)
                self._deferred = still
                yield self._close()
                yield from self._drain_deferred(final=final)
                return
        self._deferred = still


def chunk_all(items: Iterable[Item], size: int) -> list[Chunk]:
    """Every batch for a finite sequence of items (a helper for tests and small inputs)."""
    chunker = Chunker(size)
    out: list[Chunk] = []
    for item in items:
        out.extend(chunker.add(item))
    out.extend(chunker.flush())
    return out
