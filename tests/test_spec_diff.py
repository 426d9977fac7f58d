"""scripts/spec_diff.py on small inline descriptions and on the repository's upstream copies."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATH = "/things/v1/{appId}/batch/update"
NEW_PATH = "/things/v2/{appId}/batch/update"


def _load_script(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sd = _load_script("spec_diff")


def base() -> Any:
    """A HubSpot-shaped description: one batch operation, $ref'd request and result items."""
    return {
        "openapi": "3.0.1",
        "info": {"title": "things", "version": "v1"},
        "paths": {
            PATH: {
                "post": {
                    "parameters": [
                        {
                            "name": "appId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "format": "int32"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchInput"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResponse"}}},
                        },
                        "default": {"$ref": "#/components/responses/Error"},
                    },
                    "security": [{"oauth2": ["things-write"]}, {"hapikey": []}],
                }
            }
        },
        "components": {
            "schemas": {
                "BatchInput": {
                    "type": "object",
                    "required": ["inputs"],
                    "properties": {"inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Input"}}},
                },
                "Input": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "integer", "format": "int32"},
                        "note": {"type": "string"},
                        "properties": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "BatchResponse": {
                    "type": "object",
                    "required": ["results"],
                    "properties": {
                        "status": {"type": "string", "enum": ["PENDING", "COMPLETE"]},
                        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}},
                    },
                },
                "Result": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "format": "int32"},
                        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}},
                    },
                },
                "Warning": {"type": "object", "properties": {"message": {"type": "string"}}},
                "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
            },
            "responses": {
                "Error": {
                    "description": "error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "https://x", "scopes": {"things-write": ""}}},
                },
                "hapikey": {"type": "apiKey", "in": "query", "name": "hapikey"},
            },
        },
    }


def changes(old: Any, new: Any, old_path: str = PATH, new_path: str = PATH) -> list[Any]:
    return sd.operation_changes(old, ("post", old_path), new, ("post", new_path))


def pick(found: list[Any], **match: Any) -> list[Any]:
    return [c for c in found if all(c.get(k) == v for k, v in match.items())]


def run(tmp_path: Path, old: Any, new: Any, *args: str) -> tuple[int, str, str]:
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = sd.main([str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--path", PATH, *args])
    return code, out.getvalue(), err.getvalue()


def test_field_added_deep_inside_a_ref_d_response_item() -> None:
    new = base()
    new["components"]["schemas"]["Warning"]["properties"]["category"] = {"type": "string"}
    found = changes(base(), new)
    assert found == [
        {
            "section": "response 200",
            "group": "field",
            "change": "added",
            "name": "results[].warnings[].category",
            "new": "string",
        }
    ]
    assert sd.summarize(found) == "1 field added"


def test_field_removed_from_the_request() -> None:
    new = base()
    del new["components"]["schemas"]["Input"]["properties"]["note"]
    assert pick(changes(base(), new), change="removed") == [
        {"section": "request", "group": "field", "change": "removed", "name": "inputs[].note", "old": "string"}
    ]


def test_format_widened_and_required_changed() -> None:
    new = base()
    new["components"]["schemas"]["Input"]["properties"]["id"]["format"] = "int64"
    new["components"]["schemas"]["Input"]["required"] = ["id", "note"]
    found = changes(base(), new)
    assert pick(found, name="inputs[].id") == [
        {
            "section": "request",
            "group": "field",
            "change": "changed",
            "name": "inputs[].id",
            "aspect": "format",
            "old": "int32",
            "new": "int64",
        }
    ]
    assert pick(found, name="inputs[].note", aspect="required")[0] == {
        "section": "request",
        "group": "field",
        "change": "changed",
        "name": "inputs[].note",
        "aspect": "required",
        "old": False,
        "new": True,
    }
    assert sd.summarize(found) == "2 fields changed"


def test_type_change_and_map_value_path() -> None:
    new = base()
    new["components"]["schemas"]["Input"]["properties"]["properties"]["additionalProperties"] = {
        "type": "string",
        "nullable": True,
    }
    new["components"]["schemas"]["Result"]["properties"]["id"] = {"type": "string"}
    found = changes(base(), new)
    assert {(c["name"], c["aspect"], c["old"], c["new"]) for c in found} == {
        ("inputs[].properties{}", "nullable", False, True),
        ("results[].id", "type", "integer", "string"),
        ("results[].id", "format", "int32", None),
    }


def test_enum_value_added() -> None:
    new = base()
    new["components"]["schemas"]["BatchResponse"]["properties"]["status"]["enum"].append("CANCELED")
    found = changes(base(), new)
    assert found == [
        {
            "section": "response 200",
            "group": "field",
            "change": "changed",
            "name": "status",
            "aspect": "enum",
            "added": ["CANCELED"],
            "removed": [],
        }
    ]
    assert "changed  status: enum +CANCELED" in sd.render(sd.diff(base(), new, [(("post", PATH), ("post", PATH))]))


def test_status_code_added() -> None:
    new = base()
    responses = new["paths"][PATH]["post"]["responses"]
    responses["207"] = copy.deepcopy(responses["200"])
    found = changes(base(), new)
    assert [(c["group"], c["change"], c["name"]) for c in found] == [("status code", "added", "207")]
    assert found[0]["fields"] > 5
    assert sd.summarize(found) == "1 status code added"


def test_kept_status_code_with_a_new_body_is_a_field_diff() -> None:
    old, new = base(), base()
    old["paths"][PATH]["post"]["responses"]["200"] = {"description": "ok"}
    found = changes(old, new)
    assert pick(found, name="", aspect="content")[0]["new"] == ["application/json"]
    assert {"status", "results[]", "results[].warnings[].message"} <= {c["name"] for c in pick(found, change="added")}


def test_scope_added_and_scheme_removed() -> None:
    new = base()
    new["paths"][PATH]["post"]["security"] = [{"oauth2": ["things-write"]}, {"oauth2": ["things.v2.write"]}]
    found = changes(base(), new)
    assert pick(found, group="scope") == [
        {"section": "security", "group": "scope", "change": "added", "name": "things.v2.write", "schemes": ["oauth2"]}
    ]
    assert pick(found, group="scheme") == [
        {"section": "security", "group": "scheme", "change": "removed", "name": "hapikey", "kind": "apiKey"}
    ]
    assert sd.summarize(found) == "1 scheme removed, 1 scope added"


def test_path_change_paired_explicitly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = base()
    new["paths"] = {NEW_PATH: new["paths"].pop(PATH)}
    new["paths"][NEW_PATH]["post"]["parameters"][0]["schema"]["format"] = "int64"
    (tmp_path / "old.json").write_text(json.dumps(base()), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    argv = [str(tmp_path / "old.json"), str(tmp_path / "new.json"), "--old-path", PATH, "--new-path", NEW_PATH]
    assert sd.main(argv) == 1
    assert capsys.readouterr().out.splitlines()[0] == f"POST {PATH} -> POST {NEW_PATH}"
    assert sd.main([*argv, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["operations"][0]["new"] == f"POST {NEW_PATH}"
    report = sd.diff(base(), new, [(("post", PATH), ("post", NEW_PATH))])
    found = report[0]["changes"]
    assert found[0] == {
        "section": "operation",
        "group": "operation",
        "change": "renamed",
        "name": f"POST {NEW_PATH}",
        "old": f"POST {PATH}",
        "new": f"POST {NEW_PATH}",
    }
    assert pick(found, group="parameter") == [
        {
            "section": "parameters",
            "group": "parameter",
            "change": "changed",
            "name": "path appId",
            "aspect": "format",
            "old": "int32",
            "new": "int64",
        }
    ]
    text = sd.render(report)
    assert f"renamed  POST {PATH} -> POST {NEW_PATH}" in text
    assert text.splitlines()[-1] == "1 operation renamed, 1 parameter changed"


def test_pairing_from_sources() -> None:
    other = "/things/v1/{appId}/batch/read"
    sources = [{"method": "post", "path": PATH}, {"method": "POST", "path": other}, {"method": "post", "path": "/x"}]
    old, new = base(), base()
    old["paths"][other] = copy.deepcopy(old["paths"][PATH])
    pairs = sd.pair_operations(old, new, sources)
    assert pairs == [(("post", PATH), ("post", PATH)), (("post", other), None)]
    report = sd.diff(old, new, pairs)
    assert report[1]["changes"] == [
        {"section": "operation", "group": "operation", "change": "removed", "name": f"POST {other}"}
    ]
    assert sd.render(report).splitlines() == [
        f"POST {PATH}",
        "  no differences",
        f"POST {other}",
        "  operation",
        f"    removed  POST {other}",
        "1 operation removed",
    ]
    with pytest.raises(sd.DiffError, match=r"no operation of specs/sources\.yaml"):
        sd.pair_operations(old, new, [{"method": "post", "path": "/x"}])


def test_identical_documents_exit_zero(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, base(), base())
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"POST {PATH}", "  no differences", "no differences"]
    code, out, _ = run(tmp_path, base(), base(), "--json")
    assert code == 0
    assert json.loads(out)["operations"][0]["changes"] == []


def test_differences_exit_one_with_summary(tmp_path: Path) -> None:
    new = base()
    del new["components"]["schemas"]["Input"]["properties"]["note"]
    new["components"]["schemas"]["Warning"]["properties"]["category"] = {"type": "string"}
    code, out, _ = run(tmp_path, base(), new)
    assert code == 1
    assert out.splitlines()[-1] == "1 field added, 1 removed"
    assert json.loads(run(tmp_path, base(), new, "--json")[1])["summary"] == "1 field added, 1 removed"


def test_missing_operation_exits_two_naming_the_path(tmp_path: Path) -> None:
    new = base()
    new["paths"] = {NEW_PATH: new["paths"].pop(PATH)}
    code, out, err = run(tmp_path, base(), new)
    assert code == 2
    assert out == ""
    assert PATH in err and "new.json" in err


def test_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sd.main([str(tmp_path / "nope.json"), str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_yaml_input(tmp_path: Path) -> None:
    import yaml

    new = base()
    new["components"]["schemas"]["Input"]["properties"]["note"]["nullable"] = True
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(base()), encoding="utf-8")
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new), encoding="utf-8")
    assert sd.main([str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--path", PATH]) == 1


def test_recursive_schema_terminates() -> None:
    doc = base()
    doc["components"]["schemas"]["Warning"]["properties"]["cause"] = {"$ref": "#/components/schemas/Warning"}
    fields = sd.body_fields(doc, doc["paths"][PATH]["post"]["responses"]["200"])
    assert fields["results[].warnings[].cause"]["type"] == "recursive Warning"


def test_count_fields() -> None:
    # request: inputs, inputs[], .id, .note, .properties, .properties{}; 200: status, results, results[], .id,
    # .warnings, .warnings[], .warnings[].message
    assert sd.count_fields(base(), "post", PATH) == 13


# --------------------------------------------------------------------------- the repository's files


def test_timeline_2026_03_to_2026_09(capsys: pytest.CaptureFixture[str]) -> None:
    old = str(ROOT / "specs/upstream/timeline-2026-03.json")
    new = str(ROOT / "specs/upstream/timeline-2026-09.json")
    assert sd.main([old, new, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)["operations"]
    assert [(e["old"], e["new"]) for e in report] == [
        ("POST /integrators/timeline/2026-03/events/batch", "POST /integrators/timeline/2026-09/events/batch")
    ]
    found = report[0]["changes"]
    assert pick(found, group="operation", change="renamed")
    # 2026-03 asks for timeline-write together with the four object scopes (one requirement);
    # 2026-09 accepts timeline-write alone, or any one of the new granular CRM scopes.
    assert pick(found, group="requirement", change="added", name="oauth2[timeline-write]")
    assert pick(
        found,
        group="requirement",
        change="removed",
        name="oauth2[companies-write+contacts-write+deals-write+tickets-write+timeline-write]",
    )
    added = {c["name"] for c in pick(found, group="scope", change="added")}
    removed = {c["name"] for c in pick(found, group="scope", change="removed")}
    assert "timeline-write" not in added | removed
    assert {"crm.objects.contacts.write", "crm.objects.companies.write"} <= added
    assert removed == {"companies-write", "contacts-write", "deals-write", "tickets-write"}
    assert {"hapikey", "app_cookie"} <= {c["name"] for c in pick(found, group="scheme", change="removed")}


def test_webhooks_path_change_is_paired_from_sources(capsys: pytest.CaptureFixture[str]) -> None:
    old = str(ROOT / "specs/upstream/webhooks-2026-03.json")
    new = str(ROOT / "specs/upstream/webhooks-2026-09.json")
    assert sd.main([old, new]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "POST /webhooks/2026-03/{appId}/subscriptions/batch/update"
        " -> POST /app-webhooks/2026-09/{appId}/subscriptions/batch/update"
    )
    assert "    removed  scheme developer_hapikey (apiKey)" in out
    assert "    added    scope developers-write (oauth2)" in out


def test_count_of_a_vendored_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert sd.main(["--count", str(ROOT / "specs/webhooks-2026-09.json")]) == 0
    vendored = int(capsys.readouterr().out)
    assert sd.main(["--count", str(ROOT / "specs/upstream/webhooks-2026-09.json")]) == 0
    upstream = int(capsys.readouterr().out)
    assert vendored > upstream > 0  # the override adds errors/numErrors to the 200 body


def test_count_all_lists_every_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert sd.main(["--count-all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [e["name"] for e in sd.vendor_spec.load_sources()]
    assert [line.split(", ")[0] for line in lines] == names
    for line in lines:
        _, upstream, vendored = line.split(", ")
        assert int(upstream) > 0 and int(vendored) > 0
