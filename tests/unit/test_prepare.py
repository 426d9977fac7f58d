"""prepare_row: each row is checked and encoded once, and anything JSON cannot carry is named by field.

Every test runs three ways: through :func:`prepare_row` (the full way), through
:func:`row_preparer` (what jobs use: the compiled schema's fast test first, the
full way for anything it does not pass), and that again with the json module
standing in for orjson.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot_batch import _json
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import Endpoint, endpoint
from hubspot_batch._errors import InputIssue
from hubspot_batch._json import encode_strict as encode_json
from hubspot_batch._prepare import prepare_row as full_way
from hubspot_batch._prepare import row_preparer

TIMELINE = endpoint("timeline_events")
COMMS = endpoint("communications")

Prepare = Callable[[Endpoint, int, Any, str], Any]


@pytest.fixture(params=["full", "fast", "fast-without-orjson"])
def prepare(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Prepare]:
    if request.param == "fast-without-orjson":
        monkeypatch.setattr(_json, "encode_plain", _json.encode_strict)
    yield full_way if request.param == "full" else (lambda ep, i, row, job: row_preparer(ep, job)(i, row))


def _event(**extra: object) -> dict[str, object]:
    return {"eventTemplateId": "1", "email": "a@example.com", "tokens": {"plan": "pro"}, **extra}


def test_the_item_carries_the_json_that_is_sent(prepare: Prepare) -> None:
    item = prepare(COMMS, 7, {"id": "12", "properties": {"hs_communication_body": "héllo"}}, "job")
    assert isinstance(item, Item)
    assert json.loads(item.body) == item.row
    assert item.row["objectWriteTraceId"] == "job-7"  # the trace id the client adds is in what is sent
    assert "héllo".encode() in item.body  # UTF-8, not \\u escapes


def test_datetimes_become_iso_strings_and_none_is_dropped(prepare: Prepare) -> None:
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    item = prepare(TIMELINE, 0, _event(timestamp=when, utk=None), "job")
    assert isinstance(item, Item)
    assert item.row["timestamp"] == "2026-03-01T12:30:00.000Z"
    assert "utk" not in item.row
    assert json.loads(item.body)["timestamp"] == "2026-03-01T12:30:00.000Z"


def test_a_row_that_contains_itself_is_named_not_a_crash(prepare: Prepare) -> None:
    loop: dict[str, object] = {}
    loop["again"] = loop
    issues = prepare(TIMELINE, 3, _event(extraData={"ok": 1, "loop": loop}), "job")
    assert isinstance(issues, list)
    assert issues[0].index == 3
    assert issues[0].field.startswith("extraData.loop")
    assert "contains itself" in issues[0].message


def test_nan_and_lone_surrogates_are_named_by_field(prepare: Prepare) -> None:
    nan = prepare(TIMELINE, 4, _event(extraData={"score": float("nan")}), "job")
    assert nan == [InputIssue(4, "extraData.score", nan[0].message)] if isinstance(nan, list) else False
    surrogate = prepare(COMMS, 5, {"id": "1", "properties": {"hs_communication_body": "a\ud800"}}, "job")
    assert isinstance(surrogate, list)
    assert (surrogate[0].index, surrogate[0].field) == (5, "properties.hs_communication_body")
    assert "lone surrogate" in surrogate[0].message


def test_an_object_json_does_not_know_is_named(prepare: Prepare) -> None:
    issues = prepare(TIMELINE, 6, _event(extraData={"when": object()}), "job")
    assert isinstance(issues, list)
    assert issues[0].field == "extraData.when"
    assert "not JSON serializable" in issues[0].message


def test_a_datetime_below_the_top_level_is_named(prepare: Prepare) -> None:
    issues = prepare(TIMELINE, 2, _event(extraData={"when": datetime(2026, 3, 1, tzinfo=UTC)}), "job")
    assert issues == [
        InputIssue(2, "extraData.when", "cannot be sent as JSON: Object of type datetime is not JSON serializable")
    ]


def test_every_problem_of_the_row_is_named_at_once(prepare: Prepare) -> None:
    issues = prepare(COMMS, 7, {"id": 1, "properties": {"hs_timestamp": 5, "body": "a\ud800"}}, "job")
    assert isinstance(issues, list)
    assert [(i.index, i.field) for i in issues] == [(7, "id"), (7, "properties.hs_timestamp"), (7, "properties.body")]
    assert str(issues[1]) == "input 7: field 'properties.hs_timestamp': must be a string, got int"


def test_a_generated_model_is_checked_as_its_dict(prepare: Prepare) -> None:
    model = COMMS.input_model.from_dict  # type: ignore[attr-defined]
    item = prepare(COMMS, 0, model({"id": "9", "properties": {"hs_communication_body": "m"}}), "job")
    assert isinstance(item, Item) and item.row["properties"] == {"hs_communication_body": "m"}
    issues = prepare(COMMS, 1, model({"id": "9", "properties": {"hs_communication_body": 3}}), "job")
    assert issues == [InputIssue(1, "properties.hs_communication_body", "must be a string, got int")]


def test_a_row_that_is_not_an_object_is_named(prepare: Prepare) -> None:
    assert prepare(COMMS, 3, ["id", "1"], "job") == [
        InputIssue(3, "", "must be a dict or a SimplePublicObjectBatchInput, got list")
    ]


def test_encode_json_is_compact_strict_utf8() -> None:
    assert encode_json({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()
