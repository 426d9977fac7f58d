"""``hubspot-batch run --state redis://…``: the sync state in Redis, shared by every run and worker given the URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hubspot_batch.sandbox import SandboxConfig, SandboxServer
from redis_helpers import RedisServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STATUSES = EXAMPLES / "subscription-statuses.jsonl"


def _run(server: SandboxServer, tmp_path: Path, source: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    summary = tmp_path / "summary.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    env["HUBSPOT_ACCESS_TOKEN"] = "test-token"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "hubspot_batch.cli", "run", "subscription-statuses", str(source)),
            *("--base-url", server.url, "--no-progress", "--summary-json", str(summary), *extra),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    totals: dict[str, object] = json.loads(summary.read_text()) if summary.exists() else {}
    return proc.returncode, totals, proc.stderr


def test_a_rerun_with_a_redis_state_sends_only_changed_rows(
    tmp_path: Path, redis_server: RedisServer, unique_key: str
) -> None:
    url = redis_server.url
    rows = [json.loads(line) for line in STATUSES.read_text().splitlines() if line.strip()]
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        code, first, err = _run(server, tmp_path, STATUSES, "--state", url, "--portal", unique_key)
        assert code == 0, err
        rows[2] = {**rows[2], "legalBasisExplanation": "changed since last night"}
        changed = tmp_path / "changed.jsonl"
        changed.write_text("".join(json.dumps(r) + "\n" for r in rows))
        before = server.state.stats().requests
        code, second, err = _run(server, tmp_path, changed, "--state", url, "--portal", unique_key)
        assert code == 0, err
        assert server.state.stats().requests - before == 1
    assert first["succeeded"] == len(rows) and first["unchanged"] == 0
    assert second["succeeded"] == 1 and second["unchanged"] == len(rows) - 1


def test_an_unreachable_redis_state_is_an_error_before_anything_is_sent(tmp_path: Path) -> None:
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        code, _totals, err = _run(server, tmp_path, STATUSES, "--state", "redis://:s3cret-pass@127.0.0.1:1/0")
        assert server.state.stats().requests == 0
    assert code == 2, err
    assert "s3cret-pass" not in err
    assert "127.0.0.1:1" in err
