"""The daily budget's decisions, table-style."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hubspot_batch import ConfigurationError
from hubspot_batch._daily import DailyBudget, DailyUsage, next_utc_midnight, parse_usage


def test_unknown_limit_refuses_nothing() -> None:
    budget = DailyBudget(0.5)
    assert all(budget.allow() for _ in range(1000))
    assert budget.remaining() is None and not budget.known


def test_share_of_the_limit_counts_requests_under_way() -> None:
    budget = DailyBudget(0.5)
    budget.allow()
    budget.observe(1000, 600)  # 400 used of 1,000; we may go to 500
    assert budget.remaining() == 100
    allowed = sum(budget.allow() for _ in range(150))
    assert allowed == 100  # 100 in flight now: the 101st is refused before any answer
    for _ in range(100):
        budget.observe(1000, 500)
    assert budget.remaining() == 0 and not budget.allow()


def test_usage_never_goes_back_within_a_day_and_others_count() -> None:
    budget = DailyBudget(1.0)
    budget.allow()
    budget.observe(100, 10)  # someone else used 89
    assert budget.remaining() == 10
    budget.allow()
    budget.observe(100, 50)  # an out-of-order answer: usage does not go back
    assert budget.used == 90
    budget.reset()
    assert budget.used == 0 and budget.remaining() == 100


def test_release_gives_back_a_request_that_was_not_sent() -> None:
    budget = DailyBudget(0.01)
    budget.adopt(DailyUsage(limit=1000, used=5))
    assert budget.allow() and budget.allow() and budget.allow() and budget.allow() and budget.allow()
    assert not budget.allow()
    budget.release()
    assert budget.allow()


@pytest.mark.parametrize("share", [0, -0.1, 1.5, float("nan")])
def test_share_must_be_within_zero_and_one(share: float) -> None:
    with pytest.raises(ConfigurationError, match="max_daily_share"):
        DailyBudget(share)


RESET_MS = int(datetime(2026, 12, 3, 5, tzinfo=UTC).timestamp() * 1000)


def test_parse_usage_adds_private_apps_and_reads_reset_times() -> None:
    body = {
        "results": [
            {"name": "a", "usageLimit": 500000, "currentUsage": 1200, "resetsAt": "2026-12-03T05:00:00Z"},
            {"name": "b", "usageLimit": 500000, "currentUsage": 300, "resetsAt": RESET_MS},
        ]
    }
    usage = parse_usage(body)
    assert usage is not None and usage.limit == 500000 and usage.used == 1500
    assert usage.resets_at == datetime(2026, 12, 3, 5, tzinfo=UTC).timestamp()
    assert parse_usage({"results": []}) is None and parse_usage("nope") is None


def test_next_utc_midnight() -> None:
    now = datetime(2026, 12, 2, 23, 59, tzinfo=UTC).timestamp()
    assert next_utc_midnight(now) == datetime(2026, 12, 3, tzinfo=UTC).timestamp()
