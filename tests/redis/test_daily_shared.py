"""The daily budget shared through Redis: workers of one key together stay within max_daily_share.

Every test runs against the session's real ``redis-server`` and a real
sandbox HTTP server (its daily limit and day the portal's). Clients stand
for workers: each has a ``RedisLimiter`` of its own (its own connection,
its own claims); one test kills a real worker process with claims pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import redis
from hubspot_batch import AsyncHubSpotBatch, BatchResult, OutcomeStatus
from hubspot_batch._daily import LOCAL_CLAIM, DailyUsage, next_utc_midnight
from hubspot_batch._redis_daily import RedisDailyBudget
from hubspot_batch._redis_keys import BudgetKeys
from hubspot_batch._redis_limiter import RedisLimiter
from hubspot_batch.sandbox import SandboxConfig, SandboxServer
from redis_helpers import RedisServer, free_port

USAGE = "/account-info/v3/api-usage/daily/private-apps"


EMAIL = {"channel": "EMAIL"}


def rows(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"subscriberIdString": f"u{n}@example.com", "subscriptionId": 7, "statusState": "SUBSCRIBED", **EMAIL}
        for n in range(first, first + count)
    ]


def used_today(server: SandboxServer) -> int:
    """The sandbox portal's usage today (the usage endpoint counts nothing itself)."""
    r = httpx.get(server.url + USAGE, headers={"Authorization": "Bearer t"})
    return int(r.json()["results"][0]["currentUsage"])


def day_hash(url: str, key: str) -> dict[str, str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return dict(client.hgetall(BudgetKeys("hubspot-batch", key).day))  # type: ignore[arg-type]
    finally:
        client.close()


def claims(url: str, key: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.zcard(BudgetKeys("hubspot-batch", key).day_claims))  # type: ignore[arg-type]
    finally:
        client.close()


async def worker(
    server: SandboxServer, redis_url: str, key: str, batch: list[dict[str, Any]], **options: Any
) -> BatchResult:
    """One worker: a client of its own, with a limiter of its own on the shared key."""
    limiter = RedisLimiter(redis_url, key=key, limit=1000, daily_claim_ttl=options.pop("claim_ttl", 120.0))
    options.setdefault("max_concurrency", 8)
    async with AsyncHubSpotBatch(
        access_token="t", base_url=server.url, rate_limit=limiter, batch_size=1, max_daily_share=0.5, **options
    ) as hs:
        return await hs.subscription_statuses.write(batch)


def assert_rest_not_sent_for_the_budget(results: Sequence[BatchResult]) -> None:
    for result in results:
        assert len(result.succeeded) + len(result.not_sent) == len(result)
        assert {o.error.category for o in result.not_sent if o.error} <= {"DAILY_BUDGET"}
        assert all(o.error is not None for o in result.not_sent)
        if result.not_sent:
            assert result.stopped_by and "daily budget" in result.stopped_by


@pytest.fixture
def portal() -> Iterator[SandboxServer]:
    """A portal of 40 requests a day, answering slowly enough that requests overlap."""
    with SandboxServer(config=SandboxConfig(rate_limit=None, daily_limit=40, latency=0.03)) as server:
        yield server


async def test_workers_of_one_key_together_stay_within_the_share(
    redis_server: RedisServer, unique_key: str, portal: SandboxServer
) -> None:
    results = await asyncio.gather(*(worker(portal, redis_server.url, unique_key, rows(100 * n, 30)) for n in range(3)))
    sent = sum(len(r.succeeded) for r in results)
    assert sent == 20 == used_today(portal)  # floor(0.5 x 40), all three workers together
    assert sum(len(r.not_sent) for r in results) == 90 - 20
    assert_rest_not_sent_for_the_budget(results)
    day = day_hash(redis_server.url, unique_key)
    assert (day["limit"], day["used"]) == ("40", "20")
    assert claims(redis_server.url, unique_key) == 0  # every claim settled


async def test_without_redis_each_worker_would_think_the_share_its_own(portal: SandboxServer) -> None:
    # the same three workers with in-process budgets: each counts only its own requests under way
    async def alone(batch: list[dict[str, Any]]) -> BatchResult:
        async with AsyncHubSpotBatch(
            access_token="t", base_url=portal.url, rate_limit=1000, batch_size=1, max_daily_share=0.5, max_concurrency=8
        ) as hs:
            return await hs.subscription_statuses.write(batch)

    results = await asyncio.gather(*(alone(rows(100 * n, 30)) for n in range(3)))
    assert sum(len(r.succeeded) for r in results) == used_today(portal) > 20


async def test_a_later_worker_sees_the_day_spent(
    redis_server: RedisServer, unique_key: str, portal: SandboxServer
) -> None:
    first = await worker(portal, redis_server.url, unique_key, rows(0, 15))
    second = await worker(portal, redis_server.url, unique_key, rows(100, 15))
    assert (len(first.succeeded), len(second.succeeded)) == (15, 5)
    assert used_today(portal) == 20
    assert_rest_not_sent_for_the_budget([first, second])


CHILD = """
import asyncio, sys, time
from hubspot_batch._redis_limiter import RedisLimiter

async def main(url, key, count):
    budget = RedisLimiter(url, key=key).daily_budget(0.5)
    for _ in range(count):
        assert (await budget.claim(time.time())) is not None
    print("claimed", flush=True)
    await asyncio.sleep(3600)  # requests under way, never answered: killed here

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_the_claims_of_a_worker_that_died_expire(
    redis_server: RedisServer, unique_key: str, portal: SandboxServer
) -> None:
    ttl = 5.0  # the living workers' daily_claim_ttl (120 s by default)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, redis_server.url, unique_key, "6"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "claimed"
        claimed_at = time.monotonic()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    assert claims(redis_server.url, unique_key) == 6
    # its six claims still count: 20 - 6 for the living, whose refusal is final once its own requests are answered
    during = await worker(portal, redis_server.url, unique_key, rows(0, 20), claim_ttl=ttl)
    assert time.monotonic() - claimed_at < ttl, "the first run must end before the claims expire"
    assert len(during.succeeded) == 14
    await asyncio.sleep(max(0.0, claimed_at + ttl + 0.2 - time.monotonic()))
    after = await worker(portal, redis_server.url, unique_key, rows(100, 20), claim_ttl=ttl)
    assert len(after.succeeded) == 6  # the dead worker's claims expired: the day's 20 are spent, no more
    assert used_today(portal) == 20
    assert claims(redis_server.url, unique_key) == 0
    assert_rest_not_sent_for_the_budget([during, after])


async def test_a_day_reset_lets_the_workers_send_again(
    redis_server: RedisServer, unique_key: str, portal: SandboxServer
) -> None:
    day1 = await asyncio.gather(*(worker(portal, redis_server.url, unique_key, rows(100 * n, 15)) for n in range(2)))
    assert sum(len(r.succeeded) for r in day1) == 20
    assert used_today(portal) == 20
    portal.app.reset_day()  # a new day for HubSpot: the usage endpoint says 0 used
    day2 = await asyncio.gather(
        *(worker(portal, redis_server.url, unique_key, rows(1000 + 100 * n, 15)) for n in range(2))
    )
    assert sum(len(r.succeeded) for r in day2) == 20 == used_today(portal)
    assert_rest_not_sent_for_the_budget([*day1, *day2])


async def test_workers_waiting_for_the_reset_go_on_together_within_each_day(
    redis_server: RedisServer, unique_key: str
) -> None:
    # the portal's day ends 3 s from now (its reset moved there): the usage endpoint says so in resetsAt
    starts_at = (time.time() + 3.0) % 86_400
    config = SandboxConfig(rate_limit=None, daily_limit=20, latency=0.02, day_starts_at=starts_at)
    with SandboxServer(config=config) as server:
        started = time.monotonic()
        results = await asyncio.gather(
            *(worker(server, redis_server.url, unique_key, rows(100 * n, 10), wait_for_reset=True) for n in range(2))
        )
        waited = time.monotonic() - started
        assert all(r.ok for r in results) and sum(len(r.succeeded) for r in results) == 20
        assert used_today(server) == 10  # the second day's share; the first day took the other 10
        assert server.state.stats().rate_limited == {}
    assert 2.0 < waited < 15.0


async def test_a_reset_the_usage_endpoint_reports_early_ends_the_shared_wait(
    redis_server: RedisServer, unique_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hubspot_batch._exchange.DAILY_POLL_INTERVAL", 0.2)
    config = SandboxConfig(rate_limit=None, daily_limit=20, day_starts_at=(time.time() + 3600) % 86_400)
    with SandboxServer(config=config) as server:

        async def reset_when_spent() -> None:
            while await asyncio.to_thread(used_today, server) < 10:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # both workers are waiting now
            server.app.reset_day()

        job = asyncio.gather(
            *(worker(server, redis_server.url, unique_key, rows(100 * n, 8), wait_for_reset=True) for n in range(2))
        )
        results, _ = await asyncio.gather(asyncio.wait_for(job, 20), reset_when_spent())
        assert all(r.ok for r in results) and used_today(server) == 6  # 10 on the first day, 6 on the second


async def test_the_usage_endpoint_is_believed_only_when_newer_than_the_answers(
    redis_server: RedisServer, unique_key: str
) -> None:
    limiter = RedisLimiter(redis_server.url, key=unique_key)
    try:
        budget = limiter.daily_budget(1.0)
        now = time.time()
        budget.adopt(DailyUsage(limit=100, used=10, resets_at=now + 3600, collected_at=now))
        claim = await budget.claim(now)
        assert claim is not None and claim.member and (budget.limit, budget.used) == (100, 10)
        await budget.settle(claim, 100, 60)  # an answer: 40 used
        assert budget.used == 40
        # a usage collected before that answer lags: usage does not go back
        budget.adopt(DailyUsage(limit=100, used=12, resets_at=now + 3600, collected_at=now - 1))
        assert await budget.claim(time.time()) is not None and budget.used == 40
        # collected after it: HubSpot's figures as they are (the day was reset)
        budget.adopt(DailyUsage(limit=100, used=3, resets_at=now + 3600, collected_at=time.time() + 1))
        assert await budget.claim(time.time()) is not None and budget.used == 3
        # the figures of a day that ended say nothing of today
        budget.adopt(DailyUsage(limit=100, used=0, resets_at=now - 10, collected_at=time.time() + 2))
        assert await budget.claim(time.time()) is not None and budget.used == 3
        assert budget.under_way == 3
    finally:
        await limiter.reset()
        await limiter.aclose()


async def test_the_shared_day_ends_at_its_reset(redis_server: RedisServer, unique_key: str) -> None:
    limiter = RedisLimiter(redis_server.url, key=unique_key)
    try:
        budget = limiter.daily_budget(0.5)
        now = time.time()
        budget.adopt(DailyUsage(limit=10, used=5, resets_at=now + 1.0))
        assert await budget.claim(now) is None  # 5 of 10 used: the half is spent
        await asyncio.sleep(1.1)
        claim = await budget.claim(time.time())  # the day ended: nothing used until HubSpot says otherwise
        assert claim is not None and budget.used == 0
        assert budget.resets_at == pytest.approx(now + 1.0 + 86_400, abs=0.01)
        await budget.settle(claim, 10, 8)
        assert budget.used == 2 and budget.under_way == 0
    finally:
        await limiter.reset()
        await limiter.aclose()


async def test_figures_from_headers_only_end_at_midnight_utc(redis_server: RedisServer, unique_key: str) -> None:
    limiter = RedisLimiter(redis_server.url, key=unique_key)
    try:
        budget = limiter.daily_budget(1.0)
        claim = await budget.claim(time.time())
        assert claim is not None and not budget.known  # nothing known yet: nothing refused
        await budget.settle(claim, 1000, 990)
        now = time.time()
        assert (budget.limit, budget.used) == (1000, 10)
        assert budget.resets_at == next_utc_midnight(now)  # HubSpot did not say when: midnight UTC
        # an answer far lower than what is known: the day was reset
        claim = await budget.claim(time.time())
        assert claim is not None
        await budget.settle(claim, 5000, 1000)  # 4,000 used
        claim = await budget.claim(time.time())
        assert claim is not None
        await budget.settle(claim, 5000, 4990)  # 10 used: 3,990 fewer, not reordering
        assert budget.used == 10
    finally:
        await limiter.reset()
        await limiter.aclose()


async def test_an_unsent_request_gives_its_claim_back(redis_server: RedisServer, unique_key: str) -> None:
    limiter = RedisLimiter(redis_server.url, key=unique_key)
    try:
        budget = limiter.daily_budget(0.5)
        budget.adopt(DailyUsage(limit=4, used=0, resets_at=time.time() + 3600))
        first, second = await budget.claim(time.time()), await budget.claim(time.time())
        assert first is not None and second is not None
        assert await budget.claim(time.time()) is None  # two under way of floor(0.5 x 4)
        await budget.unclaim(first)
        assert await budget.claim(time.time()) is not None
        await limiter.reset()
        assert claims(redis_server.url, unique_key) == 0 and day_hash(redis_server.url, unique_key) == {}
    finally:
        await limiter.aclose()


async def test_redis_away_with_fallback_keeps_the_budget_in_process(
    portal: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = RedisLimiter(url, key="k", timeout=0.2, retry_interval=60)
    caplog.set_level(logging.WARNING, logger="hubspot_batch")
    async with AsyncHubSpotBatch(
        access_token="t", base_url=portal.url, rate_limit=limiter, batch_size=1, max_daily_share=0.25
    ) as hs:
        result = await hs.subscription_statuses.write(rows(0, 20))
    assert len(result.succeeded) == 10 == used_today(portal)  # floor(0.25 x 40), counted in this process
    assert_rest_not_sent_for_the_budget([result])
    daily = [r.getMessage() for r in caplog.records if "daily budget on its own" in r.getMessage()]
    assert len(daily) == 1 and "hunter2" not in caplog.text


async def test_redis_away_with_fail_stops_before_sending(portal: SandboxServer) -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", key="k", timeout=0.2, on_unavailable="fail")
    async with AsyncHubSpotBatch(
        access_token="t", base_url=portal.url, rate_limit=limiter, batch_size=1, max_daily_share=0.25
    ) as hs:
        result = await hs.subscription_statuses.write(rows(0, 5))
    assert [o.status for o in result] == [OutcomeStatus.NOT_SENT] * 5
    assert result.stopped_by and "daily budget is unavailable" in result.stopped_by
    assert used_today(portal) == 0


async def test_a_local_claim_made_while_redis_was_away_is_settled_here() -> None:
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", key="k", timeout=0.2, retry_interval=60)
    budget = limiter.daily_budget(0.5)
    assert isinstance(budget, RedisDailyBudget)
    budget.adopt(DailyUsage(limit=4, used=0))
    claims_made = [await budget.claim(time.time()) for _ in range(3)]
    assert claims_made[:2] == [LOCAL_CLAIM, LOCAL_CLAIM] and claims_made[2] is None
    assert budget.pending == 2
    await budget.settle(LOCAL_CLAIM, 4, 3)
    await budget.unclaim(LOCAL_CLAIM)
    assert budget.pending == 0 and budget.used == 1
    await limiter.aclose()
