"""The daily budget's day: its end, a reset seen in the headers, polls while waiting, the shared budget's parts."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot_batch import ConfigurationError
from hubspot_batch._daily import (
    DAY,
    LOCAL_CLAIM,
    NEW_DAY_DROP,
    Claim,
    DailyBudget,
    DailyUsage,
    daily_budget,
    next_reset,
    next_utc_midnight,
    parse_usage,
)
from hubspot_batch._redis_answers import DayFigures, read_daily_claim, read_daily_settle
from hubspot_batch._redis_daily import RedisDailyBudget
from hubspot_batch._redis_keys import BudgetKeys, MemberNames
from hubspot_batch._redis_limiter import RedisLimiter
from hubspot_batch._redis_scripts import DAILY_CLAIM, DAILY_SETTLE, DAILY_TTL, daily_claim_call, daily_settle_call
from hubspot_batch._redis_settings import check_settings

NOON = datetime(2026, 12, 2, 12, tzinfo=UTC).timestamp()


def test_the_day_ends_at_its_reset_and_the_next_one_a_day_later() -> None:
    budget = DailyBudget(0.5)
    budget.adopt(DailyUsage(limit=10, used=5, resets_at=NOON + 60))
    assert not budget.roll(NOON) and budget.used == 5
    assert budget.roll(NOON + 60)
    assert budget.used == 0 and budget.resets_at == NOON + 60 + DAY
    budget.used = 4
    assert budget.roll(NOON + 60 + 3.5 * DAY)  # asleep for days: the next reset after now
    assert budget.used == 0 and budget.resets_at == NOON + 60 + 4 * DAY


def test_figures_learned_from_headers_end_at_midnight_utc() -> None:
    budget = DailyBudget(0.5)
    assert not budget.roll(NOON) and budget.resets_at is None  # nothing known: nothing to end
    budget.observe(1000, 900)
    assert not budget.roll(NOON) and budget.resets_at == next_utc_midnight(NOON)
    assert budget.roll(next_utc_midnight(NOON)) and budget.used == 0


def test_an_answer_far_below_what_is_known_is_a_new_day() -> None:
    budget = DailyBudget(1.0)
    budget.learn(50_000, 30_000)  # 20,000 used
    budget.learn(50_000, 30_000 + NEW_DAY_DROP)  # out of order: not believed
    assert budget.used == 20_000
    budget.learn(50_000, 49_990)  # 10 used: the day was reset
    assert budget.used == 10
    budget.learn(None, 5)
    budget.learn(0, 5)  # no daily headers (OAuth): nothing learned
    assert (budget.limit, budget.used) == (50_000, 10)


def test_learn_counts_no_request_but_observe_does() -> None:
    budget = DailyBudget(1.0)
    assert budget.allow() and budget.allow() and budget.pending == 2
    budget.learn(100, 90)
    assert budget.pending == 2
    budget.observe(100, 90)
    assert budget.pending == 1


def test_the_usage_endpoint_is_polled_once_per_interval_by_all_waiters() -> None:
    budget = DailyBudget(0.5)
    assert budget.poll_due(100.0, 300)
    assert not budget.poll_due(100.0, 300) and not budget.poll_due(399.0, 300)
    assert budget.poll_due(400.0, 300)


async def test_the_pure_budget_behind_the_interface_the_engine_awaits() -> None:
    budget = DailyBudget(0.5)
    await budget.renew(DailyUsage(limit=4, used=1, resets_at=NOON + 10))
    first = await budget.claim(NOON)
    assert first is LOCAL_CLAIM and await budget.claim(NOON) is None  # 1 used + 1 under way of 2
    await budget.unclaim(first)
    assert budget.pending == 0
    claim = await budget.claim(NOON)
    assert claim is not None
    await budget.settle(claim, 4, 2)
    assert (budget.used, budget.pending) == (2, 0)
    assert await budget.claim(NOON + 10) is not None  # the day ended: a new one
    await budget.renew(None)
    assert budget.used == 0 and budget.resets_at is None


def test_next_reset() -> None:
    assert next_reset(NOON + 5, NOON) == NOON + 5
    assert next_reset(NOON, NOON) == NOON + DAY
    assert next_reset(NOON, NOON + 2 * DAY + 1) == NOON + 3 * DAY


def test_parse_usage_reads_when_it_was_collected() -> None:
    body = {
        "results": [
            {"usageLimit": 100, "currentUsage": 1, "collectedAt": "2026-12-02T12:00:01.000Z"},
            {"usageLimit": 100, "currentUsage": 2, "collectedAt": int((NOON + 5) * 1000)},
        ]
    }
    usage = parse_usage(body)
    assert usage is not None and usage.collected_at == NOON + 1 and usage.used == 3
    missing = parse_usage({"results": [{"usageLimit": 100, "currentUsage": 1}]})
    assert missing is not None and missing.collected_at is None


def test_the_client_shares_the_budget_when_the_limiter_is_shared() -> None:
    assert daily_budget(None, "free") is None
    local = daily_budget(0.5, "free")
    assert type(local) is DailyBudget
    limiter = RedisLimiter("redis://127.0.0.1:1/0", key="portal")  # nothing is connected yet
    shared = daily_budget(0.25, limiter)
    assert isinstance(shared, RedisDailyBudget) and shared.share == 0.25 and shared.limiter is limiter
    with pytest.raises(ConfigurationError, match="max_daily_share"):
        daily_budget(1.5, limiter)


def _highest(name: str, lua: str) -> int:
    return max(int(n) for n in re.findall(rf"\b{name}\[(\d+)\]", lua))


def test_the_daily_scripts_get_every_key_and_argument_they_read() -> None:
    keys = BudgetKeys("p", "k")
    usage = DailyUsage(limit=500, used=7, resets_at=NOON + 0.5, collected_at=NOON)
    claim = daily_claim_call(keys, share=0.3, member="i:d0", claim_ttl=120, adopt=usage)
    settle = daily_settle_call(keys, member="i:d0", daily=500, daily_remaining=None, claim_ttl=120)
    for call in (claim, settle):
        assert len(call.keys) == _highest("KEYS", call.script.lua) == 2
        assert len(call.args) == _highest("ARGV", call.script.lua)
        assert call.keys == ("p:{k}:day", "p:{k}:day:claims")
        assert "redis.call('TIME')" in call.script.lua
    assert claim.script is DAILY_CLAIM and settle.script is DAILY_SETTLE
    assert claim.args == ("0.3", "i:d0", "120.000000", DAILY_TTL, "500", "7", f"{NOON + 0.5:.6f}", f"{NOON:.6f}")
    assert daily_claim_call(keys, share=1, member="m", claim_ttl=1.5).args[4:] == ("", "", "", "")
    assert settle.args == ("i:d0", "500", "", "120.000000", DAILY_TTL, NEW_DAY_DROP)


def test_the_daily_scripts_answers_are_read_from_bytes_or_text() -> None:
    claimed = read_daily_claim([1, b"40", b"12", 3, b"1796256000.000000"])
    assert claimed == DayFigures(limit=40, used=12, under_way=3, resets_at=1796256000.0, granted=True)
    refused = read_daily_claim([0, "", "", 0, ""])
    assert refused == DayFigures(limit=None, used=None, under_way=0, resets_at=None, granted=False)
    assert read_daily_settle([b"40", b"13", 2, b""]) == DayFigures(40, 13, 2, None)


def test_claims_and_day_keys_are_named_per_budget() -> None:
    keys = BudgetKeys("hubspot-batch", "portal-1")
    assert keys.day == "hubspot-batch:{portal-1}:day" and keys.day_claims == "hubspot-batch:{portal-1}:day:claims"
    names = MemberNames("abc")
    assert names.daily_claim() == "abc:d0" and names.booking() == "abc:1" and names.daily_claim() == "abc:d2"


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), True, "120"])
def test_the_claim_ttl_must_be_a_positive_number_of_seconds(ttl: Any) -> None:
    settings = {
        "key": "k", "limit": 10, "cap": None, "interval": 10, "margin": 0, "on_unavailable": "fallback",
        "fallback_fraction": 0.5, "timeout": 1, "retry_interval": 30, "prefix": "p",
    }  # fmt: skip
    assert check_settings(**settings).daily_claim_ttl == 120.0
    assert check_settings(**settings, daily_claim_ttl=2).daily_claim_ttl == 2.0
    with pytest.raises(ConfigurationError, match="daily_claim_ttl"):
        check_settings(**settings, daily_claim_ttl=ttl)


class FakeLimiter:
    """What RedisDailyBudget asks of its limiter, answering from a script of answers (None: Redis away)."""

    url = "redis://:***@redis:6379/0"

    def __init__(self, answers: list[DayFigures | None]) -> None:
        self.answers = answers
        self.adopted: list[DailyUsage | None] = []
        self.settled: list[tuple[str, int | None, int | None]] = []
        self.unclaimed: list[str] = []

    async def claim_daily(self, share: float, adopt: DailyUsage | None) -> tuple[str, DayFigures] | None:
        self.adopted.append(adopt)
        answer = self.answers.pop(0)
        return None if answer is None else (f"m{len(self.adopted)}", answer)

    async def settle_daily(self, member: str, daily: int | None, daily_remaining: int | None) -> DayFigures | None:
        self.settled.append((member, daily, daily_remaining))
        return DayFigures(limit=daily, used=(daily or 0) - (daily_remaining or 0), under_way=0, resets_at=None)

    async def unclaim_daily(self, member: str) -> None:
        self.unclaimed.append(member)


async def test_the_shared_budget_mirrors_redis_and_falls_back_to_itself(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hubspot_batch")
    shared = DayFigures(limit=10, used=3, under_way=2, resets_at=NOON, granted=True)
    fake = FakeLimiter([shared, None, None, DayFigures(10, 5, 0, NOON, granted=False)])
    budget = RedisDailyBudget(0.5, limiter=fake)  # type: ignore[arg-type]
    usage = DailyUsage(limit=10, used=3)
    budget.adopt(usage)
    first = await budget.claim(NOON - 100)
    assert first == Claim("m1") and fake.adopted == [usage]
    assert (budget.limit, budget.used, budget.under_way, budget.resets_at) == (10, 3, 2, NOON)
    # Redis away: this worker decides alone, from the last shared figures, and says so once
    assert await budget.claim(NOON - 100) is LOCAL_CLAIM
    assert await budget.claim(NOON - 100) is LOCAL_CLAIM
    assert budget.pending == 2 and fake.adopted[1:] == [None, None]  # the adoption went with the first claim
    away = [r for r in caplog.records if "keeps the daily budget on its own" in r.getMessage()]
    assert len(away) == 1 and away[0].levelno == logging.WARNING
    # back: the shared figures again (and a claim refused there is refused)
    assert await budget.claim(NOON - 100) is None
    assert budget.used == 5 and "the daily budget is shared" in caplog.text
    # local claims are settled here; shared ones in Redis
    await budget.settle(LOCAL_CLAIM, 10, 4)
    await budget.unclaim(LOCAL_CLAIM)
    assert budget.pending == 0 and fake.settled == []
    await budget.settle(first, 10, 3)
    await budget.unclaim(Claim("m9"))
    assert fake.settled == [("m1", 10, 3)] and fake.unclaimed == ["m9"] and budget.used == 7
