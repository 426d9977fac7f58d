"""What travels between the submitter and the workers of a fleet: shard messages and shard reports.

Both are plain JSON-safe dicts (Celery's json serializer carries them), and
neither ever holds a credential: a message names the portal, the endpoint,
the call's options and the rows; a report holds counts, stop reasons and the
outcomes asked for. The functions here are pure: they build, check and read
those dicts.

A message::

    {"v": 1, "job": "<hex>", "shard": 3, "start": 3000, "portal": "portal-123",
     "endpoint": "communications", "options": {"api_version": "2026-09"},
     "results": "failures", "rows": [...]}

A report::

    {"v": 1, "job": "<hex>", "shard": 3, "portal": "portal-123", "rows": 1000,
     "counts": {"succeeded": 998, "failed": 2, "not_sent": 0, "unchanged": 0},
     "requests": 10, "rate_limited": 0, "retries": 0, "elapsed": 0.8,
     "stopped_by": null, "error_type": null, "api_version": "2026-09",
     "outcomes": [{"index": 3017, "status": "failed", "error": {...}, "input": {...}}, ...]}

``outcomes`` indexes are positions in the whole submitted iterable (the
shard's ``start`` added); with ``results="failures"`` (the default) only the
outcomes that neither succeeded nor were unchanged are listed (with their
input), with ``"all"`` every one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ._endpoints import EndpointName
from ._errors import AuthenticationError, ConfigurationError, DailyLimitError, MissingScopesError
from ._results import BatchResult, Outcome, OutcomeStatus

__all__ = [
    "ENDPOINT_NAMES",
    "VERSION",
    "ResultsWanted",
    "check_options",
    "endpoint_name",
    "failed_shard_report",
    "lost_shard_report",
    "portal_stop",
    "shard_message",
    "shard_report",
    "stopped_shard_report",
]

VERSION = 1
"""The layout of messages and reports (a worker refuses a message of another layout)."""

ENDPOINT_NAMES: tuple[EndpointName, ...] = (
    "communications",
    "subscription_statuses",
    "timeline_events",
    "webhook_subscriptions",
)

ResultsWanted = Literal["failures", "all"]

_OPTIONS = frozenset({"api_version", "batch_size", "id_from", "existing_is_success", "app_id", "on_invalid"})
_STOPPING = (AuthenticationError, MissingScopesError, DailyLimitError)
_FINE = (OutcomeStatus.SUCCEEDED, OutcomeStatus.UNCHANGED)
_COUNTED = tuple(status.value for status in OutcomeStatus)


def endpoint_name(name: str) -> EndpointName:
    """The library's endpoint name for ``name`` (``"timeline-events"`` and ``"timeline_events"`` alike)."""
    normal = name.replace("-", "_") if isinstance(name, str) else name
    for known in ENDPOINT_NAMES:
        if normal == known:
            return known
    raise ConfigurationError(f"unknown endpoint {name!r}; one of {', '.join(ENDPOINT_NAMES)}")


def check_options(endpoint: EndpointName, options: Mapping[str, Any]) -> dict[str, Any]:
    """The per-call options of a fleet job, checked to be known and JSON-safe (a callable cannot travel)."""
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ConfigurationError(f"unknown option(s) for a fleet job: {', '.join(unknown)}")
    out = {k: v for k, v in options.items() if v is not None}
    id_from = out.get("id_from")
    if id_from is not None:
        if endpoint != "timeline_events":
            raise ConfigurationError("id_from applies to timeline_events only")
        if isinstance(id_from, str):
            id_from = [part.strip() for part in id_from.split(",") if part.strip()]
        if not isinstance(id_from, list | tuple) or not id_from or not all(isinstance(f, str) for f in id_from):
            raise ConfigurationError(
                "id_from in a fleet job must name fields (a list of strings): a callable cannot travel to workers"
            )
        out["id_from"] = list(id_from)
    if endpoint == "webhook_subscriptions":
        app_id = out.get("app_id")
        if isinstance(app_id, bool) or not isinstance(app_id, int) or not 0 < app_id < 2**31:
            raise ConfigurationError(f"webhook_subscriptions needs app_id (a positive 32-bit integer), got {app_id!r}")
    elif "app_id" in out:
        raise ConfigurationError("app_id applies to webhook_subscriptions only")
    if "existing_is_success" in out and endpoint != "timeline_events":
        raise ConfigurationError("existing_is_success applies to timeline_events only")
    if out.get("on_invalid", "raise") not in ("raise", "skip"):
        raise ConfigurationError("on_invalid must be 'raise' or 'skip'")
    return out


def shard_message(
    *,
    job: str,
    shard: int,
    start: int,
    portal: str,
    endpoint: EndpointName,
    options: Mapping[str, Any],
    results: ResultsWanted,
    rows: Sequence[Any],
) -> dict[str, Any]:
    """The message of one shard: everything a worker needs, and no credential."""
    return {
        "v": VERSION,
        "job": job,
        "shard": shard,
        "start": start,
        "portal": portal,
        "endpoint": endpoint,
        "options": dict(options),
        "results": results,
        "rows": list(rows),
    }


def _base(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "v": VERSION,
        "job": message["job"],
        "shard": message["shard"],
        "portal": message["portal"],
        "rows": len(message["rows"]),
        "counts": dict.fromkeys(_COUNTED, 0),
        "requests": 0,
        "rate_limited": 0,
        "retries": 0,
        "elapsed": 0.0,
        "stopped_by": None,
        "error_type": None,
        "api_version": None,
        "outcomes": [],
    }


def _outcome(outcome: Outcome, start: int) -> dict[str, Any]:
    out = outcome.to_dict()
    out["index"] = start + outcome.index
    if outcome.status not in _FINE:
        out["input"] = dict(outcome.input)
    return out


def shard_report(message: Mapping[str, Any], result: BatchResult) -> dict[str, Any]:
    """The report of a shard the worker ran: counts, stop, and the outcomes the submitter asked for."""
    report = _base(message)
    report["counts"].update(result.counts)
    stats = result.stats
    report.update(
        requests=stats.requests,
        rate_limited=stats.rate_limited,
        retries=stats.retries,
        elapsed=round(stats.elapsed, 3),
        stopped_by=result.stopped_by,
        error_type=type(result.error).__name__ if result.error is not None else None,
        api_version=result.api_version,
    )
    start = int(message["start"])
    every = message.get("results") == "all"
    report["outcomes"] = [_outcome(o, start) for o in result if every or o.status not in _FINE]
    return report


def _every_row(
    report: dict[str, Any], start: int, rows: Sequence[Any] | int, status: OutcomeStatus, category: str, text: str
) -> dict[str, Any]:
    """``report`` with one outcome of ``status`` per row (with its input when the rows are known, else by count)."""
    inputs: Sequence[Any] = rows if not isinstance(rows, int) else [None] * rows
    report["counts"][status.value] = len(inputs)
    error = {"category": category, "message": text}
    report["outcomes"] = [
        {"index": start + i, "status": status.value, "error": error} | ({"input": row} if row is not None else {})
        for i, row in enumerate(inputs)
    ]
    return report


def stopped_shard_report(message: Mapping[str, Any], stop: Mapping[str, Any]) -> dict[str, Any]:
    """The report of a shard not run because its portal stopped earlier in the job (every row not sent)."""
    reason = str(stop.get("reason", "the portal stopped"))
    text = f"not sent: the portal stopped: {reason}"
    report = _every_row(_base(message), message["start"], message["rows"], OutcomeStatus.NOT_SENT, "STOPPED", text)
    report.update(stopped_by=reason, error_type=stop.get("error_type"))
    return report


def failed_shard_report(message: Mapping[str, Any], error_type: str, text: str) -> dict[str, Any]:
    """The report of a shard that could not run at all (unknown portal, a message of another layout...)."""
    report = _every_row(_base(message), message["start"], message["rows"], OutcomeStatus.FAILED, "SHARD_FAILED", text)
    report.update(stopped_by=text, error_type=error_type)
    return report


def lost_shard_report(portal: str, start: int, rows: int, error: str) -> dict[str, Any]:
    """The report the submitter makes for a shard whose task failed (it has no rows: each is counted failed)."""
    text = f"the shard's task failed: {error}"
    report = {"portal": portal, "counts": dict.fromkeys(_COUNTED, 0), "stopped_by": text, "error_type": "ShardFailed"}
    return _every_row(report, start, rows, OutcomeStatus.FAILED, "SHARD_FAILED", text)


def portal_stop(result: BatchResult) -> dict[str, Any] | None:
    """Why every later shard of this portal must stop (rejected credentials, a missing scope, the day), if so."""
    daily_budget = any(o.error is not None and o.error.category == "DAILY_BUDGET" for o in result.not_sent)
    if isinstance(result.error, _STOPPING) or daily_budget:
        error_type = type(result.error).__name__ if result.error is not None else "DailyBudget"
        return {"reason": result.stopped_by or "stopped", "error_type": error_type}
    return None
