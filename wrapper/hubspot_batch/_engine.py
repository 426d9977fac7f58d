"""The one engine behind both faces: rows in, one outcome per row out.

Data flows one way::

    rows -> prepare (validate, assign ids, encode) -> Chunker -> chunk tasks
         -> [semaphore -> limiter -> POST -> classify] -> retry / split / stop
         -> outcomes -> reorder by index -> BatchResult parts

:class:`Runtime` is per client (HTTP connection pool, rate limiter,
concurrency limit, credentials); :class:`Job` is one call. Everything is
asyncio; the synchronous face runs the same coroutines on a private event
loop. Decisions (what a response means, how long to wait, which inputs an
error names) are pure functions in ``_retry``, ``_limiter`` and ``_mapping``.

A job is wired from parts, each in its own module:

- ``_prepare``: rows -> prepared items, or the outcomes of invalid rows;
- ``_runtime``: the per-client :class:`Runtime`;
- ``_producer``: reading the source, chunking, back-pressure, key order between chunks;
- ``_attempts``: one batch's attempts (retry, rate limits, split, stop);
- ``_exchange``: one request (limiter, credentials, POST, classify);
- ``_reorder``: outcomes back in input order;
- ``_job_state``: what they share (counters, the stop, progress).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import attrs

from ._attempts import Attempts
from ._chunks import Item
from ._endpoints import Endpoint
from ._exchange import Exchange
from ._job_state import JobState
from ._prepare import OnInvalid, RowPreparer, check_all, prepare_row, prepared_source, row_preparer
from ._producer import Producer
from ._reorder import Reorderer
from ._results import BatchResult, Outcome, Progress, Stats
from ._runtime import Runtime

__all__ = ["Job", "OnInvalid", "RowPreparer", "Runtime", "check_all", "prepare_row", "prepared_source", "row_preparer"]


@attrs.define
class Job:
    """One call: stream rows through chunks and requests, yield results in input order."""

    runtime: Runtime
    endpoint: Endpoint
    path: str
    batch_size: int
    existing_is_success: bool = False
    progress: Callable[[Progress], None] | None = None
    total: int | None = None
    job_id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:12])
    _state: JobState = attrs.field(init=False)

    @_state.default
    def _new_state(self) -> JobState:
        return JobState(self.endpoint, self.progress, self.total)

    async def run(self, source: AsyncIterator[list[Item | Outcome]]) -> AsyncIterator[BatchResult]:
        """Yield :class:`BatchResult` parts covering consecutive inputs, in input order.

        ``source`` yields blocks of prepared items (or outcomes of rows already
        decided, such as skipped invalid rows), in input order. If it raises, reading stops, requests
        already under way finish, rows held back are reported as not sent,
        and the exception is raised after the last part.
        """
        async for outcomes in self.runs(source):
            yield self.result(outcomes)

    async def runs(self, source: AsyncIterator[list[Item | Outcome]]) -> AsyncIterator[list[Outcome]]:
        """Like :meth:`run`, but yield the outcomes of each part as a plain list (no part built)."""
        state = self._state
        state.progress, state.total = self.progress, self.total  # as set by now (a caller may set total late)
        state.started = asyncio.get_running_loop().time()
        exchange = Exchange(self.runtime, self.endpoint, self.path, state)
        attempts = Attempts(self.runtime, self.endpoint, state, exchange, self.existing_is_success)
        producer = Producer(self.batch_size, self.runtime.max_concurrency + 2, attempts.send, state)
        queue = producer.queue
        reorder = Reorderer()
        task = asyncio.create_task(producer.run(source))
        try:
            while not reorder.complete:
                run = reorder.add(await queue.get())
                if run:
                    await producer.release(run)
                    yield run
                gap = reorder.gap()
                if gap is not None and queue.empty():
                    # Every outcome is queued before the end marker: a gap here is a bug.
                    await task  # re-raises an internal error of the producer
                    raise RuntimeError(f"internal error: inputs {gap.start}..{gap.stop - 1} got no outcome")
            await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if producer.source_error is not None:
            raise producer.source_error

    def stats(self) -> Stats:
        """Counters of this call so far."""
        return self._state.stats()

    def result(self, outcomes: list[Outcome]) -> BatchResult:
        """A :class:`BatchResult` of these outcomes, with this job's statistics and stop reason so far."""
        stop = self._state.stop
        return BatchResult(
            tuple(outcomes),
            stats=self.stats(),
            stopped_by=stop.reason if stop else None,
            error=stop.error if stop else None,
            api_version=self.endpoint.version,
        )
