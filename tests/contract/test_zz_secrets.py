"""Secrets: no cassette and no log line holds a token, a developer API key or a cookie.

Runs after the other contract tests (file name): the log scan reads every
line the library, httpx, httpcore and vcrpy logged so far (at DEBUG) during
this run. The contract conftest scans again when the whole run ends and
fails it if a later test leaked something.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_support import (
    CASSETTES,
    FAKE_SECRETS,
    LOGGED,
    SANDBOX_DEVELOPER_KEY,
    SANDBOX_TOKEN,
    body_bytes,
    header,
    interactions,
    known_secrets,
    secrets_in,
)

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=lambda p: p.stem)
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = secrets_in(text, known_secrets())
    assert not found, f"{path.name}: {found}"
    for request, response in interactions(path):
        names = {n.lower() for n in request["headers"]}
        assert not names & {"authorization", "cookie"}, f"{path.name}: {names}"
        assert "hapikey" not in request["uri"].lower(), f"{path.name}: {request['uri']}"
        assert header(response["headers"], "set-cookie") is None, path.name
        assert not secrets_in(body_bytes(response["body"]).decode("utf-8", "replace"))


def test_every_log_line_is_clean() -> None:
    assert LOGGED, "no log line was captured: the scan would be vacuous"
    leaks = [(line[:200], found) for line in LOGGED if (found := secrets_in(line, known_secrets()))]
    assert not leaks, "token-like strings in log lines:\n" + "\n".join(f"{f}: {line}" for line, f in leaks[:20])


def test_the_scan_finds_what_it_must() -> None:
    """The patterns are not vacuous: real-looking secrets in a line are found."""
    for secret in FAKE_SECRETS:
        assert secrets_in(f"x {secret} y", known_secrets()), secret
    assert secrets_in(f"Authorization: Bearer {SANDBOX_TOKEN}")
    assert secrets_in(f"GET /webhooks/v3/1/subscriptions/batch/update?hapikey={SANDBOX_DEVELOPER_KEY}")
    assert secrets_in("oauth CJTnq9LQLhICAQEYy8GRASDdmYcBKIu6AjopZ0Ejq3Yw2qFh")  # OAuth-style access token
    assert secrets_in("key 0123456789abcdef0123456789abcdef")  # 32 hex characters
    assert not secrets_in("POST /communication-preferences/v4/statuses/batch/write?hapikey=***")
    assert not secrets_in("correlationId 6c1f0a5e-2f7a-4b4e-9a53-3f1f2b9a7f10 Authorization: ***")
