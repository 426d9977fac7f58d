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
it for a :class:`Claim` before booking each request (:meth:`DailyBudget.claim`)
and tells it every answer's headers (:meth:`DailyBudget.settle`). Those
``async`` methods are the interface the engine awaits; here they only call
the pure decisions (:meth:`~DailyBudget.allow`, :meth:`~DailyBudget.observe`...).
With a :class:`~hubspot_batch.RedisLimiter` the client uses its subclass
:class:`~hubspot_batch._redis_daily.RedisDailyBudget` instead, whose claims
and figures live in Redis, shared by every worker (see
:func:`daily_budget`).

The day's rules, the same in-process and in Redis:

- ``used`` is the largest usage HubSpot reported today (answers arrive out
  of order), unless an answer reports more than :data:`NEW_DAY_DROP`
  requests fewer: then the day was reset and that answer is believed;
- the usage endpoint's figures are taken as they are (they are the portal's
  whole day, requests of other apps included; the shared budget takes them
  so only when HubSpot collected them after the last answer it counted);
- the day ends at ``resetsAt`` (the usage endpoint), else at the next
  midnight UTC after the figures were learned: ``used`` then goes back to 0
  until HubSpot says otherwise (:meth:`DailyBudget.roll`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

__all__ = [
    "DAILY_POLL_INTERVAL",
    "DAY",
    "LOCAL_CLAIM",
    "NEW_DAY_DROP",
    "SETTLE_POLL",
    "USAGE_PATH",
    "Claim",
    "DailyBudget",
    "DailyUsage",
    "daily_budget",
    "next_reset",
    "next_utc_midnight",
    "parse_usage",
]

USAGE_PATH = "/account-info/v3/api-usage/daily/private-apps"

DAY = 86_400.0
"""Seconds in a day (a portal's day; its time zone's daylight-saving days aside)."""

NEW_DAY_DROP = 1_000
"""An answer reporting this many requests fewer than known means the day was reset.

Answers of concurrent requests arrive out of order, a few requests apart; a
thousand requests portal-wide within one request's round trip is more than
HubSpot's rate limits let happen.
"""

DAILY_POLL_INTERVAL = 300.0
"""Seconds between two looks at the usage endpoint while waiting for the reset (it may come early)."""

SETTLE_POLL = 0.05
"""Seconds between two claims while a refused one waits for the answers of this worker's requests under way.

A claim is refused when the usage last reported plus the requests under way
reach the share; but a reported usage may already count some of those
requests (HubSpot counted them before answering another), so a worker's
refusal is final only once none of its own requests is under way: their
answers say what HubSpot counted. It waits at most the request timeout:
every request is answered or timed out by then, so a claim still counted
after it is one that was lost (a cancelled job's). Another worker's requests
under way are not waited for: that worker may have died, its claims counting
until they expire; alive, it goes on from exact figures once the first
worker stopped, so together they still reach the share.
"""


@attrs.frozen
class DailyUsage:
    """The day as HubSpot's usage endpoint reports it: ``limit``, ``used``, when it resets and was collected.

    ``resets_at`` and ``collected_at`` are epoch seconds (None: not said).
    """

    limit: int
    used: int
    resets_at: float | None = None
    collected_at: float | None = None


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
    collected = [t for r in results if isinstance(r, Mapping) and (t := _epoch(r.get("collectedAt"))) is not None]
    if not limits:
        return None
    return DailyUsage(
        limit=max(limits),
        used=sum(used),
        resets_at=min(resets) if resets else None,
        collected_at=min(collected) if collected else None,
    )


def next_utc_midnight(now: float) -> float:
    """The next midnight UTC after ``now`` (epoch seconds): the reset when HubSpot has not said when."""
    day = datetime.fromtimestamp(now, UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def next_reset(resets_at: float, now: float) -> float:
    """The first reset after ``now`` of a day that was to end at ``resets_at`` (whole days later)."""
    if resets_at > now:
        return resets_at
    return resets_at + (math.floor((now - resets_at) / DAY) + 1) * DAY


def daily_budget(share: float | None, rate_limit: object) -> DailyBudget | None:
    """The client's daily budget: none without ``share``, shared in Redis with a RedisLimiter, else in-process."""
    if share is None:
        return None
    from ._redis_limiter import RedisLimiter

    if isinstance(rate_limit, RedisLimiter):
        return rate_limit.daily_budget(share)
    return DailyBudget(share)


@attrs.frozen(slots=True)
class Claim:
    """One request counted as under way by a budget until it is settled or given back.

    ``member`` names the claim in Redis (a shared budget); ``""``: counted in
    this process only (:data:`LOCAL_CLAIM`).
    """

    member: str = ""


LOCAL_CLAIM = Claim()
"""The claim of an in-process budget (claims are counted, not told apart)."""


@attrs.define
class DailyBudget:
    """At most ``share`` (0 < share <= 1) of the portal's daily limit, counting requests under way.

    ``limit`` and ``used`` are what HubSpot last said (None: not known yet);
    ``resets_at`` is when the day ends (epoch seconds; None: not known);
    ``pending`` counts requests allowed whose answer has not been seen;
    ``polled_at`` is when the usage endpoint was last asked while waiting.
    """

    share: float
    limit: int | None = None
    used: int | None = None
    resets_at: float | None = None
    pending: int = 0
    polled_at: float | None = None

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

    def in_flight(self) -> int:
        """The requests this worker was allowed whose answer has not been seen."""
        return self.pending

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
        self.learn(daily, daily_remaining)

    def learn(self, daily: int | None, daily_remaining: int | None) -> None:
        """What an answer's daily headers say (None when absent), counting no request.

        Usage never goes back within a day, unless by more than
        :data:`NEW_DAY_DROP`: the day was reset.
        """
        if daily and daily_remaining is not None:
            self.limit = daily
            used = max(0, daily - daily_remaining)
            if self.used is None or used > self.used or used + NEW_DAY_DROP < self.used:
                self.used = used

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

    def roll(self, now: float) -> bool:
        """Start a new day if the day of the figures has ended at ``now``; True if it had.

        The day ends at ``resets_at``; figures learned without it (from
        headers only) end at the next midnight UTC after ``now``.
        """
        if self.resets_at is None:
            if self.known:
                self.resets_at = next_utc_midnight(now)
            return False
        if now < self.resets_at:
            return False
        self.used = 0 if self.limit is not None else None
        self.resets_at = next_reset(self.resets_at, now)
        return True

    def poll_due(self, now: float, interval: float = DAILY_POLL_INTERVAL) -> bool:
        """Whether to ask the usage endpoint again while waiting (once per ``interval``, for all waiters)."""
        if self.polled_at is not None and now - self.polled_at < interval:
            return False
        self.polled_at = now
        return True

    # The interface the engine awaits. A shared budget (RedisDailyBudget) talks to Redis here.

    async def claim(self, now: float) -> Claim | None:
        """Count one more request as under way if it fits the day at ``now``; None if it does not."""
        self.roll(now)
        return LOCAL_CLAIM if self.allow() else None

    async def settle(self, claim: Claim, daily: int | None, daily_remaining: int | None) -> None:
        """The answer to a claimed request came, with its daily headers (None when absent)."""
        self.observe(daily, daily_remaining)

    async def unclaim(self, claim: Claim) -> None:
        """A claimed request was not sent after all."""
        self.release()

    async def renew(self, usage: DailyUsage | None) -> None:
        """While waiting: the usage endpoint's figures (:meth:`adopt`), or None at the reset (:meth:`reset`)."""
        if usage is not None:
            self.adopt(usage)
        else:
            self.reset()
