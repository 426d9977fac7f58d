"""SandboxConfig: every knob of the simulated HubSpot, frozen."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "DEFAULT_KNOWN_PROPERTIES",
    "DEFAULT_KNOWN_PROPERTY_PREFIXES",
    "ENDPOINTS",
    "REQUIRED_SCOPES",
    "SandboxConfig",
]

#: Endpoint names used as keys in stats, ``max_batch_sizes`` and ``REQUIRED_SCOPES``.
ENDPOINTS: tuple[str, ...] = ("webhooks", "communications", "statuses", "timeline")

#: Communication properties that exist (besides the ``custom_`` prefix).
DEFAULT_KNOWN_PROPERTIES: frozenset[str] = frozenset(
    {
        "hs_communication_channel_type",
        "hs_communication_logged_from",
        "hs_communication_body",
        "hs_timestamp",
        "hubspot_owner_id",
    }
)

#: Property-name prefixes that exist on communications.
DEFAULT_KNOWN_PROPERTY_PREFIXES: tuple[str, ...] = ("custom_",)

#: The scope each endpoint needs from a bearer token (see ``missing_scopes``).
REQUIRED_SCOPES: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {
        "webhooks": ("developers-write",),
        "communications": ("crm.objects.contacts.write",),
        "statuses": ("communication_preferences.statuses.batch.write",),
        "timeline": ("timeline-write",),
    }
)


def _str_set(value: Iterable[str | int]) -> frozenset[str]:
    if isinstance(value, str | bytes):
        raise TypeError("expected a collection of strings, not a single string")
    return frozenset(str(v) for v in value)


def _opt_str_set(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else _str_set(value)


def _scopes(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return types.MappingProxyType({k: tuple(v) for k, v in value.items()})


def _sizes(value: Mapping[str, int]) -> Mapping[str, int]:
    unknown = set(value) - set(ENDPOINTS)
    if unknown:
        raise ValueError(f"unknown endpoint names in max_batch_sizes: {sorted(unknown)}")
    return types.MappingProxyType(dict(value))


def _portals(value: Mapping[str, str]) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for token, name in value.items():
        if not isinstance(token, str) or not token.strip() or token != token.strip():
            raise ValueError("portals: every bearer token must be a non-empty string without surrounding spaces")
        if not isinstance(name, str) or not name:
            raise ValueError("portals: every portal name must be a non-empty string")
        out[token] = name
    return types.MappingProxyType(out)


def _portals_repr(value: Mapping[str, str]) -> str:
    # Never show the tokens (a config may end up in a log): only the portal names.
    return f"<portals {sorted(set(value.values()))}>"


def _rate(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attr.name} must be within [0, 1], got {value!r}")


def _non_negative(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attr.name} must be >= 0, got {value!r}")


def _positive(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if value <= 0:
        raise ValueError(f"{attr.name} must be > 0, got {value!r}")


def _time_of_day(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 86_400.0:
        raise ValueError(f"{attr.name} must be within [0, 86400) seconds after 00:00 UTC, got {value!r}")


def _opt_non_negative(_inst: object, attr: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attr.name} must be >= 0 or None, got {value!r}")


@attrs.frozen(kw_only=True)
class SandboxConfig:
    """How the simulated HubSpot behaves; see the package docstring for every knob."""

    rate_limit: int | None = attrs.field(default=190, validator=_opt_non_negative)
    interval_ms: int = attrs.field(default=10_000, validator=_positive)
    daily_limit: int | None = attrs.field(default=1_000_000, validator=_opt_non_negative)
    daily_headers: bool = True
    day_starts_at: float = attrs.field(default=0.0, validator=_time_of_day)
    count_rejected_requests: bool = True
    send_retry_after: bool = False
    latency: float = attrs.field(default=0.0, validator=_non_negative)
    latency_jitter: float = attrs.field(default=0.0, validator=_non_negative)
    arrival_jitter: float = attrs.field(default=0.0, validator=_non_negative)
    error_5xx_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_before_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_after_rate: float = attrs.field(default=0.0, validator=_rate)
    truncated_rate: float = attrs.field(default=0.0, validator=_rate)
    non_json_rate: float = attrs.field(default=0.0, validator=_rate)
    stall_rate: float = attrs.field(default=0.0, validator=_rate)
    stall_seconds: float = attrs.field(default=30.0, validator=_non_negative)
    seed: int = 0
    shuffle_results: bool = False
    access_tokens: frozenset[str] | None = attrs.field(default=None, converter=_opt_str_set)
    expired_tokens: frozenset[str] = attrs.field(default=frozenset(), converter=_str_set)
    developer_api_keys: frozenset[str] | None = attrs.field(default=None, converter=_opt_str_set)
    missing_scopes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_scopes, hash=False)
    known_properties: frozenset[str] = attrs.field(default=DEFAULT_KNOWN_PROPERTIES, converter=_str_set)
    known_property_prefixes: tuple[str, ...] = attrs.field(default=DEFAULT_KNOWN_PROPERTY_PREFIXES, converter=tuple)
    missing_ids: frozenset[str] = attrs.field(default=frozenset(), converter=_str_set)
    max_batch_size: int = attrs.field(default=100, validator=_positive)
    max_batch_sizes: Mapping[str, int] = attrs.field(factory=dict, converter=_sizes, hash=False)
    oauth_clients: Mapping[str, str] = attrs.field(factory=dict, converter=dict, hash=False)
    refresh_tokens: frozenset[str] | None = attrs.field(default=None, converter=_opt_str_set)
    token_lifetime: float = attrs.field(default=1800.0, validator=_non_negative)
    deprecated_versions: frozenset[str] = attrs.field(default=frozenset(), converter=_str_set)
    portals: Mapping[str, str] = attrs.field(factory=dict, converter=_portals, hash=False, repr=_portals_repr)

    def __attrs_post_init__(self) -> None:
        """Check that each group of exclusive fault rates sums to at most 1, and ``portals`` vs ``access_tokens``."""
        if self.drop_before_rate + self.error_5xx_rate > 1.0:
            raise ValueError("drop_before_rate + error_5xx_rate must be <= 1")
        post = self.drop_after_rate + self.truncated_rate + self.non_json_rate + self.stall_rate
        if post > 1.0:
            raise ValueError("drop_after_rate + truncated_rate + non_json_rate + stall_rate must be <= 1")
        if self.portals and self.access_tokens is not None:
            raise ValueError(
                "access_tokens and portals are exclusive: with portals, each portal accepts its own tokens"
            )

    @property
    def rate_limited(self) -> bool:
        """Whether the rolling-window limit is enforced (``rate_limit`` not 0/None)."""
        return bool(self.rate_limit)

    @property
    def daily_limited(self) -> bool:
        """Whether the daily limit is enforced (``daily_limit`` not 0/None)."""
        return bool(self.daily_limit)

    def batch_size_for(self, endpoint: str) -> int:
        """The maximum number of inputs accepted by ``endpoint``."""
        return self.max_batch_sizes.get(endpoint, self.max_batch_size)

    def property_exists(self, name: str) -> bool:
        """Whether a communication property called ``name`` exists."""
        return name in self.known_properties or name.startswith(self.known_property_prefixes)
