"""Client-side rate limiting: HubSpot's rolling window, learned from its headers.

HubSpot counts requests per app in a rolling window (10 s) and answers 429
past the limit. :class:`RollingWindow` keeps the times of our recent sends and
hands out send times so that no window ever holds more than the limit. It
starts from a tier default and learns the real budget from every response's
``X-HubSpot-RateLimit-Max``, ``-Interval-Milliseconds`` and ``-Remaining``: a
``Remaining`` lower than we expect means someone else uses the same budget,
and the window is filled up to match. A 429 fills the window (and honours
``Retry-After``) so that every sender pauses until a slot frees, and widens
the safety margin between a send and the one it replaces (see
:class:`RollingWindow`): arrival times at HubSpot wobble by tens of
milliseconds, so sends are not booked to the millisecond.

:class:`RollingWindow` is a pure function of the times passed in: no clock,
no sleeping. :class:`LocalLimiter` puts it behind the :class:`LimiterBackend`
interface on the event loop's clock; the engine asks it when it may send and
sleeps itself.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal, Protocol

import attrs

__all__ = [
    "TIERS",
    "LimiterBackend",
    "LocalLimiter",
    "RateLimitHeaders",
    "RateTier",
    "Reservation",
    "RollingWindow",
    "depart",
]

RateTier = Literal["free", "starter", "professional", "enterprise", "api-limit-increase", "oauth-app"]
"""Names of HubSpot's rate-limit tiers (requests per 10 s per app)."""

TIERS: Mapping[str, int] = {
    "free": 100,
    "starter": 100,
    "professional": 190,
    "enterprise": 190,
    "api-limit-increase": 250,
    "oauth-app": 110,
}
"""Requests per 10 seconds for each tier, from HubSpot's published limits."""


MAX_LEARNED_LIMIT = 10_000
"""A ``Max`` header above this is taken for garbage, not a budget (HubSpot's largest is 250 per 10 s)."""


@attrs.frozen(slots=True)
class RateLimitHeaders:
    """The ``X-HubSpot-RateLimit-*`` values of one response (``None`` where absent)."""

    max: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        """Read the headers of a response (any case); ignore unparsable values."""

        def num(name: str) -> int | None:
            value = headers.get(name)
            if value is None:
                return None
            try:
                number = float(value)
            except ValueError:
                return None
            if not math.isfinite(number) or not 0 <= number <= 10**12:
                return None
            return int(number)

        return cls(
            max=num("x-hubspot-ratelimit-max"),
            remaining=num("x-hubspot-ratelimit-remaining"),
            interval_ms=num("x-hubspot-ratelimit-interval-milliseconds"),
            daily=num("x-hubspot-ratelimit-daily"),
            daily_remaining=num("x-hubspot-ratelimit-daily-remaining"),
        )


@attrs.frozen(slots=True)
class Reservation:
    """A booked send: wait ``delay`` seconds, then send. ``slot`` is the backend's own record of it."""

    delay: float
    slot: float


class LimiterBackend(Protocol):
    """Where the rate budget lives. The engine awaits these and does any waiting itself.

    The in-process default is :class:`LocalLimiter`; a shared backend (one
    budget for many processes) implements the same calls (``depart`` may be
    left out: the send then leaves at its booked slot). A backend may also
    have ``margin`` (see :func:`depart`) and ``books_answer(reservation)``:
    True when :meth:`observe` moves that send's booking to its answer's
    time, so that an answered send is not confirmed first.
    """

    async def reserve(self) -> Reservation:
        """Book the next send and say how long to wait before it."""

    async def depart(self, reservation: Reservation) -> Reservation:
        """The booked send is about to leave: the reservation to send under, or a later one to wait for.

        ``delay`` 0: send now (``slot`` is now on the backend's clock);
        otherwise wait ``delay`` seconds and depart again. Optional: a
        backend without it sends as booked (see :func:`depart`).
        """

    async def confirm(self, reservation: Reservation, late: float) -> None:
        """The send really started ``late`` seconds after its slot (connecting took time)."""

    async def observe(self, reservation: Reservation, headers: RateLimitHeaders) -> None:
        """Learn from the rate-limit headers of the answer to a booked send."""

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429 for the rolling window was met: every sender should pause."""


DEPART_TOLERANCE = 0.001
"""Seconds a send may leave before its slot: event-loop timers fire up to a clock tick early."""


ON_TIME = 0.025
"""Seconds after its slot within which a send leaves without asking the backend (and at most half its ``margin``).

Half the default margin (0.05 s): the slack every booking keeps after the
send it replaces is there for such lateness (and the network's).
"""


async def depart(backend: LimiterBackend, reservation: Reservation, late: float = math.inf) -> Reservation:
    """Wait until ``backend`` lets the booked send leave; the reservation it leaves under.

    ``late``: how long after its slot the send is leaving, as the caller
    measures it (from when it asked for the reservation, so never less than
    the truth). A send later than :data:`ON_TIME`, or than half the
    backend's ``margin`` (the slack it books after each send leaving the
    window), is checked again by the backend; one on time leaves as booked,
    with no call (for a shared backend, no round trip). A backend written
    before ``depart`` existed lets it leave as booked.
    """
    step = getattr(backend, "depart", None)
    if step is None or late <= min(ON_TIME, float(getattr(backend, "margin", 0.0)) / 2):
        return attrs.evolve(reservation, delay=0.0)
    while True:
        reservation = await step(reservation)
        if reservation.delay <= DEPART_TOLERANCE:  # a clock's tick early is on time (timers fire to the tick)
            return reservation
        await asyncio.sleep(reservation.delay)


@attrs.define
class RollingWindow:
    """An in-process rolling-window limiter.

    ``limit`` requests per ``interval`` seconds. ``cap`` (if set) is an upper
    bound the learned limit never exceeds (a caller's explicit ``rate_limit``).
    A send that replaces one leaving the window is booked ``current_margin``
    seconds after that one leaves, so that a request never reaches HubSpot
    before the one it replaces has left HubSpot's window, although the
    network delays each request differently.

    The margin adapts; ``margin`` is where it starts and the floor it returns
    to, ``max_margin`` its ceiling:

    - a rolling-window 429 (:meth:`on_rate_limited`) widens it to
      ``min(2 * current + margin, max_margin)``: doubled plus one base
      margin (from 0.05 s: 0.15, 0.35, 0.75, 1.0). Once per burst: after a
      widening, further 429s widen it again only once the answer to a send
      booked after the widening has been seen (:meth:`observe`); until then
      they answer sends booked with the old margin.
    - every ``limit`` sends booked without a 429 in between (a full window's
      worth) halve the excess over ``margin`` (from 0.35 s: 0.2, 0.125,
      0.0875, ...); an excess under 1 ms is dropped. It never goes below
      ``margin``.

    ``margin=0`` books sends to the millisecond and keeps it so (0 doubled
    plus 0 is 0).
    """

    limit: int
    interval: float = 10.0
    cap: int | None = None
    margin: float = 0.05
    learn: bool = True
    max_margin: float = 1.0
    _sends: deque[float] = attrs.field(factory=deque, init=False, repr=False)
    _paused_until: float = attrs.field(default=float("-inf"), init=False, repr=False)
    _current_margin: float = attrs.field(default=0.0, init=False, repr=False)
    _quiet_sends: int = attrs.field(default=0, init=False, repr=False)
    _widened_after: float = attrs.field(default=float("-inf"), init=False, repr=False)
    _armed: bool = attrs.field(default=True, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("limit must be at least 1 request per interval")
        if not self.margin >= 0 or not self.max_margin >= 0:
            raise ValueError("margin and max_margin must not be negative")
        if self.cap is not None:
            self.limit = min(self.limit, self.cap)
        self._current_margin = self.margin

    @property
    def current_margin(self) -> float:
        """The margin booked sends get now: ``margin`` widened by recent 429s (see the class docstring)."""
        return self._current_margin

    def _expire(self, now: float) -> None:
        # Keep two intervals of history: observe() counts the window around a
        # past send time. reserve() only looks at the newest `limit` entries.
        horizon = now - 2 * self.interval
        sends = self._sends
        while sends and sends[0] <= horizon:
            sends.popleft()

    def used(self, now: float) -> int:
        """Sends booked in the window ending at ``now``."""
        return self._count_window(now)

    def reserve(self, now: float) -> float:
        """Book the earliest send time at or after ``now`` that keeps every window within the limit."""
        self._expire(now)
        sends = self._sends
        at = max(now, self._paused_until)
        if sends:
            at = max(at, sends[-1])
        if len(sends) >= self.limit:
            at = max(at, sends[-self.limit] + self.interval + self._current_margin)
        sends.append(at)
        self._quiet_sends += 1
        if self._quiet_sends >= self.limit:  # a full window's worth of sends without a 429
            self._quiet_sends = 0
            self._narrow()
        return at

    def observe(self, headers: RateLimitHeaders, sent_at: float, now: float) -> None:
        """Adopt HubSpot's limit and interval; account for requests others made.

        ``sent_at`` is the time the request was booked for. HubSpot may have
        counted any of our sends from the window that ended at ``sent_at`` up
        to ``now`` (requests in flight arrive in any order), so only a
        ``Remaining`` below what all of those leave means someone else spends
        the same budget; that difference is booked at ``sent_at``.
        """
        if not self._armed and sent_at > self._widened_after:
            self._armed = True  # a send booked with the widened margin was answered
        if not self.learn:
            return
        if headers.interval_ms and 100 <= headers.interval_ms <= 3_600_000:  # ignore absurd values
            self.interval = headers.interval_ms / 1000.0
        if headers.max and 0 < headers.max <= MAX_LEARNED_LIMIT:
            self.limit = min(headers.max, self.cap) if self.cap else headers.max
        if headers.remaining is not None and headers.max and 0 < headers.max <= MAX_LEARNED_LIMIT:
            self._expire(now)
            sends = self._sends
            ours = bisect.bisect_right(sends, now) - bisect.bisect_right(sends, sent_at - self.interval)
            expected_remaining = headers.max - ours
            missing = min(expected_remaining - max(headers.remaining, 0), headers.max)
            if missing > 0:
                self._fill(sent_at, missing)

    def on_rate_limited(self, now: float, retry_after: float | None) -> None:
        """Fill the window at ``now`` so every sender waits for a slot; honour ``Retry-After``; widen the margin."""
        self._expire(now)
        missing = self.limit - self._count_window(now)
        if missing > 0:
            self._fill(now, missing)
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)
        self._quiet_sends = 0
        if self._armed:
            ceiling = max(self.max_margin, self.margin)
            self._current_margin = min(2 * self._current_margin + self.margin, ceiling)
            # every send booked from now on is booked after this
            self._widened_after = max(now, self._sends[-1]) if self._sends else now
            self._armed = False

    def _narrow(self) -> None:
        excess = (self._current_margin - self.margin) / 2
        self._current_margin = self.margin + excess if excess >= 0.001 else self.margin

    def depart(self, booked: float, now: float) -> float:
        """The send booked at ``booked`` is about to leave at ``now``: when it may leave.

        Not before its slot. Later than its slot, it is moved to ``now`` if
        the window ending now (widened by the margin) still admits it with
        every send booked until now; otherwise to when that window frees.
        Sends booked after it were placed as if it had left on time, so a
        late send is the one that waits.
        """
        if now <= booked:
            return booked
        at = now if now >= self._paused_until else self._paused_until
        sends = self._sends
        position = bisect.bisect_left(sends, booked)
        if position < len(sends) and sends[position] == booked:
            del sends[position]
        if at == now:
            lo = bisect.bisect_right(sends, now - self.interval - self._current_margin)
            hi = bisect.bisect_right(sends, now)
            if hi - lo >= self.limit:  # self not counted: the window holds a full budget already
                at = max(now, sends[hi - self.limit] + self.interval + self._current_margin)
        bisect.insort(sends, at)
        return at

    def confirm(self, booked: float, actual: float) -> None:
        """Move a booked send to when its first byte was really written (connecting takes time)."""
        if actual <= booked:
            return
        sends = self._sends
        position = bisect.bisect_left(sends, booked)
        if position < len(sends) and sends[position] == booked:
            del sends[position]
            bisect.insort(sends, actual)

    def _count_window(self, at: float) -> int:
        sends = self._sends
        return bisect.bisect_right(sends, at) - bisect.bisect_right(sends, at - self.interval)

    def _fill(self, at: float, count: int) -> None:
        position = bisect.bisect_right(self._sends, at)
        for _ in range(count):
            self._sends.insert(position, at)


class LocalLimiter:
    """The in-process :class:`LimiterBackend`: a :class:`RollingWindow` on the event loop's clock."""

    def __init__(self, window: RollingWindow, clock: Callable[[], float] | None = None) -> None:
        self.window = window
        self._clock = clock

    def __repr__(self) -> str:
        return f"LocalLimiter({self.window!r})"

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def reserve(self) -> Reservation:
        """Book the earliest send the window allows."""
        now = self._now()
        slot = self.window.reserve(now)
        return Reservation(delay=max(slot - now, 0.0), slot=slot)

    async def depart(self, reservation: Reservation) -> Reservation:
        """The booked send leaves now if the window ending now admits it; else wait for the returned slot."""
        now = self._now()
        slot = self.window.depart(reservation.slot, now)
        return Reservation(delay=max(slot - now, 0.0), slot=slot)

    async def confirm(self, reservation: Reservation, late: float) -> None:
        """Move the booked send to when it really started."""
        if late > 0:
            self.window.confirm(reservation.slot, reservation.slot + late)

    async def observe(self, reservation: Reservation, headers: RateLimitHeaders) -> None:
        """Learn the limit and foreign usage from an answer's headers."""
        self.window.observe(headers, reservation.slot, self._now())

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """Fill the window so every sender waits for a free slot."""
        self.window.on_rate_limited(self._now(), retry_after)
