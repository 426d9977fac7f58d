"""Secrets: recognisable credentials never show up in anything the library or the CLI produces.

The library runs with DEBUG on every logger (root included, httpx/httpcore too) over real HTTP
(SandboxServer), with a static token, a developer key (sent as ``hapikey`` in the URL), an OAuth
refresher (client secret + refresh token, tokens expiring mid-run, a failing refresh), faults and
failures; then the CLI runs with the same secrets in its environment, verbose, with every output
file. Everything produced — log records (formatted, with exception text), reprs and messages of
clients, results, outcomes and exceptions, the CLI's stdout/stderr (progress included), results,
failures, summary and checkpoint files, and a vcrpy cassette recorded with the project's filters —
is scanned for each secret and for long fragments of it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from hubspot_batch import AuthRefreshError, BatchFailedError, HubSpotBatch, OAuthRefresher, RetryPolicy
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

TOKEN = "pat-na1-RELIABILITY-SECRET-TOKEN-7c1d9e"
DEV_KEY = "RELIABILITY-DEVKEY-SECRET-4b8f2a61"
CLIENT_ID = "reliability-client-id"
CLIENT_SECRET = "RELIABILITY-CLIENT-SECRET-93ae51"
REFRESH_TOKEN = "RELIABILITY-REFRESH-TOKEN-0f6c2b"
WRONG_TOKEN = "pat-na1-RELIABILITY-WRONG-TOKEN-aa11"
SECRETS = (TOKEN, DEV_KEY, CLIENT_SECRET, REFRESH_TOKEN, WRONG_TOKEN)
POLICY = RetryPolicy(max_attempts=8, backoff_base=0.01, backoff_max=0.05)


def fragments(secret: str) -> list[str]:
    """The secret and every 12-character slice of it (a partly masked secret is still a leak)."""
    return [secret] + [secret[i : i + 12] for i in range(0, len(secret) - 11, 3)]


def assert_clean(text: str, where: str, extra: tuple[str, ...] = ()) -> None:
    for secret in (*SECRETS, *extra):
        for piece in fragments(secret):
            assert piece not in text, f"{where} contains (part of) a secret: {piece!r}"


class Everything(logging.Handler):
    """Keeps every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] == "vcr":
            # vcrpy's own debug log prints request URLs before its filters run: test tooling, not
            # the library (tests/contract/conftest.py redacts it for the contract tests)
            return
        self.lines.append(f"[{record.name}] " + self.format(record) + " args=" + repr(record.args))


@pytest.fixture
def all_logs() -> Any:
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = {}
    for name in ("hubspot_batch", "httpx", "httpcore", "hpack", "vcr"):
        logger = logging.getLogger(name)
        touched[name] = (logger.level, logger.propagate)
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, (level, propagate) in touched.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagate


def describe(value: Any) -> str:
    """repr, str and, for results, every outcome's repr, dict and description."""
    parts = [repr(value), str(value)]
    result = getattr(value, "result", None) or (value if hasattr(value, "outcomes") else None)
    if result is not None and hasattr(result, "outcomes"):
        parts += [repr(result), result.summary()]
        for outcome in result:
            parts += [repr(outcome), json.dumps(outcome.to_dict(), default=str), outcome.describe()]
            if outcome.error is not None:
                parts.append(repr(outcome.error))
    return "\n".join(parts)


def comm_rows(n: int) -> list[dict[str, Any]]:
    return [{"id": str(i + 1) if i != 3 else "404", "properties": {"hs_communication_body": f"b{i}"}} for i in range(n)]


@pytest.mark.slow
def test_library_never_shows_a_secret(all_logs: Everything, tmp_path: Path) -> None:
    config = SandboxConfig(
        rate_limit=None,
        access_tokens={TOKEN},
        developer_api_keys={DEV_KEY},
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        refresh_tokens={REFRESH_TOKEN},
        token_lifetime=0.3,
        missing_ids={"404"},
        seed=5,
        error_5xx_rate=0.1,
        drop_after_rate=0.05,
        truncated_rate=0.05,
        latency=0.01,
    )
    seen: list[str] = []
    issued: list[str] = []
    with SandboxServer(config=config) as server:
        # 1. static token + developer key (hapikey in every webhook URL), recorded into a cassette
        recorder = vcr.VCR(
            record_mode="all",
            filter_headers=["authorization", "cookie", "set-cookie"],
            filter_query_parameters=["hapikey"],
            filter_post_data_parameters=["client_secret", "refresh_token"],
        )
        cassette = tmp_path / "run.yaml"
        with (
            recorder.use_cassette(str(cassette)),
            HubSpotBatch(access_token=TOKEN, developer_api_key=DEV_KEY, base_url=server.url, retry=POLICY) as hs,
        ):
            seen.append(repr(hs))
            results = [
                hs.webhooks.update_subscriptions(
                    9, [{"id": i + 1, "active": True} for i in range(30)] + [{"id": 404, "active": False}]
                ),
                hs.communications.update(comm_rows(40)),
                hs.subscription_statuses.write(
                    [
                        {
                            "subscriberIdString": f"x{i}@example.com",
                            "subscriptionId": 1,
                            "statusState": "SUBSCRIBED",
                            "channel": "EMAIL",
                        }
                        for i in range(20)
                    ]
                ),
                hs.timeline.create_events([{"eventTemplateId": "3", "objectId": "1", "tokens": {}}]),
            ]
            for result in results:
                seen.append(describe(result))
                try:
                    result.raise_for_errors()
                except BatchFailedError as exc:
                    seen.append(describe(exc))
        seen.append(cassette.read_text())
        assert "/webhooks/v3/9/subscriptions" in seen[-1]  # the webhook calls were recorded (key filtered out)

        # 2. a token HubSpot refuses: the job stops with AuthenticationError
        with HubSpotBatch(access_token=WRONG_TOKEN, base_url=server.url, retry=POLICY) as hs:
            refused = hs.communications.update(comm_rows(5))
        assert refused.error is not None and refused.error.status_code == 401
        seen.append(describe(refused))
        with pytest.raises(Exception) as raised:
            refused.raise_for_errors()
        seen.append(describe(raised.value))

        # 3. OAuth: tokens that expire during the run and are renewed, and once revoked (401 -> renew)
        oauth = OAuthRefresher(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, refresh_margin=0.05)
        seen.append(repr(oauth))

        class Spy(httpx.AsyncBaseTransport):
            def __init__(self) -> None:
                self.inner = httpx.AsyncHTTPTransport()

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                response = await self.inner.handle_async_request(request)
                if "/oauth/" in request.url.path:
                    body = await response.aread()
                    token = json.loads(body).get("access_token")
                    if token:
                        issued.append(token)
                    return httpx.Response(response.status_code, headers=response.headers, content=body)
                return response

        with HubSpotBatch(access_token=oauth, base_url=server.url, retry=POLICY, transport=Spy()) as hs:
            first = hs.communications.update(comm_rows(200))
            server.state.expire_issued_tokens()
            second = hs.timeline.create_events([{"eventTemplateId": "4", "email": "a@b.co", "tokens": {}}] * 1)
            seen += [describe(first), describe(second), repr(hs)]
        assert server.state.stats().token_refreshes >= 2 and issued

        # 4. a refresh that fails (wrong client secret): AuthRefreshError
        bad = OAuthRefresher(CLIENT_ID, "RELIABILITY-CLIENT-SECRET-wrong-77", REFRESH_TOKEN)
        with HubSpotBatch(access_token=bad, base_url=server.url, retry=POLICY) as hs:
            failed_refresh = hs.communications.update(comm_rows(3))
        assert isinstance(failed_refresh.error, AuthRefreshError)
        seen.append(describe(failed_refresh))
        seen.append(describe(failed_refresh.error))

    logs = "\n".join(all_logs.lines)
    assert any("hapikey=" in line for line in all_logs.lines)  # httpx did log the webhook URLs (redacted)
    assert any(line.startswith(("[httpx]", "[httpcore")) for line in all_logs.lines)
    extra = (*issued, "RELIABILITY-CLIENT-SECRET-wrong-77")
    assert_clean(logs, "the logs", extra)
    for number, text in enumerate(seen):
        assert_clean(text, f"produced text #{number}", extra)


def cli() -> list[str]:
    found = shutil.which("hubspot-batch", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "hubspot_batch.cli"]


@pytest.mark.slow
def test_cli_never_shows_a_secret(tmp_path: Path) -> None:
    config = SandboxConfig(
        rate_limit=None,
        access_tokens={TOKEN},
        developer_api_keys={DEV_KEY},
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        refresh_tokens={REFRESH_TOKEN},
        token_lifetime=0.5,
        missing_ids={"404"},
        seed=9,
        error_5xx_rate=0.1,
        latency=0.02,
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    token_env = {**base, "HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_DEVELOPER_API_KEY": DEV_KEY}
    oauth_env = {
        **base,
        "HUBSPOT_CLIENT_ID": CLIENT_ID,
        "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
        "HUBSPOT_REFRESH_TOKEN": REFRESH_TOKEN,
    }
    wrong_env = {**base, "HUBSPOT_ACCESS_TOKEN": WRONG_TOKEN}
    hooks = tmp_path / "hooks.jsonl"
    hooks.write_text("".join(json.dumps({"id": i, "active": i % 2 == 0}) + "\n" for i in [*range(1, 60), 404]))
    comms = tmp_path / "comms.jsonl"
    comms.write_text("".join(json.dumps(r) + "\n" for r in comm_rows(300)))
    produced: list[str] = []
    with SandboxServer(config=config) as server:
        runs = [
            (["webhook-subscriptions", str(hooks), "--app-id", "5"], token_env, 1),
            (["communications", str(comms)], token_env, 1),
            (["communications", str(comms)], oauth_env, 1),
            (["communications", str(comms)], wrong_env, 1),
        ]
        for number, (what, env, expected) in enumerate(runs):
            out = tmp_path / f"run{number}"
            out.mkdir()
            args = [*cli(), "run", *what, "--base-url", server.url, "-v", "--batch-size", "20"]
            args += ["--results", str(out / "r.jsonl"), "--failures", str(out / "f.jsonl")]
            args += ["--summary-json", str(out / "s.json"), "--checkpoint", str(out / "cp.db")]
            ran = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            assert ran.returncode == expected, ran.stderr[-1500:]
            produced += [ran.stdout, ran.stderr]
            for path in out.iterdir():
                produced.append(path.read_bytes().decode("latin-1"))
        # a secret on the command line: warned about, and still never shown
        ran = subprocess.run(
            [*cli(), "run", "communications", str(comms), "--base-url", server.url, "--access-token", TOKEN, "-v"],
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
        )
        produced += [ran.stdout, ran.stderr]
        assert "warning: --access-token" in ran.stderr
        assert server.state.stats().token_refreshes >= 1
    assert any("did not succeed" in text for text in produced)  # failures were reported
    for number, text in enumerate(produced):
        assert_clean(text, f"CLI output #{number}")
