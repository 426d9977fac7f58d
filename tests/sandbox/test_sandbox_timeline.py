from __future__ import annotations

from typing import Any

from sandbox_helpers import TIMELINE, MakeApp, answer, post


def event(id_: str, tpl: str = "1001", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventTemplateId": tpl,
        "id": id_,
        "tokens": {"k": "v"},
        "email": "a@b.com",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def test_created_is_201_and_echoes_input(make_app: MakeApp) -> None:
    app = make_app()
    ev = event("e1", extraData={"x": [1]}, timestamp="2026-01-01T00:00:00Z", domain="d.com")
    r = answer(post(app, TIMELINE, [ev]))
    assert r.status == 201
    body = r.json()
    assert "errors" not in body
    (item,) = body["results"]
    assert item == {**ev, "objectType": "CONTACT", "createdAt": "2026-11-23T10:00:00.000Z"}
    assert app.state.timeline_event("1001", "e1") == item
    assert set(app.state.timeline_events) == {("1001", "e1")}


def test_timestamp_defaults_to_now(make_app: MakeApp) -> None:
    body = answer(post(make_app(), TIMELINE, [event("e1")])).json()
    assert body["results"][0]["timestamp"] == "2026-11-23T10:00:00.000Z"


def test_existing_event_is_rejected_and_counted(make_app: MakeApp) -> None:
    app = make_app()
    post(app, TIMELINE, [event("e1", tokens={"k": "first"})])
    r = answer(
        post(
            app,
            TIMELINE,
            [event("e1", tokens={"k": "second"}), event("e2"), event("e1", tpl="2002")],
        )
    )
    assert r.status == 207
    body = r.json()
    assert [(i["eventTemplateId"], i["id"]) for i in body["results"]] == [
        ("1001", "e2"),
        ("2002", "e1"),
    ]
    assert body["numErrors"] == 1
    assert body["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_ALREADY_EXISTS",
            "message": "Event with id 'e1' already exists for template '1001'",
            "context": {"id": ["e1"]},
        }
    ]
    stored = app.state.timeline_event("1001", "e1")
    assert stored is not None and stored["tokens"] == {"k": "first"}
    stats = app.state.stats()
    assert stats.timeline_duplicates_rejected == 1
    assert stats.timeline_create_attempts[("1001", "e1")] == 2
    assert stats.effects["timeline"] == 3


def test_missing_object_reference_is_207_validation_error(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(
        post(
            app,
            TIMELINE,
            [
                event("e1", email=None),
                event("e2", email=None, utk="u"),
                event("e3", email=None, objectId="9"),
            ],
        )
    )
    assert r.status == 207
    body = r.json()
    assert [i["id"] for i in body["results"]] == ["e2", "e3"]
    (err,) = body["errors"]
    assert err["category"] == "VALIDATION_ERROR"
    assert err["context"] == {"id": ["e1"]}
    assert app.state.timeline_event("1001", "e1") is None


def test_duplicate_in_batch_is_400(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, TIMELINE, [event("e1"), event("e1")]))
    assert r.status == 400
    assert r.json()["context"] == {"ids": ["e1"]}
    assert app.state.timeline_events == {}
    # same id under another template is not a duplicate
    assert answer(post(app, TIMELINE, [event("e1"), event("e1", tpl="2")])).status == 201


def test_malformed_is_400(make_app: MakeApp) -> None:
    app = make_app()
    for bad in (
        event("e1", tokens=None),
        event("e1", timelineIFrame={"url": "x"}),
        {"id": "e1", "tokens": {}},
    ):
        assert answer(post(app, TIMELINE, [bad])).status == 400, bad
