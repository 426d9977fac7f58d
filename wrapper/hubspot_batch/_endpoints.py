"""One table of the four batch endpoints: everything that differs between them.

For each endpoint and API version: the path, the generated input and result
models, the default batch size, what makes two inputs duplicates, how a
result and an error name the input they belong to, the scope it needs, and
whether it creates (so that ids are assigned before the first attempt).
The engine reads this table and nothing else about endpoints.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import attrs
from hubspot_batch_api.models import (
    AppEventOccurrence,
    CrmCommunications202603SimplePublicObject,
    PublicStatus,
    PublicStatusRequest,
    SimplePublicObject,
    SimplePublicObjectBatchInput,
    SubscriptionBatchUpdateRequest,
    SubscriptionResponse,
    TimelineEvent,
    TimelineEventResponse,
    Webhooks202603SubscriptionResponse,
)

from ._quickcheck import QuickCheck, compile_quick
from ._validate import EMAIL, Checker, compile_schema, inline_refs, openapi_document, request_item_schema

__all__ = ["ENDPOINTS", "ApiVersion", "Endpoint", "EndpointName", "endpoint", "input_schema"]

ApiVersion = Literal["v3", "v4", "2026-03"]
"""``"v3"``: the numbered versions (v3, and v4 for status writes); ``"2026-03"``: date-based."""
EndpointName = Literal["webhook_subscriptions", "communications", "subscription_statuses", "timeline_events"]

Row = Mapping[str, Any]
DEFAULT_BATCH_SIZE = 100


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _object_key(row: Row) -> Hashable:
    """A CRM object's identity in a batch: its id, or (id property, value) when ``idProperty`` is set."""
    id_property = row.get("idProperty")
    return (id_property, _text(row.get("id"))) if id_property else _text(row.get("id"))


def _email(value: Any) -> str:
    return _text(value).strip().lower()


@attrs.frozen(slots=True)
class Endpoint:
    """What the engine needs to know about one endpoint at one API version.

    ``result_keys``: alternatives, tried in order, of input fields that a
    result item echoes (the first alternative whose fields the result has is
    used). ``error_keys``: context keys of an error entry and the input field
    each names. ``extra_check`` adds endpoint rules the schema cannot express.
    """

    name: EndpointName
    version: str
    path_template: str
    input_model: type
    result_model: type
    scope: str
    duplicate_key: Callable[[Row], Hashable]
    result_keys: tuple[tuple[str, ...], ...]
    error_keys: Mapping[str, str]
    creates: bool = False
    trace_ids: bool = False
    developer_key: bool = False
    casefold: frozenset[str] = frozenset()
    free_form: bool = False
    extra_check: Callable[[Row, list[tuple[str, str]]], None] | None = None
    default_batch_size: int = DEFAULT_BATCH_SIZE

    def path(self, **params: Any) -> str:
        """The request path with its parameters filled in."""
        return self.path_template.format(**params)

    def checker(self) -> Checker:
        """The compiled request-item schema (cached per endpoint)."""
        return _checker(self.path_template)

    def quick_check(self) -> QuickCheck:
        """The generated yes/no test for rows that need no full check, before :meth:`prepare` (cached)."""
        filled = (("id",) if self.creates else ()) + (("objectWriteTraceId",) if self.trace_ids else ())
        return _quick_check(self.path_template, filled)

    def parse_result(self, raw: Row) -> Any:
        """A result item as the generated model."""
        return self.result_model.from_dict(raw)  # type: ignore[attr-defined]

    def prepare(self, row: dict[str, Any], job_id: str, index: int) -> None:
        """Fill in what the client adds before sending (ids, trace ids), in place."""
        if self.creates and not row.get("id"):
            row["id"] = str(uuid.uuid4())
        if self.trace_ids and not row.get("objectWriteTraceId"):
            row["objectWriteTraceId"] = f"{job_id}-{index}"

    def is_already_exists(self, error: Mapping[str, Any]) -> bool:
        """Whether an error entry says the created object already exists."""
        category = str(error.get("category", "")).upper()
        message = str(error.get("message", "")).lower()
        return category in {"OBJECT_ALREADY_EXISTS", "CONFLICT", "DUPLICATE_ID"} or bool(_ALREADY.search(message))


_ALREADY = re.compile(r"already (exists|been created|created)|duplicate (event )?id")

_CHECKERS: dict[str, Checker] = {}
_QUICK_CHECKS: dict[tuple[str, tuple[str, ...]], QuickCheck] = {}


def _checker(path: str) -> Checker:
    checker = _CHECKERS.get(path)
    if checker is None:
        document = openapi_document()
        checker = compile_schema(request_item_schema(path, document), document)
        _CHECKERS[path] = checker
    return checker


def _quick_check(path: str, filled: tuple[str, ...]) -> QuickCheck:
    quick = _QUICK_CHECKS.get((path, filled))
    if quick is None:
        document = openapi_document()
        quick = compile_quick(request_item_schema(path, document), document, filled=filled)
        _QUICK_CHECKS[path, filled] = quick
    return quick


def _check_email(row: Row, problems: list[tuple[str, str]]) -> None:
    value = row.get("subscriberIdString")
    if isinstance(value, str) and not EMAIL.match(value):
        problems.append(("subscriberIdString", f"must be an email address; got {value!r}"))


def _check_timeline_target(row: Row, problems: list[tuple[str, str]]) -> None:
    if not any(row.get(k) not in (None, "") for k in ("objectId", "email", "utk")):
        problems.append(("objectId", "one of objectId, email or utk is required to say which record the event is on"))


def _check_occurrence(row: Row, problems: list[tuple[str, str]]) -> None:
    _check_timeline_target(row, problems)
    v3_fields = [f for f in ("eventTemplateId", "tokens") if f in row]
    if v3_fields:
        problems.append(
            (
                v3_fields[0],
                "is a v3 field: API version 2026-03 takes event occurrences with eventTypeName and properties "
                "instead of eventTemplateId and tokens (send v3-shaped events with api_version='v3')",
            )
        )


def _webhooks(version: str, result_model: type) -> Endpoint:
    return Endpoint(
        name="webhook_subscriptions",
        version=version,
        path_template=f"/webhooks/{version}/{{appId}}/subscriptions/batch/update",
        input_model=SubscriptionBatchUpdateRequest,
        result_model=result_model,
        scope="developers-write (or a developer API key)",
        duplicate_key=lambda row: _text(row.get("id")),
        result_keys=(("id",),),
        error_keys={"subscriptionIds": "id", "ids": "id"},
        developer_key=True,
    )


def _communications(version: str, path: str, result_model: type) -> Endpoint:
    return Endpoint(
        name="communications",
        version=version,
        path_template=path,
        input_model=SimplePublicObjectBatchInput,
        result_model=result_model,
        scope="crm.objects.contacts.write",
        duplicate_key=_object_key,
        result_keys=(("objectWriteTraceId",), ("id",)),
        error_keys={"objectWriteTraceId": "objectWriteTraceId", "ids": "id"},
        trace_ids=True,
    )


def _statuses(version: str, path: str) -> Endpoint:
    return Endpoint(
        name="subscription_statuses",
        version=version,
        path_template=path,
        input_model=PublicStatusRequest,
        result_model=PublicStatus,
        scope="communication_preferences.statuses.batch.write",
        duplicate_key=lambda row: (
            _email(row.get("subscriberIdString")),
            _text(row.get("subscriptionId")),
            _text(row.get("channel")),
        ),
        casefold=frozenset({"subscriberIdString"}),
        result_keys=(("subscriberIdString", "subscriptionId"),),
        error_keys={
            "subscriberIdString": "subscriberIdString",
            "subscriberIdStrings": "subscriberIdString",
            "emails": "subscriberIdString",
            "subscriptionId": "subscriptionId",
            "subscriptionIds": "subscriptionId",
        },
        extra_check=_check_email,
    )


_TIMELINE_ERROR_KEYS = {"id": "id", "ids": "id", "eventIds": "id", "eventId": "id"}

ENDPOINTS: Mapping[tuple[EndpointName, str], Endpoint] = {
    ("webhook_subscriptions", "v3"): _webhooks("v3", SubscriptionResponse),
    ("webhook_subscriptions", "2026-03"): _webhooks("2026-03", Webhooks202603SubscriptionResponse),
    ("communications", "v3"): _communications("v3", "/crm/v3/objects/communications/batch/update", SimplePublicObject),
    ("communications", "2026-03"): _communications(
        "2026-03", "/crm/objects/2026-03/communications/batch/update", CrmCommunications202603SimplePublicObject
    ),
    ("subscription_statuses", "v4"): _statuses("v4", "/communication-preferences/v4/statuses/batch/write"),
    ("subscription_statuses", "2026-03"): _statuses(
        "2026-03", "/communication-preferences/2026-03/statuses/batch/write"
    ),
    ("timeline_events", "v3"): Endpoint(
        name="timeline_events",
        version="v3",
        path_template="/integrators/timeline/v3/events/batch/create",
        input_model=TimelineEvent,
        result_model=TimelineEventResponse,
        scope="timeline",
        duplicate_key=lambda row: (_text(row.get("eventTemplateId")), _text(row.get("id"))),
        result_keys=(("id",),),
        error_keys=_TIMELINE_ERROR_KEYS,
        creates=True,
        extra_check=_check_timeline_target,
        free_form=True,
    ),
    ("timeline_events", "2026-03"): Endpoint(
        name="timeline_events",
        version="2026-03",
        path_template="/integrators/timeline/2026-03/events/batch",
        input_model=AppEventOccurrence,
        result_model=AppEventOccurrence,
        scope="timeline",
        duplicate_key=lambda row: (_text(row.get("eventTypeName")), _text(row.get("id"))),
        result_keys=(("id",),),
        error_keys=_TIMELINE_ERROR_KEYS,
        creates=True,
        extra_check=_check_occurrence,
        free_form=True,
    ),
}
"""Every supported (endpoint, API version)."""

DEFAULT_VERSIONS: Mapping[EndpointName, str] = {
    "webhook_subscriptions": "v3",
    "communications": "v3",
    "subscription_statuses": "v4",
    "timeline_events": "v3",
}


def endpoint(name: EndpointName, version: str | None = None) -> Endpoint:
    """The table entry for ``name`` at ``version``.

    ``None`` and ``"v3"`` mean the numbered version of the endpoint (v3, or v4
    for status writes, so that one client-wide ``api_version="v3"`` works for
    every endpoint); ``"v4"`` is accepted for status writes; ``"2026-03"``
    the date-based version.
    """
    from ._errors import ConfigurationError

    numbered = DEFAULT_VERSIONS[name]
    if version is None or version == "v3":
        chosen = numbered
    elif version == "v4" and numbered == "v4":
        chosen = "v4"
    else:
        chosen = version
    try:
        return ENDPOINTS[(name, chosen)]
    except KeyError:
        known = ", ".join(sorted({"v3", numbered} | set(versions(name))))
        raise ConfigurationError(f"{name} has no API version {version!r}; available: {known}") from None


def input_schema(name: EndpointName, api_version: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one input row of an endpoint at an API version, references inlined.

    ``name`` is ``"webhook_subscriptions"``, ``"communications"``,
    ``"subscription_statuses"`` or ``"timeline_events"``; ``api_version`` as
    for the calls (``None``/``"v3"``: the numbered version). It is the schema
    rows are validated against, from the vendored specs.
    """
    document = openapi_document()
    schema: dict[str, Any] = inline_refs(
        request_item_schema(endpoint(name, api_version).path_template, document), document
    )
    return schema


def versions(name: EndpointName) -> Sequence[str]:
    """The API versions available for an endpoint."""
    return sorted(v for (n, v) in ENDPOINTS if n == name)
