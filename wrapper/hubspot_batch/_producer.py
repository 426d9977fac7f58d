"""Flow control of one job: read the source, cut it into chunks, and launch each chunk's task with back-pressure.

A :class:`Producer` reads prepared blocks, batches items with a
:class:`Chunker`, and starts one task per chunk while at most
``max_in_flight`` chunks are under way and at most ``max_in_flight *
batch_size`` outcomes of sent chunks wait to be taken by the consumer, and
at most :data:`DECIDED_BUFFER` outcomes decided without a request (unchanged
or invalid rows). Decided outcomes wait in the consumer's reorder buffer behind
the chunks read before them, so they have a budget of their own: without it,
a re-run where most rows are unchanged would hold one chunk in flight at a
time. When that budget is spent the partial chunk is sent at once (so that
what holds the decided outcomes back can finish) and reading pauses. The
producer yields to the event loop after every block, so the consumer and the
chunks under way go on while a synchronous source is read. A chunk holding a
key that an earlier chunk still under way also holds waits for it (last
write wins). Every outcome goes to :attr:`Producer.queue`, then the
:class:`End` marker. If the source raises, the rows held back are reported
not sent and the exception is kept in :attr:`Producer.source_error`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from typing import Any

import attrs

from ._chunks import Chunk, Chunker, Item
from ._job_state import JobState, not_sent
from ._reorder import End, Message
from ._results import Outcome, OutcomeError, OutcomeStatus

__all__ = ["DECIDED_BUFFER", "Producer", "SendFn"]

logger = logging.getLogger("hubspot_batch")

DECIDED_BUFFER = 50_000
"""Outcomes decided without a request (unchanged, invalid) that may wait for the consumer, apart from the chunks'."""

SendFn = Callable[[list[Item]], Awaitable[list[Outcome]]]
"""Send one chunk's items: one outcome per item (see :meth:`._attempts.Attempts.send`)."""


@attrs.define
class Producer:
    """Chunks one job's source and runs a task per chunk, bounded by ``max_in_flight``; outcomes go to ``queue``.

    Run :meth:`run` as a task; the consumer takes messages from
    :attr:`queue` and calls :meth:`release` for the outcomes it handed on.
    """

    batch_size: int
    max_in_flight: int
    send: SendFn
    state: JobState
    queue: asyncio.Queue[Message] = attrs.field(factory=asyncio.Queue, init=False)
    source_error: BaseException | None = attrs.field(default=None, init=False)
    _condition: asyncio.Condition = attrs.field(factory=asyncio.Condition, init=False)
    _key_owner: dict[Any, asyncio.Event] = attrs.field(factory=dict, init=False)
    _in_flight: int = attrs.field(default=0, init=False)
    _buffered: int = attrs.field(default=0, init=False)
    _decided: set[int] = attrs.field(factory=set, init=False)  # indexes of decided outcomes not yet handed on

    async def release(self, outcomes: Sequence[Outcome]) -> None:
        """The consumer handed these outcomes on: room for more chunks."""
        condition = self._condition
        async with condition:
            self._buffered -= len(outcomes)
            if self._decided:
                self._decided.difference_update([o.index for o in outcomes])
            condition.notify_all()

    def _sent_waiting(self) -> int:
        return self._buffered - len(self._decided)

    async def run(self, source: AsyncIterator[list[Item | Outcome]]) -> None:
        """Read ``source`` to its end (or error), launching and awaiting every chunk; then put :class:`End`."""
        condition = self._condition
        queue = self.queue
        state = self.state
        max_in_flight = self.max_in_flight
        chunker = Chunker(self.batch_size)
        tasks: set[asyncio.Task[None]] = set()
        read = 0
        max_buffered = max_in_flight * self.batch_size
        max_decided = max(max_buffered, DECIDED_BUFFER)
        decided_waiting = self._decided  # indexes: handed on ones leave it in release()

        async def launch(chunk: Chunk) -> None:
            async with condition:
                await condition.wait_for(
                    lambda: (
                        self._in_flight < max_in_flight
                        and (self._sent_waiting() < max_buffered or self._in_flight == 0)
                    )
                )
                self._in_flight += 1
                self._buffered += len(chunk.items)
            keys = chunk.keys
            owners = self._key_owner
            deps = {id(e): e for k in keys if (e := owners.get(k)) is not None} if owners else {}
            done = asyncio.Event()
            owners.update(dict.fromkeys(keys, done))
            task = asyncio.create_task(self._process(chunk, keys, list(deps.values()), done))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        try:
            try:
                async for block in source:
                    decided: list[Outcome] = []
                    for entry in block:
                        read += 1
                        if isinstance(entry, Outcome):
                            decided.append(entry)
                            continue
                        for chunk in chunker.add(entry):
                            await launch(chunk)
                    if decided:
                        if len(decided_waiting) >= max_decided:
                            for chunk in chunker.flush():  # what holds the decided outcomes back goes now
                                await launch(chunk)
                            async with condition:
                                await condition.wait_for(lambda: len(decided_waiting) < max_decided)
                        async with condition:
                            self._buffered += len(decided)
                            decided_waiting.update([o.index for o in decided])
                        if state.progress is not None:
                            state.count(decided)
                        await queue.put(decided)
                    await asyncio.sleep(0)  # let the consumer and the chunks under way run
                for chunk in chunker.flush():
                    await launch(chunk)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # the caller's iterable failed: report held rows, re-raise later
                self.source_error = exc
                held = [item for chunk in chunker.flush() for item in chunk.items]
                if held:
                    reason = f"not sent: reading the input failed at input {read} ({type(exc).__name__})"
                    outcomes = not_sent(held, "INPUT_ERROR", reason)
                    async with condition:
                        self._buffered += len(outcomes)
                    await queue.put(outcomes)
            if tasks:
                await asyncio.gather(*tasks)
        except BaseException:
            # Cancelled (the caller stopped iterating) or an internal error:
            # stop every batch still under way rather than let it run unseen.
            for task in tasks:
                task.cancel()
            raise
        finally:
            # Always tell the consumer how many rows were read, so it never waits forever.
            queue.put_nowait(End(read))

    async def _process(
        self,
        chunk: Chunk,
        keys: frozenset[Hashable],
        deps: list[asyncio.Event],
        done: asyncio.Event,
    ) -> None:
        """One chunk's task: wait for the chunks it depends on, send it, free its keys and its slot."""
        outcomes: list[Outcome] = []
        try:
            for dep in deps:
                await dep.wait()
            outcomes = await self.send(list(chunk.items))
        except Exception as exc:  # a bug must not lose inputs: report them and log loudly
            logger.exception("internal error while sending a batch; its inputs are reported as failed")
            decided = {o.index for o in outcomes}
            error = OutcomeError(category="INTERNAL_ERROR", message=f"{type(exc).__name__}: {exc}")
            outcomes += [
                Outcome(i.index, OutcomeStatus.FAILED, i.row, error=error)
                for i in chunk.items
                if i.index not in decided
            ]
        finally:
            done.set()
            owners = self._key_owner
            for key in keys:
                if owners.get(key) is done:
                    del owners[key]
            condition = self._condition
            async with condition:
                self._in_flight -= 1
                condition.notify_all()
        await self.queue.put(outcomes)
        state = self.state
        if state.progress is not None:  # the counters are what progress reports
            state.count(outcomes)
            state.report_progress()
