"""A Celery fleet end to end, with real processes: redis-server, the sandbox with three portals, four workers.

Each portal has its own token, rolling window (10 requests a second) and
data. Per portal: 10,000 communication updates and 2,000 timeline events, on
the portal's own queue (every worker consumes every queue). Checked in the
sandbox: every row applied, none twice, no timeline event created twice,
each portal's 429 share <= 1% and its pace >= 90% of its ceiling; and in the
summary: every row exactly one outcome. Then the same with a worker killed
(SIGKILL) mid-run and restarted, and with one portal's token revoked
mid-run. No token may appear in Redis (messages, results, limiter, state)
or in the workers' logs.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleet_helpers import Fleet, RedisServer, find_redis_server, fleet_env, free_port, redis_values, rows_for
from fleet_helpers import write_tokens as _write_tokens
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

PORTALS = ("portal-a", "portal-b", "portal-c")
TOKENS = {p: f"pat-na1-{p}-{os.getpid()}-secret" for p in PORTALS}
LIMIT, INTERVAL = 50, 10.0  # the sandbox's window per portal: 50 requests per 10 seconds
COMMUNICATIONS, EVENTS, SHARD = 10_000, 2_000, 1_000
WORKERS = 4

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = find_redis_server()
    if binary is None:
        message = "!!! redis-server NOT FOUND: the fleet tests did NOT run (scripts/start-redis.sh installs it) !!!"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = RedisServer(binary, free_port(), str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Pace:
    """When each portal's requests were answered (2xx), recorded at the portal's app in the sandbox."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.times: dict[str, list[float]] = {p: [] for p in PORTALS}
        self._lock = threading.Lock()
        for portal in PORTALS:
            app = sandbox.portal(portal)
            handle = app.handle

            def timed(request: Any, _handle: Any = handle, _portal: str = portal) -> Any:
                answer = _handle(request)
                if 200 <= getattr(answer, "status", 0) < 300:
                    with self._lock:
                        self.times[_portal].append(time.monotonic())
                return answer

            app.handle = timed  # type: ignore[method-assign]

    def efficiency(self, portal: str) -> float:
        """The time the portal's ceiling needs for its requests / the time they took (1.0: at the ceiling)."""
        times = self.times[portal]
        needed = (math.ceil(len(times) / LIMIT) - 1) * INTERVAL
        return needed / (times[-1] - times[0])


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        rate_limit=LIMIT, interval_ms=int(INTERVAL * 1000), portals={t: p for p, t in TOKENS.items()}
    )
    with SandboxServer(config=config) as server:
        yield server


@pytest.fixture
def fleet(redis_server: RedisServer, sandbox: SandboxServer, tmp_path: Path) -> Iterator[Fleet]:
    broker = redis_server.url.rsplit("/", 1)[0]
    tokens = _write_tokens(tmp_path / "tokens.json", TOKENS)
    window = {"FLEET_RATE_LIMIT": str(LIMIT), "FLEET_RATE_INTERVAL": str(INTERVAL)}
    env = fleet_env(broker, sandbox.url, tokens, FLEET_VISIBILITY="10", **window)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Fleet(env, logs, queues=",".join(PORTALS))
    os.environ.update({k: v for k, v in env.items() if k.startswith("FLEET_")})
    try:
        workers.start_all(WORKERS)
        yield workers
    finally:
        workers.stop()
        for key in [k for k in os.environ if k.startswith("FLEET_")]:
            del os.environ[key]


def _app() -> Any:
    import fleet_app

    return fleet_app.make_app()  # the submitter's app, for this test's broker


def _submit_all() -> dict[str, Any]:
    from hubspot_batch.celery import submit

    app = _app()
    jobs = {}
    for portal in PORTALS:
        comms, events = rows_for(portal, COMMUNICATIONS, EVENTS)
        options = {"portal": portal, "shard_size": SHARD, "queue": portal}
        jobs[portal] = submit(app, "communications", comms, api_version="2026-09", **options) + submit(
            app, "timeline_events", events, id_from=["objectId", "eventTemplateId", "timestamp"], **options
        )
    return jobs


def _applied(sandbox: SandboxServer, portal: str, endpoint: str) -> dict[Any, int]:
    return dict(sandbox.portal(portal).state.applications(endpoint))


def _assert_no_secret_anywhere(redis_server: RedisServer, fleet: Fleet) -> None:
    secrets = [t.encode() for t in TOKENS.values()]
    leaked = [value[:200] for value in redis_values(redis_server.url.rsplit("/", 1)[0]) for s in secrets if s in value]
    assert leaked == []
    logs = fleet.log_text()
    assert "shard" in logs  # the workers did log
    assert not [t for t in TOKENS.values() if t in logs]


def _wait_until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_three_portals_over_four_workers_every_row_once_each_portal_at_its_ceiling(
    fleet: Fleet, sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    pace = Pace(sandbox)
    jobs = _submit_all()
    summaries = {portal: job.wait(timeout=240) for portal, job in jobs.items()}
    for portal in PORTALS:
        summary = summaries[portal]
        assert summary.counts == {"succeeded": COMMUNICATIONS + EVENTS, "failed": 0, "not_sent": 0, "unchanged": 0}
        comms = _applied(sandbox, portal, "communications")
        assert len(comms) == COMMUNICATIONS and set(comms.values()) == {1}  # every row applied exactly once
        events = _applied(sandbox, portal, "timeline")
        assert len(events) == EVENTS and set(events.values()) == {1}
        stats = sandbox.portal(portal).state.stats()
        assert sum(stats.rate_limited.values()) <= 0.01 * stats.requests
        share = sum(stats.rate_limited.values()) / stats.requests
        print(f"{portal}: {stats.requests} requests, 429 share {share:.2%}, pace {pace.efficiency(portal):.1%}")
        assert pace.efficiency(portal) >= 0.9, (portal, pace.efficiency(portal))
    _assert_no_secret_anywhere(redis_server, fleet)


def test_a_worker_killed_mid_run_loses_nothing_and_creates_no_event_twice(
    fleet: Fleet, sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    jobs = _submit_all()
    _wait_until(lambda: sum(len(_applied(sandbox, p, "communications")) for p in PORTALS) >= 0.3 * 3 * COMMUNICATIONS)
    killed_log = fleet.log_path(0)
    fleet.kill(0)
    killed_at = time.monotonic()
    fleet.start(0)  # a new process: the killed one's shard comes back only through the visibility timeout
    summaries = {portal: job.wait(timeout=300) for portal, job in jobs.items()}
    for portal in PORTALS:
        counts = summaries[portal].counts
        assert counts["failed"] == counts["not_sent"] == 0
        assert counts["succeeded"] + counts["unchanged"] == COMMUNICATIONS + EVENTS
        comms = _applied(sandbox, portal, "communications")
        assert len(comms) == COMMUNICATIONS  # every row landed; a re-sent in-flight batch may apply twice
        state = sandbox.portal(portal).state
        assert all(state.communication(str(100_000 + i)) is not None for i in range(0, COMMUNICATIONS, 97))
        events = _applied(sandbox, portal, "timeline")
        assert len(events) == EVENTS and set(events.values()) == {1}  # no event created twice
    twice = sum(n - 1 for p in PORTALS for n in _applied(sandbox, p, "communications").values())
    assert twice <= 2 * SHARD  # at most what the killed worker had in flight is sent again
    text = killed_log.read_text()
    cut_short = {t for t in re.findall(r"write_shard\[([0-9a-f-]+)\] received", text) if f"[{t}] succeeded" not in text}
    assert len(cut_short) == 1  # the shard the kill interrupted...
    (task,) = cut_short
    assert f"[{task}] succeeded" in fleet.log_text()  # ...was written again by another worker
    took = time.monotonic() - killed_at
    print(f"a shard cut short by SIGKILL was written again; all done {took:.0f}s after the kill; {twice} rows twice")
    _assert_no_secret_anywhere(redis_server, fleet)


def test_a_revoked_token_stops_its_portal_and_the_others_finish(
    fleet: Fleet, sandbox: SandboxServer, redis_server: RedisServer
) -> None:
    jobs = _submit_all()
    queued = list(redis_values(redis_server.url.rsplit("/", 1)[0], range(1)))
    assert any(b"portal-b" in value for value in queued)  # the shards' messages, waiting in the broker
    assert not [v for v in queued for t in TOKENS.values() if t.encode() in v]
    _wait_until(lambda: len(_applied(sandbox, "portal-b", "communications")) >= 2 * SHARD)
    assert sandbox.revoke(TOKENS["portal-b"])
    summaries = {portal: job.wait(timeout=240) for portal, job in jobs.items()}
    for portal in ("portal-a", "portal-c"):
        assert summaries[portal].counts["succeeded"] == COMMUNICATIONS + EVENTS
        assert summaries[portal].stopped == {}
    stopped = summaries["portal-b"]
    assert stopped.stopped["portal-b"].startswith("AuthenticationError")
    counts = stopped.counts
    assert sum(counts.values()) == COMMUNICATIONS + EVENTS  # every row one outcome
    assert counts["not_sent"] + counts["failed"] > 0
    applied = len(_applied(sandbox, "portal-b", "communications")) + len(_applied(sandbox, "portal-b", "timeline"))
    assert counts["succeeded"] == applied  # what the summary calls succeeded is what HubSpot applied
    failures = list(jobs["portal-b"].failures())
    assert len(failures) == counts["not_sent"] + counts["failed"]
    # each row HubSpot did not take was either refused with the 401 or not sent because the portal had stopped
    assert all(
        (f["status"] == "failed" and f["error"].get("statusCode") == 401)
        or (f["status"] == "not_sent" and f["error"]["category"] == "STOPPED")
        for f in failures
    ), {(f["status"], f["error"]["category"], f["error"].get("statusCode")) for f in failures}
    _assert_no_secret_anywhere(redis_server, fleet)
