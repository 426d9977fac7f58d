"""A new API version needs no code: vendor its description, regenerate, and call it through ``api_version=``.

The fixture is a made-up later version of one endpoint (communications
``2099-03``, derived from the 2026-09 copy, with a new result field). It is
added to a copy of the project's ``specs/sources.yaml``, vendored and
regenerated with the project's own scripts into a scratch directory, and then
used from a fresh interpreter whose generated package is that scratch one:
the endpoint table, the validator and the sandbox pick it up from the specs,
with no edit to the engine, the endpoint table's code or the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NEW = "2099-03"


def _made_up_upstream() -> dict[str, object]:
    text = (ROOT / "specs" / "upstream" / "crm-communications-2026-09.json").read_text(encoding="utf-8")
    doc = json.loads(text.replace("/crm/objects/2026-09/", f"/crm/objects/{NEW}/"))
    doc["info"]["version"] = NEW
    result = doc["components"]["schemas"]["SimplePublicObject"]["properties"]
    result["mergeAuditTrail"] = {"type": "string", "description": "A field only the made-up version has."}
    return doc


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch project (specs, scripts, pyproject) with the made-up version vendored and regenerated."""
    work = tmp_path_factory.mktemp("new-version")
    shutil.copytree(ROOT / "specs", work / "specs")
    shutil.copytree(ROOT / "scripts", work / "scripts")
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
    upstream = work / "specs" / "upstream" / f"crm-communications-{NEW}.json"
    upstream.write_text(json.dumps(_made_up_upstream(), indent=2) + "\n", encoding="utf-8")
    sources = yaml.safe_load((work / "specs" / "sources.yaml").read_text(encoding="utf-8"))
    sources["specs"].append(
        {
            "name": f"crm-communications-{NEW}",
            "endpoint": "communications",
            "api_version": NEW,
            "upstream": f"specs/upstream/crm-communications-{NEW}.json",
            "method": "post",
            "path": f"/crm/objects/{NEW}/communications/batch/update",
            "operation_id": "batch_update_communications_2099_03",
            "tag": "communications",
            "output": f"specs/crm-communications-{NEW}.json",
        }
    )
    (work / "specs" / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(work / "scripts" / "regenerate.py")], cwd=work, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return work / "generated"


def _run(generated: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(generated), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_a_vendored_later_version_is_callable_with_no_code_change(regenerated: Path) -> None:
    done = _run(
        regenerated,
        f"""
        import json, hubspot_batch_api
        from hubspot_batch import HubSpotBatch, versions
        from hubspot_batch.sandbox import SandboxTransport

        assert hubspot_batch_api.__file__.startswith({str(regenerated)!r}), hubspot_batch_api.__file__
        sandbox = SandboxTransport()
        rows = [{{"id": "1", "properties": {{"hs_communication_body": "hi"}}}}]
        with HubSpotBatch(access_token="t", transport=sandbox) as hs:
            result = hs.communications.update(rows, api_version={NEW!r})
            issues = hs.communications.validate([{{"id": 1, "properties": {{}}}}], api_version={NEW!r})
        print(json.dumps({{
            "ok": result.ok,
            "version": result.api_version,
            "model": type(result[0].result).__name__,
            "has_new_field": hasattr(result[0].result, "merge_audit_trail"),
            "issues": [str(i) for i in issues],
            "listed": [v.endpoints for v in versions() if v.version == {NEW!r}],
        }}))
        """,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] and report["version"] == NEW
    assert report["model"] == "CrmCommunications209903SimplePublicObject"
    assert report["has_new_field"]
    assert report["issues"] and "input 0: field 'id'" in report["issues"][0]  # the new version's schema validates
    assert report["listed"] == [["communications"]]


@pytest.mark.slow
def test_the_made_up_version_is_not_latest_and_other_endpoints_do_not_have_it(regenerated: Path) -> None:
    done = _run(
        regenerated,
        f"""
        from hubspot_batch import ConfigurationError, resolve_api_version
        print(resolve_api_version("communications", "latest"))
        try:
            resolve_api_version("timeline_events", {NEW!r})
        except ConfigurationError as exc:
            print(exc)
        """,
    )
    assert done.returncode == 0, done.stderr
    latest, error = done.stdout.strip().splitlines()
    assert latest == "2026-09"  # a version HubSpot has not announced as generally available is never "latest"
    assert error.startswith(f"timeline_events has no API version '{NEW}'")
