"""The generated client parses what HubSpot actually answers.

The example bodies come from HubSpot's reference pages (``../shared/seeds``,
copied into ``tests/fixtures/seed_examples`` so the tests run without them),
from the ``example`` values in ``specs/*.json`` and, for the 2026-03 and
2026-09 specs that have no reference page, from hand-written bodies in
``tests/fixtures/examples_2026_03`` and ``tests/fixtures/examples_2026_09``.
A client generated from the unmodified
descriptions fails on several of them (unknown ``eventType``, 207 errors
without ``errors``/``links``, string ``subCategory``, string
``ErrorDetail.context``, bodiless timeline 400/409, string-only 2026-09
communications property values); these tests keep the
overrides honest. Every example is also validated against the response schema
of its status in ``specs/*.json`` with ``jsonschema``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from hubspot_batch_api import Client
from hubspot_batch_api import models as m
from hubspot_batch_api.api.communications import (
    batch_update_communications,
    batch_update_communications_2026_03,
    batch_update_communications_2026_09,
)
from hubspot_batch_api.api.subscription_statuses import (
    batch_write_subscription_statuses,
    batch_write_subscription_statuses_2026_03,
    batch_write_subscription_statuses_2026_09,
)
from hubspot_batch_api.api.timeline import (
    batch_create_timeline_events,
    batch_create_timeline_events_2026_03,
    batch_create_timeline_events_2026_09,
)
from hubspot_batch_api.api.webhooks import (
    batch_update_webhook_subscriptions_2026_03,
    batch_update_webhook_subscriptions_2026_09,
    batch_update_webhook_subscriptions_v3,
)
from hubspot_batch_api.types import Unset
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
FIXTURES = ROOT / "tests" / "fixtures"
SEED_COPIES = FIXTURES / "seed_examples"
EXAMPLES_2026_03 = FIXTURES / "examples_2026_03"
EXAMPLES_2026_09 = FIXTURES / "examples_2026_09"
SOURCES = yaml.safe_load((ROOT / "specs" / "sources.yaml").read_text(encoding="utf-8"))["specs"]
SPEC_NAMES = [entry["name"] for entry in SOURCES]

# Specs that HubSpot's reference pages (the seeds) do not cover, and the folder
# their hand-written example bodies live in (one folder per API version). This
# table is asserted below to be exactly the 2026-03 and 2026-09 additions: a
# spec added to sources.yaml later must bring a seed page or be added here on
# purpose, with hand-written examples.
HAND_WRITTEN_EXAMPLES: dict[str, Path] = {
    "crm-communications-2026-03": EXAMPLES_2026_03,
    "communication-preferences-2026-03": EXAMPLES_2026_03,
    "timeline-2026-03": EXAMPLES_2026_03,
    "webhooks-2026-09": EXAMPLES_2026_09,
    "crm-communications-2026-09": EXAMPLES_2026_09,
    "communication-preferences-2026-09": EXAMPLES_2026_09,
    "timeline-2026-09": EXAMPLES_2026_09,
}
SPECS_WITHOUT_SEED_PAGE = list(HAND_WRITTEN_EXAMPLES)
SEEDED_SPECS = [name for name in SPEC_NAMES if name not in SPECS_WITHOUT_SEED_PAGE]


# --------------------------------------------------------------------------- seed extraction


def extract_seed_examples(text: str) -> tuple[str, Any, Any]:
    """(request path, request body, response body) of a reference-page extract.

    A page shows ``curl --url https://api.hubapi.com/PATH ... --data '{...}'``
    immediately followed by the example response body; pages repeat the block
    (one per language), and every repetition must agree.
    """
    decoder = json.JSONDecoder()
    urls = set(re.findall(r"--url https://api\.hubapi\.com(\S+)", text))
    if len(urls) != 1:
        raise ValueError(f"expected one request URL, found {sorted(urls)}")
    examples = []
    for match in re.finditer(r"--data '", text):
        request, end = decoder.raw_decode(text, text.index("{", match.end()))
        after_quote = text.index("'", end) + 1
        start = text.index("{", after_quote)
        if text[after_quote:start].strip():
            raise ValueError(f"unexpected text between request and response: {text[after_quote:start]!r}")
        response, _ = decoder.raw_decode(text, start)
        examples.append((request, response))
    if not examples:
        raise ValueError("no curl --data example found")
    if any(example != examples[0] for example in examples):
        raise ValueError("the repeated examples on the page disagree")
    return urls.pop(), examples[0][0], examples[0][1]


def spec_name_for_path(path: str) -> str:
    for entry in SOURCES:
        if entry["path"] == path:
            return str(entry["name"])
    raise LookupError(f"no spec in specs/sources.yaml has path {path}")


def extract_all_seeds(seeds: Path) -> dict[str, Any]:
    """``{"<spec>.request.json": body, "<spec>.response.json": body}`` from every seed page."""
    out: dict[str, Any] = {}
    for page in sorted(seeds.glob("*.txt")):
        path, request, response = extract_seed_examples(page.read_text(encoding="utf-8"))
        name = spec_name_for_path(path)
        out[f"{name}.request.json"] = request
        out[f"{name}.response.json"] = response
    return out


def write_seed_copies(seeds: Path = SEEDS, target: Path = SEED_COPIES) -> None:
    """Refresh the committed copies (run by hand when the seeds change)."""
    target.mkdir(parents=True, exist_ok=True)
    for filename, body in extract_all_seeds(seeds).items():
        (target / filename).write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def seed_response(name: str) -> Any:
    return json.loads((SEED_COPIES / f"{name}.response.json").read_text(encoding="utf-8"))


def example_response(name: str, status: int | str) -> Any:
    """Hand-written response body of a spec without a seed page."""
    return json.loads((HAND_WRITTEN_EXAMPLES[name] / f"{name}.{status}.json").read_text(encoding="utf-8"))


def example_file(name: str, status: int | str) -> str:
    """Where that body lives, relative to tests/fixtures (as DISPATCH names it)."""
    return f"{HAND_WRITTEN_EXAMPLES[name].name}/{name}.{status}.json"


def fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def load_spec(name: str) -> Any:
    return json.loads((ROOT / "specs" / f"{name}.json").read_text(encoding="utf-8"))


def documented_statuses(name: str) -> list[str]:
    """The non-default response codes of the (single) operation in specs/<name>.json."""
    codes = []
    for item in load_spec(name)["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                codes += [code for code in operation.get("responses", {}) if code != "default"]
    return sorted(codes)


def response_schema_ref(name: str, status: int | str) -> str:
    doc = load_spec(name)
    (item,) = doc["paths"].values()
    (operation,) = [op for op in item.values() if isinstance(op, dict)]
    response = operation["responses"][str(status)]
    if "$ref" in response:  # the shared `default`: #/components/responses/Error
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    schema = response["content"]["application/json"]["schema"]
    assert set(schema) == {"$ref"}, "response schemas are expected to be component refs"
    return str(schema["$ref"])


def _draft7_nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` spelled as Draft 7 understands it (``type: [T, "null"]``)."""
    if isinstance(node, dict):
        out = {k: _draft7_nullable(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_draft7_nullable(v) for v in node]
    return node


def response_validator(name: str, status: int | str) -> jsonschema.Draft7Validator:
    """A validator for the JSON response body of ``status`` in specs/<name>.json."""
    uri = f"urn:spec:{name}"
    doc = _draft7_nullable(load_spec(name))
    registry: Registry[Any] = Registry().with_resource(uri, Resource(contents=doc, specification=DRAFT7))
    root = {"$ref": uri + response_schema_ref(name, status)}
    return jsonschema.Draft7Validator(root, registry=registry, format_checker=jsonschema.FormatChecker())


def schema_errors(name: str, status: int | str, body: Any) -> list[str]:
    found = response_validator(name, status).iter_errors(body)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def normalise(value: Any) -> Any:
    """JSON with ISO date-times parsed, so ``...Z`` and ``...+00:00`` compare equal."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return dt.datetime.fromisoformat(value)
    return value


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
def test_committed_seed_copies_match_the_seeds() -> None:
    extracted = extract_all_seeds(SEEDS)
    committed = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SEED_COPIES.glob("*.json")}
    assert sorted(committed) == sorted(extracted), "tests/fixtures/seed_examples does not mirror ../shared/seeds"
    for filename, body in extracted.items():
        assert committed[filename] == body, f"{filename} differs from its seed; refresh with write_seed_copies()"


def test_specs_without_seed_page_are_exactly_the_2026_03_and_2026_09_additions() -> None:
    assert SPECS_WITHOUT_SEED_PAGE == [
        "crm-communications-2026-03",
        "communication-preferences-2026-03",
        "timeline-2026-03",
        "webhooks-2026-09",
        "crm-communications-2026-09",
        "communication-preferences-2026-09",
        "timeline-2026-09",
    ]
    assert set(SPECS_WITHOUT_SEED_PAGE) <= set(SPEC_NAMES)
    # Each version's hand-written bodies sit in that version's folder.
    versions = {entry["name"]: entry["api_version"] for entry in SOURCES}
    for name, folder in HAND_WRITTEN_EXAMPLES.items():
        assert folder.name == f"examples_{versions[name].replace('-', '_')}", name
        assert (folder / "README.md").is_file(), folder
    assert SEEDED_SPECS == [
        "webhooks-v3",
        "webhooks-2026-03",
        "crm-communications-v3",
        "communication-preferences-v4",
        "timeline-v3",
    ]


def test_seeded_specs_have_seed_examples() -> None:
    for name in SEEDED_SPECS:
        assert (SEED_COPIES / f"{name}.request.json").is_file(), name
        assert (SEED_COPIES / f"{name}.response.json").is_file(), name
    # Every seed copy belongs to a seeded spec; none exists for the others (if a
    # seed page appears for one of them, move it out of SPECS_WITHOUT_SEED_PAGE).
    seeded = {p.name.split(".", 1)[0] for p in SEED_COPIES.glob("*.json")}
    assert seeded == set(SEEDED_SPECS)


def test_specs_without_seed_page_have_hand_written_examples() -> None:
    # A request body and a response body for every documented status, and
    # nothing else: no file for an undocumented status or another spec.
    for name in SPECS_WITHOUT_SEED_PAGE:
        folder = HAND_WRITTEN_EXAMPLES[name]
        assert (folder / f"{name}.request.json").is_file(), name
        for code in documented_statuses(name):
            assert (folder / f"{name}.{code}.json").is_file(), f"{name} {code}"
    for folder in (EXAMPLES_2026_03, EXAMPLES_2026_09):
        found = {p.name for p in folder.glob("*.json")}
        expected = {
            f"{name}.{kind}.json"
            for name, home in HAND_WRITTEN_EXAMPLES.items()
            if home == folder
            for kind in ["request", *documented_statuses(name)]
        }
        assert found == expected, folder.name
    covered = {p.name.split(".", 1)[0] for f in (EXAMPLES_2026_03, EXAMPLES_2026_09) for p in f.glob("*.json")}
    assert covered == set(SPECS_WITHOUT_SEED_PAGE)


def test_extraction_rejects_disagreeing_repeats() -> None:
    page = (
        'curl --url https://api.hubapi.com/x --data \'\n{"inputs": []}\n\'{"a": 1}\n'
        'curl --url https://api.hubapi.com/x --data \'\n{"inputs": []}\n\'{"a": 2}\n'
    )
    with pytest.raises(ValueError, match="disagree"):
        extract_seed_examples(page)


# --------------------------------------------------------------------------- seed responses parse


# The seed's response body for each spec, and the model(s) it must parse with.
# CRM communications: the example carries `errors`, as a 207 body does; the 200
# model declares `errors` too, so it has to parse with both.
SEED_MODELS: list[tuple[str, type[Any]]] = [
    ("webhooks-v3", m.BatchResponseSubscriptionResponse),
    ("webhooks-v3", m.BatchResponseSubscriptionResponseWithErrors),
    ("webhooks-2026-03", m.Webhooks202603BatchResponseSubscriptionResponse),
    ("webhooks-2026-03", m.Webhooks202603BatchResponseSubscriptionResponseWithErrors),
    ("crm-communications-v3", m.BatchResponseSimplePublicObjectWithErrors),
    ("crm-communications-v3", m.BatchResponseSimplePublicObject),
    ("communication-preferences-v4", m.BatchResponsePublicStatus),
    ("timeline-v3", m.BatchResponseTimelineEventResponse),
    ("timeline-v3", m.BatchResponseTimelineEventResponseWithErrors),
]


def test_seed_models_cover_the_seeded_specs() -> None:
    # Seed-example tests run only for specs with a reference page; the others
    # are covered by the hand-written examples further down.
    assert [name for name in SPEC_NAMES if name in {n for n, _ in SEED_MODELS}] == SEEDED_SPECS


@pytest.mark.parametrize(("name", "model"), SEED_MODELS, ids=[f"{n}-{c.__name__}" for n, c in SEED_MODELS])
def test_seed_response_round_trips(name: str, model: type[Any]) -> None:
    body = seed_response(name)
    parsed = model.from_dict(body)
    # Nothing is lost or invented: the model writes back what it read.
    assert normalise(parsed.to_dict()) == normalise(body)
    assert len(parsed.results) == len(body["results"])


def test_webhooks_v3_unknown_event_type_is_kept() -> None:
    body = seed_response("webhooks-v3")
    assert {r["eventType"] for r in body["results"]} == {"contact.propertyChange", "contact.create"}
    parsed = m.BatchResponseSubscriptionResponse.from_dict(body)
    assert [r.event_type for r in parsed.results] == ["contact.propertyChange", "contact.create"]
    assert [r.id for r in parsed.results] == ["1234", "4567"]
    assert [r.active for r in parsed.results] == [True, False]
    assert parsed.results[0].property_name == "firstname"
    assert parsed.status == "COMPLETE"
    assert parsed.completed_at == dt.datetime(2020, 4, 17, 2, 19, 26, 283000, tzinfo=dt.UTC)


def test_webhooks_2026_03_results_without_event_type_or_status() -> None:
    body = seed_response("webhooks-2026-03")
    assert "status" not in body
    assert all("eventType" not in r for r in body["results"])
    parsed = m.Webhooks202603BatchResponseSubscriptionResponse.from_dict(body)
    result = parsed.results[0]
    assert result.event_type_name == "<string>"
    assert result.object_type_id == "<string>"
    assert "eventType" not in result.to_dict()
    assert "status" not in parsed.to_dict()


def test_crm_partial_failure_error_details() -> None:
    body = seed_response("crm-communications-v3")
    parsed = m.BatchResponseSimplePublicObjectWithErrors.from_dict(body)
    assert parsed.num_errors == 123
    assert parsed.results[0].id == "512"
    assert parsed.results[0].properties.additional_properties["property_number"] == "17"
    assert parsed.results[0].archived is False
    error = parsed.errors[0]
    assert error.sub_category == {}
    detail = error.errors[0]
    assert detail.context == "{missingScopes=[scope1, scope2]}"
    assert detail.sub_category == "<string>"


def test_status_write_results_and_errors() -> None:
    body = seed_response("communication-preferences-v4")
    parsed = m.BatchResponsePublicStatus.from_dict(body)
    status = parsed.results[0]
    assert (status.channel, status.status, status.subscription_id) == ("EMAIL", "NOT_SPECIFIED", 123)
    assert status.set_status_success_reason == "NO_STATUS_CHANGE"
    assert status.legal_basis == "CONSENT_WITH_NOTICE"
    assert status.business_unit_id == 123
    assert parsed.errors[0].errors[0].context == "{missingScopes=[scope1, scope2]}"


def test_timeline_results() -> None:
    body = seed_response("timeline-v3")
    parsed = m.BatchResponseTimelineEventResponse.from_dict(body)
    event = parsed.results[0]
    assert event.object_type == "<string>"
    assert event.event_template_id == "<string>"
    assert event.timestamp == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)
    assert parsed.status == "CANCELED"


# --------------------------------------------------------------------------- bodies the seeds do not show


def test_207_error_without_errors_links_with_string_subcategory() -> None:
    # The shape HubSpot documents for a CRM partial failure (API notes) and for
    # webhooks (reference page): no `errors`, no `links`, a string `subCategory`.
    body = {
        "status": "COMPLETE",
        "results": [],
        "numErrors": 2,
        "errors": [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some COMMUNICATION objects, they may be deleted or not exist.",
                "context": {"ids": ["512"]},
            },
            {
                "status": "error",
                "category": "SUBSCRIPTION_ID_NOT_FOUND",
                "subCategory": "SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND",
                "message": "Failed to find subscriptions by id `4567`.",
            },
        ],
        "startedAt": "2023-11-07T05:31:56Z",
        "completedAt": "2023-11-07T05:31:57Z",
    }
    parsed = m.BatchResponseSimplePublicObjectWithErrors.from_dict(body)
    assert normalise(parsed.to_dict()) == normalise(body)
    assert parsed.errors[0].context.additional_properties == {"ids": ["512"]}
    assert parsed.errors[1].sub_category == "SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND"


def test_unknown_batch_status_and_success_reason_are_accepted() -> None:
    body = seed_response("communication-preferences-v4")
    body["status"] = "SOMETHING_NEW"
    body["results"][0]["setStatusSuccessReason"] = "A_REASON_ADDED_LATER"
    parsed = m.BatchResponsePublicStatus.from_dict(body)
    assert parsed.status == "SOMETHING_NEW"
    assert parsed.results[0].set_status_success_reason == "A_REASON_ADDED_LATER"


def test_rate_limit_error_body() -> None:
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
        "policyName": "TEN_SECONDLY_ROLLING",
        "requestId": "3d3e35b7-0dae-4b9f-a6e3-9c230cbcf8dd",
    }
    parsed = m.Error.from_dict(body)
    assert (parsed.error_type, parsed.policy_name) == ("RATE_LIMIT", "TEN_SECONDLY_ROLLING")
    assert parsed.to_dict() == body


# --------------------------------------------------------------------------- hand-written 2026-03 / 2026-09 examples


# (spec, status, model the body must parse with); every documented status of
# every spec without a seed page. The dispatch table below checks the same
# bodies through the generated API modules.
EXAMPLE_MODELS: list[tuple[str, int, type[Any]]] = [
    ("crm-communications-2026-03", 200, m.CrmCommunications202603BatchResponseSimplePublicObject),
    ("crm-communications-2026-03", 207, m.CrmCommunications202603BatchResponseSimplePublicObject),
    ("communication-preferences-2026-03", 200, m.BatchResponsePublicStatus),
    ("timeline-2026-03", 200, m.BatchResponseAppEventOccurrence),
    ("timeline-2026-03", 400, m.Error),
    ("timeline-2026-03", 409, m.Error),
    ("webhooks-2026-09", 200, m.Webhooks202609BatchResponseSubscriptionResponse),
    ("webhooks-2026-09", 207, m.Webhooks202609BatchResponseSubscriptionResponseWithErrors),
    ("crm-communications-2026-09", 200, m.CrmCommunications202609BatchResponseSimplePublicObject),
    ("crm-communications-2026-09", 207, m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors),
    ("communication-preferences-2026-09", 200, m.BatchResponsePublicStatus),
    ("timeline-2026-09", 200, m.BatchResponseAppEventOccurrence),
    ("timeline-2026-09", 400, m.Error),
    ("timeline-2026-09", 409, m.Error),
]


def test_example_models_cover_every_documented_status_of_the_unseeded_specs() -> None:
    covered = {(name, str(code)) for name, code, _ in EXAMPLE_MODELS}
    assert covered == {(name, code) for name in SPECS_WITHOUT_SEED_PAGE for code in documented_statuses(name)}


@pytest.mark.parametrize(("name", "status", "model"), EXAMPLE_MODELS, ids=[f"{n}-{c}" for n, c, _ in EXAMPLE_MODELS])
def test_hand_written_example_parses_and_matches_its_schema(name: str, status: int, model: type[Any]) -> None:
    body = example_response(name, status)
    assert schema_errors(name, status, body) == []
    parsed = model.from_dict(body)
    assert normalise(parsed.to_dict()) == normalise(body)


def test_communications_2026_03_results() -> None:
    body = example_response("crm-communications-2026-03", 200)
    parsed = m.CrmCommunications202603BatchResponseSimplePublicObject.from_dict(body)
    assert parsed.status == "COMPLETE"
    assert [r.id for r in parsed.results] == ["75761595194", "75761595371"]
    first, second = parsed.results
    assert type(first) is m.CrmCommunications202603SimplePublicObject
    # `url` is what makes the 2026-03 SimplePublicObject differ from v3's.
    assert first.url == "https://app.hubspot.com/contacts/4410938/record/0-18/75761595194"
    assert first.object_write_trace_id == "renewals-2026-03-09-1"
    assert first.properties.additional_properties["hs_communication_channel_type"] == "SMS"
    # A cleared property comes back as null (the schema marks the values nullable).
    assert second.properties.additional_properties["hs_communication_body"] is None
    history = second.properties_with_history.additional_properties["hs_communication_body"]
    assert [(h.value, h.source_type) for h in history] == [
        ("", "INTEGRATION"),
        ("Customer confirmed the delivery slot.", "CRM_UI"),
    ]
    assert history[1].updated_by_user_id == 61224307
    assert parsed.completed_at == dt.datetime(2026, 3, 9, 8, 12, 40, 66000, tzinfo=dt.UTC)


def test_communications_2026_03_partial_failure() -> None:
    # The 207 the description leaves out (override communications-2026-03-partial-failure-207):
    # errors without `errors`/`links`, one with a string `subCategory`.
    body = example_response("crm-communications-2026-03", 207)
    assert all("errors" not in e and "links" not in e for e in body["errors"])
    parsed = m.CrmCommunications202603BatchResponseSimplePublicObject.from_dict(body)
    assert parsed.num_errors == 2
    assert [r.id for r in parsed.results] == ["75761595194"]
    not_found, invalid = parsed.errors
    assert not_found.category == "OBJECT_NOT_FOUND"
    assert not_found.context.additional_properties == {"ids": ["75761599999"]}
    assert invalid.sub_category == "PROPERTY_DOESNT_EXIST"
    assert "errors" not in invalid.to_dict() and "links" not in invalid.to_dict()


def test_statuses_2026_03_results_and_errors_in_a_200() -> None:
    body = example_response("communication-preferences-2026-03", 200)
    parsed = m.BatchResponsePublicStatus.from_dict(body)
    changed, unchanged = parsed.results
    # int64 subscription ids (override status-subscription-id-int64-response).
    assert changed.subscription_id == 12345678901 > 2**31
    assert (changed.status, changed.set_status_success_reason) == ("UNSUBSCRIBED", "REQUESTED_CHANGE_OCCURRED")
    assert changed.timestamp == dt.datetime(2026, 3, 10, 16, 20, 31, 845000, tzinfo=dt.UTC)
    assert (unchanged.legal_basis, unchanged.set_status_success_reason) == (
        "LEGITIMATE_INTEREST_CLIENT",
        "NO_STATUS_CHANGE",
    )
    assert parsed.num_errors == 1
    error = parsed.errors[0]
    assert error.sub_category == "SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND"
    assert error.context.additional_properties == {"subscriptionIds": ["4567"]}


def test_timeline_2026_03_occurrences() -> None:
    body = example_response("timeline-2026-03", 200)
    parsed = m.BatchResponseAppEventOccurrence.from_dict(body)
    first, second = parsed.results
    assert type(first) is m.AppEventOccurrence
    assert (first.event_type_name, first.id) == ("pe1234_product_signup", "occ-2026-03-0001")
    assert first.properties.additional_properties == {"plan": "pro", "seats": "12"}
    assert type(first.timeline_i_frame) is m.TimelineEventIFrame
    assert (first.timeline_i_frame.width, first.timeline_i_frame.height) == (600, 400)
    assert first.extra_data.additional_properties["answers"][0]["answer"] == "10-20"
    assert first.timestamp == dt.datetime(2026, 3, 11, 9, 30, tzinfo=dt.UTC)
    assert (second.object_id, second.object_type_fully_qualified_name) == ("901", "0-2")
    assert second.properties.additional_properties == {}
    # No v3 fields appear on a 2026-03 occurrence.
    assert not {"eventTemplateId", "tokens"} & set(first.to_dict())


@pytest.mark.parametrize(
    ("status", "category", "ids"),
    [(400, "VALIDATION_ERROR", ["occ-2026-03-0003"]), (409, "CONFLICT", ["occ-2026-03-0001", "occ-2026-03-0002"])],
)
def test_timeline_2026_03_rejections_are_json_errors(status: int, category: str, ids: list[str]) -> None:
    # Overrides timeline-2026-03-400-body / -409-body: the whole batch is refused
    # with HubSpot's JSON error object naming the occurrence ids.
    body = example_response("timeline-2026-03", status)
    parsed = m.Error.from_dict(body)
    assert parsed.category == category
    assert "none were accepted" in parsed.message
    assert parsed.context.additional_properties["ids"] == ids
    assert parsed.correlation_id == body["correlationId"]


def test_communications_2026_09_results_with_url_warnings_and_history() -> None:
    body = example_response("crm-communications-2026-09", 200)
    parsed = m.CrmCommunications202609BatchResponseSimplePublicObject.from_dict(body)
    assert parsed.status == "COMPLETE"
    first, second = parsed.results
    assert type(first) is m.CrmCommunications202609SimplePublicObject
    assert first.url == "https://app.hubspot.com/contacts/4410938/record/0-18/81604413725"
    assert first.object_write_trace_id == "onboarding-2026-09-14-7"
    assert first.archived is False
    # warnings[]: typed entries with all three fields.
    (warning,) = first.warnings
    assert type(warning) is m.PublicObjectWarning
    assert warning.category == "READ_ONLY_PROPERTY_IGNORED"
    assert warning.message.startswith('Property "hs_communication_logged_from" is set by HubSpot')
    assert type(warning.context) is m.PublicObjectWarningContext
    assert warning.context.additional_properties == {"propertyName": "hs_communication_logged_from", "sentValue": "CRM"}
    # propertiesWithHistory: ValueWithTimestamp entries, every field typed.
    assert type(first.properties_with_history) is m.CrmCommunications202609SimplePublicObjectPropertiesWithHistory
    latest, original = first.properties_with_history["hs_communication_body"]
    assert type(latest) is m.ValueWithTimestamp
    assert latest.value == first.properties["hs_communication_body"]
    assert latest.source_type == "INTEGRATION"
    assert latest.timestamp == dt.datetime(2026, 9, 14, 11, 20, 3, 871000, tzinfo=dt.UTC)
    assert (latest.source_id, latest.source_label) == ("3310457", "Onboarding Sync")
    assert latest.updated_by_user_id == 70331842
    assert type(latest.updated_by_user_id) is int
    assert (original.source_type, original.updated_by_user_id) == ("CRM_UI", 61224307)
    assert original.timestamp < latest.timestamp
    # A cleared property comes back as null (override communications-2026-09-null-property-values);
    # the second record was asked for no history and gave no warnings.
    assert second.properties["hs_communication_body"] is None
    assert second.properties["external_message_id"] == "li-msg-20260914-0113"
    assert isinstance(second.properties_with_history, Unset)
    assert isinstance(second.warnings, Unset)
    assert not {"propertiesWithHistory", "warnings"} & set(second.to_dict())
    assert parsed.completed_at == dt.datetime(2026, 9, 14, 11, 20, 3, 915000, tzinfo=dt.UTC)


def test_communications_2026_09_models_differ_from_2026_03() -> None:
    # 2026-09 adds warnings to the record; 2026-03's record has none.
    assert "warnings" in m.CrmCommunications202609SimplePublicObject.__annotations__
    assert "warnings" not in m.CrmCommunications202603SimplePublicObject.__annotations__
    # And it splits the envelopes: a plain 200 (no errors) and a separate 207 model.
    assert "errors" not in m.CrmCommunications202609BatchResponseSimplePublicObject.__annotations__
    assert "errors" in m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors.__annotations__
    # A 2026-03 body (errors inside its 200) still lands in a 2026-09 207 model.
    body = example_response("crm-communications-2026-03", 207)
    parsed = m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors.from_dict(body)
    assert parsed.num_errors == 2


def test_communications_2026_09_partial_failure() -> None:
    body = example_response("crm-communications-2026-09", 207)
    assert all("errors" not in e and "links" not in e for e in body["errors"])
    parsed = m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors.from_dict(body)
    assert parsed.num_errors == len(parsed.errors) == 2
    (updated,) = parsed.results
    assert type(updated) is m.CrmCommunications202609SimplePublicObject
    assert updated.url == "https://app.hubspot.com/contacts/4410938/record/0-18/81604413725"
    not_found, invalid = parsed.errors
    assert not_found.category == "OBJECT_NOT_FOUND"
    assert not_found.context.additional_properties == {"ids": ["li-msg-20260914-0113"]}
    assert isinstance(not_found.sub_category, Unset)
    assert invalid.sub_category == "INVALID_OPTION"
    assert "errors" not in invalid.to_dict() and "links" not in invalid.to_dict()


def test_webhooks_2026_09_results() -> None:
    body = example_response("webhooks-2026-09", 200)
    assert "status" not in body
    parsed = m.Webhooks202609BatchResponseSubscriptionResponse.from_dict(body)
    changed, custom = parsed.results
    assert type(changed) is m.Webhooks202609SubscriptionResponse
    assert (changed.id, changed.active) == ("1843201", True)
    assert (changed.event_type_name, changed.object_type_id) == ("contact.propertyChange", "0-1")
    assert changed.property_name == "lifecyclestage"
    assert changed.event_type == "contact.propertyChange"
    assert changed.created_at == dt.datetime(2026, 8, 21, 13, 2, 44, 512000, tzinfo=dt.UTC)
    # No `eventType` (override webhooks-2026-03-result-event-type-optional covers 2026-09 too).
    assert (custom.event_type_name, custom.object_type_id, custom.active) == ("object.creation", "2-28411634", False)
    assert isinstance(custom.event_type, Unset)
    assert isinstance(custom.property_name, Unset)
    assert "eventType" not in custom.to_dict()
    # No `status` in the envelope (override webhooks-2026-03-batch-status-optional).
    assert isinstance(parsed.status, Unset)
    assert "status" not in parsed.to_dict()
    assert isinstance(parsed.errors, Unset)
    assert parsed.completed_at == dt.datetime(2026, 9, 14, 10, 5, 31, 259000, tzinfo=dt.UTC)


def test_webhooks_2026_09_partial_failure() -> None:
    body = example_response("webhooks-2026-09", 207)
    parsed = m.Webhooks202609BatchResponseSubscriptionResponseWithErrors.from_dict(body)
    assert parsed.status == "COMPLETE"
    assert [r.id for r in parsed.results] == ["1843201"]
    (error,) = parsed.errors
    assert error.sub_category == "SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND"
    assert error.context.additional_properties == {"subscriptionIds": ["1843299"]}
    assert parsed.num_errors == 1


def test_webhooks_2026_09_errors_inside_a_200_are_kept() -> None:
    # Override webhooks-2026-09-errors-in-200: an older 2026-09 description
    # reports failures inside the 200; the 200 model must keep them typed.
    body = example_response("webhooks-2026-09", 207)
    assert schema_errors("webhooks-2026-09", 200, body) == []
    result = _build(batch_update_webhook_subscriptions_2026_09, 200, body)
    assert type(result.parsed) is m.Webhooks202609BatchResponseSubscriptionResponse
    assert result.parsed.num_errors == 1
    assert result.parsed.errors[0].context.additional_properties == {"subscriptionIds": ["1843299"]}
    assert normalise(result.parsed.to_dict()) == normalise(body)


def test_statuses_2026_09_results_keep_int64_ids_and_business_unit() -> None:
    body = example_response("communication-preferences-2026-09", 200)
    parsed = m.BatchResponsePublicStatus.from_dict(body)
    unsubscribed, subscribed = parsed.results
    # int64 natively in 2026-09 (no override needed).
    assert unsubscribed.subscription_id == 31800427716 > 2**31
    assert type(unsubscribed.subscription_id) is int
    assert unsubscribed.to_dict()["subscriptionId"] == 31800427716
    assert unsubscribed.business_unit_id == subscribed.business_unit_id == 2718204
    assert unsubscribed.subscription_name == "Service notices (EMEA)"
    assert (unsubscribed.status, unsubscribed.set_status_success_reason) == (
        "UNSUBSCRIBED",
        "REQUESTED_CHANGE_OCCURRED",
    )
    assert unsubscribed.timestamp == dt.datetime(2026, 9, 15, 8, 41, 9, 532000, tzinfo=dt.UTC)
    assert (subscribed.legal_basis, subscribed.status) == ("PERFORMANCE_OF_CONTRACT", "SUBSCRIBED")
    assert parsed.num_errors == 1
    assert parsed.errors[0].context.additional_properties == {"subscriptionIds": ["4567"]}


def test_timeline_2026_09_occurrence_with_every_field() -> None:
    body = example_response("timeline-2026-09", 200)
    # The first result carries every field AppEventOccurrence declares.
    schema = load_spec("timeline-2026-09")["components"]["schemas"]["AppEventOccurrence"]
    assert set(body["results"][0]) == set(schema["properties"])
    parsed = m.BatchResponseAppEventOccurrence.from_dict(body)
    full, by_object = parsed.results
    assert type(full) is m.AppEventOccurrence
    assert (full.event_type_name, full.id) == ("pe1234_renewal_call_booked", "occ-2026-09-0001")
    assert (full.email, full.utk, full.domain) == (
        "mara.jensen@example.com",
        "8f2d9c4b71e05a36d1c7b0e94a2f6183",
        "jensen-logistics.example.com",
    )
    assert (full.object_id, full.object_type_fully_qualified_name) == ("62", "0-1")
    assert full.timestamp == dt.datetime(2026, 9, 16, 14, 0, tzinfo=dt.UTC)
    assert full.properties.additional_properties == {"plan": "enterprise", "seats": "40", "call_owner": "R. Okafor"}
    assert full.extra_data.additional_properties["booking"] == {"source": "pricing page", "minutesBefore": 30}
    assert type(full.timeline_i_frame) is m.TimelineEventIFrame
    frame = full.timeline_i_frame
    assert (frame.link_label, frame.header_label, frame.width, frame.height) == (
        "Open booking",
        "Renewal call",
        720,
        480,
    )
    assert frame.url == "https://example.com/bookings/occ-2026-09-0001"
    assert (by_object.object_id, by_object.object_type_fully_qualified_name) == ("1904", "0-2")
    assert isinstance(by_object.email, Unset)
    assert by_object.properties.additional_properties == {}
    assert not {"eventTemplateId", "tokens"} & set(full.to_dict())


@pytest.mark.parametrize(
    ("status", "category", "ids"),
    [(400, "VALIDATION_ERROR", ["occ-2026-09-0003"]), (409, "CONFLICT", ["occ-2026-09-0001"])],
)
def test_timeline_2026_09_rejections_are_json_errors(status: int, category: str, ids: list[str]) -> None:
    # Overrides timeline-2026-09-400-body / -409-body.
    body = example_response("timeline-2026-09", status)
    result = _build(batch_create_timeline_events_2026_09, status, body)
    assert type(result.parsed) is m.Error
    assert result.parsed.category == category
    assert "none were accepted" in result.parsed.message
    assert result.parsed.context.additional_properties["ids"] == ids
    assert result.parsed.correlation_id == body["correlationId"]


def _broken(name: str, status: int, change: Any) -> Any:
    body = example_response(name, status)
    change(body)
    return body


BROKEN_EXAMPLES = [
    ("crm-communications-2026-03", 200, lambda b: b["results"][0].pop("id"), "results/0"),
    ("crm-communications-2026-03", 207, lambda b: b["results"][0].update(archived="false"), "results/0/archived"),
    (
        "crm-communications-2026-03",
        207,
        lambda b: b["errors"][0].update(context={"ids": "75761599999"}),
        "errors/0/context/ids",
    ),
    (
        "communication-preferences-2026-03",
        200,
        lambda b: b["results"][0].update(subscriptionId="123"),
        "results/0/subscriptionId",
    ),
    ("communication-preferences-2026-03", 200, lambda b: b.pop("completedAt"), ""),
    ("timeline-2026-03", 200, lambda b: b["results"][0].pop("eventTypeName"), "results/0"),
    ("timeline-2026-03", 200, lambda b: b["results"][0]["properties"].update(seats=12), "results/0/properties/seats"),
    ("timeline-2026-03", 200, lambda b: b["results"][0]["timelineIFrame"].pop("url"), "results/0/timelineIFrame"),
    ("timeline-2026-03", 409, lambda b: b.update(context=["occ-2026-03-0001"]), "context"),
    ("webhooks-2026-09", 200, lambda b: b["results"][0].pop("createdAt"), "results/0"),
    ("webhooks-2026-09", 200, lambda b: b["results"][1].update(id=1843202), "results/1/id"),
    (
        "webhooks-2026-09",
        207,
        lambda b: b["errors"][0].update(context={"subscriptionIds": "1"}),
        "errors/0/context/subscriptionIds",
    ),
    (
        "crm-communications-2026-09",
        200,
        lambda b: b["results"][0]["warnings"][0].update(context={"propertyName": ["hs_communication_logged_from"]}),
        "results/0/warnings/0/context/propertyName",
    ),
    (
        "crm-communications-2026-09",
        200,
        lambda b: b["results"][0]["propertiesWithHistory"]["hs_communication_body"][0].pop("sourceType"),
        "results/0/propertiesWithHistory/hs_communication_body/0",
    ),
    (
        "crm-communications-2026-09",
        200,
        lambda b: b["results"][0]["propertiesWithHistory"]["hs_communication_body"][1].update(
            updatedByUserId="61224307"
        ),
        "results/0/propertiesWithHistory/hs_communication_body/1/updatedByUserId",
    ),
    ("crm-communications-2026-09", 200, lambda b: b["results"][0].update(url=None), "results/0/url"),
    ("crm-communications-2026-09", 207, lambda b: b.pop("status"), ""),
    (
        "communication-preferences-2026-09",
        200,
        lambda b: b["results"][0].update(businessUnitId="2718204"),
        "results/0/businessUnitId",
    ),
    (
        "communication-preferences-2026-09",
        200,
        lambda b: b["results"][1].update(subscriptionId=31800427716.5),
        "results/1/subscriptionId",
    ),
    ("timeline-2026-09", 200, lambda b: b["results"][0]["properties"].update(seats=40), "results/0/properties/seats"),
    (
        "timeline-2026-09",
        200,
        lambda b: b["results"][0]["timelineIFrame"].update(width="720"),
        "results/0/timelineIFrame/width",
    ),
    ("timeline-2026-09", 400, lambda b: b.update(errors={"message": "x"}), "errors"),
]


@pytest.mark.parametrize(
    ("name", "status", "change", "where"),
    BROKEN_EXAMPLES,
    ids=[f"{n}-{c}-{w or 'root'}-{i}" for i, (n, c, _, w) in enumerate(BROKEN_EXAMPLES)],
)
def test_response_schema_rejects_a_broken_example(name: str, status: int, change: Any, where: str) -> None:
    # The schema check above is not vacuous.
    found = schema_errors(name, status, _broken(name, status, change))
    assert any(e.split(":")[0] == where for e in found), found


# --------------------------------------------------------------------------- examples inside the specs


def _response_examples() -> Iterator[tuple[str, str, Any]]:
    """(id, schema name, example) for every example of a response in specs/*.json."""
    for name in SPEC_NAMES:
        doc = json.loads((ROOT / "specs" / f"{name}.json").read_text(encoding="utf-8"))
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                for code, response in operation.get("responses", {}).items():
                    for media in response.get("content", {}).values():
                        ref = media.get("schema", {}).get("$ref", "")
                        schema_name = ref.rsplit("/", 1)[-1]
                        examples = []
                        if "example" in media:
                            examples.append(media["example"])
                        examples += [e["value"] for e in media.get("examples", {}).values() if "value" in e]
                        schema = doc["components"]["schemas"].get(schema_name, {})
                        if "example" in schema:
                            examples.append(schema["example"])
                        for index, example in enumerate(examples):
                            yield f"{name}-{method}-{code}-{index}", f"{name}:{schema_name}", example
                del path


RESPONSE_EXAMPLES = list(_response_examples())

# Which generated model a (spec, schema) pair became after the merge prefixed clashing names.
SCHEMA_MODELS: dict[str, type[Any]] = {
    "webhooks-v3:BatchResponseSubscriptionResponse": m.BatchResponseSubscriptionResponse,
    "webhooks-v3:BatchResponseSubscriptionResponseWithErrors": m.BatchResponseSubscriptionResponseWithErrors,
    "webhooks-2026-03:BatchResponseSubscriptionResponse": m.Webhooks202603BatchResponseSubscriptionResponse,
    "webhooks-2026-03:BatchResponseSubscriptionResponseWithErrors": (
        m.Webhooks202603BatchResponseSubscriptionResponseWithErrors
    ),
    "crm-communications-v3:BatchResponseSimplePublicObject": m.BatchResponseSimplePublicObject,
    "crm-communications-v3:BatchResponseSimplePublicObjectWithErrors": m.BatchResponseSimplePublicObjectWithErrors,
    "communication-preferences-v4:BatchResponsePublicStatus": m.BatchResponsePublicStatus,
    "timeline-v3:BatchResponseTimelineEventResponse": m.BatchResponseTimelineEventResponse,
    "timeline-v3:BatchResponseTimelineEventResponseWithErrors": m.BatchResponseTimelineEventResponseWithErrors,
    "crm-communications-2026-03:BatchResponseSimplePublicObject": (
        m.CrmCommunications202603BatchResponseSimplePublicObject
    ),
    "communication-preferences-2026-03:BatchResponsePublicStatus": m.BatchResponsePublicStatus,
    "timeline-2026-03:BatchResponseAppEventOccurrence": m.BatchResponseAppEventOccurrence,
    "webhooks-2026-09:BatchResponseSubscriptionResponse": m.Webhooks202609BatchResponseSubscriptionResponse,
    "webhooks-2026-09:BatchResponseSubscriptionResponseWithErrors": (
        m.Webhooks202609BatchResponseSubscriptionResponseWithErrors
    ),
    "crm-communications-2026-09:BatchResponseSimplePublicObject": (
        m.CrmCommunications202609BatchResponseSimplePublicObject
    ),
    "crm-communications-2026-09:BatchResponseSimplePublicObjectWithErrors": (
        m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors
    ),
    "communication-preferences-2026-09:BatchResponsePublicStatus": m.BatchResponsePublicStatus,
    "timeline-2026-09:BatchResponseAppEventOccurrence": m.BatchResponseAppEventOccurrence,
    "webhooks-v3:Error": m.Error,
    "webhooks-2026-03:Error": m.Error,
    "crm-communications-v3:Error": m.Error,
    "communication-preferences-v4:Error": m.Error,
    "timeline-v3:Error": m.Error,
    "crm-communications-2026-03:Error": m.Error,
    "communication-preferences-2026-03:Error": m.Error,
    "timeline-2026-03:Error": m.Error,
    "webhooks-2026-09:Error": m.Error,
    "crm-communications-2026-09:Error": m.Error,
    "communication-preferences-2026-09:Error": m.Error,
    "timeline-2026-09:Error": m.Error,
}


def test_schema_models_cover_every_response_schema() -> None:
    # Every schema a documented status (or `default`) answers with, not only
    # those that carry an example.
    used = set()
    for name in SPEC_NAMES:
        used.add(f"{name}:Error")
        for code in documented_statuses(name):
            used.add(f"{name}:{response_schema_ref(name, code).rsplit('/', 1)[-1]}")
    assert set(SCHEMA_MODELS) == used


def test_specs_carry_response_examples() -> None:
    # The webhooks v3 description documents a 200 and a 207 example; if they
    # vanish, the parametrised test below silently stops checking them.
    ids = [example_id for example_id, _, _ in RESPONSE_EXAMPLES]
    assert any(i.startswith("webhooks-v3-post-200") for i in ids)
    assert any(i.startswith("webhooks-v3-post-207") for i in ids)


@pytest.mark.parametrize(
    ("example_id", "schema", "example"), RESPONSE_EXAMPLES, ids=[i for i, _, _ in RESPONSE_EXAMPLES]
)
def test_spec_response_example_parses(example_id: str, schema: str, example: Any) -> None:
    name = schema.split(":", 1)[0]
    status = example_id.removeprefix(f"{name}-").split("-")[1]
    assert schema_errors(name, status, example) == []
    assert schema in SCHEMA_MODELS, f"no generated model known for {schema}; add it to SCHEMA_MODELS"
    parsed = SCHEMA_MODELS[schema].from_dict(example)
    assert normalise(parsed.to_dict()) == normalise(example)


# --------------------------------------------------------------------------- status dispatch


ERROR_BODY = {
    "status": "error",
    "message": "Invalid input",
    "category": "VALIDATION_ERROR",
    "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
}

# (api module, status code, expected model, body: a file under tests/fixtures)
DISPATCH: list[tuple[ModuleType, int, type[Any], str]] = [
    (
        batch_update_webhook_subscriptions_v3,
        200,
        m.BatchResponseSubscriptionResponse,
        "seed_examples/webhooks-v3.response.json",
    ),
    (
        batch_update_webhook_subscriptions_v3,
        207,
        m.BatchResponseSubscriptionResponseWithErrors,
        "seed_examples/webhooks-v3.response.json",
    ),
    (
        batch_update_webhook_subscriptions_2026_03,
        200,
        m.Webhooks202603BatchResponseSubscriptionResponse,
        "seed_examples/webhooks-2026-03.response.json",
    ),
    (
        batch_update_webhook_subscriptions_2026_03,
        207,
        m.Webhooks202603BatchResponseSubscriptionResponseWithErrors,
        "seed_examples/webhooks-2026-03.response.json",
    ),
    (
        batch_update_communications,
        200,
        m.BatchResponseSimplePublicObject,
        "seed_examples/crm-communications-v3.response.json",
    ),
    (
        batch_update_communications,
        207,
        m.BatchResponseSimplePublicObjectWithErrors,
        "seed_examples/crm-communications-v3.response.json",
    ),
    (
        batch_write_subscription_statuses,
        200,
        m.BatchResponsePublicStatus,
        "seed_examples/communication-preferences-v4.response.json",
    ),
    (
        batch_create_timeline_events,
        201,
        m.BatchResponseTimelineEventResponse,
        "seed_examples/timeline-v3.response.json",
    ),
    (
        batch_create_timeline_events,
        207,
        m.BatchResponseTimelineEventResponseWithErrors,
        "seed_examples/timeline-v3.response.json",
    ),
    (
        batch_update_communications_2026_03,
        200,
        m.CrmCommunications202603BatchResponseSimplePublicObject,
        "examples_2026_03/crm-communications-2026-03.200.json",
    ),
    (
        batch_update_communications_2026_03,
        207,
        m.CrmCommunications202603BatchResponseSimplePublicObject,
        "examples_2026_03/crm-communications-2026-03.207.json",
    ),
    (
        batch_write_subscription_statuses_2026_03,
        200,
        m.BatchResponsePublicStatus,
        "examples_2026_03/communication-preferences-2026-03.200.json",
    ),
    (
        batch_create_timeline_events_2026_03,
        200,
        m.BatchResponseAppEventOccurrence,
        "examples_2026_03/timeline-2026-03.200.json",
    ),
    (batch_create_timeline_events_2026_03, 400, m.Error, "examples_2026_03/timeline-2026-03.400.json"),
    (batch_create_timeline_events_2026_03, 409, m.Error, "examples_2026_03/timeline-2026-03.409.json"),
    (
        batch_update_webhook_subscriptions_2026_09,
        200,
        m.Webhooks202609BatchResponseSubscriptionResponse,
        "examples_2026_09/webhooks-2026-09.200.json",
    ),
    (
        batch_update_webhook_subscriptions_2026_09,
        207,
        m.Webhooks202609BatchResponseSubscriptionResponseWithErrors,
        "examples_2026_09/webhooks-2026-09.207.json",
    ),
    (
        batch_update_communications_2026_09,
        200,
        m.CrmCommunications202609BatchResponseSimplePublicObject,
        "examples_2026_09/crm-communications-2026-09.200.json",
    ),
    (
        batch_update_communications_2026_09,
        207,
        m.CrmCommunications202609BatchResponseSimplePublicObjectWithErrors,
        "examples_2026_09/crm-communications-2026-09.207.json",
    ),
    (
        batch_write_subscription_statuses_2026_09,
        200,
        m.BatchResponsePublicStatus,
        "examples_2026_09/communication-preferences-2026-09.200.json",
    ),
    (
        batch_create_timeline_events_2026_09,
        200,
        m.BatchResponseAppEventOccurrence,
        "examples_2026_09/timeline-2026-09.200.json",
    ),
    (batch_create_timeline_events_2026_09, 400, m.Error, "examples_2026_09/timeline-2026-09.400.json"),
    (batch_create_timeline_events_2026_09, 409, m.Error, "examples_2026_09/timeline-2026-09.409.json"),
]
MODULE_SPECS = {
    batch_update_webhook_subscriptions_v3: "webhooks-v3",
    batch_update_webhook_subscriptions_2026_03: "webhooks-2026-03",
    batch_update_communications: "crm-communications-v3",
    batch_write_subscription_statuses: "communication-preferences-v4",
    batch_create_timeline_events: "timeline-v3",
    batch_update_communications_2026_03: "crm-communications-2026-03",
    batch_write_subscription_statuses_2026_03: "communication-preferences-2026-03",
    batch_create_timeline_events_2026_03: "timeline-2026-03",
    batch_update_webhook_subscriptions_2026_09: "webhooks-2026-09",
    batch_update_communications_2026_09: "crm-communications-2026-09",
    batch_write_subscription_statuses_2026_09: "communication-preferences-2026-09",
    batch_create_timeline_events_2026_09: "timeline-2026-09",
}


def _build(module: ModuleType, status: int, body: Any) -> Any:
    response = httpx.Response(
        status,
        json=body,
        headers={"X-HubSpot-RateLimit-Remaining": "99"},
        request=httpx.Request("POST", "https://api.hubapi.com/x"),
    )
    return module._build_response(client=Client(base_url="https://api.hubapi.com"), response=response)


@pytest.mark.parametrize(
    ("module", "status", "model", "body_file"),
    DISPATCH,
    ids=[f"{mod.__name__.rsplit('.', 1)[-1]}-{code}" for mod, code, _, _ in DISPATCH],
)
def test_parse_response_dispatches_on_status(module: ModuleType, status: int, model: type[Any], body_file: str) -> None:
    body = fixture(body_file)
    # The body is one that status may carry according to the spec ...
    assert schema_errors(MODULE_SPECS[module], status, body) == []
    # ... and the generated module parses it with the model of that status.
    result = _build(module, status, body)
    assert int(result.status_code) == status
    assert type(result.parsed) is model
    assert result.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert normalise(result.parsed.to_dict()) == normalise(body)


def test_dispatch_bodies_come_from_the_right_spec() -> None:
    # Seeds for the seeded specs, hand-written examples for the others.
    for module, status, _, body_file in DISPATCH:
        name = MODULE_SPECS[module]
        if name in SPECS_WITHOUT_SEED_PAGE:
            assert body_file == example_file(name, status)
        else:
            assert body_file == f"seed_examples/{name}.response.json"


def test_dispatch_models_match_the_schema_models() -> None:
    for module, status, model, _ in DISPATCH:
        name = MODULE_SPECS[module]
        assert SCHEMA_MODELS[f"{name}:{response_schema_ref(name, status).rsplit('/', 1)[-1]}"] is model


UNDOCUMENTED = [
    (module, status)
    for module, name in MODULE_SPECS.items()
    for status in (400, 403, 500)
    if str(status) not in documented_statuses(name)
]


@pytest.mark.parametrize(
    ("module", "status"), UNDOCUMENTED, ids=[f"{mod.__name__.rsplit('.', 1)[-1]}-{c}" for mod, c in UNDOCUMENTED]
)
def test_other_statuses_parse_as_error(module: ModuleType, status: int) -> None:
    assert schema_errors(MODULE_SPECS[module], "default", ERROR_BODY) == []
    result = _build(module, status, ERROR_BODY)
    assert type(result.parsed) is m.Error
    assert result.parsed.category == "VALIDATION_ERROR"


def test_dispatch_table_covers_every_documented_status() -> None:
    covered = {(MODULE_SPECS[mod], str(code)) for mod, code, _, _ in DISPATCH}
    documented = {(name, code) for name in SPEC_NAMES for code in documented_statuses(name)}
    assert covered == documented
    assert ("crm-communications-2026-03", "207") in covered
    assert {("timeline-2026-03", "400"), ("timeline-2026-03", "409")} <= covered
    assert {("webhooks-2026-09", "207"), ("crm-communications-2026-09", "207")} <= covered
    assert {("timeline-2026-09", "400"), ("timeline-2026-09", "409")} <= covered
    assert set(MODULE_SPECS.values()) == set(SPEC_NAMES)
    # Each spec's module is the one generated from its operation id.
    operation_ids = {entry["name"]: entry["operation_id"] for entry in SOURCES}
    for module, name in MODULE_SPECS.items():
        assert module.__name__.rsplit(".", 1)[-1] == operation_ids[name]
