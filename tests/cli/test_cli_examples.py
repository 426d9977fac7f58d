"""Every file in examples/ succeeds against the built-in sandbox; --help documents the CSV mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, read_jsonl, run_cli

CASES = [
    ("communications", "communications.jsonl", []),
    ("communications", "communications.csv", []),
    ("webhook-subscriptions", "webhook-subscriptions.jsonl", ["--app-id", "123"]),
    ("webhook-subscriptions", "webhook-subscriptions.csv", ["--app-id", "123", "--api-version", "2026-03"]),
    ("subscription-statuses", "subscription-statuses.jsonl", []),
    ("timeline-events", "timeline-events.jsonl", []),
    ("timeline-events", "timeline-events.csv", []),
]


def _rows(path: Path) -> int:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return len(lines) - 1 if path.suffix == ".csv" else len(lines)


@pytest.mark.parametrize(("endpoint", "name", "extra"), CASES, ids=[c[1] for c in CASES])
def test_example_succeeds_against_builtin_sandbox(tmp_path: Path, endpoint: str, name: str, extra: list[str]) -> None:
    summary, results = tmp_path / "summary.json", tmp_path / "results.jsonl"
    ran = run_cli(
        ["run", endpoint, str(EXAMPLES / name), *extra, "--summary-json", str(summary), "--results", str(results)]
    )
    assert ran.code == 0, ran.err
    assert "no HubSpot credentials set: running against the built-in sandbox (nothing leaves this machine)" in ran.err
    expected = _rows(EXAMPLES / name)
    totals = json.loads(summary.read_text())
    assert totals["inputs"] == totals["succeeded"] == expected
    assert totals["failed"] == totals["not_sent"] == 0
    assert totals["sandbox"] is True and totals["endpoint"] == endpoint
    assert totals["requests"] >= 1 and totals["elapsed_seconds"] > 0
    lines = read_jsonl(results)
    assert [r["index"] for r in lines] == list(range(expected))
    assert all(r["status"] == "succeeded" and "result" in r for r in lines)
    assert f"{expected:,} succeeded" in ran.out


def test_communications_example_runs_several_batches(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    ran = run_cli(["run", "communications", str(EXAMPLES / "communications.jsonl"), "--summary-json", str(summary)])
    assert ran.code == 0
    assert json.loads(summary.read_text())["requests"] >= 3


def test_help_documents_csv_mapping_and_exit_codes() -> None:
    ran = run_cli(["run", "--help"])
    assert ran.code == 0
    for text in ("properties.<name>", "tokens.<name>", "extraData.<name>", "timelineIFrame.<name>", "yes/no"):
        assert text in ran.out
    assert "exit status" in ran.out and "HUBSPOT_ACCESS_TOKEN" in ran.out
    top = run_cli(["--help"])
    assert top.code == 0 and "sandbox" in top.out and "run" in top.out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli(["run", "nope", "x.jsonl"]).code == 2
    missing_app = run_cli(["run", "webhook-subscriptions", str(EXAMPLES / "webhook-subscriptions.jsonl")])
    assert missing_app.code == 2 and "--app-id" in missing_app.err
    no_file = run_cli(["run", "communications", str(tmp_path / "missing.jsonl")])
    assert no_file.code == 2 and "missing.jsonl" in no_file.err
