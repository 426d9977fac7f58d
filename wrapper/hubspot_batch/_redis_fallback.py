"""While Redis is away: the ``on_unavailable`` policy, when to try Redis again, the local window meanwhile.

:class:`Fallback` holds one limiter's outage state and decides; it logs,
raises and sleeps nothing, and takes every time as an argument (the event
loop's clock), so that each decision can be tested with plain numbers. The
facade (:class:`~hubspot_batch._redis_limiter.RedisLimiter`) turns its
:data:`OutageStep` into a log line or an error.

- ``"fallback"``: at an outage's first failure, go on with an in-process
  :class:`~hubspot_batch.RollingWindow` at ``fraction`` of the last limit
  learned, seeded with this process's recent Redis bookings; try Redis again
  once ``retry_interval`` seconds have passed; leave the local window when
  Redis answers.
- ``"fail"``: a failure before a request was sent raises; one after it (the
  request's outcome must not be lost) only warns.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

import attrs

from ._limiter import LocalLimiter, RateLimitHeaders, RollingWindow

__all__ = ["Fallback", "OnUnavailable", "OutageStep"]

OnUnavailable = Literal["fallback", "fail"]
"""What :class:`RedisLimiter` does when Redis cannot be reached."""

OutageStep = Literal["raise", "warn", "fall back", "still down"]
"""What a failed Redis call leads to.

``"raise"``: policy ``"fail"``, before a request was sent; ``"warn"``: policy
``"fail"``, after a request was sent (never raise then); ``"fall back"``: an
outage begins (warn once, use the local window); ``"still down"``: the outage
goes on (no new warning).
"""


@attrs.define
class Fallback:
    """One limiter's outage state and what it knows of the budget, for a local window while Redis is away.

    ``known_limit`` / ``known_interval`` are what was learned last (from Redis
    or from answers), ``cap`` bounds the limit learned from answers. ``down``
    says whether the local window is in use; ``retry_at`` is when Redis is
    tried again; ``local`` is the local window (also made, under policy
    ``"fail"``, when a 429 could not be shared).
    """

    on_unavailable: OnUnavailable
    fraction: float
    retry_interval: float
    margin: float
    cap: int | None
    known_limit: int
    known_interval: float
    down: bool = False
    retry_at: float = 0.0
    local: LocalLimiter | None = None
    # this process's recent Redis bookings on the loop clock: they seed the local window
    recent: deque[float] = attrs.field(factory=deque, repr=False)

    @property
    def limit(self) -> int:
        """The local window's limit: ``fraction`` of the last limit known, at least 1."""
        return max(1, math.floor(self.known_limit * self.fraction))

    def due(self, now: float) -> bool:
        """Whether to use Redis now: it is up, or it is time to try it again."""
        return not self.down or now >= self.retry_at

    def learn_shared(self, limit: int, interval: float) -> None:
        """What Redis said is in force (already capped)."""
        self.known_limit, self.known_interval = limit, interval

    def learn_headers(self, headers: RateLimitHeaders) -> None:
        """What an answer's (believable) headers say of the window."""
        if headers.max and headers.max > 0:
            self.known_limit = headers.max if self.cap is None else min(headers.max, self.cap)
        if headers.interval_ms and headers.interval_ms > 0:
            self.known_interval = headers.interval_ms / 1000.0

    def remember(self, now: float, delay: float) -> None:
        """A send booked in Redis to leave ``delay`` seconds after ``now``; forget those two intervals old."""
        recent = self.recent
        recent.append(now + max(delay, 0.0))
        horizon = now - 2 * self.known_interval
        while recent and recent[0] <= horizon:
            recent.popleft()

    def recovered(self) -> bool:
        """Redis answered: leave the local window. True when this ends an outage (say so)."""
        if not self.down:
            return False
        self.down = False
        self.local = None
        return True

    def lost(self, now: float, *, before_send: bool) -> OutageStep:
        """Redis failed at ``now``: try again ``retry_interval`` later, and say what to do now."""
        self.retry_at = now + self.retry_interval
        if self.on_unavailable == "fail":
            return "raise" if before_send else "warn"
        if self.down:
            return "still down"
        self.down = True
        return "fall back"

    def window(self) -> LocalLimiter:
        """The local window, made at first use at :attr:`limit` and seeded with the recent Redis bookings."""
        if self.local is None:
            limit = self.limit
            window = RollingWindow(limit, interval=self.known_interval, cap=limit, margin=self.margin)
            # what this process booked through Redis still counts (at the latest when it was booked for)
            for at in sorted(self.recent):
                window.reserve(at)
            self.recent.clear()
            self.local = LocalLimiter(window)
        return self.local
