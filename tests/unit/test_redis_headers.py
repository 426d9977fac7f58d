"""Which rate-limit headers the Redis limiter believes before sharing them."""

from __future__ import annotations

import pytest
from hubspot_batch import RateLimitHeaders
from hubspot_batch._redis_headers import believable


@pytest.mark.parametrize(
    ("given", "believed"),
    [
        (RateLimitHeaders(max=190, remaining=189, interval_ms=10_000), RateLimitHeaders(190, 189, 10_000)),
        (RateLimitHeaders(max=10_000, remaining=10_000, interval_ms=100), RateLimitHeaders(10_000, 10_000, 100)),
        (RateLimitHeaders(interval_ms=3_600_000), RateLimitHeaders(interval_ms=3_600_000)),
        # an absurd Max takes its Remaining with it
        (RateLimitHeaders(max=2_147_483_647, remaining=0, interval_ms=10_000), RateLimitHeaders(interval_ms=10_000)),
        (RateLimitHeaders(max=0, remaining=0), RateLimitHeaders()),
        (RateLimitHeaders(max=190, remaining=10_001), RateLimitHeaders(max=190)),
        (RateLimitHeaders(max=10, remaining=5, interval_ms=1), RateLimitHeaders(max=10, remaining=5)),
        (RateLimitHeaders(interval_ms=3_600_001), RateLimitHeaders()),
        # the daily values are not window values: kept as they are
        (
            RateLimitHeaders(max=99_999, daily=500_000, daily_remaining=3),
            RateLimitHeaders(daily=500_000, daily_remaining=3),
        ),
        (RateLimitHeaders(), RateLimitHeaders()),
    ],
)
def test_believable(given: RateLimitHeaders, believed: RateLimitHeaders) -> None:
    assert believable(given) == believed
