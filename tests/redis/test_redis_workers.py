"""Four worker processes, one HubSpot budget: a shared Redis window against local limiters.

Each scenario runs a fresh sandbox server (its own rate window) in this process
and four ``redis_worker.py`` processes that start together and update distinct
communications. The figures are printed (``pytest -s``) and kept in
``FIGURES`` for the summary line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hubspot_batch.sandbox import SandboxConfig, SandboxServer
from redis_helpers import RedisServer

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("redis_worker.py")
WORKERS = 4
PER_WORKER = 5_000
BATCH_SIZE = 50
CEILING = 19.0  # 190 requests per 10 s
FIGURES: dict[str, dict[str, float]] = {}


def start_workers(
    base_url: str, tmp_path: Path, name: str, **settings: Any
) -> tuple[list[subprocess.Popen[bytes]], float]:
    start_at = time.time() + 1.5  # imports done, every worker starts at once
    processes, count = [], settings.pop("count", PER_WORKER)
    batch_size = settings.pop("batch_size", BATCH_SIZE)
    for n in range(WORKERS):
        worker = {
            "base_url": base_url,
            "first_id": 1 + n * count,
            "count": count,
            "batch_size": batch_size,
            "start_at": start_at,
            "out": str(tmp_path / f"{name}-{n}.json"),
            **settings,
        }
        processes.append(subprocess.Popen([sys.executable, str(WORKER), json.dumps(worker)], stderr=subprocess.PIPE))
    return processes, start_at


class TookTooLong(Exception):
    pass


def collect(
    processes: list[subprocess.Popen[bytes]], tmp_path: Path, name: str, timeout: float = 90
) -> list[dict[str, Any]]:
    summaries = []
    deadline = time.monotonic() + timeout
    for n, process in enumerate(processes):
        try:
            _, stderr = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
                p.communicate()
            raise TookTooLong(f"{name}: the workers did not finish within {timeout:g} s") from None
        assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
        summaries.append(json.loads((tmp_path / f"{name}-{n}.json").read_text()))
    return summaries


def measure(name: str, server: SandboxServer, summaries: list[dict[str, Any]]) -> dict[str, float]:
    stats = server.state.stats()
    rejected = sum(stats.rate_limited.values())
    wall = max(s["finished"] for s in summaries) - min(s["started"] for s in summaries)
    answered = stats.requests - rejected
    figures = {
        "requests": stats.requests,
        "429": rejected,
        "429_share": rejected / stats.requests,
        "wall_s": wall,
        "throughput": answered / wall,
        "of_ceiling": answered / wall / CEILING,
    }
    FIGURES[name] = figures
    print(
        f"\n[{name}] {WORKERS} workers x {summaries[0]['succeeded'] + summaries[0]['failed']} updates: "
        f"{stats.requests} requests, {rejected} answered 429 ({figures['429_share']:.1%}), "
        f"{wall:.1f} s, {figures['throughput']:.1f} req/s = {figures['of_ceiling']:.0%} of {CEILING:g} req/s"
    )
    return figures


def run_scenario(
    name: str, tmp_path: Path, timeout: float = 60, **settings: Any
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    with SandboxServer(config=SandboxConfig(rate_limit=190, latency=0.1)) as server:
        processes, start_at = start_workers(server.url, tmp_path, name, **settings)
        try:
            summaries = collect(processes, tmp_path, name, timeout)
        except TookTooLong:
            if name != "local":
                raise
            # local limiters can keep colliding (all burst when the window frees): report what happened
            stats = server.state.stats()
            rejected = sum(stats.rate_limited.values())
            wall = time.time() - start_at
            figures = {
                "requests": stats.requests,
                "429": rejected,
                "429_share": rejected / stats.requests,
                "wall_s": wall,
                "throughput": (stats.requests - rejected) / wall,
                "of_ceiling": (stats.requests - rejected) / wall / CEILING,
            }
            print(f"\n[{name}] unfinished after {wall:.0f} s: {figures}")
            return figures, []
        return measure(name, server, summaries), summaries


def test_shared_window_keeps_four_workers_within_the_budget(redis_server: RedisServer, tmp_path: Path) -> None:
    shared, summaries = run_scenario("shared", tmp_path, redis_url=redis_server.url, key=f"workers-{time.time_ns()}")
    assert all(s["succeeded"] == PER_WORKER for s in summaries)
    local, _ = run_scenario("local", tmp_path, timeout=35)
    print(
        f"\n[shared vs local] 429 share {shared['429_share']:.1%} vs {local['429_share']:.1%}; "
        f"throughput {shared['of_ceiling']:.0%} vs {local['of_ceiling']:.0%} of the ceiling"
    )
    assert shared["429_share"] <= 0.01
    assert shared["of_ceiling"] >= 0.95
    assert local["429"] > shared["429"]


@pytest.mark.parametrize("policy", ["fallback", "fail"])
def test_redis_killed_mid_run(fresh_redis_server: RedisServer, tmp_path: Path, policy: str) -> None:
    # A short window (40 per 2 s) so that many reservations happen after the kill.
    config = SandboxConfig(rate_limit=40, interval_ms=2_000, latency=0.05)
    settings = {
        "redis_url": fresh_redis_server.url,
        "key": f"kill-{policy}-{time.time_ns()}",
        "on_unavailable": policy,
        "fallback_fraction": 1 / WORKERS,
        "retry_interval": 1.0,
        "limit": 40,
        "concurrency": 4,
        "interval": 2.0,
        "count": 600,
        "batch_size": 10,
    }
    with SandboxServer(config=config) as server:
        processes, start_at = start_workers(server.url, tmp_path, f"kill-{policy}", **settings)
        time.sleep(max(0.0, start_at - time.time()) + 3.0)
        fresh_redis_server.kill()
        summaries = collect(processes, tmp_path, f"kill-{policy}")
        stats = server.state.stats()
    applied = stats.effects.get("communications", 0)
    rejected = sum(stats.rate_limited.values())
    print(
        f"\n[kill redis, {policy}] {stats.requests} requests, {rejected} answered 429, "
        f"{sum(s['succeeded'] for s in summaries)} succeeded, {sum(s['failed'] for s in summaries)} failed, "
        f"warnings: {summaries[0]['warnings'][:1]}"
    )
    total = sum(s["succeeded"] + s["failed"] + s["not_sent"] for s in summaries)
    assert total == WORKERS * 600  # every input has an outcome
    if policy == "fallback":
        assert all(s["succeeded"] == 600 for s in summaries), summaries
        assert applied == WORKERS * 600
        for s in summaries:
            unreachable = [w for w in s["warnings"] if "unreachable" in w]
            assert len(unreachable) == 1 and "falling back" in unreachable[0], s["warnings"]
            assert s["fallback_active"]
    else:
        # the job stops: nothing fails for it, every input not yet sent is reported not sent
        assert all(s["not_sent"] > 0 and s["failed"] == 0 for s in summaries), summaries
        for s in summaries:
            assert "rate limiter is unavailable" in (s["stopped_by"] or ""), s
            assert "RedisUnavailableError" in s["stop_error"], s
        # what was sent before the kill still succeeded and is reported so
        assert sum(s["succeeded"] for s in summaries) == applied > 0
