"""Request bodies built with the generated models are what the specs ask for.

Each body is built with the generated input models and validated with
``jsonschema`` against the request schema of the operation in
``specs/*.json`` (``$ref``s resolved inside the spec through a ``referencing``
registry). OpenAPI 3.0 schemas are close enough to Draft 7 for these bodies;
``int32``/``int64`` ranges are checked by two extra formats.

Example requests come from HubSpot's reference pages
(``tests/fixtures/seed_examples``) or, for the 2026-03 and 2026-09 specs that
have no reference page, are hand-written (``tests/fixtures/examples_2026_03``,
``tests/fixtures/examples_2026_09``).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hubspot_batch_api import models as m
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
SEED_COPIES = ROOT / "tests" / "fixtures" / "seed_examples"
EXAMPLES_2026_03 = ROOT / "tests" / "fixtures" / "examples_2026_03"
EXAMPLES_2026_09 = ROOT / "tests" / "fixtures" / "examples_2026_09"
SPEC_NAMES = [
    entry["name"] for entry in yaml.safe_load((ROOT / "specs" / "sources.yaml").read_text(encoding="utf-8"))["specs"]
]
# Specs without a HubSpot reference page, and the folder holding their
# hand-written example requests (see HAND_WRITTEN_EXAMPLES in test_generated_models.py).
HAND_WRITTEN_EXAMPLES = {
    "crm-communications-2026-03": EXAMPLES_2026_03,
    "communication-preferences-2026-03": EXAMPLES_2026_03,
    "timeline-2026-03": EXAMPLES_2026_03,
    "webhooks-2026-09": EXAMPLES_2026_09,
    "crm-communications-2026-09": EXAMPLES_2026_09,
    "communication-preferences-2026-09": EXAMPLES_2026_09,
    "timeline-2026-09": EXAMPLES_2026_09,
}
SPECS_WITHOUT_SEED_PAGE = list(HAND_WRITTEN_EXAMPLES)

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


def example_request(spec: str) -> Any:
    """The seed's request body, or the hand-written one for a spec without a reference page."""
    if spec in SPECS_WITHOUT_SEED_PAGE:
        assert not (SEED_COPIES / f"{spec}.request.json").exists(), f"{spec} has a seed now"
        path = HAND_WRITTEN_EXAMPLES[spec] / f"{spec}.request.json"
    else:
        path = SEED_COPIES / f"{spec}.request.json"
    return json.loads(path.read_text(encoding="utf-8"))


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


def occurrences_body() -> dict[str, Any]:
    """Timeline 2026-03: app event occurrences (eventTypeName + properties, no template/tokens)."""
    occurrence = m.AppEventOccurrence(
        event_type_name="pe1234_product_signup",
        id="occ-1",
        properties=m.AppEventOccurrenceProperties.from_dict({"plan": "pro", "seats": "12"}),
        email="someone@example.com",
        timestamp=dt.datetime(2026, 3, 11, 9, 30, tzinfo=dt.UTC),
        extra_data=m.AppEventOccurrenceExtraData.from_dict({"answers": [{"q": "Team size?", "a": "10-20"}]}),
        timeline_i_frame=m.TimelineEventIFrame(
            link_label="View signup",
            header_label="Signup details",
            url="https://example.com/signups/occ-1",
            width=600,
            height=400,
        ),
    )
    by_object = m.AppEventOccurrence.from_dict(
        {
            "eventTypeName": "pe1234_product_signup",
            "id": "occ-2",
            "properties": {},
            "objectId": "901",
            "objectTypeFullyQualifiedName": "0-2",
        }
    )
    return m.BatchInputAppEventOccurrence(inputs=[occurrence, by_object]).to_dict()


VALID = {
    "crm-communications-v3": communications_body,
    "webhooks-v3": webhooks_body,
    "webhooks-2026-03": webhooks_body,
    "communication-preferences-v4": statuses_body,
    "timeline-v3": timeline_body,
    # The 2026-03 communications and statuses requests share their input models with v3/v4.
    "crm-communications-2026-03": communications_body,
    "communication-preferences-2026-03": statuses_body,
    "timeline-2026-03": occurrences_body,
    # 2026-09 keeps the request shapes (and input models) of 2026-03.
    "webhooks-2026-09": webhooks_body,
    "crm-communications-2026-09": communications_body,
    "communication-preferences-2026-09": statuses_body,
    "timeline-2026-09": occurrences_body,
}

# The generated input model of each spec's request body.
REQUEST_MODELS: dict[str, type[Any]] = {
    "crm-communications-v3": m.BatchInputSimplePublicObjectBatchInput,
    "webhooks-v3": m.BatchInputSubscriptionBatchUpdateRequest,
    "webhooks-2026-03": m.BatchInputSubscriptionBatchUpdateRequest,
    "communication-preferences-v4": m.BatchInputPublicStatusRequest,
    "timeline-v3": m.BatchInputTimelineEvent,
    "crm-communications-2026-03": m.BatchInputSimplePublicObjectBatchInput,
    "communication-preferences-2026-03": m.BatchInputPublicStatusRequest,
    "timeline-2026-03": m.BatchInputAppEventOccurrence,
    "webhooks-2026-09": m.BatchInputSubscriptionBatchUpdateRequest,
    "crm-communications-2026-09": m.BatchInputSimplePublicObjectBatchInput,
    "communication-preferences-2026-09": m.BatchInputPublicStatusRequest,
    "timeline-2026-09": m.BatchInputAppEventOccurrence,
}


def test_every_spec_has_a_valid_body_and_a_request_model() -> None:
    assert sorted(VALID) == sorted(SPEC_NAMES)
    assert sorted(REQUEST_MODELS) == sorted(SPEC_NAMES)
    assert set(SPECS_WITHOUT_SEED_PAGE) <= set(SPEC_NAMES)


def test_request_models_are_the_ones_the_generated_modules_send() -> None:
    # Each API module's `body` parameter is annotated with REQUEST_MODELS[spec].
    sources = yaml.safe_load((ROOT / "specs" / "sources.yaml").read_text(encoding="utf-8"))["specs"]
    for entry in sources:
        module = importlib.import_module(f"hubspot_batch_api.api.{entry['tag']}.{entry['operation_id']}")
        annotation = inspect.signature(module._get_kwargs).parameters["body"].annotation
        assert annotation in (REQUEST_MODELS[entry["name"]], REQUEST_MODELS[entry["name"]].__name__), entry["name"]


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
    occurrence = occurrences_body()["inputs"][0]
    assert occurrence["eventTypeName"] == "pe1234_product_signup"
    assert occurrence["properties"] == {"plan": "pro", "seats": "12"}
    assert occurrence["timelineIFrame"]["linkLabel"] == "View signup"
    assert not {"eventTemplateId", "tokens"} & set(occurrence)
    assert occurrences_body()["inputs"][1]["objectTypeFullyQualifiedName"] == "0-2"


@pytest.mark.parametrize("spec", list(VALID))
def test_example_request_round_trips_through_models_and_validates(spec: str) -> None:
    model = REQUEST_MODELS[spec]
    seed = example_request(spec)
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
    (
        "communication-preferences-2026-03",
        lambda: _with(statuses_body(), 0, statusState="OPTED_OUT"),
        "inputs/0/statusState",
    ),
    ("communication-preferences-2026-03", lambda: _with(statuses_body(), 1, channel="SMS"), "inputs/1/channel"),
    (
        "communication-preferences-2026-03",
        lambda: _with(statuses_body(), 0, subscriptionId=2**63),
        "inputs/0/subscriptionId",
    ),
    ("communication-preferences-2026-03", lambda: _with(statuses_body(), 1, channel=_DROP), "inputs/1"),
    ("crm-communications-2026-03", lambda: _with(communications_body(), 0, properties=_DROP), "inputs/0"),
    (
        "crm-communications-2026-03",
        lambda: _with(communications_body(), 0, properties={"hs_communication_body": None}),
        "inputs/0/properties/hs_communication_body",
    ),
    ("timeline-2026-03", lambda: _with(occurrences_body(), 0, eventTypeName=_DROP), "inputs/0"),
    ("timeline-2026-03", lambda: _with(occurrences_body(), 1, properties=_DROP), "inputs/1"),
    ("timeline-2026-03", lambda: _with(occurrences_body(), 0, properties={"seats": 12}), "inputs/0/properties/seats"),
    (
        "timeline-2026-03",
        lambda: _with(occurrences_body(), 0, properties=["plan", "pro"]),
        "inputs/0/properties",
    ),
    (
        "timeline-2026-03",
        lambda: _with(
            occurrences_body(),
            0,
            timelineIFrame={k: v for k, v in occurrences_body()["inputs"][0]["timelineIFrame"].items() if k != "url"},
        ),
        "inputs/0/timelineIFrame",
    ),
    (
        "timeline-2026-03",
        lambda: _with(occurrences_body(), 0, timestamp="2026-03-11 09:30"),
        "inputs/0/timestamp",
    ),
    ("webhooks-2026-09", lambda: _with(webhooks_body(), 0, id=2**31), "inputs/0/id"),
    ("webhooks-2026-09", lambda: _with(webhooks_body(), 1, id="13"), "inputs/1/id"),
    ("webhooks-2026-09", lambda: _with(webhooks_body(), 0, active=_DROP), "inputs/0"),
    ("crm-communications-2026-09", lambda: _with(communications_body(), 0, id=_DROP), "inputs/0"),
    (
        "crm-communications-2026-09",
        lambda: _with(communications_body(), 0, properties={"hs_communication_body": None}),
        "inputs/0/properties/hs_communication_body",
    ),
    (
        "communication-preferences-2026-09",
        lambda: _with(statuses_body(), 0, subscriptionId=2**63),
        "inputs/0/subscriptionId",
    ),
    (
        "communication-preferences-2026-09",
        lambda: _with(statuses_body(), 1, legalBasis="BECAUSE"),
        "inputs/1/legalBasis",
    ),
    ("communication-preferences-2026-09", lambda: _with(statuses_body(), 0, channel="SMS"), "inputs/0/channel"),
    ("timeline-2026-09", lambda: _with(occurrences_body(), 0, eventTypeName=_DROP), "inputs/0"),
    ("timeline-2026-09", lambda: _with(occurrences_body(), 0, properties={"seats": 12}), "inputs/0/properties/seats"),
    ("timeline-2026-09", lambda: _with(occurrences_body(), 0, timestamp="2026-09-16"), "inputs/0/timestamp"),
]


@pytest.mark.parametrize("occurrence_spec", ["timeline-2026-03", "timeline-2026-09"])
def test_v3_shaped_timeline_event_is_rejected_by_the_occurrence_versions(occurrence_spec: str) -> None:
    # A v3 event (template id + tokens) sent to the 2026-03 or 2026-09
    # endpoint: the occurrence schema needs `eventTypeName` and `properties` instead.
    v3_event = {
        "eventTemplateId": "1001",
        "id": "evt-1",
        "email": "someone@example.com",
        "tokens": {"plan": "pro", "seats": "12"},
    }
    assert errors("timeline-v3", {"inputs": [v3_event]}) == []
    found = errors(occurrence_spec, {"inputs": [v3_event]})
    assert sorted(found) == [
        "inputs/0: 'eventTypeName' is a required property",
        "inputs/0: 'properties' is a required property",
    ]
    # And the other way round: a 2026-03 occurrence is no v3 event.
    occurrence = occurrences_body()["inputs"][0]
    assert "inputs/0: 'eventTemplateId' is a required property" in errors("timeline-v3", {"inputs": [occurrence]})


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
    # A v3 timeline event is no 2026-03 occurrence for the generated model either.
    with pytest.raises(KeyError):
        m.AppEventOccurrence.from_dict({"eventTemplateId": "1001", "id": "evt-1", "tokens": {"plan": "pro"}})


def test_2026_09_example_requests_exercise_the_new_ranges() -> None:
    # Subscription ids above 2^31 are int64 in the 2026-09 description itself.
    statuses = example_request("communication-preferences-2026-09")
    assert statuses["inputs"][0]["subscriptionId"] > 2**31
    assert errors("communication-preferences-2026-09", statuses) == []
    parsed = m.BatchInputPublicStatusRequest.from_dict(statuses)
    assert parsed.inputs[0].subscription_id == 31800427716
    assert parsed.inputs[1].legal_basis == "PERFORMANCE_OF_CONTRACT"
    # Webhook subscription ids stay int32 in requests.
    webhooks = example_request("webhooks-2026-09")
    assert all(-(2**31) <= item["id"] < 2**31 for item in webhooks["inputs"])
    assert errors("webhooks-2026-09", {"inputs": [{"id": 2**31, "active": True}]})
    # The first timeline occurrence carries every field the schema declares.
    timeline = example_request("timeline-2026-09")
    doc = json.loads((ROOT / "specs" / "timeline-2026-09.json").read_text(encoding="utf-8"))
    assert set(timeline["inputs"][0]) == set(doc["components"]["schemas"]["AppEventOccurrence"]["properties"])
    occurrence = m.AppEventOccurrence.from_dict(timeline["inputs"][0])
    assert occurrence.utk == "8f2d9c4b71e05a36d1c7b0e94a2f6183"
    assert occurrence.to_dict().keys() == timeline["inputs"][0].keys()
