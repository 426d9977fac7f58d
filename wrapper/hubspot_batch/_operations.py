"""The batch operations the vendored specs describe, read from the generated package's ``openapi.json``.

``scripts/vendor_spec.py`` marks each vendored operation with
``x-hubspot-batch: {endpoint, api-version}`` (from ``specs/sources.yaml``).
This module finds the marked operations of the merged document and reads
what HubSpot describes about each: method, path and its parameters, the
request item and result schemas (and their generated models), the success
statuses, the security alternatives with their scopes, and whether a
developer API key is accepted. Nothing here is copied by hand: a version
vendored and regenerated appears here with no code change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import import_module
from typing import Any

import attrs

from ._validate import openapi_document

__all__ = ["MARK", "SCOPE_NAMES", "Operation", "class_name", "model", "operations"]

MARK = "x-hubspot-batch"

_METHODS = ("get", "put", "post", "patch", "delete")

SCOPE_NAMES = {"subscription-status-batch-write": "communication_preferences.statuses.batch.write"}
"""Scopes some specs list under an internal name, and the name HubSpot's app settings and 403 bodies use."""


@attrs.frozen
class Operation:
    """One vendored batch operation, as its spec describes it.

    ``security`` lists the alternatives HubSpot accepts: each a mapping of
    scheme name to the scopes it needs. ``scopes`` is every scope named by
    any alternative, in the spec's order (internal names replaced by the
    public ones, :data:`SCOPE_NAMES`). ``developer_key`` is true when an
    alternative is a developer API key (``hapikey`` in the query).
    """

    endpoint: str
    version: str
    method: str
    path_template: str
    path_params: tuple[str, ...]
    item_schema: str
    result_schema: str | None
    success_statuses: tuple[int, ...]
    statuses: tuple[int, ...]
    security: tuple[Mapping[str, tuple[str, ...]], ...]
    scopes: tuple[str, ...]
    developer_key: bool


def _ref_name(schema: Mapping[str, Any] | None) -> str | None:
    ref = (schema or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _component(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    name = _ref_name(schema)
    if name is None:
        return schema
    found: Mapping[str, Any] = document["components"]["schemas"][name]
    return found


def _json_schema(holder: Mapping[str, Any]) -> Mapping[str, Any] | None:
    content = holder.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    schema = (media or {}).get("schema")
    return schema if isinstance(schema, Mapping) else None


def _items_of(document: Mapping[str, Any], envelope: Mapping[str, Any] | None, field: str) -> str | None:
    if envelope is None:
        return None
    items = _component(document, envelope).get("properties", {}).get(field, {}).get("items")
    return _ref_name(items)


def _is_developer_key(scheme: Mapping[str, Any], name: str) -> bool:
    return (
        scheme.get("type") == "apiKey"
        and scheme.get("in") == "query"
        and scheme.get("name") == "hapikey"
        and name.startswith("developer")
    )


def _operation(document: Mapping[str, Any], path: str, item: Mapping[str, Any], method: str) -> Operation | None:
    op = item[method]
    mark = op.get(MARK)
    if not isinstance(mark, Mapping):
        return None
    parameters = list(item.get("parameters", [])) + list(op.get("parameters", []))
    path_params = tuple(p["name"] for p in parameters if p.get("in") == "path")
    body = _json_schema(op.get("requestBody") or {})
    item_schema = _items_of(document, body, "inputs")
    if item_schema is None:
        raise LookupError(f"{method.upper()} {path}: the request body has no 'inputs' list of a named schema")
    responses: Mapping[str, Any] = op.get("responses", {})
    statuses = tuple(sorted(int(code) for code in responses if code.isdigit()))
    success = tuple(code for code in statuses if 200 <= code < 300)
    result_schema = next(
        (
            name
            for code in success
            if (name := _items_of(document, _json_schema(responses[str(code)]), "results")) is not None
        ),
        None,
    )
    schemes: Mapping[str, Any] = document.get("components", {}).get("securitySchemes", {})
    security = tuple(
        {scheme: tuple(scopes) for scheme, scopes in requirement.items()}
        for requirement in op.get("security", document.get("security", []))
    )
    scopes = tuple(
        dict.fromkeys(
            SCOPE_NAMES.get(scope, scope)
            for requirement in security
            for names in requirement.values()
            for scope in names
        )
    )
    developer_key = any(
        _is_developer_key(schemes.get(name, {}), name) for requirement in security for name in requirement
    )
    return Operation(
        endpoint=str(mark["endpoint"]),
        version=str(mark["api-version"]),
        method=method,
        path_template=path,
        path_params=path_params,
        item_schema=item_schema,
        result_schema=result_schema,
        success_statuses=success,
        statuses=statuses,
        security=security,
        scopes=scopes,
        developer_key=developer_key,
    )


def operations(document: Mapping[str, Any] | None = None) -> Sequence[Operation]:
    """Every marked operation of the merged document (the generated package's by default), in path order."""
    document = document if document is not None else openapi_document()
    found: list[Operation] = []
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                operation = _operation(document, path, item, method)
                if operation is not None:
                    found.append(operation)
    return found


def class_name(schema_name: str) -> str:
    """The class openapi-python-client generates for a component schema name."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", schema_name) if p]
    return "".join(p[0].upper() + p[1:] for p in parts)


def model(schema_name: str) -> type:
    """The generated model class of a component schema."""
    models = import_module("hubspot_batch_api.models")
    found = getattr(models, class_name(schema_name), None)
    if not isinstance(found, type):
        raise LookupError(f"the generated package has no model for schema {schema_name!r}: regenerate it")
    return found
