"""What the parts of one job share: its counters, why it stopped, and the outcomes every part builds.

The producer, the attempts of each batch and each exchange read and write one
:class:`JobState`: they count requests, retries and splits in it, stop the
job through it (the first stop wins: its reason and error are what the
result reports), and count the outcomes that progress reports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._chunks import Item
from ._endpoints import Endpoint
from ._errors import AuthenticationError, HubSpotBatchError, MissingScopesError
from ._results import Outcome, OutcomeError, OutcomeStatus, Progress, Stats
from ._retry import Verdict
from ._scopes import missing_scopes

__all__ = ["Counters", "JobState", "Stop", "failed", "not_sent"]

logger = logging.getLogger("hubspot_batch")


@attrs.define
class Counters:
    """What one job counted so far: requests, retries, rate limits, splits, outcomes, a deprecation flag."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    splits: int = 0
    succeeded: int = 0
    failed: int = 0
    not_sent: int = 0
    unchanged: int = 0
    deprecated: str | None = None


@attrs.define
class Stop:
    """Why a job stopped sending, and the error its result carries."""

    reason: str
    error: HubSpotBatchError
    category: str = "STOPPED"


@attrs.define
class JobState:
    """The counters and stop of one job, and how its progress is reported.

    ``progress`` and ``total`` are the job's callback and expected row
    count (the job sets them when it starts running).
    """

    endpoint: Endpoint
    progress: Callable[[Progress], None] | None = None
    total: int | None = None
    counters: Counters = attrs.field(factory=Counters)
    stop: Stop | None = None
    started: float | None = None  # the loop time the job started running
    waiting_until: float | None = None  # epoch seconds: waiting for the daily reset

    # ---- stopping

    def halt(self, reason: str, kind: type[HubSpotBatchError], error: OutcomeError) -> None:
        """Stop the job (unless it already stopped) with a ``kind`` error made of HubSpot's ``error``."""
        if self.stop is None:
            exc = kind(  # type: ignore[call-arg]
                f"{reason}: {error.message}",
                status_code=error.status_code,
                category=error.category,
                correlation_id=error.correlation_id,
                context=error.context,
            )
            self.stop = Stop(reason, exc)
            logger.error("stopping %s job: %s", self.endpoint.name, reason)

    def stop_with(self, reason: str, error: HubSpotBatchError) -> None:
        """Stop the job (unless it already stopped) with this error."""
        if self.stop is None:
            self.stop = Stop(reason, error)
            logger.error("stopping %s job: %s", self.endpoint.name, reason)

    def halt_auth(self, verdict: Verdict, error: OutcomeError) -> None:
        """Stop the job on rejected credentials (``Verdict.AUTH``) or a missing scope (``Verdict.SCOPES``)."""
        if self.stop is not None:
            return
        common: dict[str, Any] = {
            "status_code": error.status_code,
            "category": error.category,
            "correlation_id": error.correlation_id,
            "context": error.context,
        }
        exc: HubSpotBatchError
        if verdict is Verdict.AUTH:
            reason = "HubSpot rejected the credentials (401)"
            exc = AuthenticationError(f"{reason}: {error.message}", **common)
        else:
            scopes = missing_scopes(error.context, error.message)
            named = f"; missing scopes: {', '.join(scopes)}" if scopes else ""
            reason = f"the token lacks a scope this endpoint needs ({self.endpoint.scope}){named}"
            exc = MissingScopesError(
                f"403: {reason}: {error.message}",
                missing_scopes=scopes,
                required_scope=self.endpoint.required_scope,
                **common,
            )
        self.stop = Stop(reason, exc)
        logger.error("stopping %s job: %s", self.endpoint.name, reason)

    # ---- counting and progress

    def stats(self) -> Stats:
        """Counters of this job so far."""
        c = self.counters
        elapsed = asyncio.get_running_loop().time() - self.started if self.started is not None else 0.0
        return Stats(
            requests=c.requests,
            retries=c.retries,
            rate_limited=c.rate_limited,
            splits=c.splits,
            elapsed=elapsed,
            deprecated=c.deprecated,
        )

    def count(self, outcomes: Iterable[Outcome]) -> None:
        """Count these outcomes as done (what progress reports)."""
        c = self.counters
        for outcome in outcomes:
            if outcome.status is OutcomeStatus.SUCCEEDED:
                c.succeeded += 1
            elif outcome.status is OutcomeStatus.FAILED:
                c.failed += 1
            elif outcome.status is OutcomeStatus.UNCHANGED:
                c.unchanged += 1
            else:
                c.not_sent += 1

    def report_progress(self) -> None:
        """Call the progress callback with a snapshot (an exception it raises is logged, not raised)."""
        assert self.progress is not None
        c = self.counters
        snapshot = Progress(
            done=c.succeeded + c.failed + c.not_sent + c.unchanged,
            succeeded=c.succeeded,
            failed=c.failed,
            not_sent=c.not_sent,
            total=self.total,
            stats=self.stats(),
            unchanged=c.unchanged,
            waiting_until=self.waiting_until,
        )
        try:
            self.progress(snapshot)
        except Exception:
            logger.exception("the progress callback raised; ignoring it")


# ---- outcomes every part builds


def failed(items: Iterable[Item], error: OutcomeError | None, note: str) -> list[Outcome]:
    """Failed outcomes of these items, all with ``error`` (a generic one if None) and ``note`` (if any)."""
    error = error or OutcomeError(category="UNKNOWN", message="failed")
    return [Outcome(i.index, OutcomeStatus.FAILED, i.row, error=error, note=note or None) for i in items]


def not_sent(items: Iterable[Item], category: str, reason: str) -> list[Outcome]:
    """Not-sent outcomes of these items, with an error of ``category`` saying why."""
    error = OutcomeError(category=category, message=reason)
    return [Outcome(i.index, OutcomeStatus.NOT_SENT, i.row, error=error) for i in items]
