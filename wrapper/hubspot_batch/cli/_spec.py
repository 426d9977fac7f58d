"""Field types of each endpoint's input item, read from the vendored OpenAPI document.

The CSV reader needs to know that a webhook subscription's ``id`` is an
integer or that ``active`` is a boolean. Rather than hard-coding that, it
asks the library for the input schema of each endpoint (``input_schema``,
from the vendored specs) and turns it into a small tree of :class:`FieldSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

import attrs

from hubspot_batch import EndpointName, input_schema

__all__ = ["ENDPOINT_NAMES", "FieldSpec", "item_spec"]

#: The endpoint names the command accepts (the library's names, with hyphens).
ENDPOINT_NAMES: tuple[str, ...] = (
    "webhook-subscriptions",
    "communications",
    "subscription-statuses",
    "timeline-events",
)


@attrs.frozen
class FieldSpec:
    """The type of one field: ``kind`` is a JSON Schema type (or ``"any"``).

    For objects, ``fields`` holds the declared properties and ``values`` the
    type of any other key (``additionalProperties``), when the schema gives one.
    """

    kind: str
    fields: Mapping[str, FieldSpec] = attrs.field(factory=dict)
    values: FieldSpec | None = None

    def child(self, name: str) -> FieldSpec | None:
        """The type of key ``name`` of this object, if the schema says."""
        return self.fields.get(name, self.values)


def _compile(schema: Mapping[str, Any], depth: int = 0) -> FieldSpec:
    kind = schema.get("type") or ("object" if "properties" in schema else "any")
    if kind != "object" or depth > 8:
        return FieldSpec(str(kind))
    fields = {name: _compile(sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    extra = schema.get("additionalProperties")
    values = _compile(extra, depth + 1) if isinstance(extra, Mapping) else None
    return FieldSpec("object", fields, values)


@cache
def item_spec(endpoint: str, api_version: str = "v3") -> FieldSpec:
    """The type tree of one input row of ``endpoint`` (a command-line name) at ``api_version``."""
    name = cast(EndpointName, endpoint.replace("-", "_"))
    return _compile(input_schema(name, api_version))
