"""Field types of each endpoint's input item, read from the vendored OpenAPI document.

The CSV reader needs to know that a webhook subscription's ``id`` is an
integer or that ``active`` is a boolean. Rather than hard-coding that, it
reads the request-item schema of each endpoint's path from
``hubspot_batch_api/openapi.json`` (the document the generated client was
built from) and turns it into a small tree of :class:`FieldSpec`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import attrs

__all__ = ["ENDPOINT_NAMES", "FieldSpec", "endpoint_path", "item_spec"]

#: The endpoint names the command accepts, and the request path of each (``{version}`` for webhooks).
_PATHS: Mapping[str, str] = {
    "webhook-subscriptions": "/webhooks/{version}/{{appId}}/subscriptions/batch/update",
    "communications": "/crm/v3/objects/communications/batch/update",
    "subscription-statuses": "/communication-preferences/v4/statuses/batch/write",
    "timeline-events": "/integrators/timeline/v3/events/batch/create",
}

ENDPOINT_NAMES: tuple[str, ...] = tuple(_PATHS)


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


def endpoint_path(endpoint: str, api_version: str = "v3") -> str:
    """The spec path of ``endpoint`` (webhooks at ``api_version``)."""
    return _PATHS[endpoint].format(version=api_version)


@cache
def _document() -> Mapping[str, Any]:
    text = resources.files("hubspot_batch_api").joinpath("openapi.json").read_text(encoding="utf-8")
    document: Mapping[str, Any] = json.loads(text)
    return document


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    document = _document()
    seen = 0
    while "$ref" in schema and seen < 32:
        node: Any = document
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node[part]
        schema = node
        seen += 1
    return schema


def _compile(schema: Mapping[str, Any], depth: int = 0) -> FieldSpec:
    schema = _resolve(schema)
    kind = schema.get("type") or ("object" if "properties" in schema else "any")
    if kind != "object" or depth > 8:
        return FieldSpec(str(kind))
    fields = {name: _compile(sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    extra = schema.get("additionalProperties")
    values = _compile(extra, depth + 1) if isinstance(extra, Mapping) else None
    return FieldSpec("object", fields, values)


@cache
def item_spec(endpoint: str, api_version: str = "v3") -> FieldSpec:
    """The type tree of one element of ``inputs`` in the request body of ``endpoint``."""
    path = endpoint_path(endpoint, api_version)
    body = _resolve(_document()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])
    inputs = _resolve(body["properties"]["inputs"])
    return _compile(inputs["items"])
