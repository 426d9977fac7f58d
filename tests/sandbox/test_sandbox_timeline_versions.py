"""Timeline "already exists" at every version: v3 (207), 2026-03 and 2026-09 (409), and across versions."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import TIMELINE, MakeApp, answer, post

T_2026_03 = "/integrators/timeline/2026-03/events/batch"
T_2026_09 = "/integrators/timeline/2026-09/events/batch"
OCCURRENCE_PATHS = [T_2026_03, T_2026_09]


def v3_event(id_: str, tpl: str = "1001") -> dict[str, Any]:
    return {"eventTemplateId": tpl, "id": id_, "tokens": {"k": "v"}, "email": "a@b.com"}


def occurrence(id_: str, name: str = "1001", **extra: Any) -> dict[str, Any]:
    return {"eventTypeName": name, "id": id_, "properties": {"k": "v"}, "email": "a@b.com", **extra}


@pytest.mark.parametrize("path", OCCURRENCE_PATHS)
def test_occurrences_created_then_409_naming_every_existing_id(make_app: MakeApp, path: str) -> None:
    app = make_app()
    r = answer(post(app, path, [occurrence("e1"), occurrence("e2")]))
    assert r.status == 200
    assert [o["id"] for o in r.json()["results"]] == ["e1", "e2"]
    r = answer(post(app, path, [occurrence("e3"), occurrence("e2", properties={"k": "new"}), occurrence("e1")]))
    assert r.status == 409
    body = r.json()
    assert body["category"] == "CONFLICT" and body["status"] == "error" and body["correlationId"]
    assert body["context"] == {"ids": ["e2", "e1"]}
    assert body["message"] == "Events with these ids already exist: [e2, e1]; none were accepted"
    # nothing of the rejected batch is stored
    assert app.state.timeline_event("1001", "e3") is None
    stored = app.state.timeline_event("1001", "e2")
    assert stored is not None and stored["properties"] == {"k": "v"}
    stats = app.state.stats()
    assert stats.timeline_duplicates_rejected == 2
    assert stats.effects["timeline"] == 2
    # the same id under another event type name is another event
    assert answer(post(app, path, [occurrence("e1", name="other")])).status == 200


@pytest.mark.parametrize("path", OCCURRENCE_PATHS)
def test_occurrence_seen_again_after_a_409_still_exists(make_app: MakeApp, path: str) -> None:
    app = make_app()
    post(app, path, [occurrence("e1")])
    for _ in range(3):
        assert answer(post(app, path, [occurrence("e1")])).status == 409
    assert app.state.stats().timeline_create_attempts[("1001", "e1")] == 4


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (T_2026_03, T_2026_09),
        (T_2026_09, T_2026_03),
    ],
)
def test_an_occurrence_exists_at_the_other_dated_version(make_app: MakeApp, first: str, then: str) -> None:
    app = make_app()
    assert answer(post(app, first, [occurrence("e1")])).status == 200
    r = answer(post(app, then, [occurrence("e1"), occurrence("e9")]))
    assert r.status == 409 and r.json()["context"] == {"ids": ["e1"]}


@pytest.mark.parametrize("path", OCCURRENCE_PATHS)
def test_a_v3_event_exists_at_the_dated_versions(make_app: MakeApp, path: str) -> None:
    app = make_app()
    assert answer(post(app, TIMELINE, [v3_event("e1")])).status == 201
    r = answer(post(app, path, [occurrence("e1")]))
    assert r.status == 409 and r.json()["context"] == {"ids": ["e1"]}
    # a different template id / type name is a different event type
    assert answer(post(app, path, [occurrence("e1", name="2002")])).status == 200


@pytest.mark.parametrize("path", OCCURRENCE_PATHS)
def test_a_dated_occurrence_exists_at_v3(make_app: MakeApp, path: str) -> None:
    app = make_app()
    assert answer(post(app, path, [occurrence("e1")])).status == 200
    r = answer(post(app, TIMELINE, [v3_event("e1"), v3_event("e2")]))
    assert r.status == 207
    body = r.json()
    assert [i["id"] for i in body["results"]] == ["e2"]
    assert body["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_ALREADY_EXISTS",
            "message": "Event with id 'e1' already exists for template '1001'",
            "context": {"id": ["e1"]},
        }
    ]
    stored = app.state.timeline_event("1001", "e1")
    assert stored is not None and "eventTypeName" in stored  # the first (dated) one is kept


def test_v3_reports_every_existing_event_of_a_batch(make_app: MakeApp) -> None:
    app = make_app()
    post(app, TIMELINE, [v3_event("e1"), v3_event("e2")])
    r = answer(post(app, TIMELINE, [v3_event("e2"), v3_event("e3"), v3_event("e1")]))
    assert r.status == 207
    body = r.json()
    assert body["numErrors"] == 2
    assert [e["context"] for e in body["errors"]] == [{"id": ["e2"]}, {"id": ["e1"]}]
    assert all(e["category"] == "OBJECT_ALREADY_EXISTS" for e in body["errors"])
    assert [i["id"] for i in body["results"]] == ["e3"]
    # a batch made only of existing events is still a 207 with no results
    r = answer(post(app, TIMELINE, [v3_event("e3")]))
    assert r.status == 207 and r.json()["results"] == []
