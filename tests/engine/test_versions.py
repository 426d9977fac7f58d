"""Every endpoint at both API versions: success, partial failure, whole-batch rejection; the one switch."""

from __future__ import annotations

import pytest
from conftest import comm_rows
from hubspot_batch import AsyncHubSpotBatch, ConfigurationError, InputValidationError, OutcomeStatus, RetryPolicy
from hubspot_batch_api.models import AppEventOccurrence, CrmCommunications202603SimplePublicObject, PublicStatus

pytestmark = pytest.mark.looptime


def occurrence(n: int, **extra: object) -> dict[str, object]:
    return {"eventTypeName": "pe1234_signup", "properties": {"plan": "pro"}, "objectId": str(n), **extra}


def status(email: str, sub: int = 1) -> dict[str, object]:
    return {"subscriberIdString": email, "subscriptionId": sub, "statusState": "SUBSCRIBED", "channel": "EMAIL"}


async def test_client_switch_sends_every_endpoint_to_2026_03(make_sandbox) -> None:
    sandbox = make_sandbox(missing_ids={"3"}, developer_api_keys={"dev-key-1"})
    async with AsyncHubSpotBatch(
        access_token="t", developer_api_key="dev-key-1", transport=sandbox, api_version="2026-03"
    ) as hs:
        comms = await hs.communications.update(comm_rows(5))
        statuses = await hs.subscription_statuses.write([status("a@example.com"), status("b@example.com", 3)])
        events = await hs.timeline.create_events([occurrence(i) for i in range(4)])
        hooks = await hs.webhooks.update_subscriptions(9, [{"id": 1, "active": True}, {"id": 3, "active": True}])
        back = await hs.communications.update(comm_rows(2), api_version="v3")  # one call back on v3
    assert [o.status for o in comms].count(OutcomeStatus.FAILED) == 1
    assert isinstance(comms[0].result, CrmCommunications202603SimplePublicObject)
    assert [o.status for o in statuses] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED]
    assert isinstance(statuses[0].result, PublicStatus)
    assert events.ok and isinstance(events[0].result, AppEventOccurrence)
    assert [o.status for o in hooks] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED]
    assert back.ok
    assert len(sandbox.state.timeline_events) == 4


async def test_unknown_version_is_a_configuration_error(make_sandbox) -> None:
    with pytest.raises(ConfigurationError, match="api_version"):
        AsyncHubSpotBatch(access_token="t", api_version="2025-09")  # type: ignore[arg-type]
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox()) as hs:
        with pytest.raises(ConfigurationError, match="v4"):
            await hs.communications.update(comm_rows(1), api_version="v4")


async def test_statuses_accept_v4_and_v3_as_the_numbered_version(make_sandbox) -> None:
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox()) as hs:
        for version in ("v3", "v4"):
            result = await hs.subscription_statuses.write([status("a@example.com")], api_version=version)
            assert result.ok


@pytest.mark.parametrize("version", ["v3", "2026-03"])
async def test_communications_whole_batch_rejection_isolated(make_sandbox, version: str) -> None:
    rows = comm_rows(40)
    rows[7] = {"id": "8", "properties": {"nope": "x"}}
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox(), api_version=version) as hs:  # type: ignore[arg-type]
        result = await hs.communications.update(rows)
    assert [o.index for o in result.failed] == [7]
    assert result.failed[0].error is not None and result.failed[0].error.status_code == 400


async def test_timeline_2026_03_409_for_an_old_id_isolated_others_created(make_sandbox) -> None:
    sandbox = make_sandbox()
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, api_version="2026-03") as hs:
        first = await hs.timeline.create_events([occurrence(0, id="taken")])
        rows = [occurrence(i) for i in range(1, 30)]
        rows.insert(12, occurrence(99, id="taken"))
        result = await hs.timeline.create_events(rows)
    assert first.ok
    assert [o.index for o in result.failed] == [12]
    error = result.failed[0].error
    assert error is not None and error.status_code == 409 and error.category == "CONFLICT"
    assert len(result.succeeded) == 29
    assert len(sandbox.state.timeline_events) == 30  # "taken" once, and the 29 others


async def test_timeline_2026_03_409_from_our_own_lost_attempt_is_success(make_sandbox) -> None:
    sandbox = make_sandbox(seed=11, drop_after_rate=0.3, truncated_rate=0.1)
    policy = RetryPolicy(max_attempts=20, backoff_base=0.05, backoff_max=0.5)
    async with AsyncHubSpotBatch(
        access_token="t", transport=sandbox, api_version="2026-03", retry=policy, batch_size=10
    ) as hs:
        result = await hs.timeline.create_events([occurrence(i) for i in range(300)])
    assert result.ok, result.summary()
    assert len(sandbox.state.timeline_events) == 300
    assert any(o.note and "already existed" in o.note for o in result.succeeded)
    assert sandbox.state.stats().responses_by_status.get(409, 0) >= 1


async def test_timeline_2026_03_400_isolates_the_invalid_occurrence(make_sandbox) -> None:
    sandbox = make_sandbox()
    rows = [occurrence(i) for i in range(20)]
    rows[5] = {"eventTypeName": "pe1234_signup", "properties": {"plan": "pro"}, "id": "no-target", "utk": ""}
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, api_version="2026-03", on_invalid="skip") as hs:
        result = await hs.timeline.create_events(rows)
    # our own check already refuses a row without objectId/email/utk: it is never sent
    assert [o.index for o in result.failed] == [5]
    assert result.failed[0].error is not None and result.failed[0].error.category == "INVALID_INPUT"
    assert len(sandbox.state.timeline_events) == 19


async def test_v3_shaped_events_get_a_clear_error_on_2026_03(make_sandbox) -> None:
    v3_event = {"eventTemplateId": "1001", "tokens": {"plan": "pro"}, "objectId": "5"}
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox(), api_version="2026-03") as hs:
        with pytest.raises(InputValidationError) as caught:
            await hs.timeline.create_events([v3_event])
    text = str(caught.value.issues)
    assert "eventTypeName" in text and "properties" in text and "api_version='v3'" in text
