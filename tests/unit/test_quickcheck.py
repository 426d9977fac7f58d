"""The quick check passes only rows the full checker passes unchanged, and jobs prepare every row as the full way does.

The quick check (``_quickcheck``) and orjson (``_json.encode_plain``) are speed-ups: whatever they
accept must be exactly what the full checker and the strict encoder accept, byte for byte.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hubspot_batch import _json
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import ENDPOINTS, Endpoint
from hubspot_batch._engine import check_all, prepare_row, row_preparer
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
    problems: list[tuple[str, str]] = []
    ep.checker()(row, "", problems)
    return problems


@pytest.mark.parametrize("key", sorted(VALID), ids="-".join)
def test_valid_rows_take_the_quick_way(key: tuple[str, str]) -> None:
    ep = ENDPOINTS[key]
    assert ep.quick_check()(VALID[key])
    item = row_preparer(ep, "job")(0, VALID[key])
    assert isinstance(item, Item)
    assert item.body == _json.encode_strict(item.row)


def _timeline() -> Endpoint:
    return ENDPOINTS[("timeline_events", "v3")]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"utk": None}, "None is dropped by the full way"),
        ({"timestamp": datetime(2026, 3, 1, tzinfo=UTC)}, "a datetime is converted by the full way"),
        ({"timestamp": "yesterday"}, "not a date-time"),
        ({"extraData": {"score": 1.5}}, "floats are left to the full way"),
        ({"extraData": {1: "x"}}, "a key that is not a string"),
        ({"extraData": {"big": 2**64}}, "beyond 64 bits"),
        ({"tokens": {"plan": 1}}, "a token that is not a string"),
        ({"tokens": "plan"}, "not an object"),
        ({"timelineIFrame": {"width": 1}}, "required fields missing"),
        ({"eventTemplateId": 1001}, "an integer for a string"),
        ({"colour": "red"}, "an unknown field"),
    ],
)
def test_the_quick_check_leaves_the_rest_to_the_full_way(change: dict[Any, Any], why: str) -> None:
    ep = _timeline()
    row = {**VALID[("timeline_events", "v3")], **change}
    assert not ep.quick_check()(row), why


def test_ids_the_client_fills_in_may_be_missing_but_not_none() -> None:
    quick = _timeline().quick_check()
    event = {k: v for k, v in VALID[("timeline_events", "v3")].items() if k != "id"}
    assert quick(event)
    assert not quick({**event, "id": None})
    comms = ENDPOINTS[("communications", "v3")].quick_check()
    assert comms(BENCH_ROWS["communications"])  # no objectWriteTraceId: the client adds it
    assert not comms({**BENCH_ROWS["communications"], "objectWriteTraceId": None})
    assert not comms({"properties": {}})  # id is not filled in for updates


def test_integers_are_bounded_and_booleans_are_not_integers() -> None:
    ep = ENDPOINTS[("webhook_subscriptions", "v3")]
    quick = ep.quick_check()
    assert quick({"id": 2**31 - 1, "active": False})
    assert not quick({"id": 2**31, "active": False})
    assert not quick({"id": True, "active": False})
    assert not quick({"id": 1, "active": 1})
    statuses = ENDPOINTS[("subscription_statuses", "v4")]
    assert not statuses.quick_check()({**VALID[("subscription_statuses", "v4")], "statusState": "MAYBE"})


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


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_rows())
def test_what_the_quick_check_passes_the_full_checker_passes_unchanged(case: tuple[tuple[str, str], Any]) -> None:
    key, row = case
    ep = ENDPOINTS[key]
    if not ep.quick_check()(row):
        return
    assert all(value is not None and not isinstance(value, datetime) for value in row.values())
    data = dict(row)
    ep.prepare(data, "job", 0)  # the quick check runs before the client fills in ids
    assert _problems(ep, data) == []
    try:
        strict = _json.encode_strict(data)
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            _json.encode_plain(data)
        return
    assert _json.encode_plain(data) == strict


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=_rows())
def test_jobs_prepare_every_row_as_the_full_way_does(
    monkeypatch: pytest.MonkeyPatch, case: tuple[tuple[str, str], Any]
) -> None:
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=7))  # ids the client adds, the same both ways
    key, row = case
    ep = ENDPOINTS[key]
    quick = row_preparer(ep, "job")(0, row)
    full = prepare_row(ep, 0, row, "job")
    if isinstance(full, Item):
        assert isinstance(quick, Item)
        assert (quick.index, quick.row, quick.key, quick.body) == (full.index, full.row, full.key, full.body)
        assert quick.row is not row  # the caller's row is never changed
        assert check_all(ep, [row], "job") == []  # update()'s first pass agrees
    else:
        assert quick == full
        assert check_all(ep, [row], "job") == full
