"""Authentication for long jobs: token callables, OAuth refresh across expiries, failures, secrets."""

from __future__ import annotations

import logging

import pytest
from conftest import comm_rows
from hubspot_batch import AsyncHubSpotBatch, AuthRefreshError, OAuthRefresher, OutcomeStatus

pytestmark = pytest.mark.looptime

CLIENT_ID, CLIENT_SECRET, REFRESH = "client-1", "csecret-XYZ-987654321", "rtok-ABC-123456789"


async def test_oauth_job_runs_across_several_expiries_without_a_refresh_storm(make_sandbox) -> None:
    sandbox = make_sandbox(oauth_clients={CLIENT_ID: CLIENT_SECRET}, token_lifetime=3.0, latency=0.2, rate_limit=20)
    refresher = OAuthRefresher(CLIENT_ID, CLIENT_SECRET, REFRESH)
    async with AsyncHubSpotBatch(access_token=refresher, transport=sandbox, rate_limit=20) as hs:
        result = await hs.communications.update(comm_rows(5_000))
    assert result.ok and len(result) == 5_000
    elapsed = result.stats.elapsed
    assert elapsed > 20.0  # a steady 2 requests/s for 25 s: about eight token lives
    stats = sandbox.state.stats()
    # one refresh per token life at most (plus the first), however many requests were in flight
    assert 3 <= stats.token_refreshes <= elapsed / 3.0 * 1.2 + 2
    assert refresher.refreshes == stats.token_refreshes
    assert stats.responses_by_status.get(401, 0) == 0  # renewed before expiry


async def test_401_for_an_expired_token_refreshes_once_and_retries(make_sandbox) -> None:
    sandbox = make_sandbox(oauth_clients={CLIENT_ID: CLIENT_SECRET}, latency=0.1)
    refresher = OAuthRefresher(CLIENT_ID, CLIENT_SECRET, REFRESH)
    async with AsyncHubSpotBatch(access_token=refresher, transport=sandbox, max_concurrency=8) as hs:
        parts = []
        async for part in hs.communications.update_iter(comm_rows(3_000)):
            if not parts:
                sandbox.state.expire_issued_tokens()  # HubSpot revokes the token mid-job
            parts.append(part)
    outcomes = [o for p in parts for o in p]
    assert len(outcomes) == 3_000 and all(o.status is OutcomeStatus.SUCCEEDED for o in outcomes)
    stats = sandbox.state.stats()
    assert stats.responses_by_status.get(401, 0) >= 1
    assert stats.token_refreshes == 2  # the first token, then exactly one more for all requests in flight


async def test_token_callable_is_asked_again_after_a_401(make_sandbox) -> None:
    sandbox = make_sandbox(access_tokens={"old-token", "new-token"}, expired_tokens={"old-token"})
    handed = []

    async def current_token() -> str:
        token = "old-token" if not handed else "new-token"
        handed.append(token)
        return token

    async with AsyncHubSpotBatch(access_token=current_token, transport=sandbox, max_concurrency=1) as hs:
        result = await hs.communications.update(comm_rows(300))
    assert result.ok
    assert handed[0] == "old-token" and set(handed[1:]) == {"new-token"}


async def test_failed_refresh_stops_the_job_and_reports_inputs_not_sent(make_sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = make_sandbox(oauth_clients={CLIENT_ID: "the-real-secret"})
    refresher = OAuthRefresher(CLIENT_ID, CLIENT_SECRET, REFRESH)
    async with AsyncHubSpotBatch(access_token=refresher, transport=sandbox) as hs:
        result = await hs.communications.update(comm_rows(500))
    assert len(result.not_sent) == 500
    assert result.stats.requests == 0
    with pytest.raises(AuthRefreshError) as caught:
        result.raise_for_errors()
    text = "\n".join([str(caught.value), repr(caught.value), repr(refresher), result.summary()])
    text += "\n".join(r.getMessage() for r in caplog.records)
    text += "\n".join(str(o.to_dict()) for o in result)
    for secret in (CLIENT_SECRET, REFRESH, "the-real-secret"):
        assert secret not in text
    assert "invalid" in str(caught.value)


async def test_no_secret_of_an_oauth_job_in_logs_reprs_or_results(make_sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = make_sandbox(oauth_clients={CLIENT_ID: CLIENT_SECRET}, token_lifetime=2.0, latency=0.1)
    refresher = OAuthRefresher(CLIENT_ID, CLIENT_SECRET, REFRESH)
    async with AsyncHubSpotBatch(access_token=refresher, transport=sandbox) as hs:
        result = await hs.communications.update(comm_rows(2_000))
        texts = [repr(hs), repr(refresher), result.summary()]
    issued = [t for t in sandbox.state._issued_tokens]
    texts += [str(o.to_dict()) for o in result] + [repr(o) for o in result]
    texts += [r.getMessage() for r in caplog.records]
    joined = "\n".join(texts)
    assert issued
    for secret in (CLIENT_SECRET, REFRESH, *issued):
        assert secret not in joined
