"""The generated client parses what HubSpot actually answers.

The example bodies come from HubSpot's reference pages (``../shared/seeds``,
copied into ``tests/fixtures/seed_examples`` so the tests run without them) and
from the ``example`` values in ``specs/*.json``. A client generated from the
unmodified descriptions fails on several of them (unknown ``eventType``, 207
errors without ``errors``/``links``, string ``subCategory``, string
``ErrorDetail.context``); these tests keep the overrides honest.
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
import pytest
import yaml
from hubspot_batch_api import Client
from hubspot_batch_api import models as m
from hubspot_batch_api.api.communications import batch_update_communications
from hubspot_batch_api.api.subscription_statuses import batch_write_subscription_statuses
from hubspot_batch_api.api.timeline import batch_create_timeline_events
from hubspot_batch_api.api.webhooks import (
    batch_update_webhook_subscriptions_2026_03,
    batch_update_webhook_subscriptions_v3,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_COPIES = ROOT / "tests" / "fixtures" / "seed_examples"
SOURCES = yaml.safe_load((ROOT / "specs" / "sources.yaml").read_text(encoding="utf-8"))["specs"]
SPEC_NAMES = [entry["name"] for entry in SOURCES]


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


def test_every_spec_has_seed_examples() -> None:
    for name in SPEC_NAMES:
        assert (SEED_COPIES / f"{name}.request.json").is_file(), name
        assert (SEED_COPIES / f"{name}.response.json").is_file(), name


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
    "webhooks-v3:Error": m.Error,
    "webhooks-2026-03:Error": m.Error,
    "crm-communications-v3:Error": m.Error,
    "communication-preferences-v4:Error": m.Error,
    "timeline-v3:Error": m.Error,
}


def test_specs_carry_response_examples() -> None:
    # The webhooks v3 description documents a 200 and a 207 example; if they
    # vanish, the parametrised test below silently stops checking them.
    ids = [example_id for example_id, _, _ in RESPONSE_EXAMPLES]
    assert any(i.startswith("webhooks-v3-post-200") for i in ids)
    assert any(i.startswith("webhooks-v3-post-207") for i in ids)


@pytest.mark.parametrize(
    ("schema", "example"), [(s, e) for _, s, e in RESPONSE_EXAMPLES], ids=[i for i, _, _ in RESPONSE_EXAMPLES]
)
def test_spec_response_example_parses(schema: str, example: Any) -> None:
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

# (api module, status code, expected model, spec whose seed response is the body)
DISPATCH: list[tuple[ModuleType, int, type[Any], str]] = [
    (
        batch_update_webhook_subscriptions_v3,
        200,
        m.BatchResponseSubscriptionResponse,
        "webhooks-v3",
    ),
    (
        batch_update_webhook_subscriptions_v3,
        207,
        m.BatchResponseSubscriptionResponseWithErrors,
        "webhooks-v3",
    ),
    (
        batch_update_webhook_subscriptions_2026_03,
        200,
        m.Webhooks202603BatchResponseSubscriptionResponse,
        "webhooks-2026-03",
    ),
    (
        batch_update_webhook_subscriptions_2026_03,
        207,
        m.Webhooks202603BatchResponseSubscriptionResponseWithErrors,
        "webhooks-2026-03",
    ),
    (batch_update_communications, 200, m.BatchResponseSimplePublicObject, "crm-communications-v3"),
    (
        batch_update_communications,
        207,
        m.BatchResponseSimplePublicObjectWithErrors,
        "crm-communications-v3",
    ),
    (
        batch_write_subscription_statuses,
        200,
        m.BatchResponsePublicStatus,
        "communication-preferences-v4",
    ),
    (batch_create_timeline_events, 201, m.BatchResponseTimelineEventResponse, "timeline-v3"),
    (batch_create_timeline_events, 207, m.BatchResponseTimelineEventResponseWithErrors, "timeline-v3"),
]
MODULE_SPECS = {
    batch_update_webhook_subscriptions_v3: "webhooks-v3",
    batch_update_webhook_subscriptions_2026_03: "webhooks-2026-03",
    batch_update_communications: "crm-communications-v3",
    batch_write_subscription_statuses: "communication-preferences-v4",
    batch_create_timeline_events: "timeline-v3",
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
    ("module", "status", "model", "seed"),
    DISPATCH,
    ids=[f"{mod.__name__.rsplit('.', 1)[-1]}-{code}" for mod, code, _, _ in DISPATCH],
)
def test_parse_response_dispatches_on_status(module: ModuleType, status: int, model: type[Any], seed: str) -> None:
    body = seed_response(seed)
    result = _build(module, status, body)
    assert int(result.status_code) == status
    assert type(result.parsed) is model
    assert result.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert normalise(result.parsed.to_dict()) == normalise(body)


@pytest.mark.parametrize("module", list(MODULE_SPECS), ids=lambda mod: mod.__name__.rsplit(".", 1)[-1])
def test_other_statuses_parse_as_error(module: ModuleType) -> None:
    result = _build(module, 400, ERROR_BODY)
    assert type(result.parsed) is m.Error
    assert result.parsed.category == "VALIDATION_ERROR"


def test_dispatch_table_covers_every_documented_status() -> None:
    covered = {(MODULE_SPECS[mod], str(code)) for mod, code, _, _ in DISPATCH}
    documented = set()
    for name in SPEC_NAMES:
        doc = json.loads((ROOT / "specs" / f"{name}.json").read_text(encoding="utf-8"))
        for item in doc["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict):
                    documented |= {(name, code) for code in operation.get("responses", {}) if code != "default"}
    assert covered == documented
    assert set(MODULE_SPECS.values()) == set(SPEC_NAMES)
