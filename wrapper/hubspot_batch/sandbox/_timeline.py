"""POST /integrators/timeline/v3/events/batch/create and /integrators/timeline/2026-03/events/batch."""

from __future__ import annotations

from typing import Any

from ._batch import EndpointContext, EndpointResult, check_duplicates, req_str
from ._errors import BatchRejected, error_body, java_list, validation_error

__all__ = ["create_events", "create_occurrences"]

_ECHOED_STR = ("objectId", "email", "utk", "domain", "customObjectTypeId", "timestamp")
_IFRAME_KEYS = ("linkLabel", "headerLabel", "url", "width", "height")


def _check(item: dict[str, Any], index: int) -> None:
    if not isinstance(item.get("tokens"), dict):
        raise validation_error(f"Invalid input: inputs[{index}].tokens is required and must be an object")
    for key in _ECHOED_STR:
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise validation_error(f"Invalid input: inputs[{index}].{key} must be a string")
    iframe = item.get("timelineIFrame")
    if iframe is not None and (not isinstance(iframe, dict) or any(k not in iframe for k in _IFRAME_KEYS)):
        raise validation_error(f"Invalid input: inputs[{index}].timelineIFrame needs {', '.join(_IFRAME_KEYS)}")


def create_events(ctx: EndpointContext, inputs: list[dict[str, Any]]) -> EndpointResult:
    """Create immutable events; existing ``(eventTemplateId, id)`` -> OBJECT_ALREADY_EXISTS."""
    keyed: list[tuple[tuple[str, str], dict[str, Any]]] = []
    for index, item in enumerate(inputs):
        key = (req_str(item, "eventTemplateId", index), req_str(item, "id", index))
        _check(item, index)
        keyed.append((key, item))
    check_duplicates([eid for (_, eid), _ in keyed], keys=[key for key, _ in keyed])
    errors: list[tuple[int, dict[str, Any]]] = []
    candidates: list[tuple[tuple[str, str], dict[str, Any]]] = []
    positions: list[int] = []
    for index, ((template_id, event_id), item) in enumerate(keyed):
        if not any(item.get(k) not in (None, "") for k in ("objectId", "email", "utk")):
            errors.append(
                (
                    index,
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"Event with id '{event_id}' must reference an object: "
                        "set one of objectId, email or utk",
                        "context": {"id": [event_id]},
                    },
                )
            )
            continue
        event = {k: v for k, v in item.items() if v is not None}
        event.setdefault("timestamp", ctx.now)
        event["objectType"] = "CONTACT"
        event["createdAt"] = ctx.now
        candidates.append(((template_id, event_id), event))
        positions.append(index)
    created = ctx.state.create_timeline_events(candidates)
    results: list[dict[str, Any]] = []
    for index, ((template_id, event_id), event), was_created in zip(positions, candidates, created, strict=True):
        if was_created:
            results.append(event)
        else:
            errors.append(
                (
                    index,
                    {
                        "status": "error",
                        "category": "OBJECT_ALREADY_EXISTS",
                        "message": f"Event with id '{event_id}' already exists for template '{template_id}'",
                        "context": {"id": [event_id]},
                    },
                )
            )
    errors.sort(key=lambda pair: pair[0])
    return EndpointResult(207 if errors else 201, results, [e for _, e in errors])


def create_occurrences(ctx: EndpointContext, inputs: list[dict[str, Any]]) -> EndpointResult:
    """2026-03: create event occurrences, all or none.

    A validation problem anywhere answers 400 and a repeated ``id`` (one that
    already exists for its ``eventTypeName``) answers 409; either rejects the
    whole batch ("none were accepted").
    """
    keyed: list[tuple[tuple[str, str], dict[str, Any]]] = []
    for index, item in enumerate(inputs):
        key = (req_str(item, "eventTypeName", index), req_str(item, "id", index))
        if not isinstance(item.get("properties"), dict):
            raise validation_error(
                f"Invalid input: inputs[{index}].properties is required and must be an object; none were accepted"
            )
        if not any(item.get(k) not in (None, "") for k in ("objectId", "email", "utk")):
            raise validation_error(
                f"Invalid input: inputs[{index}] (id '{key[1]}') must reference an object: set one of objectId, "
                "email or utk; none were accepted",
                context={"ids": [key[1]]},
            )
        keyed.append((key, item))
    check_duplicates([eid for (_, eid), _ in keyed], keys=[key for key, _ in keyed])
    events = []
    for key, item in keyed:
        event = {k: v for k, v in item.items() if v is not None}
        event.setdefault("timestamp", ctx.now)
        event.setdefault("objectTypeFullyQualifiedName", "0-1")
        event["createdAt"] = ctx.now
        events.append((key, event))
    existing = ctx.state.create_timeline_events_atomically(events)
    if existing:
        ids = [event_id for _, event_id in existing]
        body = error_body(
            f"Events with these ids already exist: {java_list(ids)}; none were accepted",
            "CONFLICT",
            context={"ids": ids},
        )
        raise BatchRejected(body, status=409)
    return EndpointResult(200, [event for _, event in events])
