from __future__ import annotations

import json

from sandbox_helpers import COMMS, WALL_START, FakeClock, MakeApp, answer, post


def comm(id_: str, **props: str) -> dict[str, object]:
    return {"id": id_, "properties": props or {"hs_communication_body": "x"}}


def test_all_found_is_200_with_full_properties(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, COMMS, [comm("1", hs_communication_body="hi", custom_x="y")]))
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "COMPLETE"
    assert "errors" not in body and "numErrors" not in body
    assert body["startedAt"] == "2026-11-23T10:00:00.000Z"
    (item,) = body["results"]
    assert item["id"] == "1"
    assert item["archived"] is False
    assert item["properties"]["hs_communication_body"] == "hi"
    assert item["properties"]["custom_x"] == "y"
    assert item["properties"]["hs_object_id"] == "1"
    assert item["createdAt"] == item["updatedAt"] == "2026-11-23T10:00:00.000Z"
    assert "objectWriteTraceId" not in item


def test_updates_merge_and_created_at_is_fixed(make_app: MakeApp, wall: FakeClock) -> None:
    app = make_app()
    post(app, COMMS, [comm("5", hs_communication_body="a")])
    wall.advance(61.5)
    body = answer(post(app, COMMS, [comm("5", hs_timestamp="t")])).json()
    item = body["results"][0]
    assert item["properties"]["hs_communication_body"] == "a"
    assert item["properties"]["hs_timestamp"] == "t"
    assert item["createdAt"] == "2026-11-23T10:00:00.000Z"
    assert item["updatedAt"] == "2026-11-23T10:01:01.500Z"
    stored = app.state.communication("5")
    assert stored is not None and stored.properties["hs_timestamp"] == "t"
    assert stored.created_at == "2026-11-23T10:00:00.000Z"


def test_missing_ids_grouped_in_one_207_error_with_trace_ids(make_app: MakeApp) -> None:
    app = make_app(missing_ids={"404"})
    inputs = [
        {**comm("1"), "objectWriteTraceId": "t1"},
        {**comm("404"), "objectWriteTraceId": "t2"},
        comm("abc"),
        {**comm("0"), "objectWriteTraceId": "t4"},
    ]
    r = answer(post(app, COMMS, inputs))
    assert r.status == 207
    body = r.json()
    assert [i["id"] for i in body["results"]] == ["1"]
    assert body["results"][0]["objectWriteTraceId"] == "t1"
    assert body["numErrors"] == 1
    (err,) = body["errors"]
    assert err == {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": "Could not get some COMMUNICATION objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ["404", "abc", "0"], "objectWriteTraceId": ["t2", "t4"]},
    }
    assert app.state.communication("404") is None
    assert app.state.stats().effects["communications"] == 1


def test_all_missing_is_207_without_results(make_app: MakeApp) -> None:
    r = answer(post(make_app(), COMMS, [comm("nope")]))
    assert r.status == 207
    body = r.json()
    assert body["results"] == []
    assert body["errors"][0]["context"] == {"ids": ["nope"]}


def test_unknown_property_rejects_whole_batch(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, COMMS, [comm("1"), comm("2", foo="1", bar="2"), comm("3", foo="x")]))
    assert r.status == 400
    body = r.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["correlationId"]
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    listing = json.loads(body["message"][len(prefix) :])
    assert listing == [
        {
            "isValid": False,
            "message": 'Property "foo" does not exist',
            "error": "PROPERTY_DOESNT_EXIST",
            "name": "foo",
        },
        {
            "isValid": False,
            "message": 'Property "bar" does not exist',
            "error": "PROPERTY_DOESNT_EXIST",
            "name": "bar",
        },
    ]
    assert app.state.communication("1") is None


def test_exact_unknown_property_message(make_app: MakeApp) -> None:
    r = answer(post(make_app(), COMMS, [comm("1", foo="1")]))
    assert r.body.decode().startswith(
        '{"status":"error","message":"Property values were not valid: [{\\"isValid\\":false,'
        '\\"message\\":\\"Property \\\\\\"foo\\\\\\" does not exist\\",'
        '\\"error\\":\\"PROPERTY_DOESNT_EXIST\\",\\"name\\":\\"foo\\"}]","correlationId":'
    )


def test_read_only_property_rejected(make_app: MakeApp) -> None:
    body = answer(post(make_app(), COMMS, [comm("1", hs_object_id="2")])).json()
    assert "READ_ONLY_VALUE" in body["message"]


def test_known_properties_are_configurable(make_app: MakeApp) -> None:
    app = make_app(known_properties={"mine"}, known_property_prefixes=())
    assert answer(post(app, COMMS, [comm("1", mine="1")])).status == 200
    assert answer(post(app, COMMS, [comm("1", custom_x="1")])).status == 400


def test_duplicate_ids_reject_whole_batch(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, COMMS, [comm("12877907025"), comm("1"), comm("12877907025")]))
    assert r.status == 400
    body = r.json()
    assert body["message"] == ("Duplicate IDs found in batch input: [12877907025]. IDs must be unique")
    assert body["context"] == {"ids": ["12877907025"]}
    assert body["category"] == "VALIDATION_ERROR"
    assert app.state.stats().effects.get("communications", 0) == 0


def test_malformed_inputs_are_400(make_app: MakeApp) -> None:
    app = make_app()
    for inputs in (
        [{"id": 1, "properties": {}}],
        [{"id": "1"}],
        [{"id": "1", "properties": {"hs_communication_body": 3}}],
        [{"id": "1", "properties": {}, "idProperty": "email"}],
        ["not an object"],
    ):
        r = answer(post(app, COMMS, inputs))
        assert r.status == 400, inputs
        assert r.json()["category"] == "VALIDATION_ERROR"


def test_body_problems_are_400(make_app: MakeApp) -> None:
    app = make_app(max_batch_size=3)
    cases: list[object] = [
        b"{not json",
        {"inputs": []},
        {"nope": 1},
        [comm(str(i)) for i in range(1, 5)],
    ]
    for case in cases:
        r = answer(post(app, COMMS, case))
        assert r.status == 400, case
        assert r.json()["category"] == "VALIDATION_ERROR"
    assert answer(post(app, COMMS, [comm(str(i)) for i in range(1, 4)])).status == 200


def test_per_endpoint_batch_size(make_app: MakeApp) -> None:
    app = make_app(max_batch_sizes={"communications": 2})
    assert answer(post(app, COMMS, [comm("1"), comm("2"), comm("3")])).status == 400


def test_dated_path_behaves_the_same(make_app: MakeApp) -> None:
    r = answer(post(make_app(), "/crm/objects/2026-03/communications/batch/update", [comm("1")]))
    assert r.status == 200


def test_shuffle_results_keeps_the_same_items(make_app: MakeApp) -> None:
    app = make_app(shuffle_results=True)
    ids = [str(i) for i in range(1, 51)]
    body = answer(post(app, COMMS, [comm(i) for i in ids])).json()
    got = [item["id"] for item in body["results"]]
    assert sorted(got) == sorted(ids) and got != ids


def test_dates_use_wall_clock(make_app: MakeApp) -> None:
    assert WALL_START  # documented start: 2026-11-23T10:00:00Z
    body = answer(post(make_app(), COMMS, [comm("1")])).json()
    assert body["completedAt"] == "2026-11-23T10:00:00.000Z"
