from __future__ import annotations

import pytest
from hubspot_batch.sandbox import EVENT_TYPES
from sandbox_helpers import WEBHOOKS_2026, WEBHOOKS_V3, FakeClock, MakeApp, answer, post


def test_v3_results(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, WEBHOOKS_V3.format(app=42), [{"id": 6, "active": True}, {"id": 1, "active": False}]))
    assert r.status == 200
    body = r.json()
    assert body["status"] == "COMPLETE" and "errors" not in body
    first, second = body["results"]
    assert first == {
        "id": "6",
        "active": True,
        "createdAt": "2026-11-23T10:00:00.000Z",
        "updatedAt": "2026-11-23T10:00:00.000Z",
        "eventType": "contact.propertyChange",
        "propertyName": "firstname",
    }
    assert second["eventType"] == "contact.create" and "propertyName" not in second
    assert second["active"] is False
    assert "eventTypeName" not in first and "objectTypeId" not in first
    stored = app.state.subscription(42, 6)
    assert stored is not None and stored.active is True


def test_2026_03_adds_event_type_name_and_object_type(make_app: MakeApp) -> None:
    body = answer(post(make_app(), WEBHOOKS_2026.format(app=42), [{"id": 12, "active": True}])).json()
    (item,) = body["results"]
    assert item["eventType"] == item["eventTypeName"] == EVENT_TYPES[0][0]
    assert item["objectTypeId"] == "0-1"


def test_event_type_is_stable_per_id(make_app: MakeApp) -> None:
    app = make_app()
    a = answer(post(app, WEBHOOKS_V3.format(app=1), [{"id": 8, "active": True}])).json()
    b = answer(post(app, WEBHOOKS_V3.format(app=2), [{"id": 8, "active": False}])).json()
    assert a["results"][0]["eventType"] == b["results"][0]["eventType"] == "company.propertyChange"


def test_updated_at_moves_only_on_change(make_app: MakeApp, wall: FakeClock) -> None:
    app = make_app()
    path = WEBHOOKS_V3.format(app=1)
    post(app, path, [{"id": 3, "active": True}])
    wall.advance(1)
    item = answer(post(app, path, [{"id": 3, "active": True}])).json()["results"][0]
    assert item["updatedAt"] == "2026-11-23T10:00:00.000Z"
    wall.advance(1)
    item = answer(post(app, path, [{"id": 3, "active": False}])).json()["results"][0]
    assert item["updatedAt"] == "2026-11-23T10:00:02.000Z"
    assert item["createdAt"] == "2026-11-23T10:00:00.000Z"


def test_unknown_ids_are_207(make_app: MakeApp) -> None:
    app = make_app(missing_ids={"99"})
    inputs = [{"id": 1, "active": True}, {"id": 99, "active": True}, {"id": -5, "active": True}]
    r = answer(post(app, WEBHOOKS_V3.format(app=1), inputs))
    assert r.status == 207
    body = r.json()
    assert [i["id"] for i in body["results"]] == ["1"]
    assert body["numErrors"] == 1
    (err,) = body["errors"]
    assert err["status"] == "error"
    assert err["category"] == "SUBSCRIPTION_ID_NOT_FOUND"
    assert err["context"] == {"subscriptionIds": ["99", "-5"]}
    assert "errors" not in err and "links" not in err


def test_duplicates_reject_whole_batch(make_app: MakeApp) -> None:
    r = answer(
        post(
            make_app(),
            WEBHOOKS_V3.format(app=1),
            [{"id": 4, "active": True}, {"id": 4, "active": False}],
        )
    )
    assert r.status == 400
    assert r.json()["message"] == "Duplicate IDs found in batch input: [4]. IDs must be unique"
    assert r.json()["context"] == {"ids": ["4"]}


@pytest.mark.parametrize("app_id", ["abc", "2147483648", "1.5"])
def test_app_id_must_be_int32(make_app: MakeApp, app_id: str) -> None:
    r = answer(post(make_app(), WEBHOOKS_V3.format(app=app_id), [{"id": 1, "active": True}]))
    assert r.status == 400
    assert r.json()["category"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    "item",
    [
        {"id": "1", "active": True},
        {"id": 1},
        {"id": 1, "active": "yes"},
        {"id": 2**31, "active": True},
        {"id": True, "active": True},
    ],
)
def test_malformed_inputs_are_400(make_app: MakeApp, item: dict[str, object]) -> None:
    assert answer(post(make_app(), WEBHOOKS_V3.format(app=1), [item])).status == 400
