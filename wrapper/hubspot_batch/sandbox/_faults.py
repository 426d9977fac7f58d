"""Seeded fault decisions: one FaultPlan per request that reaches the fault stage."""

from __future__ import annotations

import random
import threading

import attrs

from ._config import SandboxConfig

__all__ = [
    "DROP_AFTER",
    "DROP_BEFORE",
    "ERROR_5XX",
    "NON_JSON",
    "STALL",
    "TRUNCATED",
    "FaultInjector",
    "FaultPlan",
]

DROP_BEFORE = "drop_before"
ERROR_5XX = "error_5xx"
DROP_AFTER = "drop_after"
TRUNCATED = "truncated"
NON_JSON = "non_json"
STALL = "stall"

_5XX = (502, 503, 504)


@attrs.frozen
class FaultPlan:
    """What goes wrong with one request: at most one fault before and one after the effect."""

    before: str | None = None
    after: str | None = None
    status_5xx: int = 502


def _pick(u: float, choices: tuple[tuple[str, float], ...]) -> str | None:
    edge = 0.0
    for name, rate in choices:
        edge += rate
        if u < edge:
            return name
    return None


class FaultInjector:
    """Draws fault plans from ``random.Random(seed)``.

    Every plan consumes exactly three numbers, whatever the rates, so a given
    sequence of requests always meets the same faults. The "before" faults
    (drop_before, error_5xx) are mutually exclusive, as are the "after" ones
    (drop_after, truncated, non_json, stall): each group splits [0, 1).
    """

    def __init__(self, config: SandboxConfig) -> None:
        """Seed the generator from ``config.seed``."""
        self._rng = random.Random(config.seed)
        self._before = ((DROP_BEFORE, config.drop_before_rate), (ERROR_5XX, config.error_5xx_rate))
        self._after = (
            (DROP_AFTER, config.drop_after_rate),
            (STALL, config.stall_rate),
            (TRUNCATED, config.truncated_rate),
            (NON_JSON, config.non_json_rate),
        )
        self._lock = threading.Lock()

    def draw(self) -> FaultPlan:
        """The plan for the next request."""
        with self._lock:
            u_before, u_code, u_after = self._rng.random(), self._rng.random(), self._rng.random()
        return FaultPlan(
            before=_pick(u_before, self._before),
            after=_pick(u_after, self._after),
            status_5xx=_5XX[int(u_code * len(_5XX))],
        )
