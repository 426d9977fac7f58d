"""Run one measurement: a fresh SandboxServer here, the client in a fresh subprocess."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _scenarios import Measurement
from _workload import ID_PERIOD, body_value, row
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

HERE = Path(__file__).resolve().parent
NOMINAL_REQUESTS = 190
INTERVAL = 10.0
BATCH = 100


@dataclass
class Figures:
    """The numbers of one measurement (client-side from the worker, server-side from the sandbox)."""

    m: Measurement
    wall: float
    cpu: float
    maxrss_mb: float
    succeeded: int
    failed: int
    unknown: int
    requests: int
    answered_429: int
    verified: int | None
    error: str | None = None

    @property
    def records_per_s(self) -> float:
        return self.succeeded / self.wall if self.wall > 0 else 0.0

    @property
    def nominal(self) -> float:
        """records/s at HubSpot's limit: 190 requests of 100 records per 10 s."""
        return (self.m.rate_limit or NOMINAL_REQUESTS) * BATCH / INTERVAL

    @property
    def achievable(self) -> float:
        """Best records/s for this finite job: request k (1-based) starts no earlier than floor((k-1)/limit)*10 s."""
        limit = self.m.rate_limit or NOMINAL_REQUESTS
        last = math.ceil(self.m.n / BATCH)
        floor = math.floor((last - 1) / limit) * INTERVAL + self.m.latency
        return self.m.n / floor if floor > 0 else math.inf

    @property
    def share_429(self) -> float:
        return self.answered_429 / self.requests if self.requests else 0.0

    @property
    def cpu_us_per_record(self) -> float:
        return self.cpu / self.m.n * 1e6

    @property
    def outcomes(self) -> float:
        """Share of inputs whose fate the client reports (succeeded or failed)."""
        return (self.succeeded + self.failed) / self.m.n


def _worker_spec(m: Measurement, url: str, deadline: float) -> dict[str, Any]:
    return {
        "client": m.client,
        "endpoint": m.endpoint,
        "n": m.n,
        "url": url,
        "stream": m.stream,
        "generate": m.scenario == "memory",
        "rate_limit": "off" if m.client_rate_limit == "off" else "default",
        "tag": f"{m.scenario}-{m.client}",
        "deadline": deadline,
    }


def _verify(server: SandboxServer, m: Measurement) -> int:
    """Inputs whose update is visible in the sandbox (communications only)."""
    tag = f"{m.scenario}-{m.client}"
    seen = 0
    for index in range(min(m.n, ID_PERIOD)):
        record = server.state.communication(row("communications", index, tag)["id"])
        if record is not None and record.properties.get("hs_communication_body") == body_value(tag, index):
            seen += 1
    return seen


def run(m: Measurement, python: str, timeout: float) -> Figures:
    """Start a sandbox for ``m``, run the client in ``python``, and collect the figures."""
    config = SandboxConfig(**m.sandbox())
    with SandboxServer(config=config) as server:
        spec = _worker_spec(m, server.url, deadline=timeout * 0.9)
        try:
            proc = subprocess.run(
                [python, str(HERE / "_worker.py"), json.dumps(spec)],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=HERE,
            )
        except subprocess.TimeoutExpired:
            return _failed(m, f"timed out after {timeout:.0f}s")
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return _failed(m, f"exit {proc.returncode}: " + " | ".join(tail))
        out = json.loads(lines[-1][len("RESULT ") :])
        stats = server.state.stats()
        verified = _verify(server, m) if m.verify else None
    return Figures(
        m=m,
        wall=out["wall"],
        cpu=out["cpu"],
        maxrss_mb=out["maxrss_kb"] / 1024,
        succeeded=out["succeeded"],
        failed=out["failed"],
        unknown=out["unknown"],
        requests=stats.requests,
        answered_429=stats.responses_by_status.get(429, 0),
        verified=verified,
    )


def _failed(m: Measurement, error: str) -> Figures:
    print(f"  ! {m.label}: {error}", file=sys.stderr)
    return Figures(m, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, None, error=error)
