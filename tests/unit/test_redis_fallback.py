"""The Redis limiter's outage decisions, with explicit times (no Redis server, no clock)."""

from __future__ import annotations

import pytest
from hubspot_batch import RateLimitHeaders, Reservation
from hubspot_batch._redis_fallback import Fallback, OnUnavailable


def fallback(policy: OnUnavailable = "fallback", **kwargs: object) -> Fallback:
    settings: dict[str, object] = {
        "on_unavailable": policy,
        "fraction": 0.5,
        "retry_interval": 30.0,
        "margin": 0.0,
        "cap": None,
        "known_limit": 100,
        "known_interval": 10.0,
    }
    settings.update(kwargs)
    return Fallback(**settings)  # type: ignore[arg-type]


def test_an_outage_warns_once_then_goes_on_quietly() -> None:
    f = fallback()
    assert f.due(0.0) and not f.down
    assert f.lost(5.0, before_send=True) == "fall back"
    assert f.down and f.retry_at == 35.0
    assert f.lost(6.0, before_send=False) == "still down"
    assert f.retry_at == 36.0  # every failure pushes the next attempt back


def test_redis_is_tried_again_once_the_retry_interval_passed() -> None:
    f = fallback(retry_interval=30.0)
    f.lost(10.0, before_send=True)
    assert not f.due(39.9)
    assert f.due(40.0)


def test_when_redis_answers_again_the_local_window_is_left() -> None:
    f = fallback()
    assert not f.recovered()  # nothing to end
    f.lost(0.0, before_send=True)
    f.window()
    assert f.recovered()
    assert not f.down and f.local is None and f.due(0.0)
    assert f.lost(1.0, before_send=True) == "fall back"  # a new outage warns again


@pytest.mark.parametrize(("before_send", "step"), [(True, "raise"), (False, "warn")])
def test_the_fail_policy_raises_only_before_a_request_was_sent(before_send: bool, step: str) -> None:
    f = fallback("fail")
    assert f.lost(1.0, before_send=before_send) == step
    assert not f.down and f.due(1.0)  # never falls back: Redis is asked every time
    assert f.lost(2.0, before_send=before_send) == step


@pytest.mark.parametrize(
    ("known", "fraction", "limit"), [(190, 0.5, 95), (190, 0.25, 47), (100, 1.0, 100), (1, 0.5, 1), (3, 0.1, 1)]
)
def test_the_local_limit_is_a_share_of_the_known_one_and_at_least_one(known: int, fraction: float, limit: int) -> None:
    assert fallback(known_limit=known, fraction=fraction).limit == limit


def test_what_is_learned_sets_the_local_window() -> None:
    f = fallback(cap=150)
    f.learn_shared(40, 2.0)
    assert (f.known_limit, f.known_interval) == (40, 2.0)
    f.learn_headers(RateLimitHeaders(max=190, interval_ms=10_000))
    assert (f.known_limit, f.known_interval) == (150, 10.0)  # capped
    f.learn_headers(RateLimitHeaders(max=0, interval_ms=0))
    f.learn_headers(RateLimitHeaders())
    assert (f.known_limit, f.known_interval) == (150, 10.0)  # nothing to learn
    local = f.window()
    assert (local.window.limit, local.window.interval) == (75, 10.0)


def test_recent_redis_bookings_seed_the_local_window() -> None:
    f = fallback(known_limit=8, fraction=0.5)  # a local limit of 4 per 10 s
    for delay in (0.0, 0.0, 1.0):
        f.remember(100.0, delay)
    local = f.window()
    assert not f.recent  # used up
    assert local.window.used(101.0) == 3
    assert local.window.reserve(101.0) == 101.0  # the 4th of 4
    assert local.window.reserve(101.0) == pytest.approx(110.0)  # the 5th waits for the first to leave
    assert f.window() is local


def test_bookings_two_intervals_old_are_forgotten() -> None:
    f = fallback(known_interval=10.0)
    f.remember(0.0, 0.0)
    f.remember(5.0, 0.0)
    f.remember(20.5, 0.0)  # horizon 0.5: the first goes
    assert list(f.recent) == [5.0, 20.5]
    f.remember(21.0, -3.0)  # a slot in the past counts from now
    assert list(f.recent) == [5.0, 20.5, 21.0]


async def test_the_local_window_is_a_limiter_backend() -> None:
    f = fallback(known_limit=2, fraction=1.0)
    local = f.window()
    first = await local.reserve()
    assert type(first) is Reservation and first.delay == 0.0
