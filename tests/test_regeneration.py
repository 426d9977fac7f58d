"""``scripts/regenerate.py --check`` proves generated/ is exactly what specs/ produce.

Each scenario runs in a throw-away git repository holding a copy of this
repository's files (tracked plus untracked-not-ignored, as they are in the work
tree), so the real work tree and index are never touched. The generator runs
with this interpreter, whose bin directory has the pinned openapi-python-client
and ruff. Three scenarios run the generator (a few seconds each); the
untracked-file one fails before generating.

The merge rule (``regenerate.merge``) is tested directly, on small documents
and on the committed specs; those tests are fast.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path("generated") / "hubspot_batch_api"
GIT = ["git", "-c", "user.name=regeneration test", "-c", "user.email=test@example.invalid", "-c", "core.hooksPath="]


def _env() -> dict[str, str]:
    # Tests may run inside a git hook, where GIT_DIR / GIT_INDEX_FILE point at the real repository.
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run([*GIT, *args], cwd=cwd, env=_env(), capture_output=True, text=True, check=True, timeout=60)
    return result.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message)


def regenerate_check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/regenerate.py", "--check"],
        cwd=repo,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _repo_files() -> list[str]:
    listed = []
    for args in (["ls-files", "-z"], ["ls-files", "-z", "--others", "--exclude-standard"]):
        listed += git(ROOT, *args).split("\0")
    return sorted({name for name in listed if name and (ROOT / name).is_file()})


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the work tree."""
    base = tmp_path_factory.mktemp("regen") / "base"
    for name in _repo_files():
        target = base / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git(base, "init", "-q")
    commit_all(base, "copy of the work tree")
    return base


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    """A fresh clone of the copy for one scenario."""
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(base_repo), str(clone))
    return clone


@pytest.mark.slow
def test_regeneration_is_byte_identical(repo: Path) -> None:
    result = regenerate_check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout
    # Nothing else appeared either (e.g. a .ruff_cache or a stray file beside the package).
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


@pytest.mark.slow
def test_changed_spec_source_without_regenerating_is_drift(repo: Path) -> None:
    upstream = repo / "specs" / "upstream" / "crm-communications-v3.json"
    doc = json.loads(upstream.read_text(encoding="utf-8"))
    schema = doc["components"]["schemas"]["SimplePublicObjectBatchInput"]
    schema["properties"]["driftCanary"] = {"type": "string", "description": "Added by the drift test."}
    upstream.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    commit_all(repo, "change a spec source, forget to regenerate")

    result = regenerate_check(repo)
    assert result.returncode != 0
    assert "DRIFT" in result.stdout
    # The change went all the way through: vendored spec, merged spec and model.
    assert "specs/crm-communications-v3.json" in result.stdout
    assert f"{PACKAGE}/openapi.json" in result.stdout
    assert f"{PACKAGE}/models/simple_public_object_batch_input.py" in result.stdout
    assert "drift_canary" in (repo / PACKAGE / "models" / "simple_public_object_batch_input.py").read_text()


@pytest.mark.slow
def test_hand_edited_or_stale_generated_file_is_drift(repo: Path) -> None:
    model = repo / PACKAGE / "models" / "error.py"
    model.write_text(model.read_text(encoding="utf-8") + "\nHAND_EDITED = True\n", encoding="utf-8")
    # A module the specs no longer produce, left behind and committed.
    (repo / PACKAGE / "models" / "stale_model.py").write_text("class StaleModel: ...\n", encoding="utf-8")
    commit_all(repo, "hand-edit generated/")

    result = regenerate_check(repo)
    assert result.returncode != 0
    assert "DRIFT" in result.stdout
    assert f"{PACKAGE}/models/error.py" in result.stdout
    assert f"{PACKAGE}/models/stale_model.py" in result.stdout


@pytest.mark.slow
def test_untracked_file_under_generated_fails_the_check(repo: Path) -> None:
    (repo / PACKAGE / "api" / "extra.py").write_text("# not generated\n", encoding="utf-8")
    assert git(repo, "status", "--porcelain", "--untracked-files=all").strip() == f"?? {PACKAGE}/api/extra.py"

    result = regenerate_check(repo)
    assert result.returncode != 0
    assert f"{PACKAGE}/api/extra.py" in result.stdout


# --------------------------------------------------------------------------- merge rule


def _load_script(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


regenerate = _load_script("regenerate")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _document(path: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """A one-operation document whose 200 answers with BatchThing."""
    return {
        "openapi": "3.0.1",
        "info": {"title": path, "version": "1"},
        "tags": [{"name": "things"}],
        "paths": {
            path: {
                "post": {
                    "operationId": path.strip("/").replace("/", "_"),
                    "tags": ["things"],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": _ref("BatchThing")}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": schemas},
    }


BATCH_THING = {"type": "object", "properties": {"results": {"type": "array", "items": _ref("Thing")}}}

ALPHA = (
    "alpha-v1",
    _document(
        "/alpha/batch",
        {
            "Thing": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
            "BatchThing": BATCH_THING,
            "Note": {"type": "string", "description": "Alpha's wording."},
        },
    ),
)
BETA = (
    "beta-2026-03",
    _document(
        "/beta/batch",
        {
            # Same name, different meaning: Beta gets the prefix.
            "Thing": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            # Same text as Alpha's, but it refers to Beta's Thing: renamed too.
            "BatchThing": BATCH_THING,
            # Identical up to description and example: shared.
            "Note": {"type": "string", "description": "Beta's wording.", "example": "beta"},
            # Only Beta has it: keeps its name, its ref follows the rename.
            "OnlyBeta": {"type": "object", "properties": {"thing": _ref("Thing"), "note": _ref("Note")}},
        },
    ),
)
GAMMA = (
    "gamma-v1",
    _document(
        "/gamma/batch",
        {
            "Thing": {"type": "object", "properties": {"id": {"type": "integer"}}},
            "BatchThing": BATCH_THING,
            "Note": {"type": "string"},
        },
    ),
)


def _schemas(merged: Any) -> dict[str, Any]:
    return dict(merged["components"]["schemas"])


def _response_ref(merged: Any, path: str) -> str:
    return str(merged["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])


def _walk_refs(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


def test_merge_renames_a_clashing_security_scheme_in_the_requirements_that_name_it() -> None:
    # Security requirements name their schemes (no $ref): a prefixed scheme must be renamed there too,
    # or the operation would point at the other document's scheme (and its scopes).
    def doc(path: str, scopes: list[str]) -> dict[str, object]:
        scheme = {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": "https://x/t", "scopes": {s: "" for s in scopes}}},
        }
        return {
            "openapi": "3.0.1",
            "paths": {path: {"post": {"responses": {"200": {"description": "ok"}}, "security": [{"oauth2": scopes}]}}},
            "components": {"securitySchemes": {"oauth2": scheme}},
        }

    merged = regenerate.merge([("alpha", doc("/a", ["a-write"])), ("beta-2026-09", doc("/b", ["b-write"]))])
    assert merged["paths"]["/a"]["post"]["security"] == [{"oauth2": ["a-write"]}]
    assert merged["paths"]["/b"]["post"]["security"] == [{"Beta202609oauth2": ["b-write"]}]
    schemes = merged["components"]["securitySchemes"]
    assert set(schemes["Beta202609oauth2"]["flows"]["clientCredentials"]["scopes"]) == {"b-write"}


def test_merge_first_document_keeps_the_name_later_ones_get_their_prefix() -> None:
    inputs = copy.deepcopy([ALPHA, BETA])
    merged = regenerate.merge(inputs)
    assert inputs == [ALPHA, BETA], "merge must not modify its input"
    schemas = _schemas(merged)
    assert sorted(schemas) == ["BatchThing", "Beta202603BatchThing", "Beta202603Thing", "Note", "OnlyBeta", "Thing"]
    # The first document keeps the plain names, untouched.
    assert schemas["Thing"] == ALPHA[1]["components"]["schemas"]["Thing"]
    assert schemas["BatchThing"]["properties"]["results"]["items"] == _ref("Thing")
    assert _response_ref(merged, "/alpha/batch") == "#/components/schemas/BatchThing"
    # The second one's clashing schemas are prefixed, and its refs follow.
    assert schemas["Beta202603Thing"] == BETA[1]["components"]["schemas"]["Thing"]
    assert schemas["Beta202603BatchThing"]["properties"]["results"]["items"] == _ref("Beta202603Thing")
    assert schemas["OnlyBeta"]["properties"] == {"thing": _ref("Beta202603Thing"), "note": _ref("Note")}
    assert _response_ref(merged, "/beta/batch") == "#/components/schemas/Beta202603BatchThing"
    # Identical up to descriptions/examples: one shared schema, the first wording kept.
    assert schemas["Note"] == {"type": "string", "description": "Alpha's wording."}
    # Every ref in the result points at a schema that exists.
    assert set(_walk_refs(merged)) <= {f"#/components/schemas/{n}" for n in schemas}


def test_merge_order_decides_who_keeps_the_name() -> None:
    schemas = _schemas(regenerate.merge([BETA, ALPHA]))
    assert schemas["Thing"] == BETA[1]["components"]["schemas"]["Thing"]
    assert schemas["AlphaV1Thing"] == ALPHA[1]["components"]["schemas"]["Thing"]
    assert schemas["AlphaV1BatchThing"]["properties"]["results"]["items"] == _ref("AlphaV1Thing")
    assert "Beta202603Thing" not in schemas


def test_merge_appending_a_document_renames_nothing_before_it() -> None:
    two = regenerate.merge([ALPHA, BETA])
    three = regenerate.merge([ALPHA, BETA, GAMMA])
    for kind, items in two["components"].items():
        for name, value in items.items():
            assert three["components"][kind].get(name) == value, f"{kind}/{name} changed when gamma-v1 was added"
    for path, item in two["paths"].items():
        assert three["paths"][path] == item
    assert set(_schemas(three)) - set(_schemas(two)) == {"GammaV1Thing", "GammaV1BatchThing"}
    assert _response_ref(three, "/gamma/batch") == "#/components/schemas/GammaV1BatchThing"
    # Deterministic: the same inputs give the same document.
    assert regenerate.merge([ALPHA, BETA, GAMMA]) == three


def test_merge_stops_when_the_prefixed_name_is_taken_by_the_same_spec() -> None:
    beta = copy.deepcopy(BETA)
    beta[1]["components"]["schemas"]["Beta202603Thing"] = {"type": "boolean"}  # its own, different
    with pytest.raises(SystemExit, match="'Thing' clashes with an earlier spec and cannot become 'Beta202603Thing'"):
        regenerate.merge([ALPHA, beta])


def test_merge_stops_when_the_prefixed_name_clashes_with_an_earlier_spec() -> None:
    alpha = copy.deepcopy(ALPHA)
    alpha[1]["components"]["schemas"]["Beta202603Thing"] = {"type": "boolean"}  # taken before beta comes
    with pytest.raises(SystemExit, match="and so does 'Beta202603Thing'"):
        regenerate.merge([alpha, BETA])


def _committed_specs() -> list[tuple[str, Any]]:
    sources = regenerate.vendor_spec.load_sources()
    return [(e["name"], json.loads((ROOT / e["output"]).read_text(encoding="utf-8"))) for e in sources]


def test_committed_merge_is_the_generated_openapi() -> None:
    merged = regenerate.merge(_committed_specs())
    generated = json.loads((ROOT / PACKAGE / "openapi.json").read_text(encoding="utf-8"))
    assert merged == generated


ORIGINAL_SPECS = [
    "webhooks-v3",
    "webhooks-2026-03",
    "crm-communications-v3",
    "communication-preferences-v4",
    "timeline-v3",
]
ADDED_2026_03 = ["crm-communications-2026-03", "communication-preferences-2026-03", "timeline-2026-03"]
ADDED_2026_09 = [
    "webhooks-2026-09",
    "crm-communications-2026-09",
    "communication-preferences-2026-09",
    "timeline-2026-09",
]


def _merge_before_and_after(added: list[str]) -> tuple[Any, Any]:
    """The merge of the specs listed before ``added`` in sources.yaml, and of those plus ``added``.

    ``added`` must follow the earlier additions in sources.yaml in this order;
    specs appended later do not matter.
    """
    documents = _committed_specs()
    names = [name for name, _ in documents]
    start = names.index(added[0])
    end = start + len(added)
    assert names[:end] == [*ORIGINAL_SPECS, *ADDED_2026_03, *ADDED_2026_09][:end]
    assert names[start:end] == added
    return regenerate.merge(documents[:start]), regenerate.merge(documents[:end])


def _assert_nothing_before_changed(before: Any, after: Any) -> None:
    for kind, items in before["components"].items():
        for name, value in items.items():
            assert after["components"][kind].get(name) == value, f"{kind}/{name} changed"
    for path, item in before["paths"].items():
        assert after["paths"][path] == item, f"{path} changed"


def test_adding_the_2026_03_specs_renamed_no_existing_model() -> None:
    before, after = _merge_before_and_after(ADDED_2026_03)
    _assert_nothing_before_changed(before, after)
    assert sorted(set(_schemas(after)) - set(_schemas(before))) == [
        "AppEventOccurrence",
        "BatchInputAppEventOccurrence",
        "BatchResponseAppEventOccurrence",
        "CrmCommunications202603BatchResponseSimplePublicObject",
        "CrmCommunications202603SimplePublicObject",
    ]
    # Webhooks v3 (first in sources.yaml) keeps the plain names; 2026-03 is prefixed.
    schemas = _schemas(after)
    for plain in (
        "SubscriptionResponse",
        "BatchResponseSubscriptionResponse",
        "BatchInputSubscriptionBatchUpdateRequest",
    ):
        assert plain in schemas
    assert "Webhooks202603SubscriptionResponse" in schemas
    assert "eventType" in schemas["SubscriptionResponse"]["required"]
    assert "eventType" not in schemas["Webhooks202603SubscriptionResponse"].get("required", [])


def test_adding_the_2026_09_specs_renamed_no_existing_model() -> None:
    before, after = _merge_before_and_after(ADDED_2026_09)
    # Every model that existed before keeps its name and its content.
    _assert_nothing_before_changed(before, after)
    # The new ones that clash with an earlier spec's schema get the spec's prefix;
    # only PublicObjectWarning is new under its own name.
    assert sorted(set(_schemas(after)) - set(_schemas(before))) == [
        "CrmCommunications202609BatchResponseSimplePublicObject",
        "CrmCommunications202609BatchResponseSimplePublicObjectWithErrors",
        "CrmCommunications202609SimplePublicObject",
        "PublicObjectWarning",
        "Webhooks202609BatchResponseSubscriptionResponse",
        "Webhooks202609BatchResponseSubscriptionResponseWithErrors",
        "Webhooks202609SubscriptionResponse",
    ]
    schemas = _schemas(after)
    # The prefixed 2026-09 envelopes refer to their own prefixed records.
    assert schemas["Webhooks202609BatchResponseSubscriptionResponse"]["properties"]["results"]["items"] == _ref(
        "Webhooks202609SubscriptionResponse"
    )
    assert "eventType" not in schemas["Webhooks202609SubscriptionResponse"].get("required", [])
    assert "errors" in schemas["Webhooks202609BatchResponseSubscriptionResponse"]["properties"]
    record = schemas["CrmCommunications202609SimplePublicObject"]["properties"]
    assert record["warnings"]["items"] == _ref("PublicObjectWarning")
    assert record["propertiesWithHistory"]["additionalProperties"]["items"] == _ref("ValueWithTimestamp")
    for envelope in (
        "CrmCommunications202609BatchResponseSimplePublicObject",
        "CrmCommunications202609BatchResponseSimplePublicObjectWithErrors",
    ):
        assert schemas[envelope]["properties"]["results"]["items"] == _ref("CrmCommunications202609SimplePublicObject")
    # Shapes identical to an earlier spec's are shared, not duplicated.
    responses = {
        "/app-webhooks/2026-09/{appId}/subscriptions/batch/update": {
            "200": "Webhooks202609BatchResponseSubscriptionResponse",
            "207": "Webhooks202609BatchResponseSubscriptionResponseWithErrors",
        },
        "/crm/objects/2026-09/communications/batch/update": {
            "200": "CrmCommunications202609BatchResponseSimplePublicObject",
            "207": "CrmCommunications202609BatchResponseSimplePublicObjectWithErrors",
        },
        "/communication-preferences/2026-09/statuses/batch/write": {"200": "BatchResponsePublicStatus"},
        "/integrators/timeline/2026-09/events/batch": {
            "200": "BatchResponseAppEventOccurrence",
            "400": "Error",
            "409": "Error",
        },
    }
    for path, expected in responses.items():
        documented = after["paths"][path]["post"]["responses"]
        refs = {
            code: documented[code]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            for code in documented
            if code != "default"
        }
        assert refs == expected, path
    request_refs = {
        path: item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for path, item in after["paths"].items()
        if "/2026-09/" in path
    }
    assert request_refs == {
        "/app-webhooks/2026-09/{appId}/subscriptions/batch/update": "BatchInputSubscriptionBatchUpdateRequest",
        "/crm/objects/2026-09/communications/batch/update": "BatchInputSimplePublicObjectBatchInput",
        "/communication-preferences/2026-09/statuses/batch/write": "BatchInputPublicStatusRequest",
        "/integrators/timeline/2026-09/events/batch": "BatchInputAppEventOccurrence",
    }
    # Every ref in the result points at a schema that exists.
    assert set(_walk_refs(after["components"]["schemas"])) <= {f"#/components/schemas/{n}" for n in schemas}


def test_appending_any_committed_spec_renamed_nothing_before_it() -> None:
    # The general rule behind the two tests above, for every prefix of sources.yaml.
    documents = _committed_specs()
    full = regenerate.merge(documents)
    for end in range(1, len(documents)):
        _assert_nothing_before_changed(regenerate.merge(documents[:end]), full)
