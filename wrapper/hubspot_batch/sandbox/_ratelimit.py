"""The rolling ten-second window and the daily counter, with HubSpot's headers."""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque

import attrs

from ._clock import Clock
from ._config import SandboxConfig

__all__ = ["DAILY", "TEN_SECONDLY_ROLLING", "DailyUsage", "RateDecision", "RateLimiter"]

TEN_SECONDLY_ROLLING = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
_DAY = 86_400.0


@attrs.frozen
class RateDecision:
    """The outcome for one request: ``policy`` is None when admitted, else the 429 policy."""

    policy: str | None
    headers: dict[str, str] = attrs.field(hash=False)
    retry_after: int | None = None


@attrs.frozen
class DailyUsage:
    """The daily counter as the usage endpoint reports it (``wall_clock`` epoch seconds)."""

    used: int
    collected_at: float
    resets_at: float


class RateLimiter:
    """A rolling window of ``interval_ms`` on ``clock`` plus a per-day count on ``wall_clock``.

    The day starts ``day_starts_at`` seconds after 00:00 UTC (0: the UTC
    day); the daily count starts again at 0 when ``wall_clock`` crosses that
    moment, or when :meth:`reset_day` is called. Daily headers are sent when
    ``daily_limit`` is on and ``daily_headers`` is true.

    With ``count_rejected_requests`` (the default) a 429 also uses up window
    and daily capacity, as HubSpot counts every request.

    :meth:`admit` may be told that a request arrives ``delay`` seconds after
    ``clock()`` (the sandbox's ``arrival_jitter``): the window keeps its entries
    sorted, so requests counted out of send order are still counted right,
    and a request's window is (arrival - interval, arrival]. A request is
    judged when it is handled, against the requests handled before it (one
    handled later may still arrive earlier and is not held against it).
    """

    def __init__(self, config: SandboxConfig, clock: Clock, wall_clock: Clock) -> None:
        """Start with an empty window and a fresh day."""
        self._config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self._interval = config.interval_ms / 1000.0
        self._window: deque[float] = deque()
        self._day = -1
        self._daily_used = 0
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        # No request arrives before `now`, so entries at or before now - interval are in no window to come.
        horizon = now - self._interval
        window = self._window
        while window and window[0] <= horizon:
            window.popleft()
        day = self._day_of(self._wall_clock())
        if day != self._day:
            self._day = day
            self._daily_used = 0

    def _day_of(self, wall: float) -> int:
        return math.floor((wall - self._config.day_starts_at) / _DAY)

    def _next_reset(self, wall: float) -> float:
        """The epoch second at which the day containing ``wall`` ends."""
        return (self._day_of(wall) + 1) * _DAY + self._config.day_starts_at

    def _bounds(self, at: float) -> tuple[int, int]:
        """Positions in the window of the entries in (at - interval, at]: ``window[lo:hi]``."""
        window = self._window
        return bisect.bisect_right(window, at - self._interval), bisect.bisect_right(window, at)

    def _headers(self, at: float) -> dict[str, str]:
        cfg = self._config
        headers: dict[str, str] = {}
        if cfg.rate_limit:
            lo, hi = self._bounds(at)
            headers["X-HubSpot-RateLimit-Max"] = str(cfg.rate_limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(0, cfg.rate_limit - (hi - lo)))
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(cfg.interval_ms)
        if cfg.daily_limit and cfg.daily_headers:
            headers["X-HubSpot-RateLimit-Daily"] = str(cfg.daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, cfg.daily_limit - self._daily_used))
        return headers

    def peek(self) -> dict[str, str]:
        """The current headers, without counting a request (for 401/403/404/405)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            return self._headers(now)

    def usage(self) -> DailyUsage:
        """Today's count and the next reset, without counting a request (the usage endpoint)."""
        with self._lock:
            self._expire(self._clock())
            wall = self._wall_clock()
            return DailyUsage(self._daily_used, wall, self._next_reset(wall))

    def reset_day(self) -> None:
        """Start a new day now: the daily count goes back to 0 (until the next reset on ``wall_clock``)."""
        with self._lock:
            self._day = self._day_of(self._wall_clock())
            self._daily_used = 0

    def admit(self, delay: float = 0.0) -> RateDecision:
        """Count one request arriving ``delay`` seconds from now and say whether it is over a limit."""
        cfg = self._config
        with self._lock:
            now = self._clock()
            self._expire(now)
            arrival = now + delay
            policy: str | None = None
            retry_after: float | None = None
            if cfg.daily_limit and self._daily_used >= cfg.daily_limit:
                policy = DAILY
                wall = self._wall_clock()
                retry_after = self._next_reset(wall) - wall
            elif cfg.rate_limit:
                lo, hi = self._bounds(arrival)
                if hi - lo >= cfg.rate_limit:
                    policy = TEN_SECONDLY_ROLLING
                    # the window drops below the limit when this entry expires
                    oldest_needed = self._window[hi - cfg.rate_limit]
                    retry_after = oldest_needed + self._interval - arrival
            if policy is None or cfg.count_rejected_requests:
                if cfg.rate_limit:
                    bisect.insort(self._window, arrival)
                self._daily_used += 1
            headers = self._headers(arrival)
        ra = None if retry_after is None else max(1, math.ceil(retry_after))
        if policy is not None and cfg.send_retry_after and ra is not None:
            headers["Retry-After"] = str(ra)
        return RateDecision(policy, headers, ra)
