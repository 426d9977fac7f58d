"""Flow control: chunks are launched within the in-flight bound, and a chunk waits for an earlier one sharing a key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable

import hubspot_batch._producer as producer_module
import pytest
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import endpoint
from hubspot_batch._job_state import JobState
from hubspot_batch._producer import Producer
from hubspot_batch._reorder import End, Message, Reorderer
from hubspot_batch._results import Outcome, OutcomeStatus

COMMS = endpoint("communications")


def _items(*keys: Hashable) -> list[Item]:
    return [Item(i, {"id": str(i)}, key, b"{}") for i, key in enumerate(keys)]


async def _source(*blocks: list[Item | Outcome], error: Exception | None = None) -> AsyncIterator[list[Item | Outcome]]:
    for block in blocks:
        yield block
    if error is not None:
        raise error


class Sender:
    """A fake send: records when each chunk starts and ends; chunks named in ``slow`` take a while."""

    def __init__(self, slow: frozenset[int] | set[int] = frozenset()) -> None:
        self.slow = slow
        self.events: list[tuple[str, tuple[int, ...]]] = []
        self.in_flight = 0
        self.most = 0

    async def __call__(self, items: list[Item]) -> list[Outcome]:
        indexes = tuple(i.index for i in items)
        self.events.append(("start", indexes))
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.05 if self.slow & set(indexes) else 0)
        self.in_flight -= 1
        self.events.append(("end", indexes))
        return [Outcome(i.index, OutcomeStatus.SUCCEEDED, i.row) for i in items]


async def _drain(producer: Producer, source: AsyncIterator[list[Item | Outcome]]) -> list[Message]:
    task = asyncio.create_task(producer.run(source))
    messages: list[Message] = []
    while True:
        message = await producer.queue.get()
        messages.append(message)
        if isinstance(message, End):
            break
        await producer.release(message)
    await task
    return messages


async def test_a_chunk_holding_a_key_of_an_earlier_chunk_waits_for_it() -> None:
    sender = Sender(slow={0})
    producer = Producer(batch_size=2, max_in_flight=4, send=sender, state=JobState(COMMS))
    # chunks: (0, 1) with keys a, b; (2, 3) with keys c, a: the second must wait for the first
    await _drain(producer, _source(_items("a", "b", "c", "a")))
    assert sender.events == [("start", (0, 1)), ("end", (0, 1)), ("start", (2, 3)), ("end", (2, 3))]


async def test_chunks_without_a_shared_key_run_side_by_side() -> None:
    sender = Sender(slow={0})
    producer = Producer(batch_size=2, max_in_flight=4, send=sender, state=JobState(COMMS))
    await _drain(producer, _source(_items("a", "b", "c", "d")))
    assert sender.events[:2] == [("start", (0, 1)), ("start", (2, 3))]
    assert sender.events[-1] == ("end", (0, 1))


async def test_no_more_chunks_are_under_way_than_the_bound() -> None:
    sender = Sender(slow=set(range(20)))
    producer = Producer(batch_size=2, max_in_flight=3, send=sender, state=JobState(COMMS))
    messages = await _drain(producer, _source(_items(*range(20))))
    assert sender.most == 3
    done = sorted(o.index for m in messages if not isinstance(m, End) for o in m)
    assert done == list(range(20))
    assert isinstance(messages[-1], End) and messages[-1].read == 20


async def test_decided_rows_are_passed_on_and_the_end_marker_counts_every_row_read() -> None:
    skipped = Outcome(1, OutcomeStatus.FAILED, {"id": "1"})
    item0, item2 = _items("a", "b", "c")[0::2]
    producer = Producer(batch_size=10, max_in_flight=2, send=Sender(), state=JobState(COMMS))
    messages = await _drain(producer, _source([item0, skipped, item2]))
    assert messages[0] == [skipped]
    assert [o.index for o in messages[1]] == [0, 2]
    assert isinstance(messages[-1], End) and messages[-1].read == 3


async def test_a_failing_source_reports_held_rows_not_sent_and_keeps_the_error() -> None:
    producer = Producer(batch_size=10, max_in_flight=2, send=Sender(), state=JobState(COMMS))
    boom = OSError("disk gone")
    messages = await _drain(producer, _source(_items("a", "b"), error=boom))
    assert producer.source_error is boom
    (held, end) = messages
    assert [(o.index, o.status) for o in held] == [(0, OutcomeStatus.NOT_SENT), (1, OutcomeStatus.NOT_SENT)]
    assert held[0].error is not None and held[0].error.category == "INPUT_ERROR"
    assert isinstance(end, End) and end.read == 2


async def test_a_bug_in_sending_fails_the_chunk_instead_of_losing_it() -> None:
    async def broken(items: list[Item]) -> list[Outcome]:
        raise KeyError("bug")

    producer = Producer(batch_size=10, max_in_flight=2, send=broken, state=JobState(COMMS))
    messages = await _drain(producer, _source(_items("a", "b")))
    (failed, _end) = messages
    assert [o.status for o in failed] == [OutcomeStatus.FAILED] * 2
    assert failed[0].error is not None and failed[0].error.category == "INTERNAL_ERROR"


def _mixed(blocks: int, unchanged_per_block: int) -> list[list[Item | Outcome]]:
    """Blocks of one row to send followed by rows decided without a request (a re-run with most rows unchanged)."""
    out: list[list[Item | Outcome]] = []
    index = 0
    for _ in range(blocks):
        block: list[Item | Outcome] = [Item(index, {"id": str(index)}, index, b"{}")]
        index += 1
        for _ in range(unchanged_per_block):
            block.append(Outcome(index, OutcomeStatus.UNCHANGED, {"id": str(index)}))
            index += 1
        out.append(block)
    return out


async def _consume_in_order_started(producer: Producer, task: asyncio.Task[None]) -> list[int]:
    reorder = Reorderer()
    order: list[int] = []
    while not reorder.complete:
        run = reorder.add(await producer.queue.get())
        if run:
            order += [o.index for o in run]
            await producer.release(run)
    await task
    return order


async def _consume_in_order(producer: Producer, source: AsyncIterator[list[Item | Outcome]]) -> list[int]:
    """Consume as the engine does: outcomes handed on in input order (a :class:`Reorderer`)."""
    return await _consume_in_order_started(producer, asyncio.create_task(producer.run(source)))


async def test_unchanged_rows_between_chunks_do_not_hold_the_chunks_back() -> None:
    # 99 unchanged rows after every row to send: the unchanged outcomes wait in
    # the reorder buffer behind the chunk before them, and must not keep the
    # next chunks from going out side by side.
    blocks = _mixed(blocks=40, unchanged_per_block=99)
    sender = Sender(slow=set(range(4000)))
    producer = Producer(batch_size=2, max_in_flight=4, send=sender, state=JobState(COMMS))
    order = await _consume_in_order(producer, _source(*blocks))
    assert order == list(range(4000))
    assert sender.most == 4


async def test_decided_rows_wait_for_a_consumer_that_does_not_take_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producer_module, "DECIDED_BUFFER", 300)
    read: list[int] = []

    async def decided() -> AsyncIterator[list[Item | Outcome]]:
        for b in range(1000):  # 100,000 rows, all unchanged
            read.append(b)
            yield [Outcome(b * 100 + i, OutcomeStatus.UNCHANGED, {}) for i in range(100)]

    producer = Producer(batch_size=10, max_in_flight=2, send=Sender(), state=JobState(COMMS))
    task = asyncio.create_task(producer.run(decided()))
    for _ in range(1000):  # nobody takes the outcomes: give the producer every chance to read on
        await asyncio.sleep(0)
    assert producer.queue.qsize() * 100 <= 20 + 300 + 100  # the chunks' budget, the decided one, one block
    assert len(read) < 10
    order = await _consume_in_order_started(producer, task)
    assert order == list(range(100_000))


async def test_a_partial_chunk_goes_out_when_decided_rows_behind_it_fill_their_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Row 0 waits in a chunk of 10 that never fills; 1,000 unchanged rows follow.
    # Their budget (300) is spent before the input ends: the partial chunk must
    # go out at once, or the consumer would wait for row 0 forever.
    monkeypatch.setattr(producer_module, "DECIDED_BUFFER", 300)
    blocks = _mixed(blocks=1, unchanged_per_block=0) + [
        [Outcome(1 + b * 100 + i, OutcomeStatus.UNCHANGED, {}) for i in range(100)] for b in range(10)
    ]
    blocks.append([Item(1001, {"id": "1001"}, 1001, b"{}")])
    sender = Sender()
    producer = Producer(batch_size=10, max_in_flight=2, send=sender, state=JobState(COMMS))
    order = await asyncio.wait_for(_consume_in_order(producer, _source(*blocks)), timeout=5)
    assert order == list(range(1002))
    assert sender.events[0] == ("start", (0,))  # sent alone, before the input ended
