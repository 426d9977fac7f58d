"""scripts/vendor_spec.py on a small HubSpot-shaped description.

``tests/fixtures/upstream-mini.json`` has the traps of the real descriptions:
two operations, unreachable schemas, three security schemes, ``"example":
null``, a ``*/*`` error response, the StandardError/ErrorDetail shapes that
real responses contradict, and enums on both the request and the response side.
``upstream-mini.yaml`` is the same document in YAML.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
BATCH_PATH = "/crm/v3/objects/widgets/batch/update"


def _load_script(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


vs = _load_script("vendor_spec")


def upstream() -> Any:
    return json.loads((FIXTURES / "upstream-mini.json").read_text(encoding="utf-8"))


def vendor_widgets(doc: Any = None, overrides: list[Any] | None = None, name: str = "widgets") -> tuple[Any, list[str]]:
    return vs.vendor(
        upstream() if doc is None else doc,
        name=name,
        method="post",
        path=BATCH_PATH,
        operation_id="batch_update_widgets",
        tag="widgets",
        overrides=vs.load_overrides() if overrides is None else overrides,
        source="tests/fixtures/upstream-mini.json",
    )


@pytest.fixture(scope="module")
def vendored() -> Any:
    doc, _ = vendor_widgets()
    return doc


def schema_validator(doc: Any, name: str) -> jsonschema.Draft7Validator:
    """Validate instances against #/components/schemas/<name> of ``doc``."""
    registry: Registry[Any] = Registry().with_resource("urn:doc", Resource(contents=doc, specification=DRAFT7))
    return jsonschema.Draft7Validator({"$ref": f"urn:doc#/components/schemas/{name}"}, registry=registry)


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# --------------------------------------------------------------------------- trim


def test_keeps_only_the_batch_operation_renamed(vendored: Any) -> None:
    assert list(vendored["paths"]) == [BATCH_PATH]
    assert list(vendored["paths"][BATCH_PATH]) == ["post"]
    operation = vendored["paths"][BATCH_PATH]["post"]
    assert operation["operationId"] == "batch_update_widgets"
    assert operation["tags"] == ["widgets"]
    assert vendored["tags"] == [{"name": "widgets"}]
    assert list(operation["responses"]) == ["200", "207", "default"]


def test_drops_unreachable_schemas(vendored: Any) -> None:
    schemas = set(vendored["components"]["schemas"])
    assert not schemas & {"Unused", "WidgetWithHistory", "HistoryEntry"}
    assert schemas == {
        "BatchInputWidget",
        "WidgetInput",
        "Widget",
        "BatchResponseWidget",
        "BatchResponseWidgetWithErrors",
        "StandardError",
        "ErrorDetail",
        "Error",
    }
    assert set(vendored["components"]["responses"]) == {"Error"}


def test_drops_security_schemes_the_operation_does_not_use(vendored: Any) -> None:
    assert set(vendored["components"]["securitySchemes"]) == {"oauth2", "private_apps"}


def test_drops_null_examples_but_keeps_real_ones() -> None:
    doc = upstream()
    doc["components"]["schemas"]["Widget"]["properties"]["id"]["example"] = "512"
    vendored, _ = vendor_widgets(doc)
    assert not [node for node in _walk(vendored) if "example" in node and node["example"] is None]
    assert "example" not in vendored["components"]["schemas"]["WidgetInput"]["properties"]["id"]
    assert vendored["components"]["schemas"]["Widget"]["properties"]["id"]["example"] == "512"


def test_does_not_modify_its_input() -> None:
    doc = upstream()
    before = copy.deepcopy(doc)
    vendor_widgets(doc)
    assert doc == before


def test_missing_operation_is_an_error() -> None:
    with pytest.raises(vs.VendorError, match="not in the upstream"):
        vs.trim(upstream(), "post", "/crm/v3/objects/widgets/batch/archive", "x", "widgets")
    with pytest.raises(vs.VendorError, match="not in the upstream"):
        vs.trim(upstream(), "put", BATCH_PATH, "x", "widgets")


def test_dangling_ref_is_an_error() -> None:
    doc = upstream()
    doc["components"]["schemas"]["Widget"]["properties"]["owner"] = {"$ref": "#/components/schemas/Owner"}
    with pytest.raises(vs.VendorError, match=r"dangling.*Owner"):
        vendor_widgets(doc)


def test_records_where_it_came_from(vendored: Any) -> None:
    record = vendored["info"]["x-vendored"]
    assert record["operation"] == f"POST {BATCH_PATH}"
    assert record["source"] == "tests/fixtures/upstream-mini.json"
    assert len(record["source-sha256"]) == 64


# --------------------------------------------------------------------------- overrides


def test_star_content_type_becomes_json(vendored: Any) -> None:
    assert vendored["components"]["responses"]["Error"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
    }
    assert "*/*" not in json.dumps(vendored)


def test_standard_error_without_errors_and_links_is_valid(vendored: Any) -> None:
    assert "errors" not in vendored["components"]["schemas"]["StandardError"].get("required", [])
    assert "links" not in vendored["components"]["schemas"]["StandardError"].get("required", [])
    error = {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone", "context": {"ids": ["512"]}}
    assert list(schema_validator(vendored, "StandardError").iter_errors(error)) == []
    # ...whereas the upstream schema rejects the body real 207 responses carry.
    assert list(schema_validator(upstream(), "StandardError").iter_errors(error))


@pytest.mark.parametrize("sub_category", ["SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND", {}, None, 3])
def test_standard_error_sub_category_accepts_any_value(vendored: Any, sub_category: Any) -> None:
    error = {"status": "error", "category": "X", "message": "m", "subCategory": sub_category}
    assert list(schema_validator(vendored, "StandardError").iter_errors(error)) == []


@pytest.mark.parametrize("context", ["{missingScopes=[scope1, scope2]}", {"ids": ["1", "2"]}])
def test_error_detail_context_accepts_string_or_map(vendored: Any, context: Any) -> None:
    validator = schema_validator(vendored, "ErrorDetail")
    assert list(validator.iter_errors({"message": "m", "context": context})) == []
    assert list(validator.iter_errors({"context": context})) == [], "ErrorDetail.message should be optional"
    assert list(validator.iter_errors({"message": "m", "context": 12})), "a number is still not a context"


def test_error_body_accepts_rate_limit_fields(vendored: Any) -> None:
    body = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "requestId": "r-1",
    }
    assert list(schema_validator(vendored, "Error").iter_errors(body)) == []
    assert {"errorType", "policyName", "requestId"} <= set(vendored["components"]["schemas"]["Error"]["properties"])


def test_response_enums_open_request_enums_strict(vendored: Any) -> None:
    schemas = vendored["components"]["schemas"]
    state = schemas["Widget"]["properties"]["state"]
    assert "enum" not in state
    assert state["x-known-values"] == ["ON", "OFF"]
    assert state["description"].startswith("The state. ")
    assert "ON, OFF" in state["description"]
    for envelope in ("BatchResponseWidget", "BatchResponseWidgetWithErrors"):
        status = schemas[envelope]["properties"]["status"]
        assert "enum" not in status
        assert status["x-known-values"] == ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]
    assert schemas["WidgetInput"]["properties"]["color"] == {"type": "string", "enum": ["RED", "BLUE"]}
    assert list(schema_validator(vendored, "Widget").iter_errors({"id": "1", "state": "BROKEN"})) == []
    assert list(schema_validator(vendored, "WidgetInput").iter_errors({"id": "1", "color": "GREEN"}))


def test_every_wildcard_override_applies_and_is_recorded() -> None:
    overrides = vs.load_overrides()
    doc, applied = vendor_widgets()
    expected = {
        "error-content-type-json",
        "standard-error-fields-optional",
        "standard-error-subcategory-any",
        "error-detail-fields-optional",
        "error-detail-context-string-or-map",
        "error-body-fields-optional",
        "error-body-rate-limit-fields",
        "error-body-context-string-or-map",
        "error-body-subcategory-any",
        "open-response-enums",
    }
    assert expected <= set(applied)
    assert doc["info"]["x-vendored"]["overrides"] == applied
    # Spec-specific overrides do not leak into other specs.
    named = {e["id"] for e in overrides if e["specs"] != "*"}
    assert named and not named & set(applied)
    # Applied in file order.
    order = [e["id"] for e in overrides]
    assert applied == sorted(applied, key=order.index)


def _override(**entry: Any) -> dict[str, Any]:
    return {"id": "test-override", "reason": "a test", **entry}


@pytest.mark.parametrize(
    "action",
    [
        {"set": {"pointer": "/components/schemas/Gadget/properties/id/format", "value": "int64"}},
        {"remove": {"pointer": "/components/schemas/Widget/properties/colour"}},
        {"remove_required": {"schema": "Gadget", "properties": ["id"]}},
        {"add_properties": {"schema": "Gadget", "properties": {"x": {"type": "string"}}}},
        {"replace_content_type": {"from": "text/html", "to": "application/json"}},
    ],
    ids=["set", "remove", "remove_required", "add_properties", "replace_content_type"],
)
def test_named_override_with_missing_target_fails(action: dict[str, Any]) -> None:
    with pytest.raises(vs.VendorError, match=r"test-override.*widgets"):
        vendor_widgets(overrides=[_override(specs=["widgets"], **action)])
    # The same entry as a wildcard is skipped, and not recorded as applied.
    _, applied = vendor_widgets(overrides=[_override(specs="*", **action)])
    assert applied == []
    # An entry for another spec is ignored.
    _, applied = vendor_widgets(overrides=[_override(specs=["gadgets"], **action)])
    assert applied == []


def test_named_override_with_present_target_applies() -> None:
    entry = _override(
        specs=["widgets"], set={"pointer": "/components/schemas/Widget/properties/id/format", "value": "uuid"}
    )
    doc, applied = vendor_widgets(overrides=[entry])
    assert applied == ["test-override"]
    assert doc["components"]["schemas"]["Widget"]["properties"]["id"] == {"type": "string", "format": "uuid"}


def test_stale_named_remove_required_fails() -> None:
    # `numErrors` exists but is not required: the correction has nothing left to correct.
    entry = _override(
        specs=["widgets"], remove_required={"schema": "BatchResponseWidgetWithErrors", "properties": ["numErrors"]}
    )
    with pytest.raises(vs.VendorError, match="test-override"):
        vendor_widgets(overrides=[entry])


def test_open_response_enums_refuses_a_schema_used_on_both_sides() -> None:
    doc = upstream()
    # The response now echoes the request item, whose `color` enum must stay strict.
    doc["components"]["schemas"]["Widget"]["properties"]["input"] = {"$ref": "#/components/schemas/WidgetInput"}
    with pytest.raises(vs.VendorError, match=r"WidgetInput.*both requests and responses"):
        vendor_widgets(doc)
    # Without the override the document vendors fine (the enum is simply left as is).
    no_open = [e for e in vs.load_overrides() if "open_response_enums" not in e]
    vendored, _ = vendor_widgets(doc, overrides=no_open)
    assert vendored["components"]["schemas"]["WidgetInput"]["properties"]["color"]["enum"] == ["RED", "BLUE"]


# --------------------------------------------------------------------------- load_overrides


def _write_overrides(tmp_path: Path, entries: list[Any]) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(yaml.safe_dump({"overrides": entries}), encoding="utf-8")
    return path


VALID_ENTRY = {"id": "a", "reason": "because", "specs": "*", "open_response_enums": {}}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{k: v for k, v in VALID_ENTRY.items() if k != "reason"}], "needs a reason"),
        ([{**VALID_ENTRY, "reason": "   "}], "needs a reason"),
        ([{k: v for k, v in VALID_ENTRY.items() if k != "id"}], "unique id"),
        ([VALID_ENTRY, VALID_ENTRY], "unique id"),
        ([{**VALID_ENTRY, "remove": {"pointer": "/x"}}], "exactly one action"),
        ([{k: v for k, v in VALID_ENTRY.items() if k != "open_response_enums"}], "exactly one action"),
        ([{k: v for k, v in VALID_ENTRY.items() if k != "specs"}], "which specs"),
    ],
    ids=["no-reason", "blank-reason", "no-id", "duplicate-id", "two-actions", "no-action", "no-specs"],
)
def test_load_overrides_refuses_bad_entries(tmp_path: Path, entries: list[Any], message: str) -> None:
    with pytest.raises(vs.VendorError, match=message):
        vs.load_overrides(_write_overrides(tmp_path, entries))


def test_load_overrides_accepts_good_entries(tmp_path: Path) -> None:
    assert vs.load_overrides(_write_overrides(tmp_path, [VALID_ENTRY])) == [VALID_ENTRY]


def test_cli_refuses_an_override_file_with_a_reasonless_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write_overrides(tmp_path, [{k: v for k, v in VALID_ENTRY.items() if k != "reason"}])
    assert vs.main(["--all", "--check", "--overrides", str(path)]) == 2
    assert "reason" in capsys.readouterr().err


# --------------------------------------------------------------------------- validity and the committed tree


def test_output_is_valid_openapi(vendored: Any) -> None:
    validate(vendored)


@pytest.mark.parametrize("spec", sorted(p.name for p in (ROOT / "specs").glob("*.json")))
def test_committed_specs_are_valid_openapi(spec: str) -> None:
    validate(json.loads((ROOT / "specs" / spec).read_text(encoding="utf-8")))


def test_check_passes_on_the_committed_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert vs.main(["--all", "--check"]) == 0
    assert "DRIFT" not in capsys.readouterr().out


def test_vendoring_is_deterministic() -> None:
    first, _ = vendor_widgets()
    second, _ = vendor_widgets()
    assert vs.dump(first) == vs.dump(second)
    assert vs.dump(first).endswith("}\n")


# --------------------------------------------------------------------------- YAML and the command line


def test_reads_yaml_like_json() -> None:
    from_yaml = vs.load_document(str(FIXTURES / "upstream-mini.yaml"))
    from_json = vs.load_document(str(FIXTURES / "upstream-mini.json"))
    assert from_yaml == from_json
    assert vs.dump(vendor_widgets(from_yaml)[0]) == vs.dump(vendor_widgets(from_json)[0])


def _cli(upstream_path: Path, output: Path, *extra: str) -> int:
    result: int = vs.main(
        [
            "--name",
            "widgets",
            "--upstream",
            str(upstream_path),
            "--method",
            "post",
            "--path",
            BATCH_PATH,
            "--operation-id",
            "batch_update_widgets",
            "--tag",
            "widgets",
            "--output",
            str(output),
            *extra,
        ]
    )
    return result


def test_cli_vendors_yaml_and_json_to_the_same_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_yaml, out_json = tmp_path / "from-yaml.json", tmp_path / "from-json.json"
    assert _cli(FIXTURES / "upstream-mini.yaml", out_yaml) == 0
    assert _cli(FIXTURES / "upstream-mini.json", out_json) == 0
    doc_yaml = json.loads(out_yaml.read_text(encoding="utf-8"))
    doc_json = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc_yaml["info"]["x-vendored"].pop("source").endswith("upstream-mini.yaml")
    assert doc_json["info"]["x-vendored"].pop("source").endswith("upstream-mini.json")
    assert doc_yaml == doc_json
    assert doc_json["paths"][BATCH_PATH]["post"]["operationId"] == "batch_update_widgets"
    # --check: quiet when the output is current, DRIFT when it is not.
    assert _cli(FIXTURES / "upstream-mini.yaml", out_yaml, "--check") == 0
    out_yaml.write_text(out_yaml.read_text(encoding="utf-8").replace("batch_update_widgets", "hand_edited"))
    capsys.readouterr()
    assert _cli(FIXTURES / "upstream-mini.yaml", out_yaml, "--check") == 1
    assert "DRIFT" in capsys.readouterr().out


def test_reads_yaml_with_unquoted_status_codes(tmp_path: Path) -> None:
    text = (FIXTURES / "upstream-mini.yaml").read_text(encoding="utf-8")
    text = text.replace("'200':", "200:").replace("'207':", "207:")
    path = tmp_path / "unquoted.yaml"
    path.write_text(text, encoding="utf-8")
    doc, _ = vendor_widgets(vs.load_document(str(path)))
    assert list(doc["paths"][BATCH_PATH]["post"]["responses"]) == ["200", "207", "default"]


def test_reads_yaml_with_unquoted_timestamp_examples(tmp_path: Path) -> None:
    text = (FIXTURES / "upstream-mini.yaml").read_text(encoding="utf-8")
    start = text.index("    BatchResponseWidget:\n")
    marker = "        completedAt:\n          type: string\n          format: date-time\n"
    at = text.index(marker, start) + len(marker)
    text = text[:at] + "          example: 2023-11-07T05:31:56Z\n" + text[at:]
    path = tmp_path / "timestamps.yaml"
    path.write_text(text, encoding="utf-8")
    doc, _ = vendor_widgets(vs.load_document(str(path)))
    completed = doc["components"]["schemas"]["BatchResponseWidget"]["properties"]["completedAt"]
    assert isinstance(completed["example"], str)
    assert dt.datetime.fromisoformat(completed["example"]) == dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=dt.UTC)


def test_undeclared_security_schemes_are_dropped_declared_ones_kept() -> None:
    doc = upstream()
    operation = doc["paths"][BATCH_PATH]["post"]
    operation["security"] = [*operation["security"], {"internal_cookie": ["widgets-write"]}, {"shhkey": []}]
    vendored, applied = vendor_widgets(doc)
    assert "undeclared-security-schemes" in applied
    assert vendored["paths"][BATCH_PATH]["post"]["security"] == [
        {"oauth2": ["crm.objects.widgets.write"]},
        {"private_apps": []},
    ]


def test_every_vendored_spec_declares_the_schemes_it_requires() -> None:
    for path in sorted((ROOT / "specs").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        declared = set(doc.get("components", {}).get("securitySchemes", {}))
        for item in doc["paths"].values():
            for operation in item.values():
                for requirement in operation.get("security", []):
                    assert set(requirement) <= declared, f"{path.name}: {requirement} is not declared"
