"""The submitter side of a fleet: check every row, cut shards, publish them, and read their reports back.

:func:`submit_job` reads the rows once, checks each against the endpoint's
schema (the positions named are positions in the whole iterable) and spools
them to a temporary file (memory stays at one shard), so that nothing is
published when a row is invalid. Timeline rows without an ``id`` (and no
``id_from``) get a random UUID here, in the message: a redelivered shard
sends the same ids, and "already exists" then means the first delivery
created the event. Then each shard is published as one Celery task.

:class:`FleetJob` reads the shards' reports from the result backend one at a
time: totals (:meth:`FleetJob.wait`, :meth:`FleetJob.summary`), every
outcome (:meth:`FleetJob.outcomes`) or the failures
(:meth:`FleetJob.failures`), never all of them in memory at once.
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import attrs

from ._endpoints import EndpointName, endpoint, resolve_api_version
from ._errors import ConfigurationError, InputIssue, InputValidationError
from ._fleet_messages import ResultsWanted, check_options, endpoint_name, lost_shard_report, shard_message
from ._fleet_summary import FleetSummary
from ._ids import with_id_from
from ._prepare import check_all
from ._results import OutcomeStatus

__all__ = ["TASK_NAME", "FleetJob", "Shard", "submit_job"]

TASK_NAME = "hubspot_batch.write_shard"
"""The name of the Celery task that writes one shard."""

_SPOOL_IN_MEMORY = 8 * 1024 * 1024
_OK = (OutcomeStatus.SUCCEEDED.value, OutcomeStatus.UNCHANGED.value)


@attrs.frozen
class Shard:
    """One published shard: its task id, portal, and the positions of its rows in the submitted iterable."""

    task_id: str
    portal: str
    start: int
    rows: int


def _plain(row: Any) -> Any:
    to_dict = getattr(row, "to_dict", None)
    return to_dict() if callable(to_dict) and not isinstance(row, Mapping) else row


def _spool(
    rows: Iterable[Any], name: EndpointName, version: str, options: Mapping[str, Any], shard_size: int, job: str
) -> tuple[IO[bytes], int, list[InputIssue]]:
    """Every row checked and written to a spool file, one JSON line each; the count and the problems found."""
    ep = endpoint(name, version)
    if "id_from" in options:
        ep = with_id_from(ep, options["id_from"])
    fill_ids = name == "timeline_events" and "id_from" not in options
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
    issues: list[InputIssue] = []
    block: list[Any] = []
    count = 0

    def flush() -> None:
        for issue in check_all(ep, block, job):
            issues.append(InputIssue(count - len(block) + issue.index, issue.field, issue.message))
        for row in block:
            try:
                spool.write(json.dumps(row, separators=(",", ":"), allow_nan=False).encode() + b"\n")
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(f"a fleet row must be JSON (it travels in a message): {exc}") from None
        block.clear()

    for row in rows:
        row = _plain(row)
        if fill_ids and isinstance(row, dict) and row.get("id") is None:
            row = {**row, "id": str(uuid.uuid4())}
        block.append(row)
        count += 1
        if len(block) >= shard_size:
            flush()
    flush()
    spool.seek(0)
    return spool, count, issues


def submit_job(
    app: Any,
    name: str,
    rows: Iterable[Any],
    *,
    portal: str,
    shard_size: int,
    results: ResultsWanted,
    queue: str | None,
    options: Mapping[str, Any],
) -> FleetJob:
    """Check, shard and publish ``rows`` (see the module docstring); the job to wait on."""
    ep_name = endpoint_name(name)
    if not isinstance(portal, str) or not portal.strip():
        raise ConfigurationError("portal must name the portal (a non-empty string)")
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ConfigurationError(f"shard_size must be a positive integer, got {shard_size!r}")
    if results not in ("failures", "all"):
        raise ConfigurationError("results must be 'failures' or 'all'")
    checked = check_options(ep_name, options)
    checked["api_version"] = resolve_api_version(ep_name, checked.get("api_version"))
    job_id = uuid.uuid4().hex
    spool, count, issues = _spool(rows, ep_name, checked["api_version"], checked, shard_size, job_id)
    with spool:
        if issues and checked.get("on_invalid", "raise") == "raise":
            raise InputValidationError(issues)
        shards: list[Shard] = []
        start = 0
        while start < count:
            block = [json.loads(spool.readline()) for _ in range(min(shard_size, count - start))]
            message = shard_message(
                job=job_id,
                shard=len(shards),
                start=start,
                portal=portal,
                endpoint=ep_name,
                options=checked,
                results=results,
                rows=block,
            )
            sent = app.send_task(TASK_NAME, args=[message], queue=queue)
            shards.append(Shard(str(sent.id), portal, start, len(block)))
            start += len(block)
    return FleetJob(app, job_id, tuple(shards))


class FleetJob:
    """Shards published to a Celery fleet; read their reports with :meth:`wait`, :meth:`outcomes`, :meth:`failures`.

    ``id`` names the job (in worker logs and Redis keys); ``shards`` lists
    what was published. Reports are read from the app's result backend
    (keep ``result_expires`` longer than you take to read them).
    """

    def __init__(self, app: Any, job_id: str, shards: tuple[Shard, ...]) -> None:
        self.app = app
        self.id = job_id
        self.shards = shards

    def __repr__(self) -> str:
        return f"FleetJob(id={self.id!r}, shards={len(self.shards)}, rows={self.rows})"

    @property
    def rows(self) -> int:
        """Rows submitted."""
        return sum(s.rows for s in self.shards)

    def __add__(self, other: FleetJob) -> FleetJob:
        """Several jobs read as one (for example one per portal): their shards in order."""
        return FleetJob(self.app, f"{self.id}+{other.id}", self.shards + other.shards)

    def _result(self, shard: Shard) -> Any:
        return self.app.AsyncResult(shard.task_id)  # a fresh one: an AsyncResult keeps what it read

    def _report(self, shard: Shard, timeout: float | None) -> dict[str, Any]:
        result = self._result(shard)
        value = result.get(timeout=timeout, propagate=False, interval=0.2)
        if result.successful() and isinstance(value, dict):
            return value
        error = f"{type(value).__name__}: {value}" if value is not None else "no result"
        return lost_shard_report(shard.portal, shard.start, shard.rows, error)

    def _reports(self, timeout: float | None) -> Iterator[dict[str, Any]]:
        from celery.exceptions import TimeoutError as CeleryTimeout

        deadline = None if timeout is None else time.monotonic() + timeout
        for shard in self.shards:
            left = None if deadline is None else max(0.001, deadline - time.monotonic())
            try:
                report = self._report(shard, left)
            except CeleryTimeout:
                pending = sum(1 for s in self.shards if not self._result(s).ready())
                raise TimeoutError(f"fleet job {self.id}: {pending} shard(s) not finished after {timeout}s") from None
            yield report

    def _empty(self) -> FleetSummary:
        summary = FleetSummary()
        for shard in self.shards:
            summary.expect(shard.portal, shard.rows)
        return summary

    def wait(self, timeout: float | None = None) -> FleetSummary:
        """Block until every shard reported (or raise :class:`TimeoutError` after ``timeout`` seconds); the totals."""
        summary = self._empty()
        for report in self._reports(timeout):
            summary.add(report)
        return summary

    def summary(self) -> FleetSummary:
        """The totals of the shards finished so far (``pending``: how many are not), without waiting."""
        summary = self._empty()
        for shard in self.shards:
            if self._result(shard).ready():
                summary.add(self._report(shard, None))
            else:
                summary.pending += 1
        return summary

    def outcomes(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """The outcomes the shards report, in input order, shard by shard (every row with ``results="all"``)."""
        for report in self._reports(timeout):
            yield from report["outcomes"]

    def failures(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """The rows that neither succeeded nor were unchanged, with their input and error, in input order."""
        for outcome in self.outcomes(timeout):
            if outcome["status"] not in _OK:
                yield outcome
