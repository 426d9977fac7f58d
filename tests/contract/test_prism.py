"""A second, independent check: Prism, serving our ``specs/``, accepts every request the library sends.

Prism (``@stoplight/prism-cli``, pinned in ``tests/prism/package.json`` to the
last version that runs on Node 20) validates each request against the spec it
serves and answers 422 (bad body or parameters) or 401 (missing credentials)
when it does not match; the reason is only in Prism's log, which is shown
when a request is refused. One Prism per spec file, started here (``npm ci``
first if ``tests/prism/node_modules`` is missing) and stopped at the end of
the module. Skipped, loudly, only where Node.js or npm is absent.

Every (endpoint, version), 2026-09 included, is sent once with both
credentials and once with the bearer token alone. Where the spec takes no
developer API key (every endpoint but webhooks v3 / 2026-03; webhooks 2026-09
takes OAuth bearer tokens only) no request may carry ``hapikey`` even when
the client was given one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from contract_support import (
    DEVELOPER_KEY_ENDPOINTS,
    ENDPOINT_NAMES,
    OCCURRENCE_ENDPOINTS,
    PRISM_DIR,
    SANDBOX_DEVELOPER_KEY,
    SANDBOX_IDS,
    SANDBOX_TOKEN,
    SCENARIOS,
    SPEC_FILE,
    SPECS,
    call,
    failing_row,
    ok_row,
    poison_row,
)
from hubspot_batch import HubSpotBatch, RetryPolicy

SPEC_OF = SPEC_FILE
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
REFUSED = "did not pass the validation rules"


class Prism:
    """One running ``prism mock`` process and its log."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [str(PRISM_BIN), "mock", str(SPECS / spec), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=PRISM_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # its own process group: stop() ends Prism and anything it started
        )
        threading.Thread(target=self._read, daemon=True, name=f"prism-log-{spec}").start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line.rstrip())
            if "Prism is listening" in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Prism did not start for {self.spec}:\n" + "\n".join(self.log[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _install() -> None:
    if PRISM_BIN.exists():
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"], cwd=PRISM_DIR, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0 or not PRISM_BIN.exists():
        pytest.fail(
            f"`npm ci` in tests/prism failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


@pytest.fixture(scope="module")
def prisms() -> Iterator[dict[str, Prism]]:
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if absent:
        pytest.skip(
            f"!!! PRISM CHECK NOT RUN: {' and '.join(absent)} not found on PATH. Install Node.js 20 and npm to "
            "check the library's requests against specs/ with Prism (tests/prism/package.json). !!!"
        )
    _install()
    started = {spec: Prism(spec) for spec in sorted(set(SPEC_OF.values()))}
    try:
        for prism in started.values():
            prism.wait_ready()
        yield started
    finally:
        for prism in started.values():
            prism.stop()


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, remembering what each request got."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, int, bytes]] = []
        self.query_names: list[set[str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append((request.url.path, response.status_code, request.content))
        self.query_names.append({name.lower() for name in request.url.params})
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def rich_rows(endpoint: str) -> list[dict[str, Any]]:
    """Inputs using the optional fields the scenarios leave out."""
    ids = SANDBOX_IDS
    if endpoint.startswith("webhooks"):
        return [{"id": 2_147_483_647, "active": False}, {"id": 1, "active": True}]
    if endpoint.startswith("communications"):
        return [
            {
                "id": "2001",
                "idProperty": "hs_object_id",
                "properties": {
                    "hs_communication_channel_type": "WHATS_APP",
                    "hs_communication_logged_from": "CRM",
                    "hs_communication_body": "Texted Linda to confirm that we're ready to move forward.",
                    "hs_timestamp": "2026-03-01T12:00:00Z",
                    "hubspot_owner_id": "",
                },
            },
            {"id": "2002", "properties": {}},
        ]
    if endpoint.startswith("statuses"):
        bases = [
            "CONSENT_WITH_NOTICE",
            "LEGITIMATE_INTEREST_CLIENT",
            "LEGITIMATE_INTEREST_OTHER",
            "LEGITIMATE_INTEREST_PQL",
            "NON_GDPR",
            "PERFORMANCE_OF_CONTRACT",
            "PROCESS_AND_STORE",
        ]
        rows: list[dict[str, Any]] = [
            {
                "subscriberIdString": f"rich-{i}@example.com",
                "subscriptionId": 9_007_199_254_740_991,  # Prism (JavaScript) refuses int64 above 2**53 - 1
                "statusState": "NOT_SPECIFIED",
                "channel": "EMAIL",
                "legalBasis": basis,
                "legalBasisExplanation": "rich input",
            }
            for i, basis in enumerate(bases)
        ]
        rows.append(
            {
                "subscriberIdString": "plain@example.com",
                "subscriptionId": 1,
                "statusState": "SUBSCRIBED",
                "channel": "EMAIL",
            }
        )
        return rows
    if endpoint in OCCURRENCE_ENDPOINTS:
        name = ids["timeline_event_type_name"]
        return [
            {
                "eventTypeName": name,
                "id": "rich-email",
                "email": "rich@example.com",
                "properties": {"a": "1", "b": ""},
                "timestamp": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
                "extraData": {"nested": {"list": [1, "two", None, True]}},
                "timelineIFrame": {
                    "linkLabel": "Open",
                    "headerLabel": "Details",
                    "url": "https://example.com/frame",
                    "width": 600,
                    "height": 400,
                },
            },
            {
                "eventTypeName": name,
                "id": "rich-utk",
                "utk": "utk-contract-0001",
                "domain": "example.com",
                "properties": {},
            },
            {
                "eventTypeName": name,
                "objectId": "5001",
                "objectTypeFullyQualifiedName": "0-1",
                "properties": {},
            },  # id added by the library
        ]
    template = ids["timeline_template_id"]
    return [
        {
            "eventTemplateId": template,
            "id": "rich-email",
            "email": "rich@example.com",
            "tokens": {"a": "1", "b": ""},
            "timestamp": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
            "extraData": {"nested": {"list": [1, "two", None, True]}},
            "timelineIFrame": {
                "linkLabel": "Open",
                "headerLabel": "Details",
                "url": "https://example.com/frame",
                "width": 600,
                "height": 400,
            },
        },
        {
            "eventTemplateId": template,
            "id": "rich-utk",
            "utk": "utk-contract-0001",
            "domain": "example.com",
            "tokens": {},
        },
        {
            "eventTemplateId": template,
            "objectId": "5001",
            "customObjectTypeId": "2-123",
            "tokens": {},
        },  # id added by the library
    ]


def scenario_rows(endpoint: str) -> list[dict[str, Any]]:
    """Every input the recorded scenarios send, deduplicated."""
    rows: list[dict[str, Any]] = []
    for scenario in SCENARIOS:
        for i in range(4):
            for make in (ok_row, failing_row, poison_row):
                row = make(endpoint, SANDBOX_IDS, scenario, i)
                if row not in rows:
                    rows.append(row)
    return rows


def _send(prism: Prism, endpoint: str, rows: list[dict[str, Any]], **credentials: str | None) -> RecordingTransport:
    transport = RecordingTransport()
    with HubSpotBatch(
        base_url=prism.url,
        transport=transport,
        max_concurrency=4,
        rate_limit=False,
        batch_size=5,
        retry=RetryPolicy(max_attempts=1, backoff_base=0.0, backoff_max=0.0),  # Prism's example answers name no input
        **credentials,  # type: ignore[arg-type]
    ) as hs:
        call(hs, endpoint, SANDBOX_IDS, rows)
    return transport


def _check(prism: Prism, transport: RecordingTransport, log_from: int, expected_requests: int) -> None:
    refused = [(path, status, body[:300]) for path, status, body in transport.seen if not 200 <= status < 300]
    log = prism.log[log_from:]
    assert not refused and not any(REFUSED in line for line in log), (
        f"Prism ({prism.spec}) refused requests: {refused}\nPrism's log:\n" + "\n".join(log[-80:])
    )
    assert len(transport.seen) >= expected_requests


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_prism_accepts_every_request(prisms: dict[str, Prism], endpoint: str) -> None:
    prism = prisms[SPEC_OF[endpoint]]
    log_from = len(prism.log)
    rows = scenario_rows(endpoint) + rich_rows(endpoint)
    transport = _send(prism, endpoint, rows, access_token=SANDBOX_TOKEN, developer_api_key=SANDBOX_DEVELOPER_KEY)
    _check(prism, transport, log_from, expected_requests=-(-len(rows) // 5))
    assert all(path.startswith("/") for path, _, _ in transport.seen)
    sent_key = ["hapikey" in names for names in transport.query_names]
    if endpoint in DEVELOPER_KEY_ENDPOINTS:
        assert all(sent_key), f"{endpoint}: the developer API key was not used although the spec takes it"
    else:  # e.g. webhooks 2026-09: OAuth bearer tokens only, the developer key must not be sent
        assert not any(sent_key), f"{endpoint}: a developer API key (hapikey) was sent; its spec takes none"


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_prism_accepts_bearer_only_requests(prisms: dict[str, Prism], endpoint: str) -> None:
    """Without a developer API key the library authenticates with the bearer token (401/403 scenarios do so)."""
    prism = prisms[SPEC_OF[endpoint]]
    log_from = len(prism.log)
    rows = [ok_row(endpoint, SANDBOX_IDS, "bearer", i) for i in range(4)]
    transport = _send(prism, endpoint, rows, access_token=SANDBOX_TOKEN)
    _check(prism, transport, log_from, expected_requests=1)
    assert not any("hapikey" in names for names in transport.query_names)
