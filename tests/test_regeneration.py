"""``scripts/regenerate.py --check`` proves generated/ is exactly what specs/ produce.

Each scenario runs in a throw-away git repository holding a copy of this
repository's files (tracked plus untracked-not-ignored, as they are in the work
tree), so the real work tree and index are never touched. The generator runs
with this interpreter, whose bin directory has the pinned openapi-python-client
and ruff. Three scenarios run the generator (a few seconds each); the
untracked-file one fails before generating.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path("generated") / "hubspot_batch_api"
GIT = ["git", "-c", "user.name=regeneration test", "-c", "user.email=test@example.invalid", "-c", "core.hooksPath="]

pytestmark = pytest.mark.slow


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


def test_regeneration_is_byte_identical(repo: Path) -> None:
    result = regenerate_check(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no drift" in result.stdout
    # Nothing else appeared either (e.g. a .ruff_cache or a stray file beside the package).
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


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


def test_untracked_file_under_generated_fails_the_check(repo: Path) -> None:
    (repo / PACKAGE / "api" / "extra.py").write_text("# not generated\n", encoding="utf-8")
    assert git(repo, "status", "--porcelain", "--untracked-files=all").strip() == f"?? {PACKAGE}/api/extra.py"

    result = regenerate_check(repo)
    assert result.returncode != 0
    assert f"{PACKAGE}/api/extra.py" in result.stdout
