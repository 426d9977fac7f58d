"""What is sent: deterministic rows for the four endpoints, shared by the worker and the runner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

Endpoint = Literal["communications", "webhooks", "statuses", "timeline"]
ENDPOINTS: tuple[Endpoint, ...] = ("communications", "webhooks", "statuses", "timeline")

APP_ID = 424242
TOKEN = "bench-token"
DEVELOPER_KEY = "bench-developer-key"
TEMPLATE_ID = "1001"
#: Ids cycle with this period, so that a million rows touch a bounded number of sandbox records
#: while ids inside one batch (and between batches in flight together) stay unique.
ID_PERIOD = 100_000

#: The sandbox paths of each endpoint, per API version (what the clients call).
PATHS: dict[Endpoint, str] = {
    "communications": "/crm/v3/objects/communications/batch/update",
    "webhooks": f"/webhooks/v3/{APP_ID}/subscriptions/batch/update",
    "statuses": "/communication-preferences/v4/statuses/batch/write",
    "timeline": "/integrators/timeline/v3/events/batch/create",
}


def body_value(tag: str, index: int) -> str:
    """The communication body written for row ``index`` (checked in the sandbox afterwards)."""
    return f"{tag}-{index}"


def row(endpoint: Endpoint, index: int, tag: str = "bench") -> dict[str, Any]:
    """Row ``index`` of a workload, as a plain JSON-ready dict in HubSpot's field names."""
    ident = index % ID_PERIOD + 1
    if endpoint == "communications":
        return {
            "id": str(ident),
            "properties": {
                "hs_communication_body": body_value(tag, index),
                "hs_communication_channel_type": "SMS",
                "hs_communication_logged_from": "CRM",
            },
        }
    if endpoint == "webhooks":
        return {"id": ident, "active": index % 2 == 0}
    if endpoint == "statuses":
        return {
            "subscriberIdString": f"user{ident}@example.com",
            "subscriptionId": 1000 + index % 7,
            "statusState": "SUBSCRIBED" if index % 3 else "UNSUBSCRIBED",
            "channel": "EMAIL",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "benchmark",
        }
    return {
        "eventTemplateId": TEMPLATE_ID,
        "id": f"{tag}-{index}",
        "email": f"user{ident}@example.com",
        "tokens": {"plan": "pro", "seats": str(index % 50)},
    }


def rows(endpoint: Endpoint, n: int, tag: str = "bench") -> Iterator[dict[str, Any]]:
    """``n`` rows, generated lazily."""
    for index in range(n):
        yield row(endpoint, index, tag)


def chunks(items: list[dict[str, Any]], size: int = 100) -> list[list[dict[str, Any]]]:
    """Split by hand into batches of ``size`` (what a raw-HTTP script does)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
