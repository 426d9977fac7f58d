"""--api-version works for every endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, run_cli, token_env
from hubspot_batch.sandbox import SandboxServer

ENDPOINT_EXAMPLES = [
    ("communications", "communications.jsonl", []),
    ("subscription-statuses", "subscription-statuses.jsonl", []),
    ("timeline-events", "timeline-events-2026-03.jsonl", []),
    ("webhook-subscriptions", "webhook-subscriptions.jsonl", ["--app-id", "123"]),
]


@pytest.mark.parametrize(("endpoint", "example", "extra"), ENDPOINT_EXAMPLES)
@pytest.mark.parametrize(
    ("version", "resolved"), [("2026-03", "2026-03"), ("2026-09", "2026-09"), ("latest", "2026-09")]
)
def test_every_endpoint_runs_on_every_date_based_version_and_latest(
    tmp_path: Path, sandbox: SandboxServer, endpoint: str, example: str, extra: list[str], version: str, resolved: str
) -> None:
    summary = tmp_path / "summary.json"
    ran = run_cli(
        [
            *("run", endpoint, str(EXAMPLES / example), "--api-version", version, "--base-url", sandbox.url),
            *("--summary-json", str(summary), "--no-progress", *extra),
        ],
        env=token_env(),
    )
    assert ran.code == 0, ran.err
    totals = json.loads(summary.read_text())
    assert totals["failed"] == 0 and totals["not_sent"] == 0 and totals["succeeded"] > 0
    assert totals["api_version"] == resolved  # "latest" is resolved, and the summary says to what
    assert f"API version {resolved}" in ran.out


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


def test_unknown_version_is_a_usage_error_naming_the_versions(sandbox: SandboxServer) -> None:
    ran = run_cli(
        [
            "run",
            "communications",
            str(EXAMPLES / "communications.jsonl"),
            "--api-version",
            "2025-09",
            "--base-url",
            sandbox.url,
            "--no-progress",
        ],
        env=token_env(),
    )
    assert ran.code == 2
    assert "communications has no API version '2025-09'" in ran.err and "2026-09" in ran.err and "latest" in ran.err
    assert sandbox.state.stats().requests == 0


def test_a_version_near_its_end_is_printed_as_a_notice(
    tmp_path: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    from hubspot_batch import _versions
    from hubspot_batch.cli import main

    monkeypatch.setattr(_versions, "_today", lambda: dt.date(2027, 2, 1))
    for name, value in token_env().items():
        monkeypatch.setenv(name, value)
    code = main(
        [
            "run",
            "subscription-statuses",
            str(EXAMPLES / "subscription-statuses.jsonl"),
            "--base-url",
            sandbox.url,
            "--no-progress",
            "--summary-json",
            str(tmp_path / "s.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    notices = [line for line in err.splitlines() if line.startswith("notice: ")]
    assert len(notices) == 1, err
    assert "v4: support ends on 2027-03-30; move to 2026-09" in notices[0]


def test_id_from_makes_a_second_run_create_nothing(tmp_path: Path, sandbox: SandboxServer) -> None:
    args = ["run", "timeline-events", str(EXAMPLES / "timeline-events.jsonl"), "--base-url", sandbox.url]
    args += ["--no-progress", "--id-from", "eventTemplateId,timestamp,tokens"]
    summaries = []
    for run in range(2):
        summary = tmp_path / f"s{run}.json"
        ran = run_cli([*args, "--summary-json", str(summary)], env=token_env())
        assert ran.code == 0, ran.err
        summaries.append(json.loads(summary.read_text()))
    assert summaries[0]["succeeded"] == summaries[1]["succeeded"] > 0
    assert len(sandbox.state.timeline_events) == summaries[0]["succeeded"]


def test_id_from_on_another_endpoint_is_a_usage_error(sandbox: SandboxServer) -> None:
    ran = run_cli(
        [
            *("run", "communications", str(EXAMPLES / "communications.jsonl")),
            *("--id-from", "id", "--base-url", sandbox.url, "--no-progress"),
        ],
        env=token_env(),
    )
    assert ran.code == 2 and "--id-from applies to timeline-events only" in ran.err
