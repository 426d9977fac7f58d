"""What the scripts answer, read into values: a booked slot, a snapshot of the shared budget.

Redis answers with bytes or strings (depending on the client's
``decode_responses``) and integers; these functions accept both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ._limiter import Reservation

__all__ = [
    "BookedSlot",
    "DayFigures",
    "RedisReservation",
    "RedisUsage",
    "read_booked_slot",
    "read_daily_claim",
    "read_daily_settle",
    "read_usage",
]


@attrs.frozen(slots=True)
class RedisReservation(Reservation):
    """A send booked in Redis: ``slot`` is on the Redis server's clock, ``member`` names the booking."""

    member: str = ""


@attrs.frozen(slots=True)
class RedisUsage:
    """A snapshot of a shared budget (see :meth:`RedisLimiter.usage`).

    ``used``: bookings in the window ending now (all workers, plus foreign
    usage and 429 fills); ``ahead``: bookings for later sends; ``limit`` /
    ``interval``: what the workers use now (learned ``max`` capped by this
    limiter's ``cap``); ``learned_max``: the last ``X-HubSpot-RateLimit-Max``
    seen (None before the first answer); ``daily_count``: reservations made
    today (UTC); ``daily`` / ``daily_remaining``: the last daily headers seen;
    ``paused_until``: the end of a ``Retry-After`` pause (server clock);
    ``now``: the server's clock.
    """

    now: float
    used: int
    ahead: int
    limit: int
    interval: float
    learned_max: int | None
    daily_count: int
    daily: int | None
    daily_remaining: int | None
    paused_until: float | None


@attrs.frozen(slots=True)
class BookedSlot:
    """The reserve script's answer: the booked ``slot``, the server's ``now``, the limit and interval in force."""

    slot: float
    now: float
    limit: int
    interval: float

    @property
    def delay(self) -> float:
        """Seconds to wait before the send (never negative)."""
        return max(self.slot - self.now, 0.0)


@attrs.frozen(slots=True)
class DayFigures:
    """The shared day as a daily-budget script left it.

    ``limit`` / ``used``: the portal's daily limit and usage (None: not known
    yet); ``under_way``: requests claimed by every worker and not settled;
    ``resets_at``: when the day ends (epoch seconds, None: not known);
    ``granted``: whether the claim was made (a claim script; True otherwise).
    """

    limit: int | None
    used: int | None
    under_way: int
    resets_at: float | None
    granted: bool = True


def read_daily_claim(answer: Sequence[Any]) -> DayFigures:
    """Read the daily claim script's ``[granted, limit, used, under way, resets at]``."""
    return DayFigures(
        limit=_int_or_none(_text_or_none(answer[1])),
        used=_int_or_none(_text_or_none(answer[2])),
        under_way=int(answer[3]),
        resets_at=_float_or_none(_text_or_none(answer[4])),
        granted=int(answer[0]) == 1,
    )


def read_daily_settle(answer: Sequence[Any]) -> DayFigures:
    """Read the daily settle script's ``[limit, used, under way, resets at]``."""
    return DayFigures(
        limit=_int_or_none(_text_or_none(answer[0])),
        used=_int_or_none(_text_or_none(answer[1])),
        under_way=int(answer[2]),
        resets_at=_float_or_none(_text_or_none(answer[3])),
    )


def read_booked_slot(answer: Sequence[Any]) -> BookedSlot:
    """Read the reserve script's ``[slot, now, limit, interval, daily]``."""
    return BookedSlot(slot=float(answer[0]), now=float(answer[1]), limit=int(answer[2]), interval=float(answer[3]))


def read_usage(answer: Sequence[Any], *, start_limit: int, cap: int | None, default_interval: float) -> RedisUsage:
    """Read the usage script's ``[now, used, ahead, conf hash (flat), daily count]``.

    Before anything was learned, ``limit`` is ``start_limit`` and ``interval``
    is ``default_interval``; ``cap`` bounds the limit either way.
    """
    flat = [_text(x) for x in answer[3]]
    conf = dict(zip(flat[::2], flat[1::2], strict=True))
    learned = _int_or_none(conf.get("max"))
    limit = learned if learned is not None else start_limit
    if cap is not None:
        limit = min(limit, cap)
    return RedisUsage(
        now=float(_text(answer[0])),
        used=int(answer[1]),
        ahead=int(answer[2]),
        limit=limit,
        interval=float(conf.get("interval", default_interval)),
        learned_max=learned,
        daily_count=int(answer[4]),
        daily=_int_or_none(conf.get("daily")),
        daily_remaining=_int_or_none(conf.get("daily_remaining")),
        paused_until=float(conf["paused_until"]) if "paused_until" in conf else None,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _text_or_none(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _float_or_none(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
