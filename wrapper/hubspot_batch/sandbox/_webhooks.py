"""POST /webhooks/{v3,2026-03}/{appId}/subscriptions/batch/update."""

from __future__ import annotations

from typing import Any

from ._batch import INT32, EndpointContext, EndpointResult, check_duplicates, req_int
from ._errors import java_list, validation_error

__all__ = ["EVENT_TYPES", "event_type_for", "subscription_exists", "update_subscriptions"]

#: (eventType, propertyName or None, objectTypeId), chosen by subscription id modulo length.
EVENT_TYPES: tuple[tuple[str, str | None, str], ...] = (
    ("contact.propertyChange", "firstname", "0-1"),
    ("contact.create", None, "0-1"),  # as in HubSpot's own example (outside its enum)
    ("company.propertyChange", "name", "0-2"),
    ("deal.creation", None, "0-3"),
    ("company.associationChange", None, "0-2"),
    ("contact.deletion", None, "0-1"),
)


def event_type_for(subscription_id: int) -> tuple[str, str | None, str]:
    """The stable (eventType, propertyName, objectTypeId) of a subscription id."""
    return EVENT_TYPES[subscription_id % len(EVENT_TYPES)]


def subscription_exists(ctx: EndpointContext, subscription_id: int) -> bool:
    """Positive ids exist unless listed (as strings) in ``missing_ids``."""
    return subscription_id > 0 and str(subscription_id) not in ctx.config.missing_ids


def update_subscriptions(ctx: EndpointContext, inputs: list[dict[str, Any]]) -> EndpointResult:
    """Set ``active`` on existing subscriptions; unknown ids -> one grouped 207 error."""
    assert ctx.app_id is not None
    parsed: list[tuple[int, bool]] = []
    for index, item in enumerate(inputs):
        sub_id = req_int(item, "id", index, INT32)
        active = item.get("active")
        if not isinstance(active, bool):
            raise validation_error(f"Invalid input: inputs[{index}].active is required and must be a boolean")
        parsed.append((sub_id, active))
    check_duplicates([str(p[0]) for p in parsed])
    found = [p for p in parsed if subscription_exists(ctx, p[0])]
    missing = [str(p[0]) for p in parsed if not subscription_exists(ctx, p[0])]
    stored = ctx.state.update_subscriptions(ctx.app_id, found, ctx.now)
    dated = ctx.version != "v3"
    results: list[dict[str, Any]] = []
    for rec in stored:
        event_type, property_name, object_type_id = event_type_for(rec.id)
        result: dict[str, Any] = {
            "id": str(rec.id),
            "active": rec.active,
            "createdAt": rec.created_at,
            "updatedAt": rec.updated_at,
            "eventType": event_type,
        }
        if property_name is not None:
            result["propertyName"] = property_name
        if dated:
            result["eventTypeName"] = event_type
            result["objectTypeId"] = object_type_id
        results.append(result)
    if not missing:
        return EndpointResult(200, results)
    error = {
        "status": "error",
        "category": "SUBSCRIPTION_ID_NOT_FOUND",
        "message": f"Subscriptions not found for app {ctx.app_id}: {java_list(missing)}",
        "context": {"subscriptionIds": missing},
    }
    return EndpointResult(207, results, [error])
