"""wait_for_reset: a reset HubSpot reports before the expected one ends the wait (the usage endpoint is polled).

The sandbox runs in process on the real clocks; its day would end an hour
from now, but ``reset_day()`` starts a new one as soon as the job waits. The
poll interval is shortened so that the test does not wait minutes for the
look at the usage endpoint that sees it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hubspot_batch import AsyncHubSpotBatch, Progress
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport

EMAIL = {"channel": "EMAIL"}


def statuses(n: int) -> list[dict[str, object]]:
    return [
        {"subscriberIdString": f"u{i}@example.com", "subscriptionId": 7, "statusState": "SUBSCRIBED", **EMAIL}
        for i in range(n)
    ]


async def test_a_reset_seen_by_the_usage_endpoint_ends_the_wait_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hubspot_batch._exchange.DAILY_POLL_INTERVAL", 0.2)
    reset_at = time.time() + 3600
    app = SandboxApp(SandboxConfig(rate_limit=None, daily_limit=10, day_starts_at=reset_at % 86_400))
    transport = SandboxTransport(app, sleep=lambda s: None, async_sleep=asyncio.sleep)
    snapshots: list[Progress] = []
    waiting = asyncio.Event()

    def progress(p: Progress) -> None:
        snapshots.append(p)
        if p.waiting_until is not None:
            waiting.set()

    async def reset_when_waiting() -> None:
        await asyncio.wait_for(waiting.wait(), 10)
        await asyncio.sleep(0.5)  # a few looks at the usage endpoint see the same day first
        app.reset_day()

    async with AsyncHubSpotBatch(
        access_token="t",
        transport=transport,
        batch_size=1,
        max_daily_share=0.5,
        wait_for_reset=True,
        progress=progress,
    ) as hs:
        started = time.monotonic()
        job = asyncio.wait_for(hs.subscription_statuses.write(statuses(8)), 20)  # never the hour it expects
        result, _ = await asyncio.gather(job, reset_when_waiting())
        took = time.monotonic() - started
    assert result.ok and len(result.succeeded) == 8
    assert took < 10  # not the hour until the reset it expected
    expected = [p.waiting_until for p in snapshots if p.waiting_until is not None]
    assert expected and abs(expected[0] - reset_at) < 1  # it waited for the reset HubSpot reported
    assert app.state.stats().rate_limited == {}


async def test_without_wait_for_reset_the_job_stops_at_the_budget() -> None:
    app = SandboxApp(SandboxConfig(rate_limit=None, daily_limit=10))
    transport = SandboxTransport(app, sleep=lambda s: None, async_sleep=asyncio.sleep)
    async with AsyncHubSpotBatch(access_token="t", transport=transport, batch_size=1, max_daily_share=0.3) as hs:
        result = await hs.subscription_statuses.write(statuses(8))
    assert len(result.succeeded) == 3 and len(result.not_sent) == 5
    assert {o.error.category for o in result.not_sent if o.error} == {"DAILY_BUDGET"}
