"""Reading what the Redis limiter's scripts answer (no Redis server)."""

from __future__ import annotations

import pytest
from hubspot_batch import RedisUsage, Reservation
from hubspot_batch._redis_answers import BookedSlot, RedisReservation, read_booked_slot, read_usage


@pytest.mark.parametrize(
    "answer",
    [
        [b"105.250000", b"100.000000", b"190", b"10.000000", 7],
        ["105.250000", "100.000000", "190", "10.000000", 7],  # a client with decode_responses=True
    ],
)
def test_a_booked_slot_reads_bytes_or_text(answer: list[object]) -> None:
    booked = read_booked_slot(answer)
    assert booked == BookedSlot(slot=105.25, now=100.0, limit=190, interval=10.0)
    assert booked.delay == pytest.approx(5.25)


def test_a_slot_in_the_past_means_no_wait() -> None:
    assert BookedSlot(slot=99.0, now=100.0, limit=1, interval=1.0).delay == 0.0


def test_a_redis_reservation_is_a_reservation_with_its_member() -> None:
    r = RedisReservation(delay=0.0, slot=1.0, member="abc:0")
    assert isinstance(r, Reservation) and r.member == "abc:0"


def usage_answer(conf: dict[str, str], *, encode: bool = True) -> list[object]:
    flat: list[object] = []
    for k, v in conf.items():
        flat += [k.encode(), v.encode()] if encode else [k, v]
    return [b"100.500000" if encode else "100.500000", 3, 2, flat, 42]


def test_usage_before_anything_was_learned() -> None:
    usage = read_usage(usage_answer({}), start_limit=100, cap=None, default_interval=10.0)
    assert usage == RedisUsage(
        now=100.5,
        used=3,
        ahead=2,
        limit=100,
        interval=10.0,
        learned_max=None,
        daily_count=42,
        daily=None,
        daily_remaining=None,
        paused_until=None,
    )


@pytest.mark.parametrize("encode", [True, False])
def test_usage_reads_what_was_learned(encode: bool) -> None:
    conf = {
        "max": "190",
        "interval": "2.000000",
        "paused_until": "130.000000",
        "daily": "500000",
        "daily_remaining": "499000",
        "daily_seen_at": "100.000000",
    }
    usage = read_usage(usage_answer(conf, encode=encode), start_limit=100, cap=None, default_interval=10.0)
    assert (usage.limit, usage.learned_max, usage.interval) == (190, 190, 2.0)
    assert (usage.daily, usage.daily_remaining, usage.paused_until) == (500_000, 499_000, 130.0)


def test_the_cap_bounds_the_limit_learned_or_not() -> None:
    learned = read_usage(usage_answer({"max": "190"}), start_limit=100, cap=50, default_interval=10.0)
    assert (learned.limit, learned.learned_max) == (50, 190)
    unlearned = read_usage(usage_answer({}), start_limit=100, cap=50, default_interval=10.0)
    assert unlearned.limit == 50
    below = read_usage(usage_answer({"max": "20"}), start_limit=100, cap=50, default_interval=10.0)
    assert below.limit == 20


def test_unreadable_numbers_in_the_conf_hash_are_none() -> None:
    usage = read_usage(usage_answer({"daily": "lots", "max": "1e2"}), start_limit=5, cap=None, default_interval=1.0)
    assert usage.daily is None
    assert usage.learned_max == 100 and usage.limit == 100
