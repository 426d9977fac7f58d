"""POST /crm/v3/objects/communications/batch/update."""

from __future__ import annotations

from typing import Any

from ._batch import EndpointContext, EndpointResult, check_duplicates, opt_str, req_str
from ._errors import dump_json, validation_error

__all__ = ["object_exists", "update_communications"]

_READ_ONLY = frozenset({"hs_object_id", "hs_createdate", "hs_lastmodifieddate", "createdate"})


def object_exists(ctx: EndpointContext, object_id: str) -> bool:
    """Numeric ids > 0 exist unless listed in ``missing_ids``; other ids never exist."""
    return (
        object_id.isascii() and object_id.isdigit() and int(object_id) > 0 and object_id not in ctx.config.missing_ids
    )


def _invalid_property(name: str) -> dict[str, Any]:
    if name in _READ_ONLY:
        return {
            "isValid": False,
            "message": f'"{name}" is a read only property; its value cannot be set.',
            "error": "READ_ONLY_VALUE",
            "name": name,
        }
    return {
        "isValid": False,
        "message": f'Property "{name}" does not exist',
        "error": "PROPERTY_DOESNT_EXIST",
        "name": name,
    }


def update_communications(ctx: EndpointContext, inputs: list[dict[str, Any]]) -> EndpointResult:
    """Validate the whole batch, update existing ids, group missing ids in one error."""
    config = ctx.config
    parsed: list[tuple[str, dict[str, str], str | None]] = []
    invalid: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(inputs):
        object_id = req_str(item, "id", index)
        props = item.get("properties")
        if not isinstance(props, dict):
            raise validation_error(f"Invalid input: inputs[{index}].properties is required and must be an object")
        for name, value in props.items():
            if not isinstance(value, str):
                raise validation_error(f"Invalid input: inputs[{index}].properties.{name} must be a string")
            if name not in invalid and not config.property_exists(name):
                invalid[name] = _invalid_property(name)
        id_property = opt_str(item, "idProperty", index)
        if id_property not in (None, "hs_object_id"):
            raise validation_error(
                f"Sandbox limitation: idProperty {id_property!r} is not supported (only hs_object_id)"
            )
        parsed.append((object_id, props, opt_str(item, "objectWriteTraceId", index)))
    check_duplicates([p[0] for p in parsed])
    if invalid:
        listing = dump_json(list(invalid.values())).decode()
        raise validation_error(f"Property values were not valid: {listing}")

    found = [p for p in parsed if object_exists(ctx, p[0])]
    missing = [p for p in parsed if not object_exists(ctx, p[0])]
    stored = ctx.state.update_communications([(p[0], p[1]) for p in found], ctx.now)
    results: list[dict[str, Any]] = []
    for rec, (_, _, trace) in zip(stored, found, strict=True):
        result: dict[str, Any] = {
            "id": rec.id,
            "properties": dict(rec.properties),
            "createdAt": rec.created_at,
            "updatedAt": rec.updated_at,
            "archived": False,
        }
        if trace is not None:
            result["objectWriteTraceId"] = trace
        results.append(result)
    if not missing:
        return EndpointResult(200, results)
    context: dict[str, list[str]] = {"ids": [p[0] for p in missing]}
    traces = [p[2] for p in missing if p[2] is not None]
    if traces:
        context["objectWriteTraceId"] = traces
    error = {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some COMMUNICATION objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": context,
    }
    return EndpointResult(207, results, [error])
