"""GET /account-info/v3/api-usage/daily/private-apps: the daily usage of the private app."""

from __future__ import annotations

from typing import Any

from ._clock import iso_timestamp
from ._config import SandboxConfig
from ._ratelimit import DailyUsage

__all__ = ["USAGE_LIMIT_NAME", "USAGE_PATH", "USAGE_SCOPES", "usage_body"]

USAGE_PATH = "/account-info/v3/api-usage/daily/private-apps"
#: The ``name`` HubSpot's spec example gives the private-app daily limit.
USAGE_LIMIT_NAME = "private-apps-api-calls-daily"
#: The scope the account-info spec asks for (``oauth``, also for private apps).
USAGE_SCOPES: tuple[str, ...] = ("oauth",)


def _reset_timestamp(epoch_seconds: float) -> str:
    # HubSpot's example writes the reset without milliseconds ("2020-04-10T04:00:00Z").
    text = iso_timestamp(epoch_seconds)
    return text[: -len(".000Z")] + "Z" if text.endswith(".000Z") else text


def usage_body(config: SandboxConfig, usage: DailyUsage) -> dict[str, Any]:
    """The 200 body: one result for the daily limit, or none when ``daily_limit`` is off."""
    if not config.daily_limit:
        return {"results": []}
    return {
        "results": [
            {
                "name": USAGE_LIMIT_NAME,
                "usageLimit": config.daily_limit,
                "currentUsage": usage.used,
                "collectedAt": iso_timestamp(usage.collected_at),
                "fetchStatus": "SUCCESS",
                "resetsAt": _reset_timestamp(usage.resets_at),
            }
        ]
    }
