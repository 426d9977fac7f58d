"""Checking the Redis limiter's arguments (no Redis server)."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot_batch import TIERS, ConfigurationError
from hubspot_batch._redis_settings import RedisSettings, check_settings

DEFAULTS: dict[str, Any] = {
    "key": "default",
    "limit": "free",
    "cap": None,
    "interval": 10,
    "margin": 0,
    "on_unavailable": "fallback",
    "fallback_fraction": 0.5,
    "timeout": 1,
    "retry_interval": 30,
    "prefix": "hubspot-batch",
}


def checked(**changes: Any) -> RedisSettings:
    return check_settings(**{**DEFAULTS, **changes})


def test_a_tier_name_becomes_its_limit_and_numbers_become_floats() -> None:
    settings = checked(limit="professional")
    assert settings.limit == TIERS["professional"] == 190
    assert isinstance(settings.interval, float) and isinstance(settings.margin, float)
    assert isinstance(settings.timeout, float) and isinstance(settings.retry_interval, float)
    assert checked(limit=7).limit == 7


def test_the_start_limit_is_bounded_by_the_cap() -> None:
    assert checked(limit=100).start_limit == 100
    assert checked(limit=100, cap=30).start_limit == 30
    assert checked(limit=10, cap=30).start_limit == 10


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"limit": "gold"}, "limit tier 'gold' is not one of free, starter"),
        ({"limit": 0}, "limit must be"),
        ({"limit": True}, "limit must be"),
        ({"limit": 1.5}, "limit must be"),
        ({"cap": 0}, "cap must be"),
        ({"cap": False}, "cap must be"),
        ({"on_unavailable": "ignore"}, "on_unavailable must be"),
        ({"fallback_fraction": 0}, "fallback_fraction"),
        ({"fallback_fraction": 1.01}, "fallback_fraction"),
        ({"interval": 0}, "interval and timeout must be positive"),
        ({"timeout": 0}, "interval and timeout must be positive"),
        ({"margin": -0.1}, "margin and retry_interval not negative"),
        ({"retry_interval": -1}, "margin and retry_interval not negative"),
        ({"key": ""}, "key must be a non-empty string"),
        ({"key": 42}, "key must be a non-empty string"),
        # the first bad argument is named
        ({"limit": 0, "key": ""}, "limit must be"),
    ],
)
def test_bad_arguments_are_configuration_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        checked(**changes)


def test_edge_values_are_accepted() -> None:
    settings = checked(fallback_fraction=1, margin=0, retry_interval=0, cap=1, limit=1)
    assert (settings.fallback_fraction, settings.margin, settings.retry_interval, settings.cap) == (1, 0.0, 0.0, 1)
