"""Shared pieces of the contract tests: endpoints, inputs, targets, cassettes, schemas, secrets.

The contract tests replay recorded HTTP exchanges (``tests/cassettes/``). A
cassette is recorded against a *target*:

- ``sandbox`` (the default when recording): a :class:`SandboxServer` on
  127.0.0.1, configured per scenario;
- ``hubspot`` (``HUBSPOT_CONTRACT_TARGET=hubspot``): https://api.hubapi.com with
  the credentials and ids from the environment (see :data:`HUBSPOT_ENV`).

Every cassette stores where it comes from and the ids its inputs used under
``recorded_against``, so a replay builds exactly the requests that were
recorded, whichever target recorded them.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxRequest, SandboxResponse
from hubspot_batch.sandbox._errors import new_correlation_id, validation_error
from hubspot_batch.sandbox._faults import ERROR_5XX, FaultInjector
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from vcr.serializers import yamlserializer

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "tests" / "cassettes"
SPECS = REPO / "specs"
PRISM_DIR = REPO / "tests" / "prism"

RECORD_COMMAND = "python -m pytest tests/contract --record-mode=rewrite"
SETUP_HEADER = "X-Contract-Setup"
"""Requests carrying this header prepare a scenario (fill a rate window...) and are never recorded."""

# Fake credentials for the sandbox. They are shaped like real ones on purpose:
# the secret scan must find them if they ever leak into a cassette or a log.
SANDBOX_TOKEN = "pat-na1-0c0e7a11-5eed-4b0b-9d1e-c0de0000a001"
SANDBOX_DEVELOPER_KEY = "d3ve1ope-a5f1-4c3e-8b0b-00000000a002"
SANDBOX_LIMITED_TOKEN = "pat-na1-0c0e7a11-5eed-4b0b-9d1e-c0de0000a003"
BAD_TOKEN = "pat-na1-0c0e7a11-5eed-4b0b-9d1e-badbad00a004"
BAD_DEVELOPER_KEY = "badbadde-a5f1-4c3e-8b0b-00000000a005"
FAKE_SECRETS = (SANDBOX_TOKEN, SANDBOX_DEVELOPER_KEY, SANDBOX_LIMITED_TOKEN, BAD_TOKEN, BAD_DEVELOPER_KEY)

HUBSPOT_ENV = {
    "HUBSPOT_ACCESS_TOKEN": "private-app token with every scope the four endpoints need",
    "HUBSPOT_DEVELOPER_API_KEY": "developer API key of the app (webhook subscriptions)",
    "HUBSPOT_APP_ID": "id of the app whose webhook subscriptions are switched",
    "HUBSPOT_WEBHOOK_SUBSCRIPTION_IDS": "4 comma-separated subscription ids of that app",
    "HUBSPOT_COMMUNICATION_IDS": "4 comma-separated ids of existing communications",
    "HUBSPOT_CONTACT_EMAILS": "4 comma-separated emails of contacts (status writes)",
    "HUBSPOT_PREFERENCE_SUBSCRIPTION_ID": "id of a subscription type (communication preferences)",
    "HUBSPOT_TIMELINE_TEMPLATE_ID": "id of a timeline event template of the app (v3 events)",
    "HUBSPOT_TIMELINE_EVENT_TYPE_NAME": "name of an app event type of the app (2026-03 and 2026-09 event occurrences)",
    "HUBSPOT_CONTACT_ID": "id of a contact the timeline events go on",
}
HUBSPOT_OPTIONAL_ENV = {
    "HUBSPOT_LIMITED_ACCESS_TOKEN": "token lacking the endpoints' scopes (403 scenario; skipped without it)",
    "HUBSPOT_WEBHOOKS_ACCESS_TOKEN": (
        "OAuth access token with developers-write for the app's webhook subscriptions: webhooks 2026-09 "
        "takes no developer API key (default: HUBSPOT_ACCESS_TOKEN)"
    ),
    "HUBSPOT_TIMELINE_TOKENS": "JSON object of the template's tokens (default: {})",
    "HUBSPOT_TIMELINE_PROPERTIES": "JSON object of the event type's properties, string values (default: {})",
}

# --------------------------------------------------------------------------- endpoints and scenarios

ENDPOINT_NAMES = (
    "webhooks-v3",
    "webhooks-2026-03",
    "webhooks-2026-09",
    "communications-v3",
    "communications-2026-03",
    "communications-2026-09",
    "statuses-v4",
    "statuses-2026-03",
    "statuses-2026-09",
    "timeline-v3",
    "timeline-2026-03",
    "timeline-2026-09",
)
"""Every (endpoint, API version) the library supports, as ``<endpoint>-<version>``."""
API_VERSION = {name: name.split("-", 1)[1] for name in ENDPOINT_NAMES}
LIBRARY_ENDPOINT = {
    "webhooks": "webhook_subscriptions",
    "communications": "communications",
    "statuses": "subscription_statuses",
    "timeline": "timeline_events",
}
"""The library's name (``hubspot_batch.EndpointName``) of each endpoint."""
CLIENT_WIDE_VERSION = {
    "communications-2026-03": "2026-03",
    "statuses-2026-03": "2026-03",
    "timeline-2026-03": "2026-03",
    "communications-2026-09": "latest",
    "statuses-2026-09": "2026-09",
    "timeline-2026-09": "latest",
}
"""Endpoints whose contract tests set the API version client-wide (``HubSpotBatch(api_version=...)``), and the
version they give the client: ``latest`` must mean the endpoint's version (checked before each run). The
others (v3/v4, webhooks 2026-03 and 2026-09) pass ``api_version=`` per call."""
DEVELOPER_KEY_ENDPOINTS = ("webhooks-v3", "webhooks-2026-03")
"""Endpoints whose spec accepts a developer API key (``?hapikey=``). The contract tests give the client the
developer key only there: everywhere else (webhooks 2026-09 included, which takes OAuth bearer tokens only)
they run with the bearer token alone, so that the 401 / 403 scenarios concern the bearer token."""
OCCURRENCE_ENDPOINTS = ("timeline-2026-03", "timeline-2026-09")
"""Timeline versions that take event occurrences (``eventTypeName`` + ``properties``), not v3 events."""
SPEC_FILE = {
    "webhooks-v3": "webhooks-v3.json",
    "webhooks-2026-03": "webhooks-2026-03.json",
    "webhooks-2026-09": "webhooks-2026-09.json",
    "communications-v3": "crm-communications-v3.json",
    "communications-2026-03": "crm-communications-2026-03.json",
    "communications-2026-09": "crm-communications-2026-09.json",
    "statuses-v4": "communication-preferences-v4.json",
    "statuses-2026-03": "communication-preferences-2026-03.json",
    "statuses-2026-09": "communication-preferences-2026-09.json",
    "timeline-v3": "timeline-v3.json",
    "timeline-2026-03": "timeline-2026-03.json",
    "timeline-2026-09": "timeline-2026-09.json",
}
"""The vendored spec (``specs/``) that describes each endpoint."""
SCENARIOS = (
    "full_success",
    "partial_failure",
    "conflict_409_isolated",
    "batch_400_isolated",
    "rate_limit_then_success",
    "daily_limit",
    "server_error_then_success",
    "unauthorized_401",
    "forbidden_403",
)
ALL_OR_NONE = ("timeline-2026-03", "timeline-2026-09")
"""Endpoints that accept a batch whole or not at all: no partial failure within a 2xx (timeline 2026-03 and
2026-09 answer 400 or 409 "none were accepted"); they have ``conflict_409_isolated`` instead of
``partial_failure``."""


def library_endpoint(endpoint: str) -> str:
    """The library's name of a contract endpoint (``webhooks-2026-09`` -> ``webhook_subscriptions``)."""
    return LIBRARY_ENDPOINT[endpoint.split("-", 1)[0]]


def credentials_for(endpoint: str, access_token: str | None, developer_api_key: str | None) -> dict[str, str]:
    """The credentials a contract test gives the client: the developer key only where the spec accepts one."""
    credentials = {"access_token": access_token or ""}
    if endpoint in DEVELOPER_KEY_ENDPOINTS:
        credentials["developer_api_key"] = developer_api_key or ""
    return credentials


def endpoints_for(scenario: str) -> list[str]:
    """The endpoints a scenario is recorded for."""
    if scenario == "partial_failure":
        return [e for e in ENDPOINT_NAMES if e not in ALL_OR_NONE]
    if scenario == "conflict_409_isolated":
        return list(ALL_OR_NONE)
    return list(ENDPOINT_NAMES)


SANDBOX_ONLY = {
    "daily_limit": "a DAILY 429 needs the account's whole daily budget spent",
    "server_error_then_success": "HubSpot cannot be made to answer a 5xx on demand",
}


def cassette_name(endpoint: str, scenario: str) -> str:
    """The file name (without ``.yaml``) of one scenario's cassette."""
    return f"{endpoint}--{scenario}"


def expected_cassettes() -> list[str]:
    """Every cassette the contract tests need."""
    return [cassette_name(e, s) for s in SCENARIOS for e in endpoints_for(s)]


SANDBOX_IDS: dict[str, Any] = {
    "app_id": 424242,
    "webhook_subscription_ids": [101, 102, 103, 104],
    "communication_ids": ["2001", "2002", "2003", "2004"],
    "contact_emails": [
        "contract-a@example.com",
        "contract-b@example.com",
        "contract-c@example.com",
        "contract-d@example.com",
    ],
    "preference_subscription_id": 3001,
    "timeline_template_id": "4001",
    "contact_id": "5001",
    "timeline_tokens": {},
    "timeline_event_type_name": "contract_event",
    "timeline_properties": {"source": "contract test"},
    "event_prefix": "contract",
}
# Ids that do not exist, and inputs HubSpot rejects with the whole batch.
MISSING_WEBHOOK_SUBSCRIPTION = 999_000_101
POISON_WEBHOOK_SUBSCRIPTION = 2_147_000_001
MISSING_COMMUNICATION = "999000201"
UNKNOWN_PROPERTY = "contract_no_such_property"
MISSING_PREFERENCE_SUBSCRIPTION = 999_000_301
POISON_PREFERENCE_SUBSCRIPTION = 999_000_302
POISON_TIMELINE_TEMPLATE = "999000401"
POISON_TIMELINE_EVENT_TYPE = "contract_no_such_event_type"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def hubspot_ids(env: Mapping[str, str]) -> dict[str, Any]:
    """The ids of a recording against real HubSpot, from the environment."""
    missing = [name for name in HUBSPOT_ENV if not env.get(name)]
    if missing:
        raise RuntimeError(
            "HUBSPOT_CONTRACT_TARGET=hubspot needs these environment variables: "
            + ", ".join(f"{n} ({HUBSPOT_ENV[n]})" for n in missing)
        )
    ids = {
        "app_id": int(env["HUBSPOT_APP_ID"]),
        "webhook_subscription_ids": [int(v) for v in _csv(env["HUBSPOT_WEBHOOK_SUBSCRIPTION_IDS"])],
        "communication_ids": _csv(env["HUBSPOT_COMMUNICATION_IDS"]),
        "contact_emails": _csv(env["HUBSPOT_CONTACT_EMAILS"]),
        "preference_subscription_id": int(env["HUBSPOT_PREFERENCE_SUBSCRIPTION_ID"]),
        "timeline_template_id": env["HUBSPOT_TIMELINE_TEMPLATE_ID"],
        "contact_id": env["HUBSPOT_CONTACT_ID"],
        "timeline_tokens": json.loads(env.get("HUBSPOT_TIMELINE_TOKENS") or "{}"),
        "timeline_event_type_name": env["HUBSPOT_TIMELINE_EVENT_TYPE_NAME"],
        "timeline_properties": json.loads(env.get("HUBSPOT_TIMELINE_PROPERTIES") or "{}"),
        # timeline event ids are unique per app and template, forever: a new prefix per recording
        "event_prefix": "contract-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
    }
    for key in ("webhook_subscription_ids", "communication_ids", "contact_emails"):
        if len(ids[key]) < 4:
            raise RuntimeError(f"{key}: give at least 4 comma-separated values")
    return ids


def ok_row(endpoint: str, ids: Mapping[str, Any], scenario: str, i: int) -> dict[str, Any]:
    """Input number ``i`` of a scenario, one HubSpot accepts."""
    if endpoint.startswith("webhooks"):
        return {"id": ids["webhook_subscription_ids"][i], "active": i % 2 == 0}
    if endpoint.startswith("communications"):
        return {
            "id": ids["communication_ids"][i],
            "properties": {"hs_communication_body": f"contract test {scenario} {i}"},
            "objectWriteTraceId": f"contract-{scenario}-{i}",
        }
    if endpoint.startswith("statuses"):
        return {
            "subscriberIdString": ids["contact_emails"][i],
            "subscriptionId": ids["preference_subscription_id"],
            "statusState": "SUBSCRIBED" if i % 2 == 0 else "UNSUBSCRIBED",
            "channel": "EMAIL",
            "legalBasis": "LEGITIMATE_INTEREST_CLIENT",
            "legalBasisExplanation": "contract test",
        }
    if endpoint in OCCURRENCE_ENDPOINTS:
        return {
            "eventTypeName": ids["timeline_event_type_name"],
            "id": f"{ids['event_prefix']}-{scenario}-{i}",
            "objectId": ids["contact_id"],
            "properties": dict(ids["timeline_properties"]),
        }
    assert endpoint == "timeline-v3"
    return {
        "eventTemplateId": ids["timeline_template_id"],
        "id": f"{ids['event_prefix']}-{scenario}-{i}",
        "objectId": ids["contact_id"],
        "tokens": dict(ids["timeline_tokens"]),
    }


def failing_row(endpoint: str, ids: Mapping[str, Any], scenario: str, i: int) -> dict[str, Any]:
    """An input that fails on its own: unknown id, or an event that already exists.

    On the all-or-none timeline 2026-03 and 2026-09, the existing event makes HubSpot reject its whole batch (409).
    """
    row = ok_row(endpoint, ids, scenario, i)
    if endpoint.startswith("webhooks"):
        row["id"] = MISSING_WEBHOOK_SUBSCRIPTION
    elif endpoint.startswith("communications"):
        row["id"] = MISSING_COMMUNICATION
    elif endpoint.startswith("statuses"):
        row["subscriptionId"] = MISSING_PREFERENCE_SUBSCRIPTION
    else:
        row["id"] = f"{ids['event_prefix']}-{scenario}-existing"
    return row


def poison_row(endpoint: str, ids: Mapping[str, Any], scenario: str, i: int) -> dict[str, Any]:
    """A spec-valid input that makes HubSpot reject its whole batch with a 400."""
    row = ok_row(endpoint, ids, scenario, i)
    if endpoint.startswith("webhooks"):
        row["id"] = POISON_WEBHOOK_SUBSCRIPTION
    elif endpoint.startswith("communications"):
        row["properties"] = {UNKNOWN_PROPERTY: "x"}
    elif endpoint.startswith("statuses"):
        row["subscriptionId"] = POISON_PREFERENCE_SUBSCRIPTION
    elif endpoint in OCCURRENCE_ENDPOINTS:
        row["eventTypeName"] = POISON_TIMELINE_EVENT_TYPE
    else:
        row["eventTemplateId"] = POISON_TIMELINE_TEMPLATE
    return row


def endpoint_path(endpoint: str, ids: Mapping[str, Any]) -> str:
    """The request path of an endpoint."""
    return {
        "webhooks-v3": f"/webhooks/v3/{ids['app_id']}/subscriptions/batch/update",
        "webhooks-2026-03": f"/webhooks/2026-03/{ids['app_id']}/subscriptions/batch/update",
        "communications-v3": "/crm/v3/objects/communications/batch/update",
        "communications-2026-03": "/crm/objects/2026-03/communications/batch/update",
        "statuses-v4": "/communication-preferences/v4/statuses/batch/write",
        "statuses-2026-03": "/communication-preferences/2026-03/statuses/batch/write",
        "timeline-v3": "/integrators/timeline/v3/events/batch/create",
        "timeline-2026-03": "/integrators/timeline/2026-03/events/batch",
        "webhooks-2026-09": f"/app-webhooks/2026-09/{ids['app_id']}/subscriptions/batch/update",
        "communications-2026-09": "/crm/objects/2026-09/communications/batch/update",
        "statuses-2026-09": "/communication-preferences/2026-09/statuses/batch/write",
        "timeline-2026-09": "/integrators/timeline/2026-09/events/batch",
    }[endpoint]


def call(
    hs: Any,
    endpoint: str,
    ids: Mapping[str, Any],
    rows: list[dict[str, Any]],
    *,
    client_version: bool = False,
    **kw: Any,
) -> Any:
    """Send ``rows`` through the library's public API (blocking client), at the endpoint's API version.

    ``api_version`` is passed per call, unless ``client_version`` says the client was built with it
    (``HubSpotBatch(..., api_version=...)``); then the call names no version.
    """
    if not client_version:
        kw["api_version"] = API_VERSION[endpoint]
    if endpoint.startswith("webhooks"):
        return hs.webhooks.update_subscriptions(ids["app_id"], rows, **kw)
    if endpoint.startswith("communications"):
        return hs.communications.update(rows, **kw)
    if endpoint.startswith("statuses"):
        return hs.subscription_statuses.write(rows, **kw)
    return hs.timeline.create_events(rows, **kw)


def result_key(endpoint: str, row: Mapping[str, Any]) -> Any:
    """What a result item echoes of its input (to check a result belongs to its input)."""
    if endpoint.startswith("webhooks"):
        return str(row["id"])
    if endpoint.startswith("communications"):
        return row["objectWriteTraceId"]
    if endpoint.startswith("statuses"):
        return (row["subscriberIdString"].lower(), row["subscriptionId"])
    return row["id"]


def raw_key(endpoint: str, raw: Mapping[str, Any]) -> Any:
    """The same key, read from a result item."""
    if endpoint.startswith("webhooks"):
        return str(raw["id"])
    if endpoint.startswith("communications"):
        return raw["objectWriteTraceId"]
    if endpoint.startswith("statuses"):
        return (str(raw["subscriberIdString"]).lower(), int(raw["subscriptionId"]))
    return raw["id"]


# --------------------------------------------------------------------------- sandbox scenarios

SANDBOX_ENDPOINT = {
    "webhooks-v3": "webhooks",
    "webhooks-2026-03": "webhooks",
    "communications-v3": "communications",
    "communications-2026-03": "communications",
    "statuses-v4": "statuses",
    "statuses-2026-03": "statuses",
    "timeline-v3": "timeline",
    "timeline-2026-03": "timeline",
    "webhooks-2026-09": "webhooks",
    "communications-2026-09": "communications",
    "statuses-2026-09": "statuses",
    "timeline-2026-09": "timeline",
}


def fault_seed_first_5xx() -> int:
    """A seed with which the first request meets a 5xx page and the second does not."""
    config = SandboxConfig(error_5xx_rate=0.5)
    for seed in range(10_000):
        injector = FaultInjector(attrs.evolve(config, seed=seed))
        if injector.draw().before == ERROR_5XX and injector.draw().before is None:
            return seed
    raise AssertionError("no seed found")  # pragma: no cover


def sandbox_config(endpoint: str, scenario: str) -> SandboxConfig:
    """How the sandbox behaves for one scenario."""
    kind = SANDBOX_ENDPOINT[endpoint]
    base: dict[str, Any] = {
        "access_tokens": {SANDBOX_TOKEN, SANDBOX_LIMITED_TOKEN},
        "developer_api_keys": {SANDBOX_DEVELOPER_KEY},
        "missing_ids": {
            str(MISSING_WEBHOOK_SUBSCRIPTION),
            MISSING_COMMUNICATION,
            str(MISSING_PREFERENCE_SUBSCRIPTION),
        },
    }
    if scenario == "rate_limit_then_success":
        base.update(rate_limit=2, interval_ms=1000)
    elif scenario == "daily_limit":
        base.update(daily_limit=1)
    elif scenario == "server_error_then_success":
        base.update(error_5xx_rate=0.5, seed=fault_seed_first_5xx())
    elif scenario == "forbidden_403":
        from hubspot_batch.sandbox import REQUIRED_SCOPES

        base.update(missing_scopes={SANDBOX_LIMITED_TOKEN: REQUIRED_SCOPES[kind]})
    return SandboxConfig(**base)


_WEBHOOKS_PATH = re.compile(r"^/(app-)?webhooks/")


class PoisonRejectingApp:
    """The sandbox, plus HubSpot's whole-batch 400 for the poison inputs it has no rule for.

    The sandbox answers a whole-batch 400 for communications (unknown
    property) but has no spec-valid input that does so on the other
    endpoints (timeline 2026-03 and 2026-09 answer 400 for an occurrence
    without an object reference, but the library refuses such an input
    before sending it); this wrapper rejects any batch holding a poison input
    there, with the sandbox's own ``VALIDATION_ERROR`` body. Webhooks paths
    are ``/webhooks/<version>/...`` and, from 2026-09, ``/app-webhooks/2026-09/...``.
    """

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.state = app.state
        self.config = app.config

    def _poisoned(self, request: SandboxRequest) -> str | None:
        try:
            inputs = json.loads(request.body).get("inputs") or []
        except (ValueError, AttributeError):
            return None
        for item in inputs:
            if not isinstance(item, dict):
                continue
            if _WEBHOOKS_PATH.match(request.path) and item.get("id") == POISON_WEBHOOK_SUBSCRIPTION:
                return f"Invalid subscription id {POISON_WEBHOOK_SUBSCRIPTION}: not a subscription of this app"
            if "/statuses/" in request.path and item.get("subscriptionId") == POISON_PREFERENCE_SUBSCRIPTION:
                return f"Invalid subscriptionId {POISON_PREFERENCE_SUBSCRIPTION} for this portal"
            if "/timeline/" in request.path and item.get("eventTemplateId") == POISON_TIMELINE_TEMPLATE:
                return f"Event template {POISON_TIMELINE_TEMPLATE} does not exist for this app"
            if "/timeline/" in request.path and item.get("eventTypeName") == POISON_TIMELINE_EVENT_TYPE:
                return f"Event type {POISON_TIMELINE_EVENT_TYPE} does not exist for this app; none were accepted"
        return None

    def handle(self, request: SandboxRequest) -> Any:
        reason = self._poisoned(request)
        if reason is None:
            return self.app.handle(request)
        rejected = validation_error(reason)
        body = dict(rejected.body)
        body.setdefault("correlationId", new_correlation_id())
        headers = {"Content-Type": "application/json;charset=utf-8", "X-HubSpot-Correlation-Id": body["correlationId"]}
        return SandboxResponse(rejected.status, headers, json.dumps(body).encode())


# --------------------------------------------------------------------------- cassettes


class CassetteSerializer:
    """vcrpy's YAML serializer, plus where the cassette comes from.

    Each cassette starts with a comment saying how it was recorded and has a
    top-level ``recorded_against`` mapping (target, base URL, date, the ids the
    inputs used, the command to re-record). vcrpy ignores both on load.
    """

    def __init__(self) -> None:
        self.origin: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def deserialize(self, cassette_string: str) -> Any:
        return yamlserializer.deserialize(cassette_string)

    def serialize(self, cassette_dict: dict[str, Any]) -> str:
        with self._lock:
            origin = dict(self.origin or {"target": "unknown"})
        data = {"recorded_against": origin, **cassette_dict}
        where = (
            "the hubspot-batch sandbox server (hubspot_batch.sandbox), not real HubSpot"
            if origin.get("target") == "sandbox"
            else f"{origin.get('target')} at {origin.get('base_url')}"
        )
        header = (
            f"# Recorded against {where}.\n"
            f"# Scenario: {origin.get('scenario')} on {origin.get('endpoint')}.\n"
            f"# Re-record: {RECORD_COMMAND} (see tests/cassettes/README.md; HUBSPOT_CONTRACT_TARGET=hubspot\n"
            "# and the HUBSPOT_* variables record the same tests against real HubSpot).\n"
        )
        return header + yamlserializer.serialize(data)


SERIALIZER = CassetteSerializer()


def load_cassette(path: Path) -> dict[str, Any]:
    """A cassette file as data."""
    data: dict[str, Any] = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
    return data


def json_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: request bodies are equal as JSON (key order does not matter)."""

    def parsed(request: Any) -> Any:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        try:
            return json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            return body

    left, right = parsed(r1), parsed(r2)
    assert left == right, f"JSON bodies differ: {left!r} != {right!r}"


def before_record_request(request: Any) -> Any:
    """Scenario setup requests are never recorded (nor matched)."""
    if request.headers.get(SETUP_HEADER):
        return None
    return request


_SCRUBBED_RESPONSE_HEADERS = {"set-cookie", "cookie", "authorization"}


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    """Drop cookies from recorded answers."""
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in _SCRUBBED_RESPONSE_HEADERS:
            del headers[name]
    return response


def interactions(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, response) dicts of a cassette."""
    for entry in load_cassette(path).get("interactions") or []:
        yield entry["request"], entry["response"]


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A header of a recorded request or response (any case; vcrpy stores lists)."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


def body_bytes(body: Any) -> bytes:
    """A recorded body as bytes (requests store it directly, responses under ``string``)."""
    if isinstance(body, Mapping):
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return bytes(body)


# --------------------------------------------------------------------------- specs and schemas

_OPENAPI_ONLY = {"example", "examples", "xml", "externalDocs", "discriminator", "deprecated"}


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema (draft 4): ``nullable``, no ``x-*`` or examples."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in _OPENAPI_ONLY or key == "nullable":
            continue
        out[key] = to_json_schema(value)
    if node.get("nullable") is True:
        if "type" in out:
            kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*kinds, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _pointer_escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@attrs.frozen
class SpecOperation:
    """One operation of one vendored spec, and validators for its bodies."""

    spec_file: str
    path_template: str
    pattern: re.Pattern[str]
    document: Mapping[str, Any] = attrs.field(hash=False, eq=False)
    registry: Registry = attrs.field(hash=False, eq=False)
    uri: str

    def _validator(self, pointer: str) -> Draft4Validator:
        checker = FormatChecker()

        @checker.checks("int32")
        def _int32(value: object) -> bool:
            return not isinstance(value, int) or -(2**31) <= value < 2**31

        @checker.checks("int64")
        def _int64(value: object) -> bool:
            return not isinstance(value, int) or -(2**63) <= value < 2**63

        return Draft4Validator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry, format_checker=checker)

    def _operation_pointer(self) -> str:
        return f"/paths/{_pointer_escape(self.path_template)}/post"

    def request_validator(self) -> Draft4Validator:
        pointer = self._operation_pointer() + "/requestBody/content/application~1json/schema"
        return self._validator(pointer)

    def response_validator(self, status: int) -> tuple[str, Draft4Validator] | None:
        """The validator for a JSON answer with ``status`` (its documented code, or ``default``)."""
        responses = self.document["paths"][self.path_template]["post"]["responses"]
        for code in (str(status), "default"):
            if code not in responses:
                continue
            response = responses[code]
            pointer = f"{self._operation_pointer()}/responses/{code}"
            if "$ref" in response:  # a shared response: #/components/responses/Name
                pointer = response["$ref"].lstrip("#")
                response = self.document
                for part in pointer.strip("/").split("/"):
                    response = response[part]
            if "application/json" not in response.get("content", {}):
                return None
            return code, self._validator(pointer + "/content/application~1json/schema")
        return None


def spec_operations() -> list[SpecOperation]:
    """Every POST operation of every vendored spec (``specs/*.json``)."""
    found = []
    for spec in sorted(SPECS.glob("*.json")):
        document = to_json_schema(json.loads(spec.read_text(encoding="utf-8")))
        uri = f"urn:hubspot-batch:specs:{spec.name}"
        registry = Registry().with_resource(uri, Resource.from_contents(document, default_specification=DRAFT4))
        for template, item in document.get("paths", {}).items():
            if "post" not in item:
                continue
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            found.append(SpecOperation(spec.name, template, re.compile(regex), document, registry, uri))
    return found


def operation_for(path: str, operations: Iterable[SpecOperation]) -> SpecOperation | None:
    """The operation whose path template matches a request path."""
    for operation in operations:
        if operation.pattern.match(path):
            return operation
    return None


# --------------------------------------------------------------------------- secrets

SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("HubSpot private-app token", re.compile(r"pat-[a-z]{2,3}\d?-[0-9a-f]{8}-[0-9a-f-]{20,}", re.IGNORECASE)),
    ("bearer token", re.compile(r"bearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)),
    ("hapikey value", re.compile(r"hapikey=(?!\*\*\*|&|$|\s)[^&\s\"']+", re.IGNORECASE)),
    ("32+ hex characters", re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")),
    ("authorization header value", re.compile(r"authorization['\"]?\s*[:=]\s*\[?\s*['\"]?(?!\*\*\*)\w", re.IGNORECASE)),
)
_LONG_RUN = re.compile(r"[A-Za-z0-9_+=.-]{40,}")


def secrets_in(text: str, known: Iterable[str] = ()) -> list[str]:
    """Token-like strings in ``text`` (each described), plus any of the ``known`` secret values."""
    found = [f"{what}: {m.group(0)[:16]}..." for what, pattern in SECRET_PATTERNS for m in pattern.finditer(text)]
    for m in _LONG_RUN.finditer(text):  # base64-ish tokens: long runs mixing cases and digits
        run = m.group(0)
        if re.search(r"[a-z]", run) and re.search(r"[A-Z]", run) and re.search(r"\d", run):
            found.append(f"long mixed-case token-like run: {run[:16]}...")
    for value in known:
        if value and value in text:
            found.append(f"a known secret value ({value[:8]}...)")
    return found


WATCHED_LOGGERS = ("hubspot_batch", "httpx", "httpcore", "vcr")
"""Loggers whose every line the secret scan reads: the library's and the HTTP stack's."""

LOGGED: list[str] = []
"""Every line the watched loggers emitted during the run (filled by the contract conftest)."""


def known_secrets() -> list[str]:
    """The fake sandbox credentials and any real ones in the environment."""
    names = (
        "HUBSPOT_ACCESS_TOKEN",
        "HUBSPOT_DEVELOPER_API_KEY",
        "HUBSPOT_LIMITED_ACCESS_TOKEN",
        "HUBSPOT_WEBHOOKS_ACCESS_TOKEN",
    )
    return [*FAKE_SECRETS, *(os.environ[n] for n in names if os.environ.get(n))]


def limited_token(live: bool) -> str:
    """A token lacking the endpoint's scope: HUBSPOT_LIMITED_ACCESS_TOKEN when recording against HubSpot."""
    if live and os.environ.get("HUBSPOT_CONTRACT_TARGET") == "hubspot":
        return os.environ["HUBSPOT_LIMITED_ACCESS_TOKEN"]
    return SANDBOX_LIMITED_TOKEN
