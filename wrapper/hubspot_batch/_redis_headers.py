"""Which ``X-HubSpot-RateLimit-*`` values are believed before they are shared with every worker.

A window header no real HubSpot answer carries (a limit of two billion, an
interval of one millisecond) would make the observe script book a huge fill
or shrink everyone's window: such values are dropped, never written to Redis.
"""

from __future__ import annotations

import attrs

from ._limiter import RateLimitHeaders

__all__ = ["INTERVAL_MS_RANGE", "MAX_BELIEVED_LIMIT", "believable"]

MAX_BELIEVED_LIMIT = 10_000
"""A ``Max`` or ``Remaining`` above this is not believed (HubSpot's largest window is 250, plus increases)."""

INTERVAL_MS_RANGE = (100, 3_600_000)
"""The ``Interval-Milliseconds`` believed: 0.1 s to one hour."""


def believable(headers: RateLimitHeaders) -> RateLimitHeaders:
    """``headers`` without the window values no real HubSpot answer carries.

    An absurd ``Max`` drops ``Remaining`` with it (the two are read together);
    the daily values are kept as they are.
    """
    low, high = INTERVAL_MS_RANGE
    if headers.max is not None and not 0 < headers.max <= MAX_BELIEVED_LIMIT:
        headers = attrs.evolve(headers, max=None, remaining=None)
    if headers.remaining is not None and headers.remaining > MAX_BELIEVED_LIMIT:
        headers = attrs.evolve(headers, remaining=None)
    if headers.interval_ms is not None and not low <= headers.interval_ms <= high:
        headers = attrs.evolve(headers, interval_ms=None)
    return headers
