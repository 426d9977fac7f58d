"""UnchangedFilter in prepared_source: rows HubSpot already has are found before preparing, the rest after.

The state is a real SQLite file wrapped to count its queries: a block whose
rows are all unchanged costs one query and no preparing; rows whose payload
only matches once prepared (a ``None`` dropped, a datetime written out) are
still found, with no second query for keys the block already looked up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import endpoint
from hubspot_batch._errors import InputValidationError
from hubspot_batch._prepare import BLOCK, OnInvalid, prepared_source
from hubspot_batch._results import Outcome, OutcomeStatus
from hubspot_batch._sync import UNCHANGED_NOTE, UnchangedFilter
from hubspot_batch._sync_hash import payload_hash, state_key
from hubspot_batch._sync_sqlite import SqliteState

STATUSES = endpoint("subscription_statuses")


def status(n: int, state: str = "SUBSCRIBED", **extra: Any) -> dict[str, Any]:
    row = {"subscriberIdString": f"u{n}@example.com", "subscriptionId": 7, "statusState": state, "channel": "EMAIL"}
    return row | extra


class Counting:
    """A SqliteState that counts the keys it was asked about, call by call."""

    def __init__(self, state: SqliteState) -> None:
        self.state = state
        self.namespace = state.namespace
        self.asked: list[list[str]] = []

    def digests(self, keys: Sequence[str]) -> list[bytes | None]:
        self.asked.append(list(keys))
        return self.state.digests(keys)

    def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        raise AssertionError("the filter asks digests() of a state that has it")

    def record(self, pairs: Iterable[tuple[str, bytes]]) -> None:
        self.state.record(pairs)


@pytest.fixture
def state(tmp_path: Path) -> Iterable[Counting]:
    with SqliteState(tmp_path / "s.state", "ns", endpoint=STATUSES.name) as sqlite:
        yield Counting(sqlite)


def remember(state: Counting, rows: Iterable[dict[str, Any]]) -> None:
    """Record rows as HubSpot-confirmed, the way the engine keys and digests them."""
    state.record([(state_key(STATUSES.duplicate_key(r)), payload_hash(r)) for r in rows])
    state.asked.clear()


def run(
    state: Counting, rows: list[Any], on_invalid: OnInvalid = "skip", *, full: bool = False
) -> tuple[list[Item | Outcome], UnchangedFilter]:
    check = UnchangedFilter(state, STATUSES, full=full)  # type: ignore[arg-type]

    async def collect() -> list[Item | Outcome]:
        return [entry async for block in prepared_source(STATUSES, rows, "job", on_invalid, check) for entry in block]

    return asyncio.run(collect()), check


def test_a_block_of_unchanged_rows_is_one_query_and_keeps_the_callers_rows(state: Counting) -> None:
    rows = [status(i) for i in range(BLOCK)]
    remember(state, rows)
    entries, check = run(state, rows)
    assert [type(e) for e in entries] == [Outcome] * BLOCK
    assert all(e.status is OutcomeStatus.UNCHANGED and e.note == UNCHANGED_NOTE for e in entries)  # type: ignore[union-attr]
    assert [e.index for e in entries] == list(range(BLOCK))
    assert all(e.input is row for e, row in zip(entries, rows, strict=True))  # type: ignore[union-attr]
    assert len(state.asked) == 1 and check.unchanged == BLOCK


def test_unchanged_changed_and_invalid_rows_of_one_block_keep_their_order(state: Counting) -> None:
    remember(state, [status(0), status(1), status(3)])
    rows = [status(0), status(1, "UNSUBSCRIBED"), {"subscriberIdString": "not an email"}, status(3), status(4)]
    entries, check = run(state, rows)
    kinds = [e.status.value if isinstance(e, Outcome) else "send" for e in entries]
    assert kinds == ["unchanged", "send", "failed", "unchanged", "send"]
    assert [e.index for e in entries] == [0, 1, 2, 3, 4]
    assert len(state.asked) == 1  # the prepared rows' keys were all looked up before preparing
    # only what HubSpot confirms is remembered: row 1 succeeds, row 4 fails
    outcomes = [Outcome(1, OutcomeStatus.SUCCEEDED, rows[1]), Outcome(4, OutcomeStatus.FAILED, rows[4])]
    check.confirm(outcomes)
    again, _ = run(state, rows)
    assert [e.status.value if isinstance(e, Outcome) else "send" for e in again] == [
        "unchanged", "unchanged", "failed", "unchanged", "send",
    ]  # fmt: skip


def test_rows_that_match_only_once_prepared_are_found_after_with_no_second_query(state: Counting) -> None:
    when = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    remember(state, [status(0), status(1, legalBasisExplanation="2026-11-02T10:00:00.000Z")])
    rows = [status(0, legalBasis=None), status(1, legalBasisExplanation=when)]  # None dropped, datetime written out
    entries, check = run(state, rows)
    assert [e.status for e in entries] == [OutcomeStatus.UNCHANGED] * 2  # type: ignore[union-attr]
    assert entries[0].input == status(0)  # type: ignore[union-attr]  # the prepared row, None dropped
    assert len(state.asked) == 1, state.asked  # both keys were looked up before preparing
    assert check.unchanged == 2


def test_events_whose_ids_are_filled_in_are_looked_up_once_prepared(tmp_path: Path) -> None:
    from hubspot_batch._ids import with_id_from

    timeline = with_id_from(endpoint("timeline_events", "v3"), ["objectId", "eventTemplateId"])

    def event(n: int, **extra: Any) -> dict[str, Any]:
        return {"eventTemplateId": "1001", "objectId": str(n), "tokens": {"plan": "pro"}, **extra}

    async def prepared(check: UnchangedFilter, rows: list[Any]) -> list[Item | Outcome]:
        return [e async for block in prepared_source(timeline, rows, "job", "skip", check) for e in block]

    with SqliteState(tmp_path / "t.state", "ns", endpoint=timeline.name) as sqlite:
        state = Counting(sqlite)
        first = asyncio.run(prepared(UnchangedFilter(state, timeline), [event(0), event(1)]))  # type: ignore[arg-type]
        assert [type(e) for e in first] == [Item, Item]
        state.record([(state_key(e.key), payload_hash(e.row)) for e in first if isinstance(e, Item)])
        state.asked.clear()
        explicit_id = event(2, id="mine")
        again = asyncio.run(prepared(UnchangedFilter(state, timeline), [event(0), event(1), explicit_id]))  # type: ignore[arg-type]
    assert [e.status for e in again[:2]] == [OutcomeStatus.UNCHANGED] * 2  # type: ignore[union-attr]
    assert isinstance(again[2], Item)
    # the row with an id is looked up before preparing; the two without one only once their ids are made
    assert state.asked == [[state_key(("1001", "mine"))], [state_key(e.key) for e in first if isinstance(e, Item)]]


def test_with_raise_the_rows_before_an_invalid_one_come_first(state: Counting) -> None:
    remember(state, [status(0)])
    rows = [status(0), status(1), {"subscriberIdString": "nope"}, status(3)]
    seen: list[Item | Outcome] = []
    check = UnchangedFilter(state, STATUSES)  # type: ignore[arg-type]

    async def collect() -> None:
        async for block in prepared_source(STATUSES, rows, "job", "raise", check):
            seen.extend(block)

    with pytest.raises(InputValidationError) as caught:
        asyncio.run(collect())
    assert [e.index for e in seen] == [0, 1] and isinstance(seen[0], Outcome) and isinstance(seen[1], Item)
    assert caught.value.issues[0].index == 2


def test_full_sends_every_row_and_remembers_each(state: Counting) -> None:
    rows = [status(0), status(1)]
    remember(state, rows)
    entries, check = run(state, rows, full=True)
    assert [type(e) for e in entries] == [Item, Item] and state.asked == []
    check.confirm([Outcome(0, OutcomeStatus.SUCCEEDED, rows[0]), Outcome(1, OutcomeStatus.SUCCEEDED, rows[1])])
    again, _ = run(state, rows)
    assert [e.status for e in again] == [OutcomeStatus.UNCHANGED] * 2  # type: ignore[union-attr]


def test_a_state_without_digests_is_asked_lookup(tmp_path: Path) -> None:
    class LookupOnly:
        namespace = "ns"

        def __init__(self, stored: dict[str, bytes]) -> None:
            self.stored = stored

        def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
            return {k: self.stored[k] for k in keys if k in self.stored}

        def record(self, pairs: Iterable[tuple[str, bytes]]) -> None:
            self.stored.update(pairs)

    row = status(0)
    plain = LookupOnly({state_key(STATUSES.duplicate_key(row)): payload_hash(row)})
    check = UnchangedFilter(plain, STATUSES)  # type: ignore[arg-type]

    async def collect() -> list[Item | Outcome]:
        return [e async for block in prepared_source(STATUSES, [row, status(1)], "j", "skip", check) for e in block]

    entries = asyncio.run(collect())
    assert isinstance(entries[0], Outcome) and entries[0].status is OutcomeStatus.UNCHANGED
    assert isinstance(entries[1], Item)


def test_what_is_remembered_is_the_digest_of_the_row_as_sent(state: Counting) -> None:
    rows = [status(0, legalBasis=None), status(1)]  # row 0 is sent without its None value
    entries, check = run(state, rows)
    assert [type(e) for e in entries] == [Item, Item]
    check.confirm([Outcome(0, OutcomeStatus.SUCCEEDED, rows[0]), Outcome(1, OutcomeStatus.SUCCEEDED, rows[1])])
    again, _ = run(state, [status(0), status(1)])
    assert [e.status for e in again] == [OutcomeStatus.UNCHANGED] * 2  # type: ignore[union-attr]
