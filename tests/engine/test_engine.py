"""The engine end to end against the in-process sandbox, in virtual time (looptime)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from conftest import comm_rows
from hubspot_batch import (
    AuthenticationError,
    BatchFailedError,
    DailyLimitError,
    HubSpotBatch,
    InputValidationError,
    MissingScopesError,
    OutcomeStatus,
    RetryPolicy,
    RollingWindow,
)
from hubspot_batch.sandbox import SandboxTransport
from hubspot_batch_api.models import SimplePublicObject, SimplePublicObjectBatchInput

pytestmark = pytest.mark.looptime


def status_row(email: str, sub: int = 1, state: str = "SUBSCRIBED") -> dict[str, object]:
    return {"subscriberIdString": email, "subscriptionId": sub, "statusState": state, "channel": "EMAIL"}


def event_row(n: int, **extra: object) -> dict[str, object]:
    return {"eventTemplateId": "1001", "tokens": {"n": str(n)}, "objectId": str(n), **extra}


async def test_ceiling_reached_without_429s(make_sandbox, make_client) -> None:
    """20,000 updates at 190 requests / 10 s and 300 ms latency: the limiter keeps up and never trips."""
    sandbox = make_sandbox(rate_limit=190, latency=0.3)
    async with make_client(sandbox, rate_limit="professional") as hs:
        result = await hs.communications.update(comm_rows(20_000))
    assert result.ok and len(result) == 20_000
    stats = sandbox.state.stats()
    assert stats.rate_limited.get("TEN_SECONDLY_ROLLING", 0) <= 0.01 * stats.requests
    # 200 requests: 190 in the first window, 10 more once the first ones leave it.
    assert result.stats.requests == 200
    assert result.stats.elapsed < 10.0 + 0.3 * 3
    assert result.stats.elapsed > 10.0  # never more than 190 in any window


async def test_learns_a_lower_limit_from_headers(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(rate_limit=20, latency=0.1)
    async with make_client(sandbox, rate_limit="api-limit-increase") as hs:
        result = await hs.communications.update(comm_rows(6_000))
    assert result.ok
    stats = sandbox.state.stats()
    # Starting from 250/10 s the first burst meets some 429s; after the first answers it follows 20/10 s.
    assert stats.rate_limited.get("TEN_SECONDLY_ROLLING", 0) <= 16
    assert result.stats.elapsed >= (60 // 20 - 1) * 10


async def test_results_in_input_order_one_outcome_each(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(missing_ids={"13", "250"}, shuffle_results=True)
    async with make_client(sandbox) as hs:
        result = await hs.communications.update(comm_rows(300))
    assert [o.index for o in result] == list(range(300))
    assert {o.input["id"] for o in result.failed} == {"13", "250"}
    failed = result.failed[0]
    assert failed.error is not None and failed.error.category == "OBJECT_NOT_FOUND"
    assert failed.error.status_code == 207
    ok = result.succeeded[0]
    assert isinstance(ok.result, SimplePublicObject) and ok.result.id == ok.input["id"]
    assert ok.result.properties.additional_properties["hs_communication_body"] == "body 1"


async def test_duplicate_ids_never_share_a_batch_and_last_write_wins(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = [{"id": str(i % 7 + 1), "properties": {"hs_communication_body": f"v{i}"}} for i in range(50)]
    async with make_client(sandbox, batch_size=10) as hs:
        result = await hs.communications.update(rows)
    assert result.ok
    assert sandbox.state.stats().responses_by_status.get(400, 0) == 0
    for key in range(1, 8):
        last = max(i for i in range(50) if i % 7 + 1 == key)
        assert sandbox.state.communication(str(key)).properties["hs_communication_body"] == f"v{last}"


async def test_whole_batch_400_is_isolated_to_the_bad_input(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = comm_rows(100)
    rows[37] = {"id": "38", "properties": {"no_such_property": "x"}}
    async with make_client(sandbox) as hs:
        result = await hs.communications.update(rows)
    assert [o.index for o in result.failed] == [37]
    error = result.failed[0].error
    assert error is not None and error.status_code == 400 and "no_such_property" in error.message
    assert len(result.succeeded) == 99
    assert result.stats.requests <= 1 + 2 * 7  # bisection: two requests per level, log2(100) levels


async def test_split_budget_bounds_extra_requests(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = [{"id": str(i + 1), "properties": {f"bad_{i}": "x"}} for i in range(100)]
    async with make_client(sandbox, retry=RetryPolicy(max_split_requests=6)) as hs:
        result = await hs.communications.update(rows)
    assert len(result.failed) == 100
    assert result.stats.requests == 1 + 6
    assert any(o.note and "not isolated" in o.note for o in result.failed)


async def test_rolling_429_pauses_and_retries(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(rate_limit=10, latency=0.05)
    blind = RollingWindow(100, learn=False)  # a limiter that ignores HubSpot's headers
    async with make_client(sandbox, rate_limit=blind) as hs:
        result = await hs.communications.update(comm_rows(3_000))
    assert result.ok
    assert result.stats.rate_limited > 0
    assert sandbox.state.stats().effects["communications"] == 3_000


async def test_daily_limit_stops_and_reports_the_rest_not_sent(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(daily_limit=3)
    async with make_client(sandbox, max_concurrency=1) as hs:
        result = await hs.communications.update(comm_rows(1_000))
    assert len(result.succeeded) == 300
    assert len(result.not_sent) == 700
    assert all(o.error is not None and o.error.category in {"DAILY_LIMIT", "STOPPED"} for o in result.not_sent)
    assert result.stopped_by and "daily" in result.stopped_by
    with pytest.raises(DailyLimitError) as caught:
        result.raise_for_errors()
    assert caught.value.result is result


async def test_faults_retried_and_nothing_lost(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(
        seed=7, error_5xx_rate=0.1, drop_before_rate=0.05, drop_after_rate=0.05, truncated_rate=0.05, non_json_rate=0.03
    )
    policy = RetryPolicy(max_attempts=12, backoff_base=0.1, backoff_max=2.0)
    async with make_client(sandbox, retry=policy) as hs:
        result = await hs.communications.update(comm_rows(5_000))
    assert result.ok, result.summary()
    assert result.stats.retries > 0
    for i in (1, 2500, 5000):
        assert sandbox.state.communication(str(i)).properties["hs_communication_body"] == f"body {i}"


async def test_timeline_events_never_created_twice(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(seed=3, drop_after_rate=0.2, truncated_rate=0.1, error_5xx_rate=0.05)
    policy = RetryPolicy(max_attempts=15, backoff_base=0.1, backoff_max=1.0)
    async with make_client(sandbox, retry=policy, batch_size=20) as hs:
        result = await hs.timeline.create_events([event_row(i) for i in range(1_000)])
    assert result.ok, result.summary()
    ids = [o.input["id"] for o in result]
    assert len(set(ids)) == 1_000
    stats = sandbox.state.stats()
    assert len(sandbox.state.timeline_events) == 1_000
    assert all(count >= 1 for count in stats.timeline_create_attempts.values())
    assert any(o.note and "already existed" in o.note for o in result.succeeded)


async def test_timeline_existing_id_from_before_is_a_failure_unless_asked(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    async with make_client(sandbox) as hs:
        first = await hs.timeline.create_events([event_row(1, id="evt-1")])
        again = await hs.timeline.create_events([event_row(1, id="evt-1")])
        resumed = await hs.timeline.create_events([event_row(1, id="evt-1")], existing_is_success=True)
    assert first.ok
    assert again.failed and again.failed[0].error is not None
    assert again.failed[0].error.category == "OBJECT_ALREADY_EXISTS"
    assert resumed.ok
    assert len(sandbox.state.timeline_events) == 1


async def test_status_errors_inside_a_200_map_to_their_inputs(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(missing_ids={"99"})
    rows = [status_row("a@example.com"), status_row("b@example.com", sub=99), status_row("c@example.com")]
    async with make_client(sandbox) as hs:
        result = await hs.subscription_statuses.write(rows)
    assert [o.status for o in result] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED, OutcomeStatus.SUCCEEDED]
    assert result[1].error is not None and result[1].error.status_code == 200
    assert result[0].result.subscriber_id_string == "a@example.com"


async def test_webhooks_both_versions_with_developer_key(make_sandbox) -> None:
    from hubspot_batch import AsyncHubSpotBatch

    sandbox = make_sandbox(developer_api_keys={"dev-key-123"}, missing_ids={"5"})
    rows = [{"id": 4, "active": True}, {"id": 5, "active": False}]
    async with AsyncHubSpotBatch(developer_api_key="dev-key-123", transport=sandbox) as hs:
        v3 = await hs.webhooks.update_subscriptions(77, rows)
        v2026 = await hs.webhooks.update_subscriptions(77, rows, api_version="2026-03")
    for result in (v3, v2026):
        assert [o.status for o in result] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED]
        assert result[1].error is not None and result[1].error.category == "SUBSCRIPTION_ID_NOT_FOUND"
    assert v2026[0].result.event_type_name


async def test_401_stops_the_job(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(access_tokens={"the-right-one"})
    async with make_client(sandbox, access_token="wrong-token", max_concurrency=1) as hs:
        result = await hs.communications.update(comm_rows(500))
    assert len(result.failed) == 100 and len(result.not_sent) == 400
    assert result.stats.requests == 1
    with pytest.raises(AuthenticationError):
        result.raise_for_errors()


async def test_403_names_the_missing_scopes(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(missing_scopes={"narrow-token": ("crm.objects.contacts.write",)})
    async with make_client(sandbox, access_token="narrow-token") as hs:
        result = await hs.communications.update(comm_rows(10))
    with pytest.raises(MissingScopesError) as caught:
        result.raise_for_errors()
    assert "crm.objects.contacts.write" in caught.value.missing_scopes
    assert "crm.objects.contacts.write" in str(caught.value)


async def test_invalid_rows_raise_before_anything_is_sent(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = [*comm_rows(5), {"id": 6, "properties": {"hs_communication_body": 1}}, {"properties": {}}]
    async with make_client(sandbox) as hs:
        with pytest.raises(InputValidationError) as caught:
            await hs.communications.update(rows)
    issues = {(i.index, i.field) for i in caught.value.issues}
    assert issues == {(5, "id"), (5, "properties.hs_communication_body"), (6, "id")}
    assert "input 5: field 'id'" in str(caught.value)
    assert sandbox.state.stats().requests == 0


async def test_skip_invalid_reports_them_failed(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = [status_row("a@example.com"), status_row("not-an-email"), status_row("c@example.com", state="MAYBE")]
    async with make_client(sandbox, on_invalid="skip") as hs:
        result = await hs.subscription_statuses.write(rows)
    assert [o.status for o in result] == [OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED, OutcomeStatus.FAILED]
    assert result[1].error is not None and result[1].error.category == "INVALID_INPUT"
    assert "subscriberIdString" in result[1].error.message
    assert "statusState" in (result[2].error.message if result[2].error else "")


async def test_generated_models_accepted_as_input(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()
    rows = [SimplePublicObjectBatchInput.from_dict({"id": "9", "properties": {"hs_communication_body": "m"}})]
    async with make_client(sandbox) as hs:
        result = await hs.communications.update(rows)
    assert result.ok
    assert sandbox.state.communication("9").properties["hs_communication_body"] == "m"


async def test_streaming_reads_lazily_and_yields_in_order(make_sandbox, make_client) -> None:
    sandbox = make_sandbox(latency=0.2)
    read = 0

    def rows() -> Iterator[dict[str, object]]:
        nonlocal read
        for row in comm_rows(20_000):
            read += 1
            yield row

    async with make_client(sandbox, max_concurrency=4) as hs:
        expected = 0
        first_seen_at_read = None
        async for part in hs.communications.update_iter(rows()):
            if first_seen_at_read is None:
                first_seen_at_read = read
            assert [o.index for o in part] == list(range(expected, expected + len(part)))
            expected += len(part)
    assert expected == 20_000
    assert first_seen_at_read is not None and first_seen_at_read < 2_000


async def test_async_iterable_input(make_sandbox, make_client) -> None:
    async def rows() -> AsyncIterator[dict[str, object]]:
        for row in comm_rows(250):
            await asyncio.sleep(0)
            yield row

    async with make_client(make_sandbox()) as hs:
        result = await hs.communications.update(rows())
    assert result.ok and len(result) == 250


async def test_a_failing_input_stream_reports_what_was_read(make_sandbox, make_client) -> None:
    sandbox = make_sandbox()

    def rows() -> Iterator[dict[str, object]]:
        yield from comm_rows(250)
        raise RuntimeError("source broke")

    seen = []
    async with make_client(sandbox) as hs:
        with pytest.raises(RuntimeError, match="source broke"):
            async for part in hs.communications.update_iter(rows()):
                seen.extend(part)
    assert [o.index for o in seen] == list(range(250))
    assert {o.status for o in seen[:200]} == {OutcomeStatus.SUCCEEDED}
    assert {o.status for o in seen[200:]} == {OutcomeStatus.NOT_SENT}


def test_sync_face_matches_async_face() -> None:
    transport = SandboxTransport(sleep=lambda s: None)
    with HubSpotBatch(access_token="t", transport=transport) as hs:
        result = hs.communications.update(comm_rows(150))
        parts = list(hs.communications.update_iter(comm_rows(150)))
    assert result.ok and len(result) == 150
    assert sum(len(p) for p in parts) == 150


async def test_sync_face_refuses_to_block_a_running_loop() -> None:
    from hubspot_batch import ConfigurationError

    with HubSpotBatch(access_token="t", transport=SandboxTransport()) as hs, pytest.raises(ConfigurationError):
        hs.communications.update(comm_rows(1))


async def test_raise_for_errors_lists_failures(make_sandbox, make_client) -> None:
    async with make_client(make_sandbox(missing_ids={"2"})) as hs:
        result = await hs.communications.update(comm_rows(3))
    with pytest.raises(BatchFailedError, match="1 input"):
        result.raise_for_errors()
    assert result.counts == {"succeeded": 2, "failed": 1, "not_sent": 0, "unchanged": 0}


async def test_secrets_never_in_repr_errors_or_logs(make_sandbox, caplog: pytest.LogCaptureFixture) -> None:
    from hubspot_batch import AsyncHubSpotBatch

    token, key = "pat-na1-SECRET-TOKEN-0123456789", "DEVKEY-SECRET-abcdef"
    sandbox = make_sandbox(access_tokens={"other"}, developer_api_keys={"other-key"})
    caplog.set_level(logging.DEBUG)
    async with AsyncHubSpotBatch(access_token=token, developer_api_key=key, transport=sandbox) as hs:
        texts = [repr(hs), str(hs.__dict__)]
        webhooks = await hs.webhooks.update_subscriptions(1, [{"id": 1, "active": True}])
        comms = await hs.communications.update(comm_rows(3))
        for result in (webhooks, comms):
            try:
                result.raise_for_errors()
            except Exception as exc:
                texts += [str(exc), repr(exc)]
            texts += [repr(o) for o in result] + [str(o.to_dict()) for o in result]
    texts += [record.getMessage() for record in caplog.records]
    joined = "\n".join(texts)
    assert token not in joined and key not in joined
    assert "AuthenticationError" in joined or "401" in joined
