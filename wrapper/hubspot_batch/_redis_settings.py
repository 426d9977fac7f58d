"""The Redis limiter's arguments, checked: a tier name becomes its number, a bad value a ConfigurationError."""

from __future__ import annotations

import math

import attrs

from ._errors import ConfigurationError
from ._limiter import TIERS, RateTier
from ._redis_fallback import OnUnavailable

__all__ = ["RedisSettings", "check_settings"]


@attrs.frozen(slots=True)
class RedisSettings:
    """Checked arguments of :class:`~hubspot_batch.RedisLimiter` (see its docstring for each)."""

    key: str
    limit: int
    cap: int | None
    interval: float
    margin: float
    on_unavailable: OnUnavailable
    fallback_fraction: float
    timeout: float
    retry_interval: float
    prefix: str
    daily_claim_ttl: float = 120.0

    @property
    def start_limit(self) -> int:
        """The limit in force before anything is learned: ``limit``, bounded by ``cap``."""
        return self.limit if self.cap is None else min(self.limit, self.cap)


def check_settings(
    *,
    key: str,
    limit: int | RateTier,
    cap: int | None,
    interval: float,
    margin: float,
    on_unavailable: OnUnavailable,
    fallback_fraction: float,
    timeout: float,
    retry_interval: float,
    prefix: str,
    daily_claim_ttl: float = 120.0,
) -> RedisSettings:
    """The settings, or a :class:`~hubspot_batch.ConfigurationError` naming the first bad one."""
    if isinstance(limit, str):
        if limit not in TIERS:
            raise ConfigurationError(f"limit tier {limit!r} is not one of {', '.join(TIERS)}")
        limit = TIERS[limit]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigurationError("limit must be a tier name or a positive number of requests per interval")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ConfigurationError("cap must be a positive number of requests per interval")
    if on_unavailable not in ("fallback", "fail"):
        raise ConfigurationError("on_unavailable must be 'fallback' or 'fail'")
    if not 0 < fallback_fraction <= 1:
        raise ConfigurationError("fallback_fraction must be in (0, 1]")
    if not interval > 0 or margin < 0 or not timeout > 0 or retry_interval < 0:
        raise ConfigurationError("interval and timeout must be positive, margin and retry_interval not negative")
    ttl = daily_claim_ttl
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < math.inf:
        raise ConfigurationError("daily_claim_ttl must be a positive number of seconds")
    if not isinstance(key, str) or not key:
        raise ConfigurationError("key must be a non-empty string (the HubSpot app / account id)")
    return RedisSettings(
        key=key,
        limit=limit,
        cap=cap,
        interval=float(interval),
        margin=float(margin),
        on_unavailable=on_unavailable,
        fallback_fraction=fallback_fraction,
        timeout=float(timeout),
        retry_interval=float(retry_interval),
        prefix=prefix,
        daily_claim_ttl=float(daily_claim_ttl),
    )
