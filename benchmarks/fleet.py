"""The Celery fleet (issue #18) at HubSpot's rate limits: throughput across portals and worker CPU per record.

Usage::

    .venv/bin/python benchmarks/fleet.py            # 190 requests / 10 s per portal, 100,000 rows per portal
    .venv/bin/python benchmarks/fleet.py --smoke    # tiny sizes, < 60 s, proves it runs (judges nothing)
    .venv/bin/python benchmarks/fleet.py --rows 50000 --workers 4 --latency 0.1

What runs (real processes, as in ``tests/fleet``, whose helpers this reuses):

- a ``redis-server`` on a free port (broker db 0, results db 1, limiter and
  sync state db 2), started by ``fleet_helpers.RedisServer``;
- the sandbox in a **subprocess** of this script (``--sandbox-child``): a
  ``SandboxServer`` serving the portals ``warmup``, ``solo``, ``portal-a``, ``portal-b``,
  ``portal-c``, ``baseline`` and ``baseline-sync``, each with its own
  rolling window (``--limit`` requests per ``--interval`` seconds) and
  ``--latency`` per request. A subprocess, so that the submitter (this
  process: validating, spooling and publishing 300,000 rows) and the server
  do not share a GIL, and so that the server's CPU is counted apart from
  everyone else's. It is this script rather than ``python -m
  hubspot_batch.sandbox`` because the pace figure needs the time each 2xx
  was answered (the child wraps each portal app's ``handle`` as
  ``tests/fleet/test_fleet.py``'s ``Pace`` does and hands the times over its
  stdout); counters come from the stock ``GET /_sandbox/portals``;
- ``--workers`` ``celery -A fleet_app worker --pool=solo`` processes
  (``fleet_helpers.Fleet``; ``tests/fleet/fleet_app.py``, configured from
  ``FLEET_*``: each worker's client has ``max_concurrency`` 8 and a
  ``RedisLimiter`` per portal starting at ``--limit`` / ``--interval``),
  consuming one queue per portal (every worker every queue).

Measurements, in this order, each on portals no earlier step touched (fresh
windows, fresh sync state):

0. **warm-up**: ``4 x workers`` shards of 50 rows on a portal of their
   own, so that the workers have imported and run everything once (a fleet
   is long-lived); each worker still builds its client for each portal
   (``RedisLimiter``, ``HubSpotBatch``, connection pool) inside the
   measurements;
1. **idle**: the workers ready and idle for ``--idle`` seconds: their CPU
   per second while polling the broker;
2. **one portal** (``solo``) through the fleet: ``--rows`` communication
   updates (``rows_for``), ``submit(..., queue=portal, shard_size=1000,
   api_version="2026-09")``;
3. **three portals at once** (``portal-a/b/c``), ``--rows`` each. The rows
   are submitted in pieces of ``--chunk`` rows taking turns between the
   portals, so that every portal's first shards are queued within
   milliseconds of each other (one ``submit`` per portal would queue portal
   c's first shard only after a and b were validated and published);
4. **baseline**: one plain process (``--baseline-child``) writes the same
   rows with ``HubSpotBatch(access_token=..., base_url=sandbox,
   rate_limit=RollingWindow(limit, interval, cap=limit))`` (the client's
   default ``max_concurrency``, 16), ``communications.update(rows,
   api_version="2026-09")``, against its own portal with the same window and
   latency: CPU is ``time.process_time()`` around that call (every thread of
   the process), rows built before;
5. **baseline + Redis sync state**: the same with ``sync_state=<Redis URL>``
   and ``portal=``, as every fleet worker's client has (informational: it
   splits the fleet's CPU between the sync state and Celery).

Figures:

- **ceiling** of a portal = limit / interval requests per second (19 req/s
  at 190 / 10 s): what its rolling window allows on average, nothing more.
- **window rate** (the throughput target): requests answered 2xx in the
  whole windows that start at the portal's first 2xx,
  ``count(t < t0 + k * interval) / (k * interval)`` with ``k =
  floor((t_last - t0) / interval)``. The rolling window itself bounds it by
  the ceiling (every one of the k windows holds at most ``limit``), so the
  first window's burst does not inflate it and a stall anywhere in those
  windows lowers it. For three portals the windows start at the first 2xx of
  any portal and ``k`` counts the windows before the *first* portal
  finished (every portal still had work): the sum over the three portals
  against 3 x ceiling. Times are taken at the sandbox when a request is
  handled (after the rate-limit check, before the latency is waited).
- **pace** (``Pace.efficiency`` of ``tests/fleet/test_fleet.py``): the time
  the best schedule the rolling window allows needs for the portal's 2xx
  requests (``(ceil(n / limit) - 1) * interval``) / the time from its first
  to its last 2xx. 100% is that best schedule.
- **end to end**: rows / (from the first ``submit`` to the last
  ``FleetJob.wait`` returning); includes validation, publishing, worker
  pick-up and reading the reports.
- **429 share**: the portal's 429 answers / its requests (sandbox counters).
- **worker CPU per record**: utime + stime of every worker process
  (``/proc/<pid>/stat``, all threads; psutil is not installed) from just
  before the first ``submit`` to the last ``wait`` returning, divided by the
  rows written. *Gross* is that sum; *net* subtracts the idle rate (step 1)
  x the measurement's wall time for every worker, which over-subtracts a
  little (a solo-pool worker busy with a shard is not polling): net is the
  per-record figure the target uses, gross is printed beside it. The
  target: the three-portal run's net figure <= 2 x the baseline's.
  The submitter's, the sandbox's and redis-server's CPU over the same
  interval are printed too (not per-record targets).

Exit status: non-zero when a measurement fails (a row not applied exactly
once, a shard not succeeded, a process that would not start), not when a
target is missed (the table says so). Nothing is written to the results
file: ``docs/benchmark-results.md`` holds a run copied by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FLEET_TESTS = HERE.parent / "tests" / "fleet"
sys.path.insert(0, str(FLEET_TESTS))

THREE = ("portal-a", "portal-b", "portal-c")
SOLO = "solo"
WARMUP = "warmup"
BASELINE_PORTALS = {"plain": "baseline", "sync": "baseline-sync", "worker-client": "bd-client", "runner": "bd-runner"}
PORTALS = (WARMUP, SOLO, *THREE, *BASELINE_PORTALS.values())
API_VERSION = "2026-09"
BATCH = 100
TARGET_THROUGHPUT = 0.90  # aggregate window rate >= 90% of 3 x ceiling
TARGET_CPU_RATIO = 2.0  # worker CPU per record <= 2 x one plain process


def token_of(portal: str) -> str:
    return f"pat-na1-bench-{portal}-{os.getpid()}"


# --------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread), from ``/proc/<pid>/stat``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_child(spec: dict[str, Any]) -> int:
    """``--sandbox-child``: serve the portals; on each stdin line ``times``, print every portal's 2xx times."""
    from hubspot_batch.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig(
        rate_limit=spec["limit"],
        interval_ms=int(spec["interval"] * 1000),
        latency=spec["latency"],
        portals={token: name for name, token in spec["tokens"].items()},
    )
    times: dict[str, list[float]] = {name: [] for name in spec["tokens"]}
    lock = threading.Lock()
    with SandboxServer(config=config) as server:
        for name in spec["tokens"]:
            app = server.portal(name)

            def timed(request: Any, _handle: Any = app.handle, _times: list[float] = times[name]) -> Any:
                answer = _handle(request)
                if 200 <= getattr(answer, "status", 0) < 300:
                    now = time.monotonic()
                    with lock:
                        _times.append(now)
                return answer

            app.handle = timed  # type: ignore[method-assign]
        print(server.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "times":
                with lock:
                    snapshot = {name: list(t) for name, t in times.items()}
                print(json.dumps(snapshot), flush=True)
    return 0


class Sandbox:
    """The sandbox subprocess: its URL, pid, per-portal 2xx times and counters."""

    def __init__(self, limit: int, interval: float, latency: float, tokens: dict[str, str]) -> None:
        spec = json.dumps({"limit": limit, "interval": interval, "latency": latency, "tokens": tokens})
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--sandbox-child", spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start (exit {self.process.poll()})")

    @property
    def pid(self) -> int:
        return self.process.pid

    def times(self) -> dict[str, list[float]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("times\n")
        self.process.stdin.flush()
        return dict(json.loads(self.process.stdout.readline()))

    def portals(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(self.url + "/_sandbox/portals", timeout=30).json())

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


BASELINE_MODES = {
    "plain": "one process (baseline)",
    "sync": "one process + Redis sync state",
    "worker-client": "one process, the worker's client (RedisLimiter, Redis sync state, 8 connections), one call",
    "runner": "one process, ShardRunner.run per shard message (the fleet's worker code without Celery)",
}


def baseline_child(spec: dict[str, Any]) -> int:
    """``--baseline-child``: one plain process writes the rows; prints its CPU and wall time as JSON.

    ``mode``: ``plain`` (the baseline), ``sync`` (plus ``sync_state=<Redis>``), ``worker-client`` (the
    client a fleet worker builds, one call for every row), ``runner`` (``ShardRunner.run`` on each shard
    message in turn, as a worker runs them, minus Celery).
    """
    from fleet_helpers import rows_for
    from hubspot_batch import HubSpotBatch, RedisLimiter, RollingWindow

    portal, mode, limit, interval = spec["portal"], spec["mode"], spec["limit"], spec["interval"]
    rows, _ = rows_for(portal, spec["rows"], 0)
    counts: dict[str, int] = {}
    if mode == "runner":
        from hubspot_batch._fleet_messages import shard_message
        from hubspot_batch._fleet_worker import ShardRunner

        runner = ShardRunner(
            credentials=lambda _portal: spec["token"],
            redis_url=spec["redis"],
            prefix="fleet-bench-runner",
            client_options={
                "base_url": spec["url"],
                "max_concurrency": 8,
                "rate_limit": limit,
                "rate_interval": interval,
            },
        )
        shard = spec["shard"]
        messages = [
            shard_message(
                job="bench",
                shard=i // shard,
                start=i,
                portal=portal,
                endpoint="communications",
                options={"api_version": API_VERSION},
                results="failures",
                rows=rows[i : i + shard],
            )
            for i in range(0, len(rows), shard)
        ]
        cpu, wall = time.process_time(), time.monotonic()
        for message in messages:
            for status, n in runner.run(message)["counts"].items():
                counts[status] = counts.get(status, 0) + n
        runner.close()
    else:
        if mode == "plain" or mode == "sync":
            window: Any = RollingWindow(limit, interval=interval, cap=limit)
            options: dict[str, Any] = {}
        else:
            window = RedisLimiter(spec["redis"], key=f"portal:{portal}", limit=limit, interval=interval)
            options = {"max_concurrency": 8}
        if mode != "plain":
            options |= {"sync_state": spec["redis"], "portal": portal}
        client = HubSpotBatch(access_token=spec["token"], base_url=spec["url"], rate_limit=window, **options)
        cpu, wall = time.process_time(), time.monotonic()
        counts = dict(client.communications.update(rows, api_version=API_VERSION).counts)
        client.close()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(json.dumps({"cpu": cpu, "wall": wall, "counts": counts}), flush=True)
    return 0


# --------------------------------------------------------------------------- figures


def window_rate(times: list[float], interval: float, start: float | None = None, end: float | None = None) -> float:
    """2xx requests per second in the whole windows from ``start`` (default the first) before ``end`` (the last)."""
    if len(times) < 2:
        return 0.0
    start = times[0] if start is None else start
    end = times[-1] if end is None else end
    windows = math.floor((end - start) / interval)
    if windows < 1:
        return 0.0
    stop = start + windows * interval
    return sum(1 for t in times if start <= t < stop) / (windows * interval)


def pace(times: list[float], limit: int, interval: float) -> float:
    """``Pace.efficiency``: the best schedule's time for these requests / the time they took."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (math.ceil(len(times) / limit) - 1) * interval / (times[-1] - times[0])


@dataclass
class Run:
    """One fleet measurement: what the sandbox, the summaries and /proc say."""

    name: str
    portals: tuple[str, ...]
    rows: int  # per portal
    wall: float
    submit_wall: float
    submitter_cpu: float
    worker_cpu: float
    sandbox_cpu: float
    redis_cpu: float
    idle_rate: float  # every worker together, CPU s per s
    times: dict[str, list[float]]
    stats: dict[str, Any]
    counts: dict[str, dict[str, int]]
    problems: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.rows * len(self.portals)

    @property
    def net_worker_cpu(self) -> float:
        return max(0.0, self.worker_cpu - self.idle_rate * self.wall)

    def us_per_record(self, net: bool = True) -> float:
        return (self.net_worker_cpu if net else self.worker_cpu) / self.records * 1e6

    def share_429(self, portal: str) -> float:
        s = self.stats[portal]
        return sum(s["rate_limited"].values()) / s["requests"] if s["requests"] else 0.0

    def aggregate_rate(self, interval: float) -> float:
        start = min(self.times[p][0] for p in self.portals)
        end = min(self.times[p][-1] for p in self.portals)
        return sum(window_rate(self.times[p], interval, start, end) for p in self.portals)


# --------------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from fleet_helpers import Fleet, RedisServer, find_redis_server, fleet_env, free_port, write_tokens

        self.args = args
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("redis-server not found (scripts/start-redis.sh installs it)")
        self.redis = RedisServer(binary, free_port(), str(workdir))
        self.redis.start()
        self.broker = self.redis.url.rsplit("/", 1)[0]
        self.tokens = {p: token_of(p) for p in PORTALS}
        self.sandbox = Sandbox(args.limit, args.interval, args.latency, self.tokens)
        tokens_file = write_tokens(workdir / "tokens.json", self.tokens)
        env = fleet_env(
            self.broker,
            self.sandbox.url,
            tokens_file,
            FLEET_RATE_LIMIT=str(args.limit),
            FLEET_RATE_INTERVAL=str(args.interval),
        )
        logs = workdir / "logs"
        logs.mkdir()
        self.fleet = Fleet(env, logs, queues=",".join((WARMUP, SOLO, *THREE)))
        os.environ.update({k: v for k, v in env.items() if k.startswith("FLEET_")})
        self.idle_rate = 0.0

    def close(self) -> None:
        self.fleet.stop()
        self.sandbox.stop()
        self.redis.stop()

    def worker_pids(self) -> list[int]:
        return [p.pid for p in self.fleet.workers.values()]

    def workers_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.worker_pids())

    def start_workers(self) -> float:
        started = time.monotonic()
        self.fleet.start_all(self.args.workers, timeout=120)
        return time.monotonic() - started

    def warm_up(self) -> None:
        """A few small shards on their own portal, so that each worker has imported and run everything once."""
        import fleet_app
        from fleet_helpers import rows_for
        from hubspot_batch.celery import submit

        app = fleet_app.make_app()
        rows, _ = rows_for(WARMUP, 50 * 4 * self.args.workers, 0)
        job = submit(app, "communications", rows, portal=WARMUP, queue=WARMUP, shard_size=50, api_version=API_VERSION)
        job.wait(timeout=self.args.timeout)
        app.close()

    def measure_idle(self) -> None:
        time.sleep(1.0)  # let the workers settle after the warm-up
        before, started = self.workers_cpu(), time.monotonic()
        time.sleep(self.args.idle)
        self.idle_rate = (self.workers_cpu() - before) / (time.monotonic() - started)

    def run_fleet(self, name: str, portals: tuple[str, ...]) -> Run:
        import fleet_app
        from fleet_helpers import rows_for
        from hubspot_batch.celery import FleetJob, submit

        app = fleet_app.make_app()
        n, chunk = self.args.rows, self.args.chunk
        rows = {p: rows_for(p, n, 0)[0] for p in portals}
        jobs: dict[str, FleetJob] = {}
        worker0, sandbox0, redis0 = self.workers_cpu(), cpu_seconds(self.sandbox.pid), cpu_seconds(self.redis_pid)
        cpu0, started = time.process_time(), time.monotonic()
        for offset in range(0, n, chunk):
            for p in portals:
                job = submit(
                    app,
                    "communications",
                    rows[p][offset : offset + chunk],
                    portal=p,
                    queue=p,
                    shard_size=self.args.shard,
                    api_version=API_VERSION,
                )
                jobs[p] = jobs[p] + job if p in jobs else job
        submitted = time.monotonic()
        summaries = {p: job.wait(timeout=self.args.timeout) for p, job in jobs.items()}
        wall = time.monotonic() - started
        submitter_cpu = time.process_time() - cpu0
        worker_cpu = self.workers_cpu() - worker0
        sandbox_cpu = cpu_seconds(self.sandbox.pid) - sandbox0
        redis_cpu = cpu_seconds(self.redis_pid) - redis0
        app.close()
        times = self.sandbox.times()
        stats = self.sandbox.portals()
        run = Run(
            name=name,
            portals=portals,
            rows=n,
            wall=wall,
            submit_wall=submitted - started,
            submitter_cpu=submitter_cpu,
            worker_cpu=worker_cpu,
            sandbox_cpu=sandbox_cpu,
            redis_cpu=redis_cpu,
            idle_rate=self.idle_rate,
            times={p: times[p] for p in portals},
            stats={p: stats[p] for p in portals},
            counts={p: dict(s.counts) for p, s in summaries.items()},
        )
        for p in portals:
            counts = run.counts[p]
            if counts.get("succeeded") != n:
                run.problems.append(f"{name}/{p}: summary {counts}, expected {n} succeeded")
            applied = stats[p]["applied"]["communications"]
            distinct = stats[p]["distinct"]["communications"]
            if applied != n or distinct != n:
                run.problems.append(f"{name}/{p}: sandbox applied {applied} ({distinct} distinct), expected {n}")
        return run

    @property
    def redis_pid(self) -> int:
        assert self.redis.process is not None
        return self.redis.process.pid

    def run_baseline(self, mode: str) -> dict[str, Any]:
        portal = BASELINE_PORTALS[mode]
        spec = {
            "mode": mode,
            "portal": portal,
            "rows": self.args.rows,
            "url": self.sandbox.url,
            "token": self.tokens[portal],
            "limit": self.args.limit,
            "interval": self.args.interval,
            "shard": self.args.shard,
            "redis": f"{self.broker}/3",
        }
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--baseline-child", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=self.args.timeout,
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"baseline {mode} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        out = dict(json.loads(lines[-1]))
        stats = self.sandbox.portals()[portal]
        out |= {"mode": mode, "stats": stats, "times": self.sandbox.times()[portal], "problems": []}
        if out["counts"].get("succeeded") != self.args.rows or stats["distinct"]["communications"] != self.args.rows:
            out["problems"].append(f"{mode}: counts {out['counts']}, applied {stats['applied']['communications']}")
        return out


# --------------------------------------------------------------------------- report


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _share_429(stats: dict[str, Any]) -> float:
    return sum(stats["rate_limited"].values()) / stats["requests"] if stats["requests"] else 0.0


def report(args: argparse.Namespace, solo: Run, three: Run, baselines: list[dict[str, Any]]) -> str:
    base = baselines[0]
    ceiling = args.limit / args.interval
    lines: list[str] = []
    out = lines.append
    out(
        f"Sandbox: {args.limit} requests / {args.interval:g} s per portal (ceiling {ceiling:g} req/s), "
        f"latency {args.latency:g} s; {args.workers} workers (solo pool, max_concurrency 8), "
        f"{args.rows:,} communication rows per portal, shards of {args.shard}, api {API_VERSION}; "
        f"sandbox in a subprocess."
    )
    out("")
    out("### Throughput")
    out("")
    out(
        _row(
            [
                "run",
                "portal",
                "2xx requests",
                "window rate req/s",
                "% ceiling",
                "pace",
                "429 share",
                "end-to-end rows/s",
            ]
        )
    )
    out(_row(["---"] * 8))
    for run in (solo, three):
        for p in run.portals:
            t = run.times[p]
            rate = window_rate(t, args.interval)
            out(
                _row(
                    [
                        run.name,
                        p,
                        len(t),
                        f"{rate:.2f}",
                        f"{rate / ceiling:.1%}",
                        f"{pace(t, args.limit, args.interval):.1%}",
                        f"{run.share_429(p):.2%}",
                        "",
                    ]
                )
            )
        agg = run.aggregate_rate(args.interval)
        out(
            _row(
                [
                    run.name,
                    "**all**",
                    sum(len(run.times[p]) for p in run.portals),
                    f"{agg:.2f}",
                    f"{agg / (ceiling * len(run.portals)):.1%}",
                    "",
                    "",
                    f"{run.records / run.wall:,.0f} (wall {run.wall:.1f} s, submit {run.submit_wall:.1f} s)",
                ]
            )
        )
    out("")
    out("### CPU")
    out("")
    out(_row(["run", "records", "wall s", "worker CPU s (gross)", "idle share s", "us/record net", "us/record gross"]))
    out(_row(["---"] * 7))
    for run in (solo, three):
        out(
            _row(
                [
                    f"fleet: {run.name}",
                    f"{run.records:,}",
                    f"{run.wall:.1f}",
                    f"{run.worker_cpu:.2f}",
                    f"{run.idle_rate * run.wall:.2f}",
                    f"{run.us_per_record(net=True):.1f}",
                    f"{run.us_per_record(net=False):.1f}",
                ]
            )
        )
    for b in baselines:
        per = b["cpu"] / args.rows * 1e6
        label = BASELINE_MODES[b["mode"]]
        out(_row([label, f"{args.rows:,}", f"{b['wall']:.1f}", f"{b['cpu']:.2f}", "", f"{per:.1f}", f"{per:.1f}"]))
    out("")
    out(
        f"Idle workers: {three.idle_rate * 1000:.1f} ms CPU per second for all {args.workers} together "
        f"(measured {args.idle:g} s before the runs)."
    )
    for b in baselines:
        out(
            f"{BASELINE_MODES[b['mode']]}: window rate {window_rate(b['times'], args.interval):.2f} req/s, "
            f"pace {pace(b['times'], args.limit, args.interval):.1%}, {b['stats']['requests']} requests, "
            f"429 share {_share_429(b['stats']):.2%}."
        )
    for run in (solo, three):
        out(
            f"Other processes over the {run.name} run: submitter {run.submitter_cpu:.2f} s "
            f"({run.submitter_cpu / run.records * 1e6:.1f} us/record), sandbox {run.sandbox_cpu:.2f} s, "
            f"redis-server {run.redis_cpu:.2f} s."
        )
    out("")
    out("### Targets")
    out("")
    base_us = base["cpu"] / args.rows * 1e6
    agg = three.aggregate_rate(args.interval)
    agg_share = agg / (3 * ceiling)
    solo_rate = window_rate(solo.times[SOLO], args.interval)
    cpu_ratio = three.us_per_record(net=True) / base_us
    gross_ratio = three.us_per_record(net=False) / base_us
    out(_row(["figure", "value", "target", "result"]))
    out(_row(["---"] * 4))
    judge = (lambda ok: "met" if ok else "MISSED") if not args.smoke else (lambda ok: "(smoke)")
    out(
        _row(
            [
                "aggregate window rate, 3 portals / (3 x ceiling)",
                f"{agg:.2f} / {3 * ceiling:g} req/s = {agg_share:.1%}",
                f">= {TARGET_THROUGHPUT:.0%}",
                judge(agg_share >= TARGET_THROUGHPUT),
            ]
        )
    )
    out(
        _row(
            [
                "one portal through the fleet / its ceiling",
                f"{solo_rate:.2f} / {ceiling:g} req/s = {solo_rate / ceiling:.1%}",
                "(reference)",
                "",
            ]
        )
    )
    out(
        _row(
            [
                "aggregate / (3 x one portal through the fleet)",
                f"{agg / (3 * solo_rate):.1%}" if solo_rate else "-",
                "(reference)",
                "",
            ]
        )
    )
    out(
        _row(
            [
                "worker CPU per record (3 portals, net) / one process",
                f"{three.us_per_record():.1f} / {base_us:.1f} us = {cpu_ratio:.2f}x (gross {gross_ratio:.2f}x)",
                f"<= {TARGET_CPU_RATIO:g}x",
                judge(cpu_ratio <= TARGET_CPU_RATIO),
            ]
        )
    )
    worst = max(three.share_429(p) for p in three.portals)
    out(_row(["429 share, worst portal (3 portals)", f"{worst:.2%}", "(reported)", ""]))
    return "\n".join(lines)


def machine() -> str:
    cores = os.cpu_count()
    system = f"{platform.system()} {platform.release()} {platform.machine()}"
    return f"{system}, {cores} cores; Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (< 60 s); judges nothing")
    parser.add_argument("--rows", type=int, help="communication rows per portal (default 100,000; smoke 8,000)")
    parser.add_argument("--limit", type=int, help="requests per window per portal (default 190; smoke 40)")
    parser.add_argument("--interval", type=float, help="window seconds (default 10; smoke 2)")
    parser.add_argument("--latency", type=float, help="sandbox seconds per request (default 0.1; smoke 0.02)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--shard", type=int, default=1000, help="rows per shard (submit's shard_size)")
    parser.add_argument("--chunk", type=int, default=1000, help="rows per submit call, portals taking turns")
    parser.add_argument("--idle", type=float, help="seconds of idle workers measured (default 10; smoke 2)")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="two more one-process runs that split the fleet's CPU (worker client, ShardRunner)",
    )
    parser.add_argument("--dump", metavar="FILE", help="write every 2xx time and the sandbox counters as JSON")
    parser.add_argument("--sandbox-child", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sandbox_child:
        return sandbox_child(json.loads(args.sandbox_child))
    if args.baseline_child:
        return baseline_child(json.loads(args.baseline_child))
    small = args.smoke
    args.rows = args.rows or (8_000 if small else 100_000)
    args.limit = args.limit or (40 if small else 190)
    args.interval = args.interval or (2.0 if small else 10.0)
    args.latency = args.latency if args.latency is not None else (0.02 if small else 0.1)
    args.idle = args.idle if args.idle is not None else (2.0 if small else 10.0)

    started = time.monotonic()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            print(f"starting {args.workers} workers ...", flush=True)
            print(f"    ready after {bench.start_workers():.1f} s", flush=True)
            bench.warm_up()
            bench.measure_idle()
            print(f"idle: {bench.idle_rate * 1000:.1f} ms CPU/s for all workers", flush=True)
            runs = []
            for name, portals in (("one portal", (SOLO,)), ("three portals", THREE)):
                print(f"{name}: {args.rows:,} rows per portal ...", flush=True)
                run = bench.run_fleet(name, portals)
                problems += run.problems
                runs.append(run)
                print(f"    wall {run.wall:.1f} s, worker CPU {run.worker_cpu:.2f} s", flush=True)
            baselines = []
            modes = list(BASELINE_MODES) if args.breakdown else ["plain", "sync"]
            for mode in modes:
                print(f"{BASELINE_MODES[mode]}: {args.rows:,} rows ...", flush=True)
                b = bench.run_baseline(mode)
                problems += b["problems"]
                baselines.append(b)
                print(f"    wall {b['wall']:.1f} s, CPU {b['cpu']:.2f} s", flush=True)
        finally:
            bench.close()
    print()
    print(f"Machine: {machine()}")
    print(f"Total time: {time.monotonic() - started:.0f} s")
    print()
    print(report(args, runs[0], runs[1], baselines))
    if args.dump:
        dump = {r.name: {"times": r.times, "stats": r.stats} for r in runs}
        dump |= {b["mode"]: {"times": b["times"], "stats": b["stats"]} for b in baselines}
        Path(args.dump).write_text(json.dumps(dump))
        print(f"\n2xx times and sandbox counters written to {args.dump}")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
