"""The five scenarios of the benchmark, as lists of measurements (full size and smoke size)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _workload import Endpoint

SCENARIOS = ("ceiling", "endpoints", "cpu", "memory", "faults")
BASELINE_CLIENTS = ("raw", "raw-pool", "official", "sdk")
#: Sequential baselines are bound by latency (one request at a time), never by the window:
#: 5,000 records give their steady rate at a fraction of the time.
SEQUENTIAL_CAP = 5_000
FAULTS: dict[str, float] = {
    "error_5xx_rate": 0.05,
    "drop_before_rate": 0.02,
    "drop_after_rate": 0.02,
    "truncated_rate": 0.01,
}
#: Which baselines can call which endpoint (see _baselines for why the others cannot).
SUPPORTED: dict[str, tuple[Endpoint, ...]] = {
    "ours": ("communications", "webhooks", "statuses", "timeline"),
    "raw": ("communications", "webhooks", "statuses", "timeline"),
    "raw-pool": ("communications", "webhooks", "statuses", "timeline"),
    "official": ("communications", "webhooks", "timeline"),
    "sdk": ("communications", "webhooks", "statuses"),
}
UNSUPPORTED_REASON: dict[str, str] = {
    "official": "hubspot-api-client 12.x has no statuses batch write (only v3 subscribe/unsubscribe)",
    "sdk": "hubspot-sdk calls /integrators/timeline/2026-03/events/batch (a new body the sandbox does not serve)",
}


@dataclass
class Measurement:
    """One client run against a fresh sandbox server."""

    scenario: str
    client: str
    endpoint: Endpoint
    n: int
    latency: float = 0.0
    rate_limit: int | None = 190
    client_rate_limit: str = "default"  # "default" (learned from headers) or "off"
    stream: bool = False
    faults: dict[str, float] = field(default_factory=dict)
    verify: bool = False
    arrival_jitter: float = 0.0  # the sandbox counts each request up to this many seconds late
    round: int = 0

    @property
    def label(self) -> str:
        variant = "/stream" if self.stream and self.scenario != "memory" else ""
        again = f"/round={self.round + 1}" if self.scenario == "cpu" else ""
        jitter = f"/arrival-jitter={self.arrival_jitter}" if self.arrival_jitter else ""
        return f"{self.scenario}/{self.endpoint}/{self.client}{variant}/lat={self.latency}{jitter}/n={self.n}{again}"

    def sandbox(self) -> dict[str, Any]:
        """Keyword arguments of the SandboxConfig."""
        config: dict[str, Any] = {
            "rate_limit": self.rate_limit,
            "latency": self.latency,
            "daily_limit": None,
            **self.faults,
        }
        if self.arrival_jitter:
            config["arrival_jitter"] = self.arrival_jitter
        return config


@dataclass(frozen=True)
class Sizes:
    ceiling: int
    ceiling_latencies: tuple[float, ...]
    ceiling_arrival_jitter: float  # the jittered variant of the ceiling (ours only)
    endpoints_latency: float
    cpu: int
    memory: tuple[int, int]
    faults: int
    faults_latency: float
    rate_limit: int
    cpu_rounds: int


FULL = Sizes(
    ceiling=20_000,
    ceiling_latencies=(0.1, 0.5),
    ceiling_arrival_jitter=0.05,
    endpoints_latency=0.1,
    cpu=50_000,
    memory=(100_000, 1_000_000),
    faults=20_000,
    faults_latency=0.1,
    rate_limit=190,
    cpu_rounds=5,
)
SMOKE = Sizes(
    ceiling=300,
    ceiling_latencies=(0.01,),
    ceiling_arrival_jitter=0.05,
    endpoints_latency=0.01,
    cpu=2_000,
    memory=(1_000, 5_000),
    faults=300,
    faults_latency=0.01,
    rate_limit=190,
    cpu_rounds=1,
)


def _clients(baselines: bool, endpoint: Endpoint, pool: bool = True) -> list[str]:
    names = ["ours"]
    if baselines:
        names += [c for c in BASELINE_CLIENTS if (pool or c != "raw-pool") and endpoint in SUPPORTED[c]]
    return names


def _n(client: str, n: int, smoke: bool) -> int:
    return n if client in ("ours", "raw-pool") or smoke else min(n, SEQUENTIAL_CAP)


def plan(scenarios: tuple[str, ...], sizes: Sizes, baselines: bool, smoke: bool) -> list[Measurement]:
    """Every measurement of the chosen scenarios, in run order."""
    out: list[Measurement] = []
    if "ceiling" in scenarios:
        for latency in sizes.ceiling_latencies:
            for c in _clients(baselines, "communications"):
                n = _n(c, sizes.ceiling, smoke)
                out.append(Measurement("ceiling", c, "communications", n, latency, sizes.rate_limit))
            if sizes.ceiling_arrival_jitter:
                # the same job with 0-50 ms of random delay before HubSpot counts each request
                jitter = sizes.ceiling_arrival_jitter
                out.append(
                    Measurement(
                        "ceiling",
                        "ours",
                        "communications",
                        sizes.ceiling,
                        latency,
                        sizes.rate_limit,
                        arrival_jitter=jitter,
                    )
                )
    if "endpoints" in scenarios:
        for ep in ("webhooks", "statuses", "timeline"):
            for c in _clients(baselines, ep, pool=False):
                n = _n(c, sizes.ceiling, smoke)
                out.append(Measurement("endpoints", c, ep, n, sizes.endpoints_latency, sizes.rate_limit))
    if "cpu" in scenarios:
        # Rounds interleave the clients (the machine is shared and noisy): the table shows medians.
        # Ours runs twice: streaming (update_iter, each part dropped once read) and update() keeping all results.
        for r in range(sizes.cpu_rounds):
            for c in _clients(baselines, "communications", pool=False):
                for stream in (True, False) if c == "ours" else (False,):
                    out.append(
                        Measurement("cpu", c, "communications", sizes.cpu, 0.0, None, "off", stream=stream, round=r)
                    )
    if "memory" in scenarios:
        for n in sizes.memory:
            out.append(Measurement("memory", "ours", "communications", n, 0.0, None, "off", stream=True))
    if "faults" in scenarios:
        for c in _clients(baselines, "communications"):
            n = _n(c, sizes.faults, smoke)
            out.append(
                Measurement(
                    "faults",
                    c,
                    "communications",
                    n,
                    sizes.faults_latency,
                    sizes.rate_limit,
                    faults=dict(FAULTS),
                    verify=True,
                )
            )
    return out
