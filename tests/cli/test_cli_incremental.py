"""hubspot-batch run --state (unchanged rows not sent), --max-daily-share, and hubspot-batch plan."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import EXAMPLES, run_cli, token_env, write_jsonl
from hubspot_batch.sandbox import SandboxServer

STATUSES = EXAMPLES / "subscription-statuses.jsonl"


def _run(sandbox: SandboxServer, tmp_path: Path, source: Path, *extra: str) -> dict[str, object]:
    summary = tmp_path / "summary.json"
    ran = run_cli(
        [
            *("run", "subscription-statuses", str(source), "--base-url", sandbox.url, "--no-progress"),
            *("--summary-json", str(summary), *extra),
        ],
        env=token_env(),
    )
    assert ran.code in (0, 1), ran.err
    totals: dict[str, object] = json.loads(summary.read_text())
    return totals


def test_a_rerun_with_state_sends_only_changed_rows_and_plan_says_so(tmp_path: Path, sandbox: SandboxServer) -> None:
    state = str(tmp_path / "statuses.state")
    first = _run(sandbox, tmp_path, STATUSES, "--state", state)
    rows = [json.loads(line) for line in STATUSES.read_text().splitlines() if line.strip()]
    rows[3] = {**rows[3], "statusState": "UNSUBSCRIBED" if rows[3]["statusState"] != "UNSUBSCRIBED" else "SUBSCRIBED"}
    changed = write_jsonl(tmp_path / "changed.jsonl", rows)
    planned = run_cli(
        ["plan", "subscription-statuses", str(changed), "--base-url", sandbox.url, "--state", state, "--json"],
        env=token_env(),
    )
    assert planned.code == 0, planned.err
    plan = json.loads(planned.out)
    before = sandbox.state.stats().requests
    second = _run(sandbox, tmp_path, changed, "--state", state)
    assert first["succeeded"] == len(rows) and first["unchanged"] == 0
    assert second["unchanged"] == len(rows) - 1 and second["succeeded"] == 1 and second["requests"] == 1
    assert plan["rows"] == len(rows) and plan["unchanged"] == len(rows) - 1 and plan["requests"] == 1
    assert sandbox.state.stats().requests - before == 1  # the run sent one batch, nothing else
    full = _run(sandbox, tmp_path, changed, "--state", state, "--full")
    assert full["unchanged"] == 0 and full["succeeded"] == len(rows)


def test_max_daily_share_leaves_the_rest_not_sent(tmp_path: Path) -> None:
    from hubspot_batch.sandbox import SandboxConfig

    with SandboxServer(config=SandboxConfig(rate_limit=None, daily_limit=10)) as server:
        totals = _run(server, tmp_path, STATUSES, "--max-daily-share", "0.5", "--batch-size", "1")
        assert server.state.stats().requests <= 6  # 5 batches and the usage request
    assert totals["succeeded"] == 5 and totals["not_sent"] == len(STATUSES.read_text().splitlines()) - 5
    assert "daily budget" in str(totals["stopped_by"])
