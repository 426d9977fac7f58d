"""The Redis limiter's scripts against a real redis-server: sharing, learning, outages."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
from hubspot_batch import HubSpotBatch, HubSpotBatchError, RateLimitHeaders, Reservation
from hubspot_batch._redis_limiter import RedisLimiter, RedisReservation, RedisUnavailableError, redact_url
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport
from redis_helpers import RedisServer, free_port


def assert_windows_within(slots: list[float], limit: int, interval: float) -> None:
    slots = sorted(slots)
    for i, t in enumerate(slots):
        in_window = sum(1 for s in slots[: i + 1] if t - interval < s <= t)
        assert in_window <= limit, f"{in_window} sends in the window ending at {t}"


@pytest.fixture
def closed_port() -> int:
    return free_port()  # nothing listens there: connection refused


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Redis)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


async def test_window_never_exceeds_the_limit_across_concurrent_reservers(
    redis_server: RedisServer, unique_key: str
) -> None:
    # four async workers and two blocking-client workers reserve at once
    limiters = [RedisLimiter(redis_server.url, key=unique_key, limit=10, interval=1.0, margin=0.0) for _ in range(4)]
    sync_clients = [redis.Redis.from_url(redis_server.url) for _ in range(2)]
    limiters += [RedisLimiter(c, key=unique_key, limit=10, interval=1.0, margin=0.0) for c in sync_clients]
    try:
        results = await asyncio.gather(*(lim.reserve() for lim in limiters for _ in range(25)))
        assert all(isinstance(r, RedisReservation) for r in results)
        slots = [r.slot for r in results]
        assert len({r.member for r in results if isinstance(r, RedisReservation)}) == 150
        assert_windows_within(slots, limit=10, interval=1.0)
        # 150 sends at 10 per second: the last one waits about 14 s
        assert max(r.delay for r in results) == pytest.approx(14.0, abs=0.5)
        usage = await limiters[0].usage()
        assert usage.daily_count == 150
        assert usage.used + usage.ahead == 150
    finally:
        for lim in limiters:
            await lim.aclose()
        for c in sync_clients:
            c.close()


async def test_what_one_worker_learns_every_worker_uses(redis_server: RedisServer, unique_key: str) -> None:
    a = RedisLimiter(redis_server.url, key=unique_key, limit="api-limit-increase")
    b = RedisLimiter(redis_server.url, key=unique_key, limit="api-limit-increase", margin=0.0)
    try:
        first = await a.reserve()
        await a.observe(first, RateLimitHeaders(max=5, remaining=4, interval_ms=2_000, daily=1000, daily_remaining=990))
        usage = await b.usage()
        assert (usage.limit, usage.interval, usage.learned_max) == (5, 2.0, 5)
        assert (usage.daily, usage.daily_remaining) == (1000, 990)
        delays = [(await b.reserve()).delay for _ in range(5)]
        assert delays[:4] == [0.0] * 4
        assert delays[4] == pytest.approx(2.0, abs=0.05)  # the 6th send waits for the window: learned 5 per 2 s
    finally:
        await a.aclose()
        await b.aclose()


async def test_cap_is_per_worker_and_never_exceeded(redis_server: RedisServer, unique_key: str) -> None:
    capped = RedisLimiter(redis_server.url, key=unique_key, limit=100, cap=3, margin=0.0)
    other = RedisLimiter(redis_server.url, key=unique_key, limit=100)
    try:
        r = await other.reserve()
        await other.observe(r, RateLimitHeaders(max=190, remaining=189, interval_ms=10_000))
        assert (await capped.usage()).limit == 3
        assert (await other.usage()).limit == 190
        delays = [(await capped.reserve()).delay for _ in range(3)]
        assert delays[:2] == [0.0, 0.0] and delays[2] > 9.0  # one of the 3 was the other worker's
    finally:
        await capped.aclose()
        await other.aclose()


async def test_remaining_lower_than_all_workers_explain_books_foreign_usage(
    redis_server: RedisServer, unique_key: str
) -> None:
    a = RedisLimiter(redis_server.url, key=unique_key, limit=10, margin=0.0)
    b = RedisLimiter(redis_server.url, key=unique_key, limit=10, margin=0.0)
    try:
        sent = [await a.reserve(), await b.reserve(), await b.reserve()]
        # Three of ours went out; HubSpot says 4 remain of 10: someone else used 3.
        await a.observe(sent[0], RateLimitHeaders(max=10, remaining=4, interval_ms=10_000))
        assert (await a.usage()).used == 6
        # reordered answers are not foreign usage: a later answer with more remaining books nothing
        await b.observe(sent[1], RateLimitHeaders(max=10, remaining=8, interval_ms=10_000))
        assert (await b.usage()).used == 6
        delays = [(await b.reserve()).delay for _ in range(5)]
        assert delays[:4] == [0.0] * 4 and delays[4] > 9.0
    finally:
        await a.aclose()
        await b.aclose()


async def test_absurd_headers_are_not_believed(redis_server: RedisServer, unique_key: str) -> None:
    lim = RedisLimiter(redis_server.url, key=unique_key, limit=10)
    try:
        r = await lim.reserve()
        await lim.observe(r, RateLimitHeaders(max=2_147_483_647, remaining=0, interval_ms=10_000))
        await lim.observe(r, RateLimitHeaders(max=10, remaining=5, interval_ms=1))
        usage = await lim.usage()
        assert usage.learned_max == 10 and usage.interval == 10.0
        assert usage.used <= 10
    finally:
        await lim.aclose()


async def test_a_429_pauses_every_worker_and_retry_after_is_shared(redis_server: RedisServer, unique_key: str) -> None:
    a = RedisLimiter(redis_server.url, key=unique_key, limit=50, interval=2.0, margin=0.0)
    b = RedisLimiter(redis_server.url, key=unique_key, limit=50, interval=2.0, margin=0.0)
    try:
        await a.reserve()
        await a.on_rate_limited(None)
        usage = await b.usage()
        assert usage.used == 50
        assert (await b.reserve()).delay == pytest.approx(2.0, abs=0.05)
        await b.reset()
        await a.on_rate_limited(5.0)
        assert (await b.usage()).paused_until is not None
        assert (await b.reserve()).delay == pytest.approx(5.0, abs=0.05)
    finally:
        await a.aclose()
        await b.aclose()


async def test_confirm_moves_a_booking_to_when_it_left(redis_server: RedisServer, unique_key: str) -> None:
    lim = RedisLimiter(redis_server.url, key=unique_key, limit=1, interval=2.0, margin=0.0)
    try:
        first = await lim.reserve()
        await lim.confirm(first, 0.5)
        assert (await lim.reserve()).delay == pytest.approx(2.5, abs=0.05)
    finally:
        await lim.aclose()


async def test_a_late_send_waits_at_departure_for_the_send_booked_after_it(
    redis_server: RedisServer, unique_key: str
) -> None:
    # One send per second. `late` was booked first, `on_time` a second after it;
    # `late`'s worker was busy and departs after `on_time` left: sending then
    # would put two sends in one second, so it waits until `on_time` leaves the window.
    lim = RedisLimiter(redis_server.url, key=unique_key, limit=1, interval=1.0, margin=0.0)
    try:
        late = await lim.reserve()
        on_time = await lim.reserve()
        assert on_time.delay == pytest.approx(1.0, abs=0.05)
        await asyncio.sleep(on_time.delay)
        gone = await lim.depart(on_time)
        assert gone.delay == 0.0 and gone.slot == pytest.approx(on_time.slot, abs=0.05)
        await asyncio.sleep(0.2)
        held = await lim.depart(late)
        assert held.delay == pytest.approx(0.8, abs=0.1)
        assert held.slot == pytest.approx(gone.slot + 1.0, abs=0.01)
        await asyncio.sleep(held.delay)
        assert (await lim.depart(held)).delay == 0.0
        # the next booking comes after the late send's new place
        assert (await lim.reserve()).slot == pytest.approx(held.slot + 1.0, abs=0.05)
    finally:
        await lim.aclose()


async def test_departure_keeps_the_shared_window_when_workers_are_late(
    redis_server: RedisServer, unique_key: str
) -> None:
    # Three workers book 30 sends at 10 per second; every send departs up to
    # 0.3 s after its slot (busy workers). The departure times, where the sends
    # really leave, never put more than 10 in any second.
    limiters = [RedisLimiter(redis_server.url, key=unique_key, limit=10, interval=1.0, margin=0.0) for _ in range(3)]
    lateness = [0.0, 0.3, 0.1, 0.25, 0.05]

    async def send(lim: RedisLimiter, n: int) -> float:
        booked = await lim.reserve()
        await asyncio.sleep(booked.delay + lateness[n % len(lateness)])
        while True:
            booked = await lim.depart(booked)
            if booked.delay <= 0:
                return booked.slot
            await asyncio.sleep(booked.delay)

    try:
        departures = await asyncio.gather(*(send(lim, n) for n in range(10) for lim in limiters))
        assert_windows_within(list(departures), limit=10, interval=1.0)
    finally:
        for lim in limiters:
            await lim.aclose()


async def test_an_async_client_can_be_given(redis_server: RedisServer, unique_key: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    lim = RedisLimiter(client, key=unique_key)
    try:
        assert isinstance(await lim.reserve(), RedisReservation)
        assert lim.url == f"redis://127.0.0.1:{redis_server.port}/0"
        await lim.aclose()
        assert await client.ping()  # a given client stays open
    finally:
        await client.aclose()


def test_blocking_client_runs_a_job_through_redis(redis_server: RedisServer, unique_key: str) -> None:
    lim = RedisLimiter(redis_server.url, key=unique_key, limit="professional")
    transport = SandboxTransport(SandboxApp(SandboxConfig(rate_limit=190)), sleep=lambda s: None)
    rows = [{"id": str(i), "properties": {"hs_communication_body": "x"}} for i in range(1, 501)]
    with HubSpotBatch(access_token="t", transport=transport, rate_limit=lim, batch_size=50) as hs:
        result = hs.communications.update(rows)
    assert len(result.succeeded) == 500
    usage = lim.usage_blocking()
    assert usage.daily_count == 10 and usage.learned_max == 190
    lim.reset_blocking()
    assert lim.usage_blocking().daily_count == 0


def test_an_answered_send_costs_no_confirm_round_trip(
    redis_server: RedisServer, unique_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hubspot_batch.sandbox import SandboxServer

    lim = RedisLimiter(redis_server.url, key=unique_key, limit="professional")
    trips: list[str] = []
    connection = lim._connection
    run_script, confirm = connection.run_script, lim.confirm

    async def counted_script(call):  # type: ignore[no-untyped-def]
        trips.append(call.script.name)
        return await run_script(call)

    async def counted_confirm(reservation, late):  # type: ignore[no-untyped-def]
        trips.append("confirm")
        await confirm(reservation, late)

    monkeypatch.setattr(connection, "run_script", counted_script)
    monkeypatch.setattr(lim, "confirm", counted_confirm)
    rows = [{"id": str(i), "properties": {"hs_communication_body": "x"}} for i in range(1, 401)]
    with (
        SandboxServer(config=SandboxConfig(rate_limit=1000)) as server,
        HubSpotBatch(access_token="t", base_url=server.url, rate_limit=lim, batch_size=10) as hs,
    ):
        hs.communications.update(rows[:200])  # the scripts loaded, the connection pool grown
        trips.clear()
        result = hs.communications.update(rows[200:])
    assert len(result.succeeded) == 200 and result.stats.requests == 20
    assert trips.count("reserve") == 20 and trips.count("observe") == 20
    assert "confirm" not in trips  # an answered send is not confirmed before observe books it at the answer


# ---------------------------------------------------------------- Redis away


async def test_fallback_when_unreachable_warns_once_and_never_hangs(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{closed_port}/0"
    lim = RedisLimiter(url, key="k", limit=190, fallback_fraction=0.25, margin=0.0, retry_interval=60)
    caplog.set_level(logging.INFO, logger="hubspot_batch")
    started = time.monotonic()
    results = [await lim.reserve() for _ in range(60)]
    assert time.monotonic() - started < 2.0
    assert lim.fallback_active
    assert all(type(r) is Reservation for r in results)
    # a local window at 190 * 0.25 = 47 per 10 s
    assert [r.delay for r in results[:47]] == [0.0] * 47 and results[47].delay > 9.0
    for r in results:
        await lim.observe(r, RateLimitHeaders(max=190, remaining=100, interval_ms=10_000))
    await lim.on_rate_limited(None)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "falling back" in message and f"127.0.0.1:{closed_port}" in message
    assert "s3cret-pass" not in caplog.text and "***" in message
    await lim.aclose()


async def test_fail_policy_raises_a_clear_error_without_the_password(closed_port: int) -> None:
    url = f"redis://worker:s3cret-pass@127.0.0.1:{closed_port}/0"
    lim = RedisLimiter(url, key="k", on_unavailable="fail")
    started = time.monotonic()
    with pytest.raises(RedisUnavailableError) as caught:
        await lim.reserve()
    assert time.monotonic() - started < 2.0
    assert isinstance(caught.value, HubSpotBatchError)
    text = str(caught.value)
    assert "s3cret-pass" not in text and "s3cret-pass" not in repr(lim)
    assert f"redis://worker:***@127.0.0.1:{closed_port}/0" in text and "on_unavailable='fail'" in text
    assert caught.value.url == f"redis://worker:***@127.0.0.1:{closed_port}/0"
    # calls after a request was sent never raise
    await lim.observe(Reservation(0.0, 0.0), RateLimitHeaders(max=10, remaining=5))
    await lim.on_rate_limited(None)
    await lim.aclose()


@pytest.mark.parametrize("policy", ["fallback", "fail"])
async def test_a_hung_redis_times_out(silent_port: int, policy: str) -> None:
    lim = RedisLimiter(f"redis://127.0.0.1:{silent_port}/0", key="k", timeout=0.3, on_unavailable=policy)  # type: ignore[arg-type]
    started = time.monotonic()
    if policy == "fail":
        with pytest.raises(RedisUnavailableError):
            await lim.reserve()
    else:
        assert type(await lim.reserve()) is Reservation
    assert time.monotonic() - started < 1.5
    await lim.aclose()


async def test_fallback_returns_to_redis_when_it_is_back(
    redis_binary: str, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    lim = RedisLimiter(f"redis://127.0.0.1:{port}/0", key="k", retry_interval=0.0)
    caplog.set_level(logging.INFO, logger="hubspot_batch")
    assert type(await lim.reserve()) is Reservation
    server = RedisServer(redis_binary, port, str(tmp_path))
    server.start()
    try:
        assert isinstance(await lim.reserve(), RedisReservation)
        assert not lim.fallback_active
        assert any("reachable again" in r.getMessage() for r in caplog.records)
        server.kill()
        assert type(await lim.reserve()) is Reservation
        assert sum("falling back" in r.getMessage() for r in caplog.records) == 2  # once per outage
    finally:
        server.stop()
        await lim.aclose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("rediss://pw@host/1", "rediss://***@host/1"),
        ("redis://host:6379/0?password=pw&db=2", "redis://host:6379/0?password=***&db=2"),
        ("unix:///run/redis.sock?password=pw", "unix:///run/redis.sock?password=***"),
        ("redis://host:6379", "redis://host:6379"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_bad_arguments_are_configuration_errors() -> None:
    from hubspot_batch import ConfigurationError

    for kwargs in ({"limit": "gold"}, {"limit": 0}, {"cap": 0}, {"on_unavailable": "ignore"}, {"fallback_fraction": 0}):
        with pytest.raises(ConfigurationError):
            RedisLimiter("redis://localhost", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"\*\*\*"):
        RedisLimiter("http://:pw@localhost")
