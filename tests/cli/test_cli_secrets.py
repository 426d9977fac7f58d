"""Secrets never appear in anything the command prints or writes; command-line secrets are warned about."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import EXAMPLES, clean_env, run_cli, write_jsonl
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

TOKEN = "pat-na1-FAKE0SECRET-TOKEN-5f0e1d2c3b4a"
DEV_KEY = "FAKE-DEVELOPER-KEY-0a1b2c3d4e5f"
FLAG_TOKEN = "pat-eu1-FLAG0SECRET-TOKEN-99aa88bb"


@pytest.fixture
def strict_sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        rate_limit=None, access_tokens={TOKEN, FLAG_TOKEN}, developer_api_keys={DEV_KEY}, missing_ids={"404"}
    )
    with SandboxServer(config=config) as server:
        yield server


def _everything(ran_out: str, ran_err: str, directory: Path) -> str:
    files = [p.read_text(errors="replace") for p in directory.iterdir() if p.is_file() and p.suffix != ".db"]
    files += [p.read_bytes().decode("latin-1") for p in directory.iterdir() if p.suffix == ".db"]
    return "\n".join([ran_out, ran_err, *files])


def test_secrets_never_leak(tmp_path: Path, strict_sandbox: SandboxServer) -> None:
    out = tmp_path / "out"
    out.mkdir()
    hooks = write_jsonl(tmp_path / "hooks.jsonl", [{"id": 1, "active": True}, {"id": 404, "active": False}])
    comms = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "1", "properties": {"hs_communication_body": "x"}},
            {"id": "404", "properties": {"hs_communication_body": "y"}},
        ],
    )
    env = clean_env(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_DEVELOPER_API_KEY=DEV_KEY)
    outputs = [
        "--results",
        str(out / "r.jsonl"),
        "--failures",
        str(out / "f.jsonl"),
        "--summary-json",
        str(out / "s.json"),
    ]
    seen = []
    ran = run_cli(
        [
            "run",
            "webhook-subscriptions",
            str(hooks),
            "--app-id",
            "5",
            "--base-url",
            strict_sandbox.url,
            "-v",
            "--checkpoint",
            str(out / "cp.db"),
            *outputs,
        ],
        env=env,
    )
    assert ran.code == 1, ran.err  # id 404 does not exist
    seen.append(_everything(ran.out, ran.err, out))
    ran = run_cli(["run", "communications", str(comms), "--base-url", strict_sandbox.url, "-v", *outputs], env=env)
    assert ran.code == 1, ran.err
    seen.append(_everything(ran.out, ran.err, out))
    # a token HubSpot refuses: the job stops, and the refused token is not shown either
    bad = "pat-na1-WRONG0SECRET-ffff0000"
    ran = run_cli(
        ["run", "communications", str(comms), "--base-url", strict_sandbox.url, "-v", *outputs],
        env=clean_env(HUBSPOT_ACCESS_TOKEN=bad),
    )
    assert ran.code == 1 and "401" in ran.err
    seen.append(_everything(ran.out, ran.err, out))
    text = "\n".join(seen)
    for secret in (TOKEN, DEV_KEY, bad, TOKEN[8:24], DEV_KEY[5:20]):
        assert secret not in text
    assert strict_sandbox.state.subscription(5, 1) is not None  # the key did authenticate


def test_command_line_secret_is_warned_about_and_not_shown(tmp_path: Path, strict_sandbox: SandboxServer) -> None:
    ran = run_cli(
        [
            "run",
            "communications",
            str(EXAMPLES / "communications.csv"),
            "--base-url",
            strict_sandbox.url,
            "--access-token",
            FLAG_TOKEN,
            "--summary-json",
            str(tmp_path / "s.json"),
        ],
        env=clean_env(),
    )
    assert ran.code == 0, ran.err
    assert "warning: --access-token puts a secret on the command line" in ran.err
    assert "shell history" in ran.err and "HUBSPOT_ACCESS_TOKEN" in ran.err
    assert FLAG_TOKEN not in ran.out + ran.err + (tmp_path / "s.json").read_text()
    ran = run_cli(
        [
            "run",
            "webhook-subscriptions",
            str(EXAMPLES / "webhook-subscriptions.jsonl"),
            "--app-id",
            "9",
            "--sandbox",
            "--developer-api-key",
            DEV_KEY,
        ],
        env=clean_env(),
    )
    assert ran.code == 0, ran.err
    assert "warning: --developer-api-key puts a secret on the command line" in ran.err
    assert "--sandbox: running against the built-in sandbox" in ran.err
    assert DEV_KEY not in ran.out + ran.err


def test_base_url_elsewhere_without_credentials_is_a_usage_error(strict_sandbox: SandboxServer) -> None:
    ran = run_cli(["run", "communications", str(EXAMPLES / "communications.csv"), "--base-url", strict_sandbox.url])
    assert ran.code == 2 and "HUBSPOT_ACCESS_TOKEN" in ran.err
    assert strict_sandbox.state.stats().requests == 0
