"""The contract itself: every recorded body against the schemas of the vendored specs (``specs/*.json``).

For every interaction of every cassette: the request body validates against
the operation's ``requestBody`` schema, and the response body against the
schema of ``responses[status]`` (or ``default``). ``jsonschema`` does the
checking (OpenAPI 3.0 turned into draft-4 JSON Schema, ``$ref`` resolved
through a registry), not hand-written checks. Bodies that are not JSON (the
edge's HTML 5xx pages) cannot be checked and are listed instead. The
whole-batch 400 / 409 bodies of the all-or-none timeline versions (2026-03,
2026-09) are checked against the ``Error`` schema that their overrides
(``specs/overrides.yaml``: ``timeline-<version>-400-body`` / ``-409-body``)
declare for those codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from contract_support import (
    ALL_OR_NONE,
    API_VERSION,
    CASSETTES,
    DEVELOPER_KEY_ENDPOINTS,
    ENDPOINT_NAMES,
    RECORD_COMMAND,
    SPEC_FILE,
    SPECS,
    SpecOperation,
    body_bytes,
    endpoint_path,
    expected_cassettes,
    header,
    interactions,
    library_endpoint,
    load_cassette,
    operation_for,
    spec_operations,
)
from hubspot_batch._endpoints import ENDPOINTS

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


@pytest.fixture(scope="module")
def operations() -> list[SpecOperation]:
    return spec_operations()


def _errors(validator: object, instance: object) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))  # type: ignore[attr-defined]
    return [f"at /{'/'.join(map(str, e.path))}: {e.message}" for e in found[:10]]


def test_every_endpoint_and_spec_is_contract_tested() -> None:
    """Each (endpoint, version) the library calls, and each vendored spec, has its contract tests."""
    library = sorted(ENDPOINTS)
    tested = sorted((library_endpoint(e), API_VERSION[e]) for e in ENDPOINT_NAMES)
    assert tested == library, f"contract_support.ENDPOINT_NAMES does not match the library's endpoints: {library}"
    assert sorted(SPEC_FILE) == sorted(ENDPOINT_NAMES)
    assert sorted(SPEC_FILE.values()) == sorted(p.name for p in SPECS.glob("*.json"))
    for name in ENDPOINT_NAMES:
        library_path = ENDPOINTS[library_endpoint(name), API_VERSION[name]].path_template
        assert endpoint_path(name, {"app_id": "{appId}"}) == library_path, name


def _is_developer_key(name: str, scheme: dict[str, str]) -> bool:
    return name.startswith("developer") and scheme.get("type") == "apiKey" and scheme.get("name") == "hapikey"


def test_developer_key_only_where_the_spec_takes_one() -> None:
    """The contract tests send a developer API key exactly where the spec declares a developer ``hapikey``.

    Webhooks 2026-09 declares OAuth only: its contract tests run with the bearer token alone.
    """
    takes_key = []
    for name in ENDPOINT_NAMES:
        document = json.loads((SPECS / SPEC_FILE[name]).read_text(encoding="utf-8"))
        schemes = document.get("components", {}).get("securitySchemes", {})
        operation = document["paths"][next(iter(document["paths"]))]["post"]
        named = {n for requirement in operation.get("security", document.get("security", [])) for n in requirement}
        # a developer key is a ``hapikey`` query scheme named developer_*; a plain ``hapikey`` scheme is the
        # account's legacy API key, which the library does not send
        if any(_is_developer_key(n, schemes.get(n, {})) for n in named):
            takes_key.append(name)
    assert takes_key == list(DEVELOPER_KEY_ENDPOINTS)
    assert "webhooks-2026-09" not in takes_key


def test_every_scenario_has_its_cassette() -> None:
    present = {p.stem for p in CASSETTE_FILES}
    missing = [name for name in expected_cassettes() if name not in present]
    assert not missing, f"missing cassettes (record with `{RECORD_COMMAND}`): {missing}"
    unexpected = sorted(present - set(expected_cassettes()))
    assert not unexpected, f"cassettes no test replays (delete them): {unexpected}"


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: p.stem)
def test_cassette_states_its_origin(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Recorded against "), f"{path.name} lacks its origin comment"
    origin = load_cassette(path).get("recorded_against")
    assert isinstance(origin, dict)
    assert origin["target"] in {"sandbox", "hubspot"}
    assert origin["base_url"].startswith(("http://127.0.0.1:", "https://api.hubapi.com"))
    assert origin["ids"] and origin["record_command"] == RECORD_COMMAND
    assert f"{origin['endpoint']}--{origin['scenario']}" == path.stem
    assert list(interactions(path)), f"{path.name} holds no exchange"


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: p.stem)
def test_recorded_bodies_match_the_specs(path: Path, operations: list[SpecOperation]) -> None:
    problems: list[str] = []
    not_json: list[str] = []
    for number, (request, response) in enumerate(interactions(path)):
        where = f"{path.name} #{number}"
        url = urlsplit(request["uri"])
        operation = operation_for(url.path, operations)
        if operation is None:
            problems.append(f"{where}: {request['method']} {url.path} is in no spec of specs/")
            continue
        assert request["method"] == "POST"
        try:
            sent = json.loads(body_bytes(request["body"]))
        except ValueError:
            problems.append(f"{where}: the request body is not JSON")
        else:
            problems += [
                f"{where} request ({operation.spec_file}) {e}" for e in _errors(operation.request_validator(), sent)
            ]

        status = int(response["status"]["code"])
        content_type = (header(response["headers"], "content-type") or "").lower()
        raw = body_bytes(response["body"])
        if "json" not in content_type:
            not_json.append(f"{where}: {status} {content_type or 'no content type'} ({len(raw)} bytes)")
            assert status >= 500, f"{where}: a {status} answer that is not JSON"
            continue
        documented = operation.response_validator(status)
        if documented is None:
            problems.append(f"{where}: {operation.spec_file} documents no JSON answer for status {status}")
            continue
        code, validator = documented
        answer = json.loads(raw)
        problems += [
            f"{where} response {status} (spec: {code}, {operation.spec_file}) {e}" for e in _errors(validator, answer)
        ]
    if not_json:
        print(f"{path.name}: not JSON, not schema-checked:\n  " + "\n  ".join(not_json))
    assert not problems, "\n".join(problems)


def test_non_json_answers_are_only_the_5xx_pages() -> None:
    """Lists every recorded body the schema check had to skip (the edge's HTML pages)."""
    skipped = []
    for path in CASSETTE_FILES:
        for number, (_, response) in enumerate(interactions(path)):
            content_type = (header(response["headers"], "content-type") or "").lower()
            if "json" not in content_type:
                skipped.append((path.stem, number, int(response["status"]["code"]), content_type))
    print("not schema-checked (not JSON):\n" + "\n".join(f"  {s}" for s in skipped))
    assert skipped, "the 5xx scenarios should have recorded HTML pages"
    assert all(status >= 500 and "html" in ctype for _, _, status, ctype in skipped), skipped
    assert {name for name, *_ in skipped} == {
        n for n in expected_cassettes() if n.endswith("server_error_then_success")
    }


def test_the_validator_rejects_what_breaks_the_spec(operations: list[SpecOperation]) -> None:
    """The schema check is not vacuous: bodies that break the specs are reported."""
    webhooks = operation_for("/webhooks/v3/1/subscriptions/batch/update", operations)
    assert webhooks is not None
    bad_request = {"inputs": [{"id": "101", "active": True}, {"id": 2**40, "active": True}, {"active": False}]}
    assert len(_errors(webhooks.request_validator(), bad_request)) == 3
    documented = webhooks.response_validator(200)
    assert documented is not None
    assert _errors(documented[1], {"status": "COMPLETE", "results": [{"id": "1"}], "startedAt": "yesterday"})
    app_webhooks = operation_for("/app-webhooks/2026-09/1/subscriptions/batch/update", operations)
    assert app_webhooks is not None and app_webhooks.spec_file == "webhooks-2026-09.json"
    assert len(_errors(app_webhooks.request_validator(), bad_request)) == 3
    assert operation_for("/webhooks/2026-09/1/subscriptions/batch/update", operations) is None
    timeline = operation_for("/integrators/timeline/2026-03/events/batch", operations)
    assert timeline is not None
    occurrence = {"eventTypeName": "e", "id": "1", "objectId": "5", "properties": {"a": 1}}
    assert _errors(timeline.request_validator(), {"inputs": [occurrence]})  # properties are strings
    conflict = timeline.response_validator(409)
    assert conflict is not None and conflict[0] == "409"
    assert _errors(conflict[1], {"status": "error", "category": "CONFLICT", "context": {"ids": [1]}})
    statuses = operation_for("/communication-preferences/v4/statuses/batch/write", operations)
    assert statuses is not None
    bad_status = {
        "inputs": [{"subscriberIdString": "a@b.c", "subscriptionId": 1, "statusState": "MAYBE", "channel": "EMAIL"}]
    }
    assert _errors(statuses.request_validator(), bad_status)
    error = statuses.response_validator(429)
    assert error is not None and error[0] == "default"
    assert _errors(error[1], {"status": "error", "context": 5})


def _override(override_id: str) -> dict[str, object]:
    document = yaml.safe_load((SPECS / "overrides.yaml").read_text(encoding="utf-8"))
    found = [o for o in document["overrides"] if o["id"] == override_id]
    assert len(found) == 1, f"specs/overrides.yaml has no override {override_id!r}"
    return dict(found[0])


@pytest.mark.parametrize("endpoint", ALL_OR_NONE)
@pytest.mark.parametrize("status", [400, 409])
def test_all_or_none_rejections_meet_their_own_schema(
    status: int, endpoint: str, operations: list[SpecOperation]
) -> None:
    """Timeline 2026-03 / 2026-09 whole-batch 400 / 409 bodies meet the ``Error`` schema their 400 / 409 declare.

    That schema comes from the override ``<endpoint>-<status>-body`` (the upstream descriptions declare
    those codes without a body), not from ``default``.
    """
    spec_file = SPEC_FILE[endpoint]
    override = _override(f"{endpoint}-{status}-body")
    assert override["specs"] == [spec_file.removesuffix(".json")], override
    path_template = endpoint_path(endpoint, {"app_id": "{appId}"})
    pointer = "/paths/" + path_template.replace("~", "~0").replace("/", "~1") + f"/post/responses/{status}"
    assert override["set"]["pointer"] == pointer, override  # type: ignore[index]
    checked = []
    for path in CASSETTE_FILES:
        for request, response in interactions(path):
            operation = operation_for(urlsplit(request["uri"]).path, operations)
            if operation is None or operation.spec_file != spec_file:
                continue
            if int(response["status"]["code"]) != status:
                continue
            documented = operation.response_validator(status)
            assert documented is not None and documented[0] == str(status), documented
            schema = operation.document["paths"][operation.path_template]["post"]["responses"][str(status)]
            assert schema["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            answer = json.loads(body_bytes(response["body"]))
            assert not _errors(documented[1], answer), (path.name, answer)
            assert answer["category"] == ("CONFLICT" if status == 409 else "VALIDATION_ERROR")
            assert "none were accepted" in answer["message"]
            checked.append(path.stem)
    expected = f"{endpoint}--" + ("conflict_409_isolated" if status == 409 else "batch_400_isolated")
    assert expected in checked, f"no recorded {status} of {endpoint} in {expected}.yaml"
