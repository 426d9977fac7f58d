"""The rolling-window limiter, with explicit times (no clock, no sleeping)."""

from __future__ import annotations

import pytest
from hubspot_batch import RateLimitHeaders, RollingWindow


def test_first_window_goes_at_once_then_waits_for_the_oldest_send() -> None:
    window = RollingWindow(3, interval=10.0, margin=0.1)
    assert [window.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.reserve(1.0) == pytest.approx(10.1)
    assert window.reserve(1.0) == pytest.approx(10.1)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    window = RollingWindow(5, interval=1.0, margin=0.01)
    times = [window.reserve(now / 10) for now in range(100)]
    for t in times:
        in_window = [s for s in times if t - 1.0 < s <= t]
        assert len(in_window) <= 5


def test_learns_max_and_interval_from_headers() -> None:
    window = RollingWindow(100)
    window.observe(RateLimitHeaders(max=190, remaining=189, interval_ms=10_000), sent_at=0.0, now=0.3)
    assert window.limit == 190 and window.interval == 10.0
    capped = RollingWindow(50, cap=50)
    capped.observe(RateLimitHeaders(max=190, remaining=189, interval_ms=10_000), sent_at=0.0, now=0.3)
    assert capped.limit == 50


def test_remaining_lower_than_ours_books_foreign_usage() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    sent = window.reserve(0.0)
    # Someone else used 5 of the 10: after our one request HubSpot says 4 remain.
    window.observe(RateLimitHeaders(max=10, remaining=4, interval_ms=10_000), sent_at=sent, now=0.2)
    assert window.used(0.2) == 6
    assert [window.reserve(1.0) for _ in range(4)] == [1.0] * 4
    assert window.reserve(1.0) == pytest.approx(10.0)


def test_reordered_answers_are_not_taken_for_foreign_usage() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    sends = [window.reserve(0.0) for _ in range(4)]
    # The first request reached HubSpot last: its answer says 6 remain.
    window.observe(RateLimitHeaders(max=10, remaining=6, interval_ms=10_000), sent_at=sends[0], now=0.3)
    assert window.used(0.3) == 4


def test_429_fills_the_window_and_honours_retry_after() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    window.reserve(0.0)
    window.on_rate_limited(now=1.0, retry_after=None)
    assert window.reserve(1.0) == pytest.approx(10.0)
    paused = RollingWindow(10, interval=10.0)
    paused.on_rate_limited(now=0.0, retry_after=3.0)
    assert paused.reserve(0.0) >= 3.0


def test_confirm_moves_a_send_to_when_it_really_left() -> None:
    window = RollingWindow(1, interval=10.0, margin=0.0)
    booked = window.reserve(0.0)
    window.confirm(booked, 0.5)
    assert window.reserve(0.6) == pytest.approx(10.5)


def test_headers_parse_case_insensitively_and_ignore_garbage() -> None:
    parsed = RateLimitHeaders.parse(
        {"x-hubspot-ratelimit-max": "190", "x-hubspot-ratelimit-remaining": "oops", "x-hubspot-ratelimit-daily": "1000"}
    )
    assert parsed == RateLimitHeaders(max=190, remaining=None, interval_ms=None, daily=1000)


def test_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        RollingWindow(0)
