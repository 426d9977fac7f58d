"""Outcomes: what happened to each input, and the result of a whole call.

Every input gets exactly one :class:`Outcome`, found by its ``index`` (its
position in the caller's iterable): ``succeeded`` (with HubSpot's result),
``failed`` (with HubSpot's category, message, context and status code) or
``not_sent`` (with the reason). A :class:`BatchResult` holds the outcomes of
one call (or, from the ``*_iter`` methods, of one finished part) in input
order.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ._errors import BatchFailedError, HubSpotBatchError

__all__ = ["BatchResult", "Outcome", "OutcomeError", "OutcomeStatus", "Progress", "Stats"]


class OutcomeStatus(enum.StrEnum):
    """What happened to one input."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NOT_SENT = "not_sent"
    UNCHANGED = "unchanged"
    """Not sent because HubSpot already has this payload (incremental sync: ``sync_state=``)."""


@attrs.frozen(slots=True)
class OutcomeError:
    """Why an input failed or was not sent.

    ``category``, ``message``, ``context``, ``status_code`` and
    ``correlation_id`` are HubSpot's where HubSpot answered; for inputs that
    were never accepted by HubSpot ``category`` is one of ours, such as
    ``INVALID_INPUT``, ``DAILY_LIMIT``, ``STOPPED``, ``RETRIES_EXHAUSTED`` or
    ``MISSING_RESULT``.
    """

    category: str
    message: str
    status_code: int | None = None
    context: Mapping[str, Any] | str | None = None
    correlation_id: str | None = None
    sub_category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (keys as in HubSpot's bodies)."""
        out: dict[str, Any] = {"category": self.category, "message": self.message}
        if self.status_code is not None:
            out["statusCode"] = self.status_code
        if self.context is not None:
            out["context"] = self.context
        if self.correlation_id:
            out["correlationId"] = self.correlation_id
        if self.sub_category:
            out["subCategory"] = self.sub_category
        return out


def _no_parse(raw: Mapping[str, Any]) -> Any:
    return raw


@attrs.frozen(slots=True)
class Outcome:
    """The outcome of one input.

    ``input`` is the row as sent (with any id or trace id the client added);
    ``raw`` is HubSpot's result item as JSON, and ``result`` the same parsed
    into the generated model; ``note`` explains special successes such as a
    timeline event that already existed because an earlier attempt of this job
    created it.
    """

    index: int
    status: OutcomeStatus
    input: Mapping[str, Any]
    raw: Mapping[str, Any] | None = None
    error: OutcomeError | None = None
    note: str | None = None
    _parse: Callable[[Mapping[str, Any]], Any] = attrs.field(default=_no_parse, eq=False, repr=False, alias="parse")

    @property
    def ok(self) -> bool:
        """True when the input succeeded."""
        return self.status is OutcomeStatus.SUCCEEDED

    @property
    def result(self) -> Any:
        """HubSpot's result for this input as the generated model (``None`` if there is none).

        Parsed on each access from :attr:`raw`; keep the value if you use it often.
        """
        return None if self.raw is None else self._parse(self.raw)

    def describe(self) -> str:
        """One line for logs and failure reports."""
        if self.error is None:
            return f"input {self.index}: {self.status.value}" + (f" ({self.note})" if self.note else "")
        code = f" {self.error.status_code}" if self.error.status_code else ""
        return f"input {self.index}: {self.status.value}{code} {self.error.category}: {self.error.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: index, status, and the result or error."""
        out: dict[str, Any] = {"index": self.index, "status": self.status.value}
        if self.raw is not None:
            out["result"] = dict(self.raw)
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.note:
            out["note"] = self.note
        return out


_SETTERS: dict[str, Callable[[Outcome, Any], None]] = {
    a.name: getattr(Outcome, a.name).__set__ for a in attrs.fields(Outcome)
}
_new_object = object.__new__
_set_index, _set_status, _set_input, _set_raw = (
    _SETTERS["index"],
    _SETTERS["status"],
    _SETTERS["input"],
    _SETTERS["raw"],
)
_set_error, _set_note, _set_parse = _SETTERS["error"], _SETTERS["note"], _SETTERS["_parse"]


def _built(
    index: int,
    status: OutcomeStatus,
    row: Mapping[str, Any],
    raw: Mapping[str, Any] | None,
    note: str | None,
    parse: Callable[[Any], Any],
) -> Outcome:
    """An :class:`Outcome` built through the slots' own setters.

    attrs' ``__init__`` of a frozen class goes through ``object.__setattr__``
    for each field, about twice the time.
    """
    outcome: Outcome = _new_object(Outcome)
    _set_index(outcome, index)
    _set_status(outcome, status)
    _set_input(outcome, row)
    _set_raw(outcome, raw)
    _set_error(outcome, None)
    _set_note(outcome, note)
    _set_parse(outcome, parse)
    return outcome


def succeeded(index: int, row: Mapping[str, Any], raw: Mapping[str, Any], parse: Callable[[Any], Any]) -> Outcome:
    """``Outcome(index, SUCCEEDED, row, raw=raw, parse=parse)``, built in about half the time.

    The engine makes one per input that succeeded. A test checks the two are equal.
    """
    return _built(index, OutcomeStatus.SUCCEEDED, row, raw, None, parse)


def unchanged(index: int, row: Mapping[str, Any], note: str) -> Outcome:
    """``Outcome(index, UNCHANGED, row, note=note)``, built as :func:`succeeded` builds its outcomes."""
    return _built(index, OutcomeStatus.UNCHANGED, row, None, note, _no_parse)


@attrs.frozen(slots=True)
class Stats:
    """Counters of one call: requests sent, retries, 429s met, splits, time taken.

    ``deprecated`` is the value of the first ``X-HubSpot-API-Deprecated``
    header HubSpot answered with (None when it never did): HubSpot's word
    that the endpoint at this version is deprecated.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    splits: int = 0
    elapsed: float = 0.0
    deprecated: str | None = None

    def __add__(self, other: Stats) -> Stats:
        return Stats(
            requests=self.requests + other.requests,
            retries=self.retries + other.retries,
            rate_limited=self.rate_limited + other.rate_limited,
            splits=self.splits + other.splits,
            elapsed=max(self.elapsed, other.elapsed),
            deprecated=self.deprecated if self.deprecated is not None else other.deprecated,
        )


@attrs.frozen(slots=True)
class Progress:
    """A snapshot for progress displays, passed to a ``progress`` callback after each batch.

    ``total`` is the number of inputs when known (``None`` while streaming).
    ``unchanged`` counts inputs not sent because HubSpot already had them;
    ``waiting_until`` (epoch seconds) is set while the job waits for the
    daily limit's reset (``wait_for_reset=True``).
    """

    done: int
    succeeded: int
    failed: int
    not_sent: int
    total: int | None
    stats: Stats
    unchanged: int = 0
    waiting_until: float | None = None


@attrs.frozen(slots=True)
class BatchResult:
    """The outcomes of one call, in input order, with counts and statistics.

    ``len(result)`` is the number of inputs; iterate it for every
    :class:`Outcome`. ``succeeded``, ``failed`` and ``not_sent`` are tuples of
    outcomes; ``ok`` is true when every input succeeded; ``raise_for_errors()``
    raises :class:`~hubspot_batch.BatchFailedError` otherwise. ``stopped_by``
    says why the job stopped early (daily limit, authentication...), and
    ``error`` is that exception. ``api_version`` is the API version the
    inputs were sent to (``"latest"`` resolved: ``"2026-09"``, ``"v4"``...).
    """

    outcomes: tuple[Outcome, ...]
    stats: Stats = Stats()
    stopped_by: str | None = None
    error: HubSpotBatchError | None = attrs.field(default=None, eq=False)
    api_version: str | None = None
    _by_status: dict[OutcomeStatus, tuple[Outcome, ...]] | None = attrs.field(
        default=None, init=False, repr=False, eq=False
    )

    def _with_status(self, status: OutcomeStatus) -> tuple[Outcome, ...]:
        groups = self._by_status
        if groups is None:  # sorted on first use: a streamed part is often only iterated
            lists: dict[OutcomeStatus, list[Outcome]] = {s: [] for s in OutcomeStatus}
            for outcome in self.outcomes:
                lists[outcome.status].append(outcome)
            groups = {s: tuple(found) for s, found in lists.items()}
            object.__setattr__(self, "_by_status", groups)
        return groups[status]

    @property
    def succeeded(self) -> tuple[Outcome, ...]:
        """The outcomes of the inputs that succeeded, in input order."""
        return self._with_status(OutcomeStatus.SUCCEEDED)

    @property
    def failed(self) -> tuple[Outcome, ...]:
        """The outcomes of the inputs that failed, in input order."""
        return self._with_status(OutcomeStatus.FAILED)

    @property
    def unchanged(self) -> tuple[Outcome, ...]:
        """The outcomes of the inputs not sent because HubSpot already had them (``sync_state=``), in input order."""
        return self._with_status(OutcomeStatus.UNCHANGED)

    @property
    def not_sent(self) -> tuple[Outcome, ...]:
        """The outcomes of the inputs that were never sent (the job stopped first), in input order."""
        return self._with_status(OutcomeStatus.NOT_SENT)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def __getitem__(self, position: int) -> Outcome:
        return self.outcomes[position]

    @property
    def ok(self) -> bool:
        """True when every input succeeded."""
        return not self.failed and not self.not_sent

    @property
    def counts(self) -> Mapping[str, int]:
        """Number of inputs per status, e.g. ``{"succeeded": 98, "failed": 2, "not_sent": 0}``."""
        return {
            OutcomeStatus.SUCCEEDED.value: len(self.succeeded),
            OutcomeStatus.FAILED.value: len(self.failed),
            OutcomeStatus.NOT_SENT.value: len(self.not_sent),
            OutcomeStatus.UNCHANGED.value: len(self.unchanged),
        }

    @property
    def results(self) -> list[Any]:
        """The typed results of the inputs that succeeded, in input order."""
        return [o.result for o in self.succeeded]

    def raise_for_errors(self) -> BatchResult:
        """Raise :class:`~hubspot_batch.BatchFailedError` unless every input succeeded; else return self.

        When the job stopped early, the stopping error (authentication, missing
        scopes, daily limit) is raised instead, with ``.result`` set.
        """
        if self.ok:
            return self
        if self.error is not None:
            self.error.result = self
            raise self.error
        raise BatchFailedError(self)

    def summary(self) -> str:
        """One line: counts, requests, 429s and time."""
        c = self.counts
        s = self.stats
        return (
            f"{len(self)} inputs: {c['succeeded']} succeeded, "
            + (f"{c['unchanged']} unchanged, " if c["unchanged"] else "")
            + f"{c['failed']} failed, {c['not_sent']} not sent; "
            f"{s.requests} requests, {s.retries} retries, {s.rate_limited} rate-limited, {s.elapsed:.1f}s"
            + (f"; stopped: {self.stopped_by}" if self.stopped_by else "")
        )

    @classmethod
    def combine(cls, parts: Iterable[BatchResult], stats: Stats | None = None) -> BatchResult:
        """One result from several parts (outcomes re-sorted by index)."""
        parts = list(parts)
        outcomes: Sequence[Outcome] = sorted((o for p in parts for o in p.outcomes), key=lambda o: o.index)
        total = stats if stats is not None else sum((p.stats for p in parts), Stats())
        stopped = next((p for p in parts if p.stopped_by), None)
        return cls(
            tuple(outcomes),
            stats=total,
            stopped_by=stopped.stopped_by if stopped else None,
            error=stopped.error if stopped else None,
            api_version=next((p.api_version for p in parts if p.api_version), None),
        )
