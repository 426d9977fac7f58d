"""Key and member names of the Redis limiter (no Redis server)."""

from __future__ import annotations

from hubspot_batch._redis_keys import BudgetKeys, MemberNames, utc_day


def test_every_key_of_a_budget_is_in_one_cluster_hash_slot() -> None:
    keys = BudgetKeys("hubspot-batch", "portal-42")
    assert keys.window == "hubspot-batch:{portal-42}:window"
    assert keys.conf == "hubspot-batch:{portal-42}:conf"
    assert keys.daily("20250102") == "hubspot-batch:{portal-42}:daily:20250102"
    assert keys.all_for("20250102") == (keys.window, keys.conf, keys.daily("20250102"))
    assert all("{portal-42}" in k for k in keys.all_for("20250102"))


def test_budgets_with_another_key_or_prefix_share_nothing() -> None:
    a = BudgetKeys("hubspot-batch", "a").all_for("20250102")
    b = BudgetKeys("hubspot-batch", "b").all_for("20250102")
    c = BudgetKeys("staging", "a").all_for("20250102")
    assert not set(a) & set(b) and not set(a) & set(c)


def test_utc_day_is_the_utc_date() -> None:
    assert utc_day(0.0) == "19700101"
    assert utc_day(86_400 * 365 - 1) == "19701231"
    assert len(utc_day()) == 8


def test_members_share_one_counter_and_name_their_kind() -> None:
    names = MemberNames("abc")
    assert [names.booking(), names.foreign_fill(), names.rate_limit_fill(), names.booking()] == [
        "abc:0",
        "abc:o1:",
        "abc:r2:",
        "abc:3",
    ]


def test_two_limiters_never_name_a_booking_alike() -> None:
    a, b = MemberNames(), MemberNames()
    assert a.instance != b.instance and len(a.instance) == 12
    assert {a.booking() for _ in range(100)}.isdisjoint({b.booking() for _ in range(100)})
