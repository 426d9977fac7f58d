"""--api-version works for every endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, run_cli, token_env
from hubspot_batch.sandbox import SandboxServer


@pytest.mark.parametrize(
    ("endpoint", "example", "extra"),
    [
        ("communications", "communications.jsonl", []),
        ("subscription-statuses", "subscription-statuses.jsonl", []),
        ("timeline-events", "timeline-events-2026-03.jsonl", []),
        ("webhook-subscriptions", "webhook-subscriptions.jsonl", ["--app-id", "123"]),
    ],
)
def test_every_endpoint_runs_on_2026_03(
    tmp_path: Path, sandbox: SandboxServer, endpoint: str, example: str, extra: list[str]
) -> None:
    summary = tmp_path / "summary.json"
    ran = run_cli(
        [
            "run",
            endpoint,
            str(EXAMPLES / example),
            "--api-version",
            "2026-03",
            "--base-url",
            sandbox.url,
            "--summary-json",
            str(summary),
            "--no-progress",
            *extra,
        ],
        env=token_env(),
    )
    assert ran.code == 0, ran.err
    totals = json.loads(summary.read_text())
    assert totals["failed"] == 0 and totals["not_sent"] == 0 and totals["succeeded"] > 0


def test_v3_events_on_2026_03_are_refused_by_line_and_field(tmp_path: Path, sandbox: SandboxServer) -> None:
    ran = run_cli(
        [
            "run",
            "timeline-events",
            str(EXAMPLES / "timeline-events.jsonl"),
            "--api-version",
            "2026-03",
            "--base-url",
            sandbox.url,
            "--no-progress",
        ],
        env=token_env(),
    )
    assert ran.code == 2
    assert "line 1" in ran.err and "eventTypeName" in ran.err
    assert sandbox.state.stats().requests == 0
