"""Field-for-field fidelity: every fact HubSpot describes for our operations is in our specs, or an override says why.

For each vendored spec, the operation in the upstream copy (HubSpot's facts)
is compared with the vendored one, field by field at every depth, status code
by status code and scope by scope (``scripts/spec_diff.py``). A difference is
allowed only when one named override in ``specs/overrides.yaml`` makes it:
vendoring again without that override makes the difference disappear. And
the generated models carry every result field the vendored spec describes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import spec_diff  # noqa: E402
import vendor_spec  # noqa: E402

SOURCES = vendor_spec.load_sources()
OVERRIDES = vendor_spec.load_overrides()
STRUCTURAL = {"undeclared-security-schemes", "error-content-type-json"}
"""Overrides that change no field a client reads: they make the document valid for the generator and validators."""


def _key(change: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in change.items() if k not in ("old", "new", "fields")}, sort_keys=True)


def _vendored(entry: dict[str, Any], overrides: list[Any]) -> Any:
    doc = vendor_spec.trim(
        json.loads((ROOT / entry["upstream"]).read_text(encoding="utf-8")),
        entry["method"],
        entry["path"],
        entry["operation_id"],
        entry["tag"],
    )
    return vendor_spec.apply_overrides(doc, entry["name"], overrides)[0]


def _changes(upstream: Any, vendored: Any, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    key = (entry["method"], entry["path"])
    return {_key(c): c for c in spec_diff.operation_changes(upstream, key, vendored, key)}


@pytest.mark.parametrize("entry", SOURCES, ids=[e["name"] for e in SOURCES])
def test_every_difference_from_hubspot_is_made_by_a_named_override(entry: dict[str, Any]) -> None:
    upstream = json.loads((ROOT / entry["upstream"]).read_text(encoding="utf-8"))
    vendored = json.loads((ROOT / entry["output"]).read_text(encoding="utf-8"))
    differences = _changes(upstream, vendored, entry)
    applied = vendored["info"]["x-vendored"]["overrides"]
    explained: dict[str, str] = {}
    for override_id in applied:
        without = _vendored(entry, [o for o in OVERRIDES if o["id"] != override_id])
        remaining = _changes(upstream, without, entry)
        for key in differences:
            if key not in remaining:
                explained.setdefault(key, override_id)
    unexplained = [c for k, c in differences.items() if k not in explained]
    assert unexplained == [], f"{entry['name']}: differences from HubSpot's description no override makes"
    removed = [c for c in differences.values() if c["change"] == "removed" and c["group"] == "field"]
    removed_by = {explained[_key(c)] for c in removed}
    # Fields HubSpot describes are only ever dropped by the override that replaces them (none today).
    assert removed_by <= {"communications-2026-03-partial-failure-207"} or not removed, removed_by


@pytest.mark.parametrize("entry", SOURCES, ids=[e["name"] for e in SOURCES])
def test_vendored_spec_carries_at_least_every_field_hubspot_describes(entry: dict[str, Any]) -> None:
    upstream = json.loads((ROOT / entry["upstream"]).read_text(encoding="utf-8"))
    vendored = json.loads((ROOT / entry["output"]).read_text(encoding="utf-8"))
    key = (entry["method"], entry["path"])
    described = spec_diff.count_fields(upstream, *key)
    carried = spec_diff.count_fields(vendored, *key)
    assert carried >= described > 0


def _model_fields(model: type) -> set[str]:
    import attrs

    return {a.name for a in attrs.fields(model)} - {"additional_properties"}


def test_communications_2026_09_result_model_carries_the_new_fields() -> None:
    from hubspot_batch._endpoints import ENDPOINTS
    from hubspot_batch_api.models import PublicObjectWarning, ValueWithTimestamp

    result = ENDPOINTS[("communications", "2026-09")].result_model
    assert {"url", "warnings", "properties_with_history", "object_write_trace_id"} <= _model_fields(result)
    assert {"category", "context", "message"} <= _model_fields(PublicObjectWarning)
    assert {"source_type", "timestamp", "value", "source_id", "source_label", "updated_by_user_id"} <= _model_fields(
        ValueWithTimestamp
    )
    parsed = result.from_dict(  # type: ignore[attr-defined]
        {
            "id": "1",
            "properties": {"hs_communication_body": "hi", "hs_note": None},
            "createdAt": "2026-10-01T10:00:00Z",
            "updatedAt": "2026-10-01T10:00:01Z",
            "archived": False,
            "url": "https://app.hubspot.com/contacts/1/record/0-18/1",
            "warnings": [{"category": "VALIDATION", "context": {"field": "hs_note"}, "message": "ignored"}],
            "propertiesWithHistory": {
                "hs_communication_body": [
                    {
                        "sourceType": "INTEGRATION",
                        "timestamp": "2026-10-01T10:00:01Z",
                        "value": "hi",
                        "sourceId": "app-1",
                        "sourceLabel": "sync",
                        "updatedByUserId": 7,
                    }
                ]
            },
        }
    )
    assert parsed.url.endswith("/1")
    assert parsed.warnings[0].category == "VALIDATION" and parsed.warnings[0].message == "ignored"
    history = parsed.properties_with_history.additional_properties["hs_communication_body"][0]
    assert history.source_type == "INTEGRATION" and history.updated_by_user_id == 7 and history.timestamp.year == 2026


@pytest.mark.parametrize("entry", SOURCES, ids=[e["name"] for e in SOURCES])
def test_every_result_field_of_the_vendored_spec_has_a_model_attribute(entry: dict[str, Any]) -> None:
    from hubspot_batch._endpoints import ENDPOINTS

    vendored = json.loads((ROOT / entry["output"]).read_text(encoding="utf-8"))
    ep = ENDPOINTS[(entry["endpoint"], str(entry["api_version"]))]
    operation = vendored["paths"][entry["path"]][entry["method"]]
    code = next(c for c in sorted(operation["responses"]) if c.startswith("2"))
    fields = spec_diff.body_fields(vendored, operation["responses"][code])
    top = {p.split(".", 1)[1] for p in fields if p.startswith("results[].") and "." not in p.split(".", 1)[1]}
    top = {name.rstrip("[]{}") for name in top}
    attributes = {a.replace("_", "") for a in _model_fields(ep.result_model)}
    missing = {name for name in top if name.lower() not in attributes}
    assert not missing, f"{entry['name']}: result fields without a model attribute: {sorted(missing)}"
