"""Incremental sync (unchanged rows not sent) and the daily budget, against the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import comm_rows
from hubspot_batch import AsyncHubSpotBatch, OutcomeStatus

pytestmark = pytest.mark.looptime


def status(n: int, state: str = "SUBSCRIBED") -> dict[str, object]:
    return {"subscriberIdString": f"u{n}@example.com", "subscriptionId": 7, "statusState": state, "channel": "EMAIL"}


async def test_a_rerun_sends_only_what_changed(make_sandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox(missing_ids={"5"})
    state = tmp_path / "comms.state"
    rows = comm_rows(30)
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, sync_state=str(state), batch_size=10) as hs:
        first = await hs.communications.update(rows)
    assert first.counts["failed"] == 1 and first.counts["unchanged"] == 0
    changed = [dict(r) for r in rows]
    changed[2] = {"id": "3", "properties": {"hs_communication_body": "new body"}}
    changed[9] = {"properties": {"hs_communication_body": "body 10"}, "id": "10"}  # key order only: unchanged
    before = sandbox.state.stats().requests
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, sync_state=str(state), batch_size=10) as hs:
        second = await hs.communications.update(changed)
        parts = [p async for p in hs.communications.update_iter(changed)]
    assert second.counts == {"succeeded": 1, "failed": 1, "not_sent": 0, "unchanged": 28}
    assert [o.index for o in second if o.status is not OutcomeStatus.UNCHANGED] == [2, 4]  # changed, failed before
    # one batch request per call: rows 3 and 5, then row 5 alone (row 3 is now remembered)
    assert second.ok is False and sandbox.state.stats().requests - before == 2
    assert sum(p.counts["unchanged"] for p in parts) == 29
    async with AsyncHubSpotBatch(
        access_token="t", transport=sandbox, sync_state=str(state), full=True, batch_size=10
    ) as hs:
        full = await hs.communications.update(changed)
    assert full.counts["unchanged"] == 0 and full.counts["succeeded"] == 29


async def test_a_state_file_of_another_endpoint_is_refused_before_sending(make_sandbox, tmp_path: Path) -> None:
    from hubspot_batch import ConfigurationError

    sandbox = make_sandbox()
    state = str(tmp_path / "one.state")
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, sync_state=state) as hs:
        await hs.communications.update(comm_rows(2))
        before = sandbox.state.stats().requests
        with pytest.raises(ConfigurationError, match="state file"):
            await hs.subscription_statuses.write([status(1)])
    assert sandbox.state.stats().requests == before


async def test_the_daily_budget_stops_before_the_share_is_passed(make_sandbox) -> None:
    sandbox = make_sandbox(daily_limit=100)
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, max_daily_share=0.2, batch_size=1) as hs:
        result = await hs.subscription_statuses.write([status(i) for i in range(50)])
    sent = sandbox.state.stats().requests - 1  # the usage endpoint was asked once for the day's figures
    assert sent == 20  # 0.2 of 100
    not_sent = result.not_sent
    assert len(result.succeeded) + len(not_sent) == 50 and not_sent
    assert {o.error.category for o in not_sent if o.error} == {"DAILY_BUDGET"}
    assert result.stopped_by and "daily budget" in result.stopped_by


async def test_a_claim_left_over_does_not_hold_a_refused_request_past_the_request_timeout(make_sandbox) -> None:
    import asyncio

    sandbox = make_sandbox(daily_limit=100)
    async with AsyncHubSpotBatch(
        access_token="t", transport=sandbox, max_daily_share=0.2, batch_size=1, timeout=7.0
    ) as hs:
        budget = hs._core.runtime.daily
        assert budget is not None
        budget.pending = 1  # a request counted under way whose answer will never come (a cancelled job's)
        started = asyncio.get_running_loop().time()
        result = await asyncio.wait_for(hs.subscription_statuses.write([status(i) for i in range(50)]), 60.0)
        waited = asyncio.get_running_loop().time() - started
    assert len(result.succeeded) == 19  # the lost claim still counts: never above the share
    assert result.stopped_by and "daily budget" in result.stopped_by
    assert 7.0 <= waited < 9.0  # the refusal waited one request timeout for that answer, then was final


async def test_a_rerun_of_events_with_ids_from_their_fields_sends_nothing(make_sandbox, tmp_path: Path) -> None:
    sandbox = make_sandbox()
    state = str(tmp_path / "events.state")
    fields = ["objectId", "eventTemplateId"]
    events = [{"eventTemplateId": "1001", "objectId": str(n), "tokens": {"plan": "pro"}} for n in range(25)]
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, sync_state=state, batch_size=10) as hs:
        first = await hs.timeline.create_events(events, id_from=fields)
        before = sandbox.state.stats().requests
        again = await hs.timeline.create_events(events, id_from=fields)
        after = sandbox.state.stats().requests
        plan = await hs.timeline.plan(events, id_from=fields)
    assert first.counts["succeeded"] == 25
    assert again.counts["unchanged"] == 25 and after == before
    assert [o.input["id"] for o in again] == [o.input["id"] for o in first]  # the ids made again, the same
    assert plan.unchanged == 25 and plan.requests == 0
