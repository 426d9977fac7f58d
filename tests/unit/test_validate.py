"""Rows are checked by the request schema compiled with jsonschema-rs, and every problem is named by field.

``checker().passes`` (jsonschema-rs ``is_valid``, plus plain free-form content) and orjson
(``_json.encode_plain``) are the fast way: whatever they accept must be what the full way
(``checker().problems`` and the strict encoder) accepts, byte for byte. The properties: a row the
fast test passes has no problem, and for rows JSON can carry, jsonschema-rs's verdict on the row's
JSON is exactly "no problem found".
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest
from hubspot_batch import _json
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import ENDPOINTS, Endpoint
from hubspot_batch._prepare import check_all, prepare_row, row_preparer
from hubspot_batch._validate import RowChecker, json_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BENCH_ROWS: dict[str, dict[str, Any]] = {  # the rows of benchmarks/_workload.py, one per endpoint
    "webhook_subscriptions": {"id": 7, "active": True},
    "communications": {
        "id": "7",
        "properties": {"hs_communication_body": "bench-7", "hs_communication_channel_type": "SMS"},
    },
    "subscription_statuses": {
        "subscriberIdString": "user7@example.com",
        "subscriptionId": 1003,
        "statusState": "SUBSCRIBED",
        "channel": "EMAIL",
        "legalBasis": "CONSENT_WITH_NOTICE",
        "legalBasisExplanation": "benchmark",
    },
    "timeline_events": {
        "eventTemplateId": "1001",
        "id": "bench-7",
        "email": "user7@example.com",
        "tokens": {"plan": "pro", "seats": "7"},
    },
}
VALID_V3 = {
    ("webhook_subscriptions", "v3"): BENCH_ROWS["webhook_subscriptions"],
    ("communications", "v3"): BENCH_ROWS["communications"],
    ("subscription_statuses", "v4"): BENCH_ROWS["subscription_statuses"],
    ("timeline_events", "v3"): {
        **BENCH_ROWS["timeline_events"],
        "timestamp": "2026-03-01T12:00:00Z",
        "extraData": {"a": [1, "x", None, {"b": True}]},
        "timelineIFrame": {"linkLabel": "l", "headerLabel": "h", "url": "https://x", "width": 10, "height": 20},
    },
}
VALID_2026 = {
    ("webhook_subscriptions", "2026-03"): BENCH_ROWS["webhook_subscriptions"],
    ("communications", "2026-03"): BENCH_ROWS["communications"],
    ("subscription_statuses", "2026-03"): BENCH_ROWS["subscription_statuses"],
    ("timeline_events", "2026-03"): {
        "eventTypeName": "signup",
        "id": "e1",
        "email": "a@example.com",
        "properties": {"plan": "pro"},
    },
}
VALID = {**VALID_V3, **VALID_2026}


def _problems(ep: Endpoint, row: Any) -> list[tuple[str, str]]:
    return ep.checker().problems(row)


def _timeline() -> Endpoint:
    return ENDPOINTS[("timeline_events", "v3")]


@pytest.mark.parametrize("key", sorted(VALID), ids="-".join)
def test_valid_rows_take_the_fast_way(key: tuple[str, str]) -> None:
    ep = ENDPOINTS[key]
    assert ep.checker().passes(VALID[key])
    assert _problems(ep, VALID[key]) == []
    item = row_preparer(ep, "job")(0, VALID[key])
    assert isinstance(item, Item)
    assert item.body == _json.encode_strict(item.row)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"utk": None}, "None is dropped by the full way"),
        ({"timestamp": datetime(2026, 3, 1, tzinfo=UTC)}, "a datetime is converted by the full way"),
        ({"timestamp": "yesterday"}, "not a date-time"),
        ({"extraData": {"score": 1.5}}, "floats in free-form content are left to the full way"),
        ({"extraData": {"score": float("nan")}}, "NaN, which jsonschema-rs reads as null"),
        ({"extraData": {"when": datetime(2026, 3, 1, tzinfo=UTC)}}, "orjson would write a datetime"),
        ({"extraData": {1: "x"}}, "a key that is not a string"),
        ({"extraData": {"a": {1: "x"}}}, "a key that is not a string, deeper"),
        ({"extraData": {"big": 2**64}}, "beyond 64 bits"),
        ({"extraData": None}, "None is dropped by the full way, even where anything goes"),
        ({"tokens": {"plan": 1}}, "a token that is not a string"),
        ({"tokens": "plan"}, "not an object"),
        ({"timelineIFrame": {"width": 1}}, "required fields missing"),
        ({"eventTemplateId": 1001}, "an integer for a string"),
        ({"eventTemplateId": type("Text", (str,), {})("1001")}, "a str subclass (jsonschema-rs cannot read it)"),
        ({"colour": "red"}, "an unknown field"),
    ],
)
def test_the_fast_test_leaves_the_rest_to_the_full_way(change: dict[Any, Any], why: str) -> None:
    row = {**VALID[("timeline_events", "v3")], **change}
    assert not _timeline().checker().passes(row), why


def test_ids_the_client_fills_in_may_be_missing_but_not_none() -> None:
    passes = _timeline().checker().passes
    event = {k: v for k, v in VALID[("timeline_events", "v3")].items() if k != "id"}
    assert passes(event)
    assert not passes({**event, "id": None})
    comms = ENDPOINTS[("communications", "v3")].checker().passes
    assert comms(BENCH_ROWS["communications"])  # no objectWriteTraceId: the client adds it
    assert not comms({**BENCH_ROWS["communications"], "objectWriteTraceId": None})
    assert not comms({"properties": {}})  # id is not filled in for updates


def test_integers_are_bounded_and_booleans_are_not_integers() -> None:
    passes = ENDPOINTS[("webhook_subscriptions", "v3")].checker().passes
    assert passes({"id": 2**31 - 1, "active": False})
    assert not passes({"id": 2**31, "active": False})
    assert not passes({"id": True, "active": False})
    assert not passes({"id": 1, "active": 1})
    statuses = ENDPOINTS[("subscription_statuses", "v4")]
    assert not statuses.checker().passes({**VALID[("subscription_statuses", "v4")], "statusState": "MAYBE"})


# --------------------------------------------------------------------------- messages


def test_every_problem_of_a_row_is_named_by_field() -> None:
    comms = ENDPOINTS[("communications", "v3")]
    row = {"id": 17, "properties": {"hs_communication_body": 3, 1: "x"}, "colour": "red"}
    assert sorted(_problems(comms, row)) == [
        ("colour", "is not a field of this endpoint (known fields: id, idProperty, objectWriteTraceId, properties)"),
        ("id", "must be a string, got int"),
        ("properties", "has a key that is not a string: 1"),
        ("properties.hs_communication_body", "must be a string, got int"),
    ]
    assert _problems(comms, {"id": "1"}) == [("properties", "is required")]
    assert _problems(comms, {"id": "1", "properties": {"0": 5}}) == [("properties.0", "must be a string, got int")]
    assert _problems(comms, {"id": "1", "properties": ["a"]}) == [("properties", "must be an object, got list")]


def test_integers_enums_and_date_times_are_explained() -> None:
    hooks = ENDPOINTS[("webhook_subscriptions", "v3")]
    assert sorted(_problems(hooks, {"id": 2**31, "active": "yes"})) == [
        ("active", "must be true or false, got str"),
        ("id", "must fit in int32; got 2147483648"),
    ]
    assert _problems(hooks, {"id": "12", "active": True}) == [("id", "must be an integer (int32), got str")]
    statuses = ENDPOINTS[("subscription_statuses", "v4")]
    row = {k: v for k, v in VALID[("subscription_statuses", "v4")].items() if k != "channel"}
    assert sorted(_problems(statuses, {**row, "statusState": "MAYBE", "subscriptionId": 2**64})) == [
        ("channel", "is required"),
        ("statusState", "must be one of NOT_SPECIFIED, SUBSCRIBED, UNSUBSCRIBED; got 'MAYBE'"),
        ("subscriptionId", "must fit in int64; got 18446744073709551616"),
    ]
    event = {**VALID[("timeline_events", "v3")], "timestamp": "yesterday", "timelineIFrame": {"width": "x"}}
    assert sorted(_problems(_timeline(), event)) == [
        ("timelineIFrame.headerLabel", "is required"),
        ("timelineIFrame.height", "is required"),
        ("timelineIFrame.linkLabel", "is required"),
        ("timelineIFrame.url", "is required"),
        ("timelineIFrame.width", "must be an integer (int32), got str"),
        ("timestamp", "must be an ISO 8601 date-time such as 2026-03-01T12:00:00Z; got 'yesterday'"),
    ]


def test_what_json_cannot_carry_is_named_with_the_schema_problems() -> None:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    event = {
        **VALID[("timeline_events", "v3")],
        "eventTemplateId": 5,
        "tokens": {"a": "x\ud800"},
        "extraData": {"score": float("inf"), "when": object(), "loop": loop, "n": [1, float("nan")]},
    }
    assert _problems(_timeline(), event) == [
        ("eventTemplateId", "must be a string, got int"),
        ("tokens.a", "cannot be sent as JSON: holds a lone surrogate character"),
        ("extraData.score", "cannot be sent as JSON: inf is not a number JSON has"),
        ("extraData.when", "cannot be sent as JSON: Object of type object is not JSON serializable"),
        ("extraData.loop.again", "cannot be sent as JSON: contains itself"),
        ("extraData.n[1]", "cannot be sent as JSON: nan is not a number JSON has"),
    ]


def test_subclasses_and_tuples_are_what_json_writes_them_as() -> None:
    class Text(str):
        pass

    event = {**VALID[("timeline_events", "v3")], "eventTemplateId": Text("1001"), "extraData": {"t": (1, "a")}}
    assert _problems(_timeline(), event) == []
    item = prepare_row(_timeline(), 0, event, "job")
    assert isinstance(item, Item) and json.loads(item.body)["extraData"] == {"t": [1, "a"]}


def test_openapi_is_read_as_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "string", "nullable": True},
            "o": {
                "properties": {"n": {"type": "integer", "format": "int32", "nullable": True}},
                "required": ["n"],
            },
            "list": {"type": "array", "items": {"type": "integer", "minimum": 0, "exclusiveMinimum": True}},
            "any": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}]},
        },
    }
    converted = json_schema(schema, {})
    assert converted["properties"]["n"] == {"type": "string"}  # a top-level None is dropped, never sent
    assert converted["additionalProperties"] is False
    inner = converted["properties"]["o"]
    assert inner["type"] == "object" and inner["additionalProperties"] is False
    assert inner["properties"]["n"] == {
        "type": ["integer", "null"],
        "format": "int32",
        "minimum": -(2**31),
        "maximum": 2**31 - 1,
    }
    assert converted["properties"]["list"]["items"] == {"type": "integer", "exclusiveMinimum": 0}
    assert "additionalProperties" not in converted["properties"]["any"]["allOf"][0]  # allOf branches stay open
    checker = RowChecker(schema, {})
    assert checker.passes({"o": {"n": None}, "any": {"b": 1}})
    assert checker.problems({"o": {"n": 2**31}, "list": [1, 0, "x"]}) == [
        ("o.n", "must fit in int32; got 2147483648"),
        ("list[1]", "must be more than 0; got 0"),
        ("list[2]", "must be an integer, got str"),
    ]


def test_the_schema_is_compiled_once_per_endpoint() -> None:
    ep = ENDPOINTS[("communications", "v3")]
    assert ep.checker() is ep.checker()


# --------------------------------------------------------------------------- properties


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["2026-03-01T12:00:00Z", "EMAIL", "SUBSCRIBED", "a\ud800", "é\n\x1f"])
    | st.datetimes(timezones=st.just(UTC))
)
_ANYTHING = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(0, 3), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def _rows(draw: st.DrawFn) -> tuple[tuple[str, str], dict[Any, Any]]:
    key = draw(st.sampled_from(sorted(VALID)))
    row: dict[Any, Any] = dict(VALID[key])
    fields = [*row, "objectWriteTraceId", "idProperty", "legalBasis", "unknown"]
    for name in draw(st.lists(st.sampled_from(fields), max_size=3)):
        if draw(st.booleans()):
            row.pop(name, None)
        else:
            row[name] = draw(_ANYTHING)
    return key, row


def _has_other_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _has_other_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_other_keys(v) for v in value)
    return False


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_rows())
def test_what_the_fast_test_passes_has_no_problem_and_is_written_as_the_json_module_writes_it(
    case: tuple[tuple[str, str], Any],
) -> None:
    key, row = case
    ep = ENDPOINTS[key]
    if not ep.checker().passes(row):
        return
    assert all(value is not None and not isinstance(value, datetime) for value in row.values())
    data = dict(row)
    ep.prepare(data, "job", 0)  # the fast test runs before the client fills in ids
    assert _problems(ep, data) == []
    try:
        strict = _json.encode_strict(data)
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            _json.encode_plain(data)
        return
    assert _json.encode_plain(data) == strict


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_rows())
def test_jsonschema_rs_and_the_problems_found_agree(case: tuple[tuple[str, str], Any]) -> None:
    key, row = case
    ep = ENDPOINTS[key]
    data = {k: v for k, v in row.items() if v is not None}
    ep.prepare(data, "job", 0)
    problems = _problems(ep, data)
    if _has_other_keys(data):
        assert any("has a key that is not a string" in message for _, message in problems)
        return
    try:
        body = _json.encode_strict(data)
    except (TypeError, ValueError, RecursionError):
        assert any("cannot be sent as JSON" in message for _, message in problems)
        return
    validator = jsonschema_rs.validator_for(ep.checker().schema, validate_formats=True)
    assert validator.is_valid(json.loads(body)) == (problems == []), problems


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=_rows())
def test_jobs_prepare_every_row_as_the_full_way_does(
    monkeypatch: pytest.MonkeyPatch, case: tuple[tuple[str, str], Any]
) -> None:
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))  # ids the client adds, the same both ways
    key, row = case
    ep = ENDPOINTS[key]
    fast = row_preparer(ep, "job")(0, row)
    full = prepare_row(ep, 0, row, "job")
    if isinstance(full, Item):
        assert isinstance(fast, Item)
        assert (fast.index, fast.row, fast.key, fast.body) == (full.index, full.row, full.key, full.body)
        assert fast.row is not row  # the caller's row is never changed
        assert check_all(ep, [row], "job") == []  # update()'s first pass agrees
    else:
        assert fast == full
        assert check_all(ep, [row], "job") == full
