"""The Redis limiter's scripts on a real redis-server: reloaded when the server forgot them, any client decoding."""

from __future__ import annotations

import redis
import redis.asyncio
from hubspot_batch import RateLimitHeaders
from hubspot_batch._redis_limiter import RedisLimiter, RedisReservation
from redis_helpers import RedisServer


async def test_scripts_are_loaded_again_after_the_server_forgot_them(
    redis_server: RedisServer, unique_key: str
) -> None:
    lim = RedisLimiter(redis_server.url, key=unique_key, limit=10, margin=0.0)
    admin = redis.Redis.from_url(redis_server.url)
    try:
        assert isinstance(await lim.reserve(), RedisReservation)
        admin.script_flush()  # as after a restart or a failover
        second = await lim.reserve()
        assert isinstance(second, RedisReservation) and not lim.fallback_active
        await lim.observe(second, RateLimitHeaders(max=10, remaining=8, interval_ms=10_000))
        assert (await lim.usage()).used == 2
    finally:
        await lim.aclose()
        admin.close()


async def test_a_client_that_decodes_answers_reads_the_same(redis_server: RedisServer, unique_key: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    lim = RedisLimiter(client, key=unique_key, limit=10, margin=0.0)
    try:
        first = await lim.reserve()
        assert isinstance(first, RedisReservation) and first.delay == 0.0
        await lim.observe(first, RateLimitHeaders(max=5, remaining=4, interval_ms=2_000, daily=100, daily_remaining=90))
        await lim.on_rate_limited(3.0)
        usage = await lim.usage()
        assert (usage.limit, usage.interval, usage.learned_max) == (5, 2.0, 5)
        assert (usage.daily, usage.daily_remaining, usage.daily_count) == (100, 90, 1)
        assert usage.paused_until is not None and usage.paused_until > usage.now
        assert usage.used == 5  # the 429 filled the window
    finally:
        await lim.aclose()
        await client.aclose()
