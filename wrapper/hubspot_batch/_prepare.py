"""Caller rows -> prepared items ready to send, or the outcomes of rows that cannot be sent.

Each row is checked against its endpoint's schema and rules, completed (ids
the client adds) and encoded to JSON once, here; :func:`prepared_source`
streams them in blocks for a job, :func:`check_all` only looks for problems.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from . import _json
from ._chunks import Item
from ._endpoints import Endpoint
from ._errors import InputIssue, InputValidationError
from ._json import encode_strict
from ._results import Outcome, OutcomeError, OutcomeStatus

if TYPE_CHECKING:
    from ._sync import UnchangedFilter

__all__ = [
    "BLOCK",
    "OnInvalid",
    "RowPreparer",
    "check_all",
    "invalid_outcome",
    "prepare_row",
    "prepared_source",
    "row_preparer",
]

OnInvalid = Literal["raise", "skip"]
"""What an invalid row does: raise :class:`InputValidationError`, or become a failed outcome."""


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


RowPreparer = Callable[[int, Any], "Item | list[InputIssue]"]
"""``prepare(index, row)``: an :class:`Item` ready to send, or the problems found in the row."""


def row_preparer(endpoint: Endpoint, job_id: str) -> RowPreparer:
    """The :func:`prepare_row` of one endpoint and job, with what it looks up bound once.

    A dict row that the endpoint's compiled schema passes (``checker().passes``,
    see :mod:`._validate`) is copied, completed, encoded and done; any other
    row, and any row with a problem, takes the full way, which names every
    problem. Both ways give the same :class:`Item` for the same row.
    """
    passes = endpoint.checker().passes
    encode = _json.encode_plain
    complete = endpoint.prepare
    extra_check = endpoint.extra_check
    duplicate_key = endpoint.duplicate_key

    def prepare(index: int, row: Any) -> Item | list[InputIssue]:
        if type(row) is dict and passes(row):
            data = row.copy()
            complete(data, job_id, index)
            body = _plain_json(data, extra_check, encode)
            if body is not None:
                return Item(index, data, duplicate_key(data), body)
        return prepare_row(endpoint, index, row, job_id)

    return prepare


def _plain_json(
    data: dict[str, Any],
    extra_check: Callable[[Mapping[str, Any], list[tuple[str, str]]], None] | None,
    encode: Callable[[Any], bytes],
) -> bytes | None:
    """The JSON of a row the schema passed, or None when the full way must look (a rule, a lone surrogate)."""
    if extra_check is not None:
        problems: list[tuple[str, str]] = []
        extra_check(data, problems)
        if problems:
            return None
    try:
        return encode(data)
    except (TypeError, ValueError, RecursionError):
        return None


def prepare_row(endpoint: Endpoint, index: int, row: Any, job_id: str) -> Item | list[InputIssue]:
    """One caller row -> an :class:`Item` ready to send, or the problems found in it.

    Accepts a mapping or a generated input model. ``None`` values of
    top-level fields are dropped and ``datetime`` values become ISO 8601
    strings. Ids the client adds (timeline event ids, trace ids) are filled
    in first. The row is encoded here, once (by orjson when the schema passes
    it, as in :func:`row_preparer`): a value JSON cannot carry (NaN, a lone
    surrogate, an object of an unknown type) is a problem of this row.
    """
    if type(row) is dict or isinstance(row, Mapping):
        data = {key: value for key, value in row.items() if value is not None}
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = _iso(value)
    elif isinstance(row, endpoint.input_model):
        data = row.to_dict()  # type: ignore[attr-defined]
    else:
        kind = type(row).__name__
        return [InputIssue(index, "", f"must be a dict or a {endpoint.input_model.__name__}, got {kind}")]
    endpoint.prepare(data, job_id, index)
    checker = endpoint.checker()
    body = _plain_json(data, endpoint.extra_check, _json.encode_plain) if checker.passes(data) else None
    if body is None:
        problems = checker.problems(data)
        if endpoint.extra_check is not None:
            endpoint.extra_check(data, problems)
        if problems:
            return [InputIssue(index, path, message) for path, message in problems]
        try:
            body = encode_strict(data)
        except (TypeError, ValueError, RecursionError) as exc:  # what the checker could not see (a deep stack)
            return [InputIssue(index, "", f"cannot be sent as JSON: {exc}")]
    return Item(index, data, endpoint.duplicate_key(data), body)


def invalid_outcome(index: int, row: Any, issues: list[InputIssue]) -> Outcome:
    """The outcome of a row skipped for failing validation."""
    message = "; ".join(f"{i.field or 'row'}: {i.message}" for i in issues)
    error = OutcomeError(category="INVALID_INPUT", message=message, context={"fields": [i.field for i in issues]})
    shown = dict(row) if isinstance(row, Mapping) else {"value": repr(row)}
    return Outcome(index, OutcomeStatus.FAILED, shown, error=error)


BLOCK = 100
"""Rows prepared per step of the source (one await per block, not per row)."""


async def prepared_source(
    endpoint: Endpoint,
    rows: Iterable[Any] | AsyncIterable[Any],
    job_id: str,
    on_invalid: OnInvalid,
    unchanged: UnchangedFilter | None = None,
) -> AsyncIterator[list[Item | Outcome]]:
    """Prepare rows lazily from a sync or async iterable, in blocks of :data:`BLOCK`.

    An invalid row raises :class:`InputValidationError` (``on_invalid="raise"``)
    or becomes a failed outcome (``"skip"``). When reading or checking fails,
    the rows prepared before it are yielded first, then the error is raised.
    With ``unchanged`` (incremental sync), rows HubSpot already has become
    ``UNCHANGED`` outcomes: found among the caller's rows before preparing
    (:meth:`~._sync.UnchangedFilter.before`), then among the prepared ones
    (:meth:`~._sync.UnchangedFilter.after`).
    """
    prepare = row_preparer(endpoint, job_id)
    index = 0
    async for rows_read in _blocks(rows):
        block, error = _prepare_block(prepare, index, rows_read, on_invalid, unchanged)
        index += len(rows_read)
        if block:
            yield block
        if error is not None:
            raise error


async def _blocks(rows: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[list[Any]]:
    """The caller's rows in lists of :data:`BLOCK`; when reading fails, the rows read before it, then the error."""
    block: list[Any] = []
    try:
        if isinstance(rows, AsyncIterable):
            async for row in rows:
                block.append(row)
                if len(block) >= BLOCK:
                    yield block
                    block = []
        else:
            for row in rows:
                block.append(row)
                if len(block) >= BLOCK:
                    yield block
                    block = []
    except Exception:
        if block:
            yield block
        raise
    if block:
        yield block


def _prepare_block(
    prepare: RowPreparer, start: int, rows: list[Any], on_invalid: OnInvalid, unchanged: UnchangedFilter | None
) -> tuple[list[Item | Outcome], InputValidationError | None]:
    """One block of rows (the first at input index ``start``) prepared, and the error that stopped it, if any.

    On an invalid row with ``on_invalid="raise"`` the block holds the rows
    before it, and the error is returned for the caller to raise once those
    are handed on.
    """
    decided: dict[int, Outcome] = {}
    if unchanged is not None:
        decided, looked = unchanged.before(start, rows)
    block: list[Item | Outcome] = []
    error: InputValidationError | None = None
    if len(decided) == len(rows):
        block.extend(decided.values())
    else:
        for position, row in enumerate(rows):
            outcome = decided.get(position) if decided else None
            if outcome is not None:
                block.append(outcome)
                continue
            index = start + position
            prepared = prepare(index, row)
            if isinstance(prepared, Item):
                block.append(prepared)
            elif on_invalid == "raise":
                error = InputValidationError(prepared)
                break
            else:
                block.append(invalid_outcome(index, row, prepared))
    if unchanged is not None:
        block = unchanged.after(block, looked)
    return block, error


def check_all(endpoint: Endpoint, rows: Iterable[Any], job_id: str) -> list[InputIssue]:
    """Every problem in ``rows``, found as :func:`row_preparer` would find them, keeping nothing.

    A row the endpoint's compiled schema passes is only encoded (a lone
    surrogate is the one problem left to find; ids the client fills in
    cannot add one); any other row takes the full way. What passes here
    passes again when the rows are prepared to be sent.
    """
    passes = endpoint.checker().passes
    encode = _json.encode_plain
    extra_check = endpoint.extra_check
    issues: list[InputIssue] = []
    for index, row in enumerate(rows):
        if type(row) is dict and passes(row) and _plain_json(row, extra_check, encode) is not None:
            continue
        prepared = prepare_row(endpoint, index, row, job_id)
        if not isinstance(prepared, Item):
            issues.extend(prepared)
    return issues
