"""Totals of a fleet job across its shards, folded one report at a time (no outcome is kept)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._results import OutcomeStatus

__all__ = ["FleetSummary", "PortalSummary"]


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys((s.value for s in OutcomeStatus), 0)


@attrs.define
class PortalSummary:
    """One portal's totals: rows by outcome, requests, 429s met, and why it stopped (None: it did not)."""

    portal: str
    rows: int = 0
    counts: dict[str, int] = attrs.field(factory=_zero_counts)
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    shards: int = 0
    shards_done: int = 0
    stopped_by: str | None = None
    error_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return attrs.asdict(self)


@attrs.define
class FleetSummary:
    """A fleet job's totals: every row's outcome counted once, per portal and in all.

    ``pending`` counts the shards not finished when the summary was made
    (their rows are in ``rows`` but in no count yet); ``done`` is true when
    every shard reported.
    """

    portals: dict[str, PortalSummary] = attrs.field(factory=dict)
    pending: int = 0

    def portal(self, name: str) -> PortalSummary:
        """The totals of portal ``name`` (made on first use)."""
        found = self.portals.get(name)
        if found is None:
            found = self.portals[name] = PortalSummary(name)
        return found

    def expect(self, portal: str, rows: int) -> None:
        """A shard of ``rows`` rows was submitted for ``portal``."""
        entry = self.portal(portal)
        entry.rows += rows
        entry.shards += 1

    def add(self, report: Mapping[str, Any]) -> None:
        """Fold one shard's report in (see ``_fleet_messages``)."""
        entry = self.portal(str(report["portal"]))
        for status, count in report["counts"].items():
            entry.counts[status] = entry.counts.get(status, 0) + int(count)
        entry.requests += int(report.get("requests", 0))
        entry.rate_limited += int(report.get("rate_limited", 0))
        entry.retries += int(report.get("retries", 0))
        entry.shards_done += 1
        if report.get("stopped_by") and entry.stopped_by is None:
            entry.stopped_by = str(report["stopped_by"])
            entry.error_type = report.get("error_type")

    @property
    def done(self) -> bool:
        """Whether every shard reported."""
        return self.pending == 0

    @property
    def rows(self) -> int:
        """Rows submitted."""
        return sum(p.rows for p in self.portals.values())

    @property
    def counts(self) -> dict[str, int]:
        """Rows by outcome (``succeeded``, ``failed``, ``not_sent``, ``unchanged``), all portals."""
        total = _zero_counts()
        for entry in self.portals.values():
            for status, count in entry.counts.items():
                total[status] = total.get(status, 0) + count
        return total

    @property
    def requests(self) -> int:
        """Batch requests sent, all portals."""
        return sum(p.requests for p in self.portals.values())

    @property
    def ok(self) -> bool:
        """Every shard reported and every row succeeded or was unchanged."""
        counts = self.counts
        return self.done and counts["failed"] == 0 and counts["not_sent"] == 0

    @property
    def stopped(self) -> dict[str, str]:
        """The portals that stopped, with why (``AuthenticationError: ...``)."""
        return {
            name: f"{p.error_type}: {p.stopped_by}" if p.error_type else str(p.stopped_by)
            for name, p in self.portals.items()
            if p.stopped_by
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: totals, and each portal's."""
        return {
            "rows": self.rows,
            "counts": self.counts,
            "requests": self.requests,
            "pending_shards": self.pending,
            "stopped": self.stopped,
            "portals": {name: p.to_dict() for name, p in self.portals.items()},
        }
