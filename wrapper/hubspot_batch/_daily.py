"""The portal's daily request budget: learn it, and refuse a request that would spend more than a share of it.

Every app of a portal spends the same day (250,000 to 1,000,000 requests,
reset at midnight in the portal's time zone). HubSpot tells private apps
where the day stands in every answer (``X-HubSpot-RateLimit-Daily`` and
``-Daily-Remaining``) and, on request, in
``GET /account-info/v3/api-usage/daily/private-apps`` (``usageLimit``,
``currentUsage``, ``resetsAt``). OAuth answers carry no daily headers (public
apps have no daily limit): the budget then stays unknown and nothing is
refused.

:class:`DailyBudget` is pure (times and numbers passed in): the engine asks
:meth:`DailyBudget.allow` before booking each request and tells it every
answer's headers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

__all__ = ["USAGE_PATH", "DailyBudget", "DailyUsage", "next_utc_midnight", "parse_usage"]

USAGE_PATH = "/account-info/v3/api-usage/daily/private-apps"


@attrs.frozen
class DailyUsage:
    """The day as HubSpot's usage endpoint reports it: ``limit``, ``used``, and when it resets (epoch seconds)."""

    limit: int
    used: int
    resets_at: float | None = None


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _epoch(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) / (1000.0 if value > 10**11 else 1.0)  # milliseconds or seconds
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def parse_usage(body: Any) -> DailyUsage | None:
    """The usage endpoint's answer (``{"results": [{usageLimit, currentUsage, resetsAt}, ...]}``) as one day.

    Several private apps each report the same portal-wide limit; their usage adds up.
    """
    results = body.get("results") if isinstance(body, Mapping) else None
    if not isinstance(results, list):
        return None
    limits = [n for r in results if isinstance(r, Mapping) and (n := _number(r.get("usageLimit"))) is not None]
    used = [n for r in results if isinstance(r, Mapping) and (n := _number(r.get("currentUsage"))) is not None]
    resets = [t for r in results if isinstance(r, Mapping) and (t := _epoch(r.get("resetsAt"))) is not None]
    if not limits:
        return None
    return DailyUsage(limit=max(limits), used=sum(used), resets_at=min(resets) if resets else None)


def next_utc_midnight(now: float) -> float:
    """The next midnight UTC after ``now`` (epoch seconds): the reset when HubSpot has not said when."""
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@attrs.define
class DailyBudget:
    """At most ``share`` (0 < share <= 1) of the portal's daily limit, counting requests under way.

    ``limit`` and ``used`` are what HubSpot last said (None: not known yet);
    ``pending`` counts requests allowed whose answer has not been seen.
    """

    share: float
    limit: int | None = None
    used: int | None = None
    resets_at: float | None = None
    pending: int = 0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.share, int | float) or not 0 < self.share <= 1:
            from ._errors import ConfigurationError

            raise ConfigurationError(f"max_daily_share must be within (0, 1], got {self.share!r}")

    @property
    def known(self) -> bool:
        """Whether the daily limit is known (from headers or the usage endpoint)."""
        return self.limit is not None and self.used is not None

    @property
    def allowed(self) -> int | None:
        """How many requests of the day this budget may bring the portal to (None: unknown)."""
        return None if self.limit is None else math.floor(self.share * self.limit)

    def remaining(self) -> int | None:
        """Requests still allowed today, requests under way counted (None: unknown)."""
        if self.limit is None or self.used is None:
            return None
        return max(0, math.floor(self.share * self.limit) - self.used - self.pending)

    def allow(self) -> bool:
        """Whether one more request fits; if so it is counted as under way."""
        left = self.remaining()
        if left is not None and left < 1:
            return False
        self.pending += 1
        return True

    def observe(self, daily: int | None, daily_remaining: int | None) -> None:
        """An answer to an allowed request, with its ``X-HubSpot-RateLimit-Daily`` headers (None when absent)."""
        self.pending = max(0, self.pending - 1)
        if daily and daily_remaining is not None:
            self.limit = daily
            used = max(0, daily - daily_remaining)
            self.used = used if self.used is None else max(self.used, used)

    def release(self) -> None:
        """An allowed request was not sent after all (or got no answer)."""
        self.pending = max(0, self.pending - 1)

    def adopt(self, usage: DailyUsage) -> None:
        """The usage endpoint's figures (taken as they are: they are the portal's whole day)."""
        self.limit = usage.limit
        self.used = usage.used
        self.resets_at = usage.resets_at

    def reset(self) -> None:
        """A new day began: nothing is used yet (until HubSpot says otherwise)."""
        self.used = 0 if self.limit is not None else None
        self.resets_at = None
