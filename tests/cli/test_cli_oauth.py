"""The command line with an OAuth app: tokens fetched and renewed from HUBSPOT_CLIENT_* variables."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import clean_env, run_cli, write_jsonl
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

CLIENT_ID, CLIENT_SECRET, REFRESH = "cli-client", "cli-SECRET-0123456789abcdef", "cli-REFRESH-fedcba9876543210"


def test_oauth_variables_refresh_tokens_during_the_run(tmp_path: Path) -> None:
    config = SandboxConfig(rate_limit=None, oauth_clients={CLIENT_ID: CLIENT_SECRET}, token_lifetime=1.0, latency=0.05)
    rows = [{"id": str(i), "properties": {"hs_communication_body": f"b{i}"}} for i in range(1, 2001)]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    env = clean_env(HUBSPOT_CLIENT_ID=CLIENT_ID, HUBSPOT_CLIENT_SECRET=CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN=REFRESH)
    with SandboxServer(config=config) as server:
        ran = run_cli(
            [
                "run",
                "communications",
                str(source),
                "--base-url",
                server.url,
                "--concurrency",
                "2",
                "--batch-size",
                "20",
                "--results",
                str(tmp_path / "results.jsonl"),
                "--summary-json",
                str(tmp_path / "summary.json"),
                "--no-progress",
            ],
            env=env,
        )
        refreshes = server.state.stats().token_refreshes
    assert ran.code == 0, ran.err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["succeeded"] == 2000
    assert refreshes >= 2  # the run outlived its first token
    everything = ran.out + ran.err + (tmp_path / "results.jsonl").read_text()
    assert CLIENT_SECRET not in everything and REFRESH not in everything


def test_partial_oauth_variables_are_a_usage_error(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "rows.jsonl", [{"id": "1", "properties": {"hs_communication_body": "x"}}])
    ran = run_cli(["run", "communications", str(source)], env=clean_env(HUBSPOT_CLIENT_ID=CLIENT_ID))
    assert ran.code == 2
    assert "HUBSPOT_CLIENT_SECRET" in ran.err and "HUBSPOT_REFRESH_TOKEN" in ran.err
