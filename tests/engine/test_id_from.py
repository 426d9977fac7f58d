"""Deterministic timeline ids (id_from): the same input run twice creates each event once."""

from __future__ import annotations

import pytest
from hubspot_batch import AsyncHubSpotBatch, ConfigurationError, InputValidationError, OutcomeStatus

pytestmark = pytest.mark.looptime

FIELDS = ["objectId", "eventTemplateId", "timestamp"]


def event(n: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "eventTemplateId": "1001",
        "objectId": str(n),
        "tokens": {"plan": "pro"},
        "timestamp": f"2026-11-0{1 + n % 9}T10:00:00Z",
    }
    row.update(extra)
    return row


def occurrence(n: int) -> dict[str, object]:
    return {"eventTypeName": "pe1_signup", "objectId": str(n), "properties": {"plan": "pro"}}


@pytest.mark.parametrize(("version", "make"), [("v3", event), ("2026-09", occurrence)])
async def test_running_the_same_input_twice_creates_each_event_once(make_sandbox, version: str, make) -> None:
    sandbox = make_sandbox()
    fields = FIELDS if version == "v3" else ["objectId", "eventTypeName"]
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, api_version=version, batch_size=10) as hs:
        first = await hs.timeline.create_events([make(i) for i in range(25)], id_from=fields)
        second = await hs.timeline.create_events([make(i) for i in range(25)], id_from=fields)
        await hs.timeline.create_events([make(i) for i in range(3)])
    assert first.ok and second.ok
    assert [o.input["id"] for o in first] == [o.input["id"] for o in second]
    assert all(o.status is OutcomeStatus.SUCCEEDED for o in second)
    assert all(o.note for o in second)  # "already existed"
    assert len(sandbox.state.timeline_events) == 25 + 3  # the random-id run created new events


async def test_an_explicit_id_wins_and_a_callable_works(make_sandbox) -> None:
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox()) as hs:
        explicit = await hs.timeline.create_events([event(1, id="mine")], id_from=FIELDS)
        by_callable = await hs.timeline.create_events([event(2)], id_from=lambda row: f"order-{row['objectId']}")
        again = await hs.timeline.create_events([event(2)], id_from=lambda row: f"order-{row['objectId']}")
    assert explicit[0].input["id"] == "mine"
    assert by_callable[0].input["id"] == again[0].input["id"]


async def test_a_row_missing_a_named_field_is_an_input_error_before_sending(make_sandbox) -> None:
    sandbox = make_sandbox()
    rows = [event(1), {"eventTemplateId": "1001", "email": "a@example.com", "tokens": {}}]
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox) as hs:
        with pytest.raises(InputValidationError) as caught:
            await hs.timeline.create_events(rows, id_from=FIELDS)
        issues = hs.timeline.validate(rows, id_from=FIELDS)
        with pytest.raises(ConfigurationError, match="timeline"):
            hs.communications.validate([{"id": "1", "properties": {}}], id_from=FIELDS)
    assert "input 1: field 'objectId'" in str(caught.value) and "id_from" in str(caught.value)
    assert [(i.index, i.field) for i in issues] == [(1, "objectId"), (1, "timestamp")]
    assert sandbox.state.stats().requests == 0
