"""Request bodies built with the generated models are what the specs ask for.

Each body is built with the generated input models and validated with
``jsonschema`` against the request schema of the operation in
``specs/*.json`` (``$ref``s resolved inside the spec through a ``referencing``
registry). OpenAPI 3.0 schemas are close enough to Draft 7 for these bodies;
``int32``/``int64`` ranges are checked by two extra formats.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hubspot_batch_api import models as m
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
SEED_COPIES = ROOT / "tests" / "fixtures" / "seed_examples"

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("int32")
def _int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


@cache
def request_validator(spec: str) -> jsonschema.Draft7Validator:
    """A validator for the JSON request body of the (single) operation in specs/<spec>.json."""
    doc = json.loads((ROOT / "specs" / f"{spec}.json").read_text(encoding="utf-8"))
    (item,) = doc["paths"].values()
    (operation,) = [op for op in item.values() if isinstance(op, dict) and "requestBody" in op]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    uri = f"urn:spec:{spec}"
    registry: Registry[Any] = Registry().with_resource(uri, Resource(contents=doc, specification=DRAFT7))
    assert set(schema) == {"$ref"}, "request schemas are expected to be component refs"
    root = {"$ref": uri + schema["$ref"]}
    return jsonschema.Draft7Validator(root, registry=registry, format_checker=FORMATS)


def errors(spec: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in request_validator(spec).iter_errors(body)]


def seed_request(spec: str) -> Any:
    return json.loads((SEED_COPIES / f"{spec}.request.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- valid bodies


def communications_body() -> dict[str, Any]:
    item = m.SimplePublicObjectBatchInput(
        id="512",
        properties=m.SimplePublicObjectBatchInputProperties.from_dict(
            {"hs_communication_body": "Called back", "hs_communication_channel_type": "SMS"}
        ),
        object_write_trace_id="trace-1",
    )
    by_property = m.SimplePublicObjectBatchInput.from_dict(
        {"id": "ext-77", "idProperty": "my_unique_property_name", "properties": {"hs_communication_body": ""}}
    )
    return m.BatchInputSimplePublicObjectBatchInput(inputs=[item, by_property]).to_dict()


def webhooks_body() -> dict[str, Any]:
    items = [
        m.SubscriptionBatchUpdateRequest(id=12, active=True),
        m.SubscriptionBatchUpdateRequest(id=13, active=False),
    ]
    return m.BatchInputSubscriptionBatchUpdateRequest(inputs=items).to_dict()


def statuses_body() -> dict[str, Any]:
    plain = m.PublicStatusRequest(
        subscriber_id_string="someone@example.com",
        subscription_id=2**40,  # subscription ids are int64 (override status-subscription-id-int64-request)
        status_state="UNSUBSCRIBED",
        channel="EMAIL",
    )
    with_basis = m.PublicStatusRequest.from_dict(
        {
            "subscriberIdString": "other@example.com",
            "subscriptionId": 7,
            "statusState": "SUBSCRIBED",
            "channel": "EMAIL",
            "legalBasis": "LEGITIMATE_INTEREST_CLIENT",
            "legalBasisExplanation": "Existing customer.",
        }
    )
    return m.BatchInputPublicStatusRequest(inputs=[plain, with_basis]).to_dict()


def timeline_body() -> dict[str, Any]:
    event = m.TimelineEvent(
        event_template_id="1001",
        id="evt-1",
        tokens=m.TimelineEventTokens.from_dict({"score": "12", "plan": "gold"}),
        email="someone@example.com",
        timestamp=dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC),
        extra_data=m.TimelineEventExtraData.from_dict({"questions": [{"q": "why?", "a": "because"}]}),
        timeline_i_frame=m.TimelineEventIFrame(
            link_label="Open", header_label="Details", url="https://example.com/frame", width=600, height=400
        ),
    )
    by_object = m.TimelineEvent.from_dict(
        {"eventTemplateId": "1001", "id": "evt-2", "tokens": {}, "objectId": "901", "domain": "example.com"}
    )
    return m.BatchInputTimelineEvent(inputs=[event, by_object]).to_dict()


VALID = {
    "crm-communications-v3": communications_body,
    "webhooks-v3": webhooks_body,
    "webhooks-2026-03": webhooks_body,
    "communication-preferences-v4": statuses_body,
    "timeline-v3": timeline_body,
}


@pytest.mark.parametrize("spec", list(VALID))
def test_model_built_body_validates(spec: str) -> None:
    body = VALID[spec]()
    assert len(body["inputs"]) == 2
    assert errors(spec, body) == []


def test_bodies_use_wire_names() -> None:
    # The generator maps snake_case attributes back to HubSpot's camelCase keys.
    status = statuses_body()["inputs"][0]
    assert status == {
        "subscriberIdString": "someone@example.com",
        "subscriptionId": 2**40,
        "statusState": "UNSUBSCRIBED",
        "channel": "EMAIL",
    }
    event = timeline_body()["inputs"][0]
    assert event["timelineIFrame"] == {
        "linkLabel": "Open",
        "headerLabel": "Details",
        "url": "https://example.com/frame",
        "width": 600,
        "height": 400,
    }
    assert event["eventTemplateId"] == "1001"
    assert dt.datetime.fromisoformat(event["timestamp"]) == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)
    assert communications_body()["inputs"][0]["objectWriteTraceId"] == "trace-1"


@pytest.mark.parametrize("spec", list(VALID))
def test_seed_request_round_trips_through_models_and_validates(spec: str) -> None:
    model = {
        "crm-communications-v3": m.BatchInputSimplePublicObjectBatchInput,
        "webhooks-v3": m.BatchInputSubscriptionBatchUpdateRequest,
        "webhooks-2026-03": m.BatchInputSubscriptionBatchUpdateRequest,
        "communication-preferences-v4": m.BatchInputPublicStatusRequest,
        "timeline-v3": m.BatchInputTimelineEvent,
    }[spec]
    seed = seed_request(spec)
    assert errors(spec, seed) == []
    body = model.from_dict(seed).to_dict()
    assert errors(spec, body) == []
    assert body.keys() == seed.keys()
    assert [item.keys() for item in body["inputs"]] == [item.keys() for item in seed["inputs"]]


# --------------------------------------------------------------------------- invalid bodies


def _with(body: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    for key, value in changes.items():
        if value is _DROP:
            del body["inputs"][index][key]
        else:
            body["inputs"][index][key] = value
    return body


_DROP = object()

INVALID = [
    ("communication-preferences-v4", lambda: _with(statuses_body(), 0, statusState="MAYBE"), "inputs/0/statusState"),
    ("communication-preferences-v4", lambda: _with(statuses_body(), 1, channel="SMS"), "inputs/1/channel"),
    ("communication-preferences-v4", lambda: _with(statuses_body(), 1, legalBasis="BECAUSE"), "inputs/1/legalBasis"),
    (
        "communication-preferences-v4",
        lambda: _with(statuses_body(), 0, subscriptionId="123"),
        "inputs/0/subscriptionId",
    ),
    (
        "communication-preferences-v4",
        lambda: _with(statuses_body(), 0, subscriptionId=2**63),
        "inputs/0/subscriptionId",
    ),
    ("communication-preferences-v4", lambda: _with(statuses_body(), 0, subscriberIdString=_DROP), "inputs/0"),
    ("crm-communications-v3", lambda: _with(communications_body(), 0, id=_DROP), "inputs/0"),
    ("crm-communications-v3", lambda: _with(communications_body(), 1, properties={"n": 17}), "inputs/1/properties/n"),
    ("webhooks-v3", lambda: _with(webhooks_body(), 0, id="12"), "inputs/0/id"),
    ("webhooks-v3", lambda: _with(webhooks_body(), 0, id=2**31), "inputs/0/id"),
    ("webhooks-2026-03", lambda: _with(webhooks_body(), 1, active="yes"), "inputs/1/active"),
    ("webhooks-2026-03", lambda: _with(webhooks_body(), 1, id=_DROP), "inputs/1"),
    ("timeline-v3", lambda: _with(timeline_body(), 0, tokens={"score": 12}), "inputs/0/tokens/score"),
    ("timeline-v3", lambda: _with(timeline_body(), 1, eventTemplateId=_DROP), "inputs/1"),
    (
        "timeline-v3",
        lambda: _with(
            timeline_body(), 0, timelineIFrame={**timeline_body()["inputs"][0]["timelineIFrame"], "width": "600"}
        ),
        "inputs/0/timelineIFrame/width",
    ),
    ("timeline-v3", lambda: _with(timeline_body(), 0, timestamp="2023-11-07T05:31:56"), "inputs/0/timestamp"),
    ("timeline-v3", lambda: {"inputs": "not a list"}, "inputs"),
    ("timeline-v3", lambda: {}, ""),
]


@pytest.mark.parametrize(
    ("spec", "make", "where"), INVALID, ids=[f"{s}-{w or 'root'}-{i}" for i, (s, _, w) in enumerate(INVALID)]
)
def test_invalid_body_is_rejected(spec: str, make: Any, where: str) -> None:
    found = errors(spec, make())
    assert found, "the validator accepted an invalid body"
    assert any(e.split(":")[0] == where for e in found), found


def test_generated_models_refuse_unknown_request_enums() -> None:
    # Request-side enums stay strict in the generated models too.
    item = {"subscriberIdString": "a@example.com", "subscriptionId": 1, "statusState": "MAYBE", "channel": "EMAIL"}
    with pytest.raises(TypeError, match="MAYBE"):
        m.PublicStatusRequest.from_dict(item)
    with pytest.raises(KeyError):
        m.SubscriptionBatchUpdateRequest.from_dict({"active": True})
