"""API version 2026-09 and "latest" on every endpoint, the version each result names, lifecycle and deprecation."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from conftest import comm_rows
from hubspot_batch import (
    AsyncHubSpotBatch,
    ConfigurationError,
    InputValidationError,
    MissingScopesError,
    OutcomeStatus,
    resolve_api_version,
    versions,
)
from hubspot_batch import _versions as lifecycle_module
from hubspot_batch_api.models import (
    AppEventOccurrence,
    CrmCommunications202609SimplePublicObject,
    PublicStatus,
    Webhooks202609SubscriptionResponse,
)

pytestmark = pytest.mark.looptime


def occurrence(n: int, **extra: object) -> dict[str, object]:
    return {"eventTypeName": "pe1234_signup", "properties": {"plan": "pro"}, "objectId": str(n), **extra}


def status(email: str, sub: int = 1) -> dict[str, object]:
    return {"subscriberIdString": email, "subscriptionId": sub, "statusState": "SUBSCRIBED", "channel": "EMAIL"}


async def test_every_endpoint_at_2026_09_with_its_paths_and_models(make_sandbox) -> None:
    sandbox = make_sandbox(missing_ids={"3"})
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, api_version="2026-09") as hs:
        comms = await hs.communications.update(comm_rows(5))
        statuses = await hs.subscription_statuses.write([status("a@example.com", 3_000_000_000)])
        events = await hs.timeline.create_events([occurrence(i) for i in range(4)])
        hooks = await hs.webhooks.update_subscriptions(9, [{"id": 1, "active": True}, {"id": 3, "active": False}])
    assert [o.status for o in comms].count(OutcomeStatus.FAILED) == 1
    assert isinstance(comms[0].result, CrmCommunications202609SimplePublicObject)
    assert statuses.ok and isinstance(statuses[0].result, PublicStatus)
    assert statuses[0].result.subscription_id == 3_000_000_000  # int64, as 2026-09 declares
    assert events.ok and isinstance(events[0].result, AppEventOccurrence)
    assert [o.status for o in hooks] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED]
    assert isinstance(hooks[0].result, Webhooks202609SubscriptionResponse)
    assert {r.api_version for r in (comms, statuses, events, hooks)} == {"2026-09"}
    assert len(sandbox.state.timeline_events) == 4


async def test_latest_is_the_newest_generally_available_version_and_results_say_so(make_sandbox) -> None:
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox(), api_version="latest") as hs:
        comms = await hs.communications.update(comm_rows(2))
        back = await hs.communications.update(comm_rows(2), api_version="v3")
        per_call = await hs.subscription_statuses.write([status("a@example.com")], api_version="latest")
    assert comms.ok and comms.api_version == "2026-09"
    assert back.api_version == "v3"
    assert per_call.api_version == "2026-09"
    assert resolve_api_version("subscription_statuses", "v3") == "v4"
    assert resolve_api_version("timeline_events", "latest") == "2026-09"


def test_latest_moves_only_to_a_released_version() -> None:
    before = dt.date(2026, 9, 7)
    assert lifecycle_module.latest(["v3", "2026-03", "2026-09"], before) == "2026-03"
    assert lifecycle_module.latest(["v3", "2026-03", "2026-09"], dt.date(2026, 9, 8)) == "2026-09"
    assert lifecycle_module.latest(["v3", "2027-03"], dt.date(2027, 6, 1)) is None  # not in the table: not known GA


async def test_unknown_version_names_the_versions_the_endpoint_has_and_sends_nothing(make_sandbox) -> None:
    sandbox = make_sandbox()
    with pytest.raises(ConfigurationError, match=r"2026-03, 2026-09"):
        AsyncHubSpotBatch(access_token="t", api_version="2025-09")
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox) as hs:
        with pytest.raises(ConfigurationError) as caught:
            await hs.communications.update(comm_rows(1), api_version="2027-03")
        with pytest.raises(ConfigurationError, match="v4"):
            await hs.timeline.create_events([occurrence(1)], api_version="v4")
    assert "communications has no API version '2027-03'" in str(caught.value)
    assert "2026-09" in str(caught.value) and "latest" in str(caught.value)
    assert sandbox.state.stats().requests == 0


async def test_v3_event_sent_to_2026_09_names_the_field_and_the_version(make_sandbox) -> None:
    sandbox = make_sandbox()
    v3_event = {"eventTemplateId": "1001", "tokens": {"a": "b"}, "objectId": "5", "id": "e1"}
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, api_version="2026-09") as hs:
        with pytest.raises(InputValidationError) as caught:
            await hs.timeline.create_events([occurrence(1), v3_event])
    text = str(caught.value)
    assert "input 1" in text and "eventTemplateId" in text and "API version 2026-09" in text
    assert sandbox.state.stats().requests == 0


async def test_webhooks_2026_09_takes_oauth_only(make_sandbox) -> None:
    # HubSpot's 2026-09 webhooks description accepts OAuth (developers-write / private-apps-write), no hapikey.
    async with AsyncHubSpotBatch(developer_api_key="dev-key", transport=make_sandbox()) as hs:
        with pytest.raises(ConfigurationError, match="access_token"):
            await hs.webhooks.update_subscriptions(9, [{"id": 1, "active": True}], api_version="2026-09")
        assert (await hs.webhooks.update_subscriptions(9, [{"id": 1, "active": True}], api_version="2026-03")).ok


async def test_403_names_the_scope_of_the_version(make_sandbox) -> None:
    sandbox = make_sandbox(missing_scopes={"narrow": ("timeline-write",)})
    async with AsyncHubSpotBatch(access_token="narrow", transport=sandbox, api_version="2026-09") as hs:
        result = await hs.timeline.create_events([occurrence(1)])
    assert isinstance(result.error, MissingScopesError)
    assert result.error.required_scope == "timeline-write"
    assert "timeline-write" in result.error.missing_scopes


def test_versions_lists_every_version_with_its_lifecycle() -> None:
    table = {v.version: v for v in versions(today=dt.date(2026, 12, 2))}
    assert list(table) == ["v3", "v4", "2026-03", "2026-09"]
    assert table["v4"].endpoints == ("subscription_statuses",)
    assert table["v4"].support_ends == dt.date(2027, 3, 30) and table["v4"].replacement == "2026-09"
    assert table["v3"].support_ends == dt.date(2027, 9, 1)
    assert table["2026-09"].released == dt.date(2026, 9, 8) and table["2026-09"].status == "current"
    assert table["2026-03"].status == "supported"
    assert len(table["2026-09"].endpoints) == 4
    assert {v.status for v in versions(today=dt.date(2027, 10, 1)) if v.version in ("v3", "v4", "2026-03")} == {
        "unsupported"
    }


def _version_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hubspot_batch.versions"]


async def test_a_version_near_its_end_of_support_warns_once_per_job(
    make_sandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle_module, "_today", lambda: dt.date(2027, 1, 15))  # v4 ends 2027-03-30: 74 days
    caplog.set_level(logging.WARNING, logger="hubspot_batch")
    async with AsyncHubSpotBatch(access_token="t", transport=make_sandbox(), batch_size=1) as hs:
        result = await hs.subscription_statuses.write([status(f"{i}@example.com") for i in range(3)])
        assert result.ok and result.stats.requests == 3
        assert _version_warnings(caplog) == [
            "subscription_statuses: HubSpot API version v4: support ends on 2027-03-30; move to 2026-09 "
            f"({lifecycle_module.LIFECYCLE['v4'].source})"
        ]
        caplog.clear()
        await hs.subscription_statuses.write([status("a@example.com")], api_version="2026-09")
        await hs.communications.update(comm_rows(1))  # v3 ends 2027-09-01: more than 90 days away
    assert _version_warnings(caplog) == []


def test_notice_after_the_end_says_it_ended() -> None:
    text = lifecycle_module.notice("2026-03", dt.date(2027, 10, 1))
    assert text is not None and "ended on 2027-09-30" in text and "move to 2026-09" in text
    assert lifecycle_module.notice("2026-09", dt.date(2027, 10, 1)) is None
    assert lifecycle_module.notice("2099-03", dt.date(2027, 10, 1)) is None  # nothing known, nothing claimed


async def test_deprecated_header_warns_once_and_is_in_the_stats(make_sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hubspot_batch")
    sandbox = make_sandbox(deprecated_versions={"v3"})
    async with AsyncHubSpotBatch(access_token="t", transport=sandbox, batch_size=10) as hs:
        result = await hs.communications.update(comm_rows(50))
        fresh = await hs.communications.update(comm_rows(5), api_version="2026-09")
    assert result.ok and result.stats.requests == 5
    assert result.stats.deprecated == "true"
    warnings = [w for w in _version_warnings(caplog) if "deprecated" in w]
    assert warnings == [
        "communications v3: HubSpot answers that this API version is deprecated "
        "(X-HubSpot-API-Deprecated: true); move to API version 2026-09"
    ]
    assert fresh.stats.deprecated is None
