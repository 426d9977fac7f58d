"""The endpoint table: every (endpoint, API version) the vendored specs describe, with the semantics we add.

What HubSpot describes comes from the specs (:mod:`._operations`, read from
the generated package's ``openapi.json``): the method, the path and its
parameters, the request item schema and its model, the result model, the
scopes and whether a developer API key is accepted. What HubSpot does not
describe is written here, once per endpoint (:data:`_SEMANTICS`): what makes
two inputs duplicates, how results and errors name their inputs, whether the
endpoint creates (ids assigned before the first attempt), and rules the
schema cannot express. A version that is vendored and regenerated is in the
table with no edit to this file. The engine reads this table and nothing
else about endpoints.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import attrs

from . import _versions
from ._operations import Operation, model, operations
from ._validate import EMAIL, RowChecker, inline_refs, openapi_document, request_item_schema

__all__ = [
    "ENDPOINTS",
    "LATEST",
    "ApiVersion",
    "ApiVersionInfo",
    "Endpoint",
    "EndpointName",
    "endpoint",
    "input_schema",
    "resolve_api_version",
    "versions",
]

ApiVersion = str
"""An API version: ``"v3"`` (the numbered versions: v3, and v4 for status writes), ``"v4"``, a
date-based version such as ``"2026-03"`` or ``"2026-09"``, or ``"latest"`` (the newest generally
available version of each endpoint)."""
EndpointName = Literal["webhook_subscriptions", "communications", "subscription_statuses", "timeline_events"]
LATEST = "latest"

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


def _status_key(row: Row) -> tuple[str, str, str]:
    """A status write's identity: subscriber (as HubSpot compares emails), subscription, channel.

    ``(_email(subscriber), _text(subscription), _text(channel))``, written out:
    every unchanged row of an incremental sync computes it.
    """
    get = row.get
    email, subscription, channel = get("subscriberIdString"), get("subscriptionId"), get("channel")
    return (
        (email if type(email) is str else str(email)).strip().lower(),
        subscription if type(subscription) is str else str(subscription),
        channel if type(channel) is str else str(channel),
    )


@attrs.frozen(slots=True)
class Endpoint:
    """What the engine needs to know about one endpoint at one API version.

    ``result_keys``: alternatives, tried in order, of input fields that a
    result item echoes (the first alternative whose fields the result has is
    used). ``error_keys``: context keys of an error entry and the input field
    each names. ``extra_check`` adds endpoint rules the schema cannot express.
    From the spec: ``method``, ``path_template`` and its ``path_params``, the
    generated ``input_model`` and ``result_model``, ``scopes`` (every scope
    the spec accepts), ``required_scope`` (the one to ask for), ``scope``
    (how messages name it), ``developer_key`` and ``success_statuses``.
    Per call: ``make_id`` derives a created row's id (``id_from=``, see
    :mod:`._ids`; None: a random UUID).
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
    method: str = "post"
    path_params: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    required_scope: str = ""
    success_statuses: tuple[int, ...] = (200,)
    make_id: Callable[[Row], str | None] | None = None

    def path(self, **params: Any) -> str:
        """The request path with its parameters filled in."""
        return self.path_template.format(**params)

    def checker(self) -> RowChecker:
        """The compiled request-item schema (cached per endpoint); ids :meth:`prepare` fills in are not required."""
        filled = (("id",) if self.creates else ()) + (("objectWriteTraceId",) if self.trace_ids else ())
        return _checker(self.path_template, filled)

    def parse_result(self, raw: Row) -> Any:
        """A result item as the generated model."""
        return self.result_model.from_dict(raw)  # type: ignore[attr-defined]

    def prepare(self, row: dict[str, Any], job_id: str, index: int) -> None:
        """Fill in what the client adds before sending (ids, trace ids), in place."""
        if self.creates and not row.get("id"):
            made = self.make_id(row) if self.make_id is not None else str(uuid.uuid4())
            if made:
                row["id"] = made
        if self.trace_ids and not row.get("objectWriteTraceId"):
            row["objectWriteTraceId"] = f"{job_id}-{index}"

    def is_already_exists(self, error: Mapping[str, Any]) -> bool:
        """Whether an error entry says the created object already exists."""
        category = str(error.get("category", "")).upper()
        message = str(error.get("message", "")).lower()
        return category in {"OBJECT_ALREADY_EXISTS", "CONFLICT", "DUPLICATE_ID"} or bool(_ALREADY.search(message))


_ALREADY = re.compile(r"already (exists|been created|created)|duplicate (event )?id")

_CHECKERS: dict[tuple[str, tuple[str, ...]], RowChecker] = {}


def _checker(path: str, filled: tuple[str, ...]) -> RowChecker:
    checker = _CHECKERS.get((path, filled))
    if checker is None:
        document = openapi_document()
        checker = RowChecker(request_item_schema(path, document), document, filled=filled)
        _CHECKERS[path, filled] = checker
    return checker


# --------------------------------------------------------------------------- semantics (not in the specs)


def _check_email(row: Row, problems: list[tuple[str, str]]) -> None:
    value = row.get("subscriberIdString")
    if isinstance(value, str) and not EMAIL.match(value):
        problems.append(("subscriberIdString", f"must be an email address; got {value!r}"))


def _check_timeline_target(row: Row, problems: list[tuple[str, str]]) -> None:
    if not any(row.get(k) not in (None, "") for k in ("objectId", "email", "utk")):
        problems.append(("objectId", "one of objectId, email or utk is required to say which record the event is on"))


def _occurrence_check(version: str) -> Callable[[Row, list[tuple[str, str]]], None]:
    def check(row: Row, problems: list[tuple[str, str]]) -> None:
        _check_timeline_target(row, problems)
        v3_fields = [f for f in ("eventTemplateId", "tokens") if f in row]
        if v3_fields:
            problems.append(
                (
                    v3_fields[0],
                    f"is a v3 field: API version {version} takes event occurrences with eventTypeName and "
                    "properties instead of eventTemplateId and tokens (send v3-shaped events with api_version='v3')",
                )
            )

    return check


@attrs.frozen
class _Semantics:
    """What HubSpot does not describe about one endpoint (see :class:`Endpoint` for each field)."""

    duplicate_key: Callable[[Row], Hashable]
    result_keys: tuple[tuple[str, ...], ...]
    error_keys: Mapping[str, str]
    preferred_scopes: tuple[str, ...]
    creates: bool = False
    trace_ids: bool = False
    casefold: frozenset[str] = frozenset()
    free_form: bool = False
    extra_check: Callable[[Row, list[tuple[str, str]]], None] | None = None


def _webhooks(operation: Operation, fields: Mapping[str, Any]) -> _Semantics:
    return _Semantics(
        duplicate_key=lambda row: _text(row.get("id")),
        result_keys=(("id",),),
        error_keys={"subscriptionIds": "id", "ids": "id"},
        preferred_scopes=("developers-write",),
    )


def _communications(operation: Operation, fields: Mapping[str, Any]) -> _Semantics:
    return _Semantics(
        duplicate_key=_object_key,
        result_keys=(("objectWriteTraceId",), ("id",)),
        error_keys={"objectWriteTraceId": "objectWriteTraceId", "ids": "id"},
        preferred_scopes=("crm.objects.contacts.write",),
        trace_ids="objectWriteTraceId" in fields,
    )


def _statuses(operation: Operation, fields: Mapping[str, Any]) -> _Semantics:
    return _Semantics(
        duplicate_key=_status_key,
        result_keys=(("subscriberIdString", "subscriptionId"),),
        error_keys={
            "subscriberIdString": "subscriberIdString",
            "subscriberIdStrings": "subscriberIdString",
            "emails": "subscriberIdString",
            "subscriptionId": "subscriptionId",
            "subscriptionIds": "subscriptionId",
        },
        preferred_scopes=("communication_preferences.statuses.batch.write",),
        casefold=frozenset({"subscriberIdString"}),
        extra_check=_check_email,
    )


_TIMELINE_ERROR_KEYS = {"id": "id", "ids": "id", "eventIds": "id", "eventId": "id"}


def _timeline(operation: Operation, fields: Mapping[str, Any]) -> _Semantics:
    """Events (v3: ``eventTemplateId`` + ``tokens``) or occurrences (date-based: ``eventTypeName`` + ``properties``)."""
    occurrences = "eventTypeName" in fields
    kind = "eventTypeName" if occurrences else "eventTemplateId"
    return _Semantics(
        duplicate_key=lambda row: (_text(row.get(kind)), _text(row.get("id"))),
        result_keys=(("id",),),
        error_keys=_TIMELINE_ERROR_KEYS,
        preferred_scopes=("timeline", "timeline-write"),
        creates=True,
        free_form=True,
        extra_check=_occurrence_check(operation.version) if occurrences else _check_timeline_target,
    )


_SEMANTICS: Mapping[str, Callable[[Operation, Mapping[str, Any]], _Semantics]] = {
    "webhook_subscriptions": _webhooks,
    "communications": _communications,
    "subscription_statuses": _statuses,
    "timeline_events": _timeline,
}
"""Per endpoint: its semantics, given the operation and the request item's fields."""


def _scope_named(preferred: Sequence[str], scopes: Sequence[str], developer_key: bool) -> tuple[str, str]:
    """The scope a token needs (a preferred one the spec lists, else the spec's first), and how messages name it."""
    named = next((p for p in preferred if p in scopes), scopes[0] if scopes else preferred[0])
    others = [s for s in scopes if s != named]
    shown = f"{named} (or one of {len(others)} other scopes)" if len(others) > 2 else " or ".join([named, *others])
    return named, shown + (" (or a developer API key)" if developer_key else "")


def _build(operation: Operation, document: Mapping[str, Any]) -> Endpoint:
    if operation.endpoint not in _SEMANTICS:
        raise LookupError(
            f"{operation.method.upper()} {operation.path_template} is marked as endpoint {operation.endpoint!r}, "
            f"which is not one of {', '.join(_SEMANTICS)} (see specs/sources.yaml)"
        )
    fields = document["components"]["schemas"][operation.item_schema].get("properties", {})
    semantics = _SEMANTICS[operation.endpoint](operation, fields)
    required, shown = _scope_named(semantics.preferred_scopes, operation.scopes, operation.developer_key)
    return Endpoint(
        name=operation.endpoint,  # type: ignore[arg-type]
        version=operation.version,
        path_template=operation.path_template,
        input_model=model(operation.item_schema),
        result_model=model(operation.result_schema) if operation.result_schema else dict,
        scope=shown,
        duplicate_key=semantics.duplicate_key,
        result_keys=semantics.result_keys,
        error_keys=semantics.error_keys,
        creates=semantics.creates,
        trace_ids=semantics.trace_ids,
        developer_key=operation.developer_key,
        casefold=semantics.casefold,
        free_form=semantics.free_form,
        extra_check=semantics.extra_check,
        method=operation.method,
        path_params=operation.path_params,
        scopes=operation.scopes,
        required_scope=required,
        success_statuses=operation.success_statuses,
    )


def _table() -> dict[tuple[EndpointName, str], Endpoint]:
    document = openapi_document()
    table: dict[tuple[EndpointName, str], Endpoint] = {}
    for operation in operations(document):
        built = _build(operation, document)
        key = (built.name, built.version)
        if key in table:
            raise LookupError(f"two vendored operations are {built.name} at {built.version}: see specs/sources.yaml")
        table[key] = built
    return table


ENDPOINTS: Mapping[tuple[EndpointName, str], Endpoint] = _table()
"""Every (endpoint, API version) the vendored specs describe."""

DEFAULT_VERSIONS: Mapping[EndpointName, str] = {
    "webhook_subscriptions": "v3",
    "communications": "v3",
    "subscription_statuses": "v4",
    "timeline_events": "v3",
}
"""The numbered version of each endpoint: what ``"v3"`` (and no version) means."""


def versions_of(name: EndpointName) -> Sequence[str]:
    """The API versions the specs describe for an endpoint, sorted."""
    return sorted(v for (n, v) in ENDPOINTS if n == name)


def resolve_api_version(name: EndpointName, version: str | None) -> str:
    """The concrete API version ``version`` means for endpoint ``name``.

    ``None`` and ``"v3"`` mean the numbered version (v3, or v4 for status
    writes, so that one client-wide ``api_version="v3"`` works for every
    endpoint); ``"v4"`` is accepted for status writes; ``"latest"`` is the
    newest generally available date-based version of the endpoint; any other
    version must be one the endpoint has. Raises :class:`ConfigurationError`
    naming the versions it has.
    """
    from ._errors import ConfigurationError

    numbered = DEFAULT_VERSIONS[name]
    available = versions_of(name)
    if version is None or version == "v3" or (version == "v4" and numbered == "v4"):
        chosen: str | None = numbered
    elif version == LATEST:
        chosen = _versions.latest(available)
    else:
        chosen = version
    if chosen is None or (name, chosen) not in ENDPOINTS:
        known = ", ".join(sorted({"v3", numbered, LATEST} | set(available)))
        raise ConfigurationError(f"{name} has no API version {version!r}; available: {known}")
    return chosen


def endpoint(name: EndpointName, version: str | None = None) -> Endpoint:
    """The table entry for ``name`` at ``version`` (as :func:`resolve_api_version` reads it)."""
    return ENDPOINTS[(name, resolve_api_version(name, version))]


def known_version(version: str) -> bool:
    """Whether ``version`` means something for at least one endpoint (client-wide ``api_version=``)."""
    return version in ("v3", LATEST) or any(v == version for (_, v) in ENDPOINTS)


def input_schema(name: EndpointName, api_version: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one input row of an endpoint at an API version, references inlined.

    ``name`` is ``"webhook_subscriptions"``, ``"communications"``,
    ``"subscription_statuses"`` or ``"timeline_events"``; ``api_version`` as
    for the calls (``None``/``"v3"``: the numbered version; ``"latest"``). It
    is the schema rows are validated against, from the vendored specs.
    """
    document = openapi_document()
    schema: dict[str, Any] = inline_refs(
        request_item_schema(endpoint(name, api_version).path_template, document), document
    )
    return schema


@attrs.frozen
class ApiVersionInfo:
    """One API version as :func:`versions` reports it.

    ``endpoints``: the endpoints the library can call at this version.
    ``released``: when HubSpot made it generally available (None: numbered
    versions, which predate the date-based scheme). ``support_ends``: the
    first day HubSpot no longer supports it. ``replacement``: the version to
    move to. ``status``: ``current``, ``supported``, ``unsupported``,
    ``unreleased`` or ``unknown`` today. ``source``: where the dates come from.
    """

    version: str
    endpoints: tuple[EndpointName, ...]
    released: _dt.date | None
    support_ends: _dt.date | None
    replacement: str | None
    status: str
    source: str


def versions(today: _dt.date | None = None) -> tuple[ApiVersionInfo, ...]:
    """Every API version the library can call, with its lifecycle (GA date, end of support, replacement).

    Numbered versions first, then date-based ones, oldest first. ``today``
    (default: today, UTC) decides each version's ``status``.
    """
    names = sorted({v for (_, v) in ENDPOINTS}, key=lambda v: (v[:1].isdigit(), v))
    rows = []
    for version in names:
        info = _versions.lifecycle(version)
        rows.append(
            ApiVersionInfo(
                version=version,
                endpoints=tuple(sorted(n for (n, v) in ENDPOINTS if v == version)),
                released=info.released,
                support_ends=info.support_ends,
                replacement=info.replacement,
                status=info.status(today),
                source=info.source,
            )
        )
    return tuple(rows)
