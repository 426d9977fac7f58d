"""Contract tests: replay recorded HTTP exchanges (``tests/cassettes/``), record them, check them.

Replay (CI, the default): ``python -m pytest tests/contract``. pytest-recording's
record mode is ``none``: a missing cassette or a request that matches no
recorded one (method, path, query, JSON body) fails the test.

Record (see ``tests/cassettes/README.md``)::

    python -m pytest tests/contract --record-mode=rewrite                 # against the sandbox
    HUBSPOT_CONTRACT_TARGET=hubspot HUBSPOT_ACCESS_TOKEN=... \\
        python -m pytest tests/contract --record-mode=rewrite             # against real HubSpot
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract_support import (
    API_VERSION,
    CASSETTES,
    CLIENT_WIDE_VERSION,
    HUBSPOT_ENV,
    LOGGED,
    RECORD_COMMAND,
    SANDBOX_DEVELOPER_KEY,
    SANDBOX_IDS,
    SANDBOX_ONLY,
    SANDBOX_TOKEN,
    SERIALIZER,
    SETUP_HEADER,
    WATCHED_LOGGERS,
    PoisonRejectingApp,
    before_record_request,
    before_record_response,
    call,
    credentials_for,
    endpoint_path,
    failing_row,
    hubspot_ids,
    json_body_matcher,
    known_secrets,
    library_endpoint,
    load_cassette,
    ok_row,
    poison_row,
    sandbox_config,
    secrets_in,
)
from hubspot_batch import HubSpotBatch, RetryPolicy, resolve_api_version
from hubspot_batch._auth import redact
from hubspot_batch.sandbox import SandboxApp, SandboxServer
from vcr.errors import CannotOverwriteExistingCassetteException

# --------------------------------------------------------------------------- every log line of the suite

_VCR_LOGGERS = (
    "vcr.request",
    "vcr.stubs",
    "vcr.stubs.httpx_stubs",
    "vcr.cassette",
    "vcr.matchers",
    "vcr.config",
    "vcr.patch",
)


class _Collect(logging.Handler):
    """Keeps every line the library and the HTTP stack log (for the secret scan)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken record must not break the suite
            line = repr(record.msg)
        LOGGED.append(line)


class _RedactVcr(logging.Filter):
    """vcrpy logs request URLs ("Invoking Request ...?hapikey=..."): hide ``hapikey`` there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_handler = _Collect(level=logging.DEBUG)
_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
_vcr_filter = _RedactVcr()


def pytest_configure(config: pytest.Config) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).addHandler(_handler)
    for name in _VCR_LOGGERS:
        logging.getLogger(name).addFilter(_vcr_filter)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).removeHandler(_handler)
    for name in _VCR_LOGGERS:
        logging.getLogger(name).removeFilter(_vcr_filter)


@pytest.fixture(autouse=True)
def _log_everything() -> Iterator[None]:
    """Contract tests log at DEBUG (every request line reaches the secret scan); other tests are untouched."""
    saved = {name: logging.getLogger(name).level for name in WATCHED_LOGGERS}
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan, once more, every line logged during the whole run (later tests included)."""
    leaks = [(line[:160], found) for line in LOGGED if (found := secrets_in(line, known_secrets()))]
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "\n".join(f"  {found}: {line}" for line, found in leaks[:20])
        if reporter is not None:
            reporter.write_line(f"SECRET SCAN: token-like strings in {len(leaks)} log line(s):\n{text}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --------------------------------------------------------------------------- vcrpy / pytest-recording


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_serializer("yaml", SERIALIZER)
    vcr.register_matcher("json_body", json_body_matcher)


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization", "cookie", "set-cookie"],
        "filter_query_parameters": ["hapikey"],
        # not the host: a cassette recorded against the sandbox (127.0.0.1) or HubSpot replays the same
        "match_on": ["method", "path", "query", "json_body"],
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    scenario = request.node.function.__name__.removeprefix("test_")
    endpoint = request.node.callspec.params["endpoint"]
    return f"{endpoint}--{scenario}"


# --------------------------------------------------------------------------- the target of a recorded test


class Contract:
    """One recorded scenario: where its requests go, its inputs, and how to run it."""

    def __init__(
        self,
        *,
        endpoint: str,
        scenario: str,
        cassette: Any,
        path: Path,
        live: bool,
        target: str,
        base_url: str,
        ids: dict[str, Any],
        credentials: dict[str, str],
        server: SandboxServer | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.scenario = scenario
        self.cassette = cassette
        self.path = path
        self.live = live
        self.target = target
        self.base_url = base_url
        self.ids = ids
        self.credentials = credentials
        self.server = server

    def __repr__(self) -> str:
        mode = "recording" if self.live else "replaying"
        return f"Contract({self.endpoint} {self.scenario}, {mode} {self.target} {self.base_url})"

    # inputs
    def ok(self, i: int) -> dict[str, Any]:
        return ok_row(self.endpoint, self.ids, self.scenario, i)

    def failing(self, i: int) -> dict[str, Any]:
        return failing_row(self.endpoint, self.ids, self.scenario, i)

    def poison(self, i: int) -> dict[str, Any]:
        return poison_row(self.endpoint, self.ids, self.scenario, i)

    # running
    def run(
        self,
        rows: list[dict[str, Any]],
        *,
        access_token: str | None = None,
        developer_api_key: str | None = None,
        **kw: Any,
    ) -> Any:
        """Send ``rows`` through the public blocking client; fail on any request the cassette lacks."""
        creds = dict(self.credentials)
        if access_token is not None or developer_api_key is not None:
            # the developer key only where the endpoint's spec accepts one (not webhooks 2026-09)
            creds = credentials_for(self.endpoint, access_token, developer_api_key)
        # some date-based endpoints get their version client-wide (2026-09 partly as "latest"), the others per call
        client_wide = self.endpoint in CLIENT_WIDE_VERSION
        client_version = CLIENT_WIDE_VERSION.get(self.endpoint, "v3")
        if client_version == "latest":
            means = resolve_api_version(library_endpoint(self.endpoint), "latest")  # type: ignore[arg-type]
            assert means == API_VERSION[self.endpoint], (
                f'api_version="latest" now means {means} for {library_endpoint(self.endpoint)}, not '
                f'{API_VERSION[self.endpoint]}: move "latest" in CLIENT_WIDE_VERSION (contract_support.py) to the '
                f"{means} endpoint and give {self.endpoint} its version"
            )
        unmatched: list[str] = []

        class _Unmatched(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                exc = record.exc_info[1] if record.exc_info else None
                if isinstance(exc, CannotOverwriteExistingCassetteException):
                    unmatched.append(str(exc))

        watcher = _Unmatched()
        logger = logging.getLogger("hubspot_batch")
        logger.addHandler(watcher)
        try:
            with HubSpotBatch(
                access_token=creds.get("access_token") or None,
                developer_api_key=creds.get("developer_api_key") or None,
                base_url=self.base_url,
                timeout=30.0,
                max_concurrency=1,  # one request at a time: the recorded order is the replayed order
                retry=RetryPolicy(backoff_base=0.0, backoff_max=0.0, max_attempts=4),
                api_version=client_version,
            ) as hs:
                result = call(hs, self.endpoint, self.ids, rows, client_version=client_wide, **kw)
        finally:
            logger.removeHandler(watcher)
        assert not unmatched, (
            f"request(s) not in cassette {self.path.name} (match: method, path, query, JSON body); "
            f"re-record with `{RECORD_COMMAND}`:\n" + "\n".join(unmatched)
        )
        if not self.live:
            assert self.cassette.all_played, (
                f"{self.path.name}: {len(self.cassette)} recorded exchanges, only "
                f"{len(self.cassette.play_counts)} replayed: the library sent fewer requests than recorded"
            )
        return result

    # live-only scenario preparation (never recorded)
    def _setup_client(self) -> httpx.Client:
        headers = {SETUP_HEADER: "1", "Content-Type": "application/json"}
        params = {}
        if self.endpoint.startswith("webhooks") and self.credentials.get("developer_api_key"):
            params["hapikey"] = self.credentials["developer_api_key"]
        else:
            headers["Authorization"] = f"Bearer {self.credentials['access_token']}"
        return httpx.Client(base_url=self.base_url, headers=headers, params=params, timeout=30.0)

    def setup_post(self, body: dict[str, Any]) -> httpx.Response:
        with self._setup_client() as client:
            return client.post(endpoint_path(self.endpoint, self.ids), json=body)

    def fill_rate_window(self) -> None:
        """Use up the rolling window so that the next request meets TEN_SECONDLY_ROLLING."""
        first = self.setup_post({"inputs": []})
        remaining = int(first.headers.get("X-HubSpot-RateLimit-Remaining", "0"))
        if remaining <= 0:
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda _: self.setup_post({"inputs": []}), range(remaining)))

    def use_daily_budget(self) -> None:
        """Use up the daily budget (the sandbox's is 1 request in this scenario)."""
        self.setup_post({"inputs": []})


def _live(record_mode: str, cassette: Any) -> bool:
    if record_mode == "none":
        return False
    if record_mode == "once":
        return not cassette.rewound  # "once" records only cassettes that do not exist yet
    return True


@pytest.fixture
def contract(
    request: pytest.FixtureRequest, record_mode: str, vcr: Any, default_cassette_name: str
) -> Iterator[Contract]:
    endpoint = request.node.callspec.params["endpoint"]
    scenario = request.node.function.__name__.removeprefix("test_")
    path = CASSETTES / f"{default_cassette_name}.yaml"
    assert vcr is not None, "contract tests need pytest-recording's cassette (do not pass --disable-recording)"
    live = _live(record_mode, vcr)
    server: SandboxServer | None = None
    if not live:
        if not path.exists():
            pytest.fail(
                f"missing cassette {path.relative_to(CASSETTES.parent.parent)}: record it with `{RECORD_COMMAND}`",
                pytrace=False,
            )
        origin = load_cassette(path).get("recorded_against") or {}
        assert origin.get("ids"), f"{path.name} does not say what it was recorded against (recorded_against.ids)"
        target, base_url, ids = origin["target"], origin["base_url"], origin["ids"]
        credentials = credentials_for(endpoint, SANDBOX_TOKEN, SANDBOX_DEVELOPER_KEY)
    elif os.environ.get("HUBSPOT_CONTRACT_TARGET", "sandbox") == "hubspot":
        if scenario in SANDBOX_ONLY:
            pytest.skip(
                f"NOT RE-RECORDED against HubSpot: {SANDBOX_ONLY[scenario]}; the sandbox cassette is kept "
                "(record it again without HUBSPOT_CONTRACT_TARGET)"
            )
        if scenario == "forbidden_403" and not os.environ.get("HUBSPOT_LIMITED_ACCESS_TOKEN"):
            pytest.skip("NOT RE-RECORDED against HubSpot: set HUBSPOT_LIMITED_ACCESS_TOKEN (a token lacking scopes)")
        target, base_url = "hubspot", "https://api.hubapi.com"
        ids = hubspot_ids(os.environ)
        token = os.environ["HUBSPOT_ACCESS_TOKEN"]
        if endpoint.startswith("webhooks") and os.environ.get("HUBSPOT_WEBHOOKS_ACCESS_TOKEN"):
            token = os.environ["HUBSPOT_WEBHOOKS_ACCESS_TOKEN"]  # webhooks 2026-09 takes an OAuth token only
        credentials = credentials_for(endpoint, token, os.environ["HUBSPOT_DEVELOPER_API_KEY"])
    else:
        target = "sandbox"
        ids = dict(SANDBOX_IDS)
        server = SandboxServer(app=PoisonRejectingApp(SandboxApp(sandbox_config(endpoint, scenario)))).start()  # type: ignore[arg-type]
        base_url = server.url
        credentials = credentials_for(endpoint, SANDBOX_TOKEN, SANDBOX_DEVELOPER_KEY)
    if live:
        SERIALIZER.origin = {
            "target": target,
            "base_url": base_url,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "endpoint": endpoint,
            "scenario": scenario,
            "ids": ids,
            "note": (
                "recorded against the hubspot-batch sandbox until someone records against real HubSpot"
                if target == "sandbox"
                else "recorded against real HubSpot"
            ),
            "record_command": RECORD_COMMAND,
            "hubspot_environment": sorted(HUBSPOT_ENV),
        }
    contract = Contract(
        endpoint=endpoint,
        scenario=scenario,
        cassette=vcr,
        path=path,
        live=live,
        target=target,
        base_url=base_url,
        ids=ids,
        credentials=credentials,
        server=server,
    )
    try:
        yield contract
    finally:
        if server is not None:
            server.stop()
