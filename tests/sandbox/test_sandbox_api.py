from __future__ import annotations

import ast
import inspect
from pathlib import Path

import hubspot_batch.sandbox as sandbox
from hubspot_batch.sandbox import SandboxApp, SandboxConfig
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_helpers import COMMS, answer, post

PACKAGE = Path(sandbox.__file__).parent


def test_exports() -> None:
    assert sorted(sandbox.__all__) == sorted(
        [
            "DEFAULT_KNOWN_PROPERTIES",
            "DEFAULT_KNOWN_PROPERTY_PREFIXES",
            "ENDPOINTS",
            "EVENT_TYPES",
            "REQUIRED_SCOPES",
            "Dropped",
            "SandboxApp",
            "SandboxConfig",
            "SandboxRequest",
            "SandboxResponse",
            "SandboxServer",
            "SandboxState",
            "SandboxStats",
            "SandboxTransport",
            "StoredCommunication",
            "StoredStatus",
            "StoredSubscription",
        ]
    )
    for name in sandbox.__all__:
        obj = getattr(sandbox, name)
        if inspect.isclass(obj):
            assert obj.__doc__, name
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    assert member.__doc__, f"{name}.{attr}"


def test_every_module_has_a_docstring_and_all() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), path.name
        names = {
            t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
        }
        assert "__all__" in names, path.name


SPEC_READER = "_operations"
"""The one client module the sandbox may use: it reads HubSpot's described facts (paths, scopes) from the
vendored specs, so the sandbox serves every version the specs describe. None of the client's behaviour."""


def test_imports_nothing_else_from_hubspot_batch() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith("hubspot_batch"), path.name
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                if node.level == 2 and node.module == SPEC_READER:
                    continue
                raise AssertionError(f"{path.name} reaches outside the sandbox")
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("hubspot_batch") for a in node.names)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(
        st.one_of(st.integers(0, 50).map(str), st.sampled_from(["x", "1a", "-3", "٣"])),
        min_size=1,
        max_size=30,
        unique=True,
    ),
    missing=st.sets(st.integers(1, 50).map(str), max_size=10),
)
def test_communications_partition_inputs(ids: list[str], missing: set[str]) -> None:
    app = SandboxApp(SandboxConfig(missing_ids=missing, rate_limit=None))
    r = answer(post(app, COMMS, [{"id": i, "properties": {}} for i in ids]))
    body = r.json()
    found = [item["id"] for item in body["results"]]
    lost = [i for err in body.get("errors", []) for i in err["context"]["ids"]]
    assert found + lost == ids or sorted(found + lost) == sorted(ids)
    expected_found = [i for i in ids if i.isascii() and i.isdigit() and int(i) > 0 and i not in missing]
    assert found == expected_found
    assert r.status == (200 if not lost else 207)
