"""Tie a batch response's results and errors back to the inputs that were sent.

HubSpot answers a batch with ``results`` (in no promised order) and, for
partial failures, ``errors`` whose ``context`` names the inputs concerned
(``ids``, ``subscriptionIds``, ``objectWriteTraceId``...). :func:`map_response`
gives each sent item its outcome, and returns the items HubSpot said nothing
about so that the engine can send them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._chunks import Item
from ._endpoints import Endpoint, _text
from ._results import Outcome, OutcomeError, OutcomeStatus
from ._results import succeeded as succeeded_outcome
from ._retry import hubspot_error

__all__ = ["map_response"]

ALREADY_CREATED_NOTE = "already existed: created by an earlier attempt of this job whose answer was lost"


def _norm(endpoint: Endpoint, field: str, value: Any) -> str:
    text = _text(value)
    return text.lower() if field in endpoint.casefold else text


def _context_constraints(endpoint: Endpoint, context: Any) -> dict[str, set[str]]:
    """Input field -> the values an error's context names for it."""
    constraints: dict[str, set[str]] = {}
    if not isinstance(context, Mapping):
        return constraints
    for key, field in endpoint.error_keys.items():
        values = context.get(key)
        if values is None:
            continue
        if isinstance(values, str | int):
            values = [values]
        if isinstance(values, list):
            constraints.setdefault(field, set()).update(_norm(endpoint, field, v) for v in values)
    return constraints


def _matches(endpoint: Endpoint, item: Item, constraints: Mapping[str, set[str]]) -> bool:
    for field, allowed in constraints.items():
        value = item.row.get(field)
        if value is None or _norm(endpoint, field, value) not in allowed:
            return False
    return True


def _key(endpoint: Endpoint, fields: tuple[str, ...], row: Mapping[str, Any]) -> tuple[str, ...] | None:
    key = []
    for field in fields:
        value = row.get(field)
        if value is None:
            return None
        key.append(_norm(endpoint, field, value))
    return tuple(key)


def _in_order(
    endpoint: Endpoint, items: Sequence[Item], results: list[Any], parse: Callable[[Any], Any]
) -> list[Outcome] | None:
    """Successes for all items if result ``n`` echoes the key of item ``n`` (first key alternative), else None.

    HubSpot usually answers in input order: this check is the fast path
    that spares building lookup tables.
    """
    by = endpoint.result_keys[0]
    outcomes: list[Outcome] = []
    if len(by) == 1 and by[0] not in endpoint.casefold:
        field = by[0]
        for item, raw in zip(items, results, strict=True):
            if type(raw) is not dict and not isinstance(raw, Mapping):
                return None
            row = item.row
            got, want = raw.get(field), row.get(field)
            if got is None or (got != want and _text(got) != _text(want)):
                return None
            outcomes.append(succeeded_outcome(item.index, row, raw, parse))
        return outcomes
    for item, raw in zip(items, results, strict=True):
        if not isinstance(raw, Mapping):
            return None
        key = _key(endpoint, by, raw)
        if key is None or key != _key(endpoint, by, item.row):
            return None
        outcomes.append(succeeded_outcome(item.index, item.row, raw, parse))
    return outcomes


def map_response(
    endpoint: Endpoint,
    items: Sequence[Item],
    body: Mapping[str, Any],
    *,
    status_code: int,
    maybe_landed: bool,
    existing_is_success: bool,
) -> tuple[list[Outcome], list[Item]]:
    """Outcomes for the items a 2xx body speaks of, and the items it is silent about.

    A create whose error says "already exists" counts as a success when an
    earlier attempt of this job may have created it (``maybe_landed``) or the
    caller said existing ids are fine (``existing_is_success``).
    """
    decided: dict[int, Outcome] = {}
    parse = endpoint.parse_result
    tables: dict[tuple[str, ...], dict[tuple[str, ...], list[Item]]] = {}

    def table(fields: tuple[str, ...]) -> dict[tuple[str, ...], list[Item]]:
        found = tables.get(fields)
        if found is None:  # built on first use: most answers match on the first alternative
            found = tables[fields] = {}
            for item in items:
                key = _key(endpoint, fields, item.row)
                if key is not None:
                    found.setdefault(key, []).append(item)
        return found

    succeeded = OutcomeStatus.SUCCEEDED
    raw_results, raw_errors = body.get("results"), body.get("errors")
    results: list[Any] = raw_results if isinstance(raw_results, list) else []
    errors: list[Any] = raw_errors if isinstance(raw_errors, list) else []
    if not errors and len(results) == len(items):
        in_order = _in_order(endpoint, items, results, parse)
        if in_order is not None:
            return in_order, []
    for raw in results:
        if not isinstance(raw, Mapping):
            continue
        for fields in endpoint.result_keys:
            key = _key(endpoint, fields, raw)
            if key is None:
                continue
            candidates = table(fields).get(key, ())
            for item in candidates:
                if item.index not in decided:
                    decided[item.index] = Outcome(item.index, succeeded, item.row, raw=raw, parse=parse)
                    break
            if candidates:
                break

    unattributed: list[OutcomeError] = []
    for entry in errors:
        if not isinstance(entry, Mapping):
            continue
        error = hubspot_error(status_code, entry, fallback="HubSpot reported an error for this input")
        constraints = _context_constraints(endpoint, entry.get("context"))
        concerned = (
            [i for i in items if i.index not in decided and _matches(endpoint, i, constraints)] if constraints else []
        )
        if not concerned:
            unattributed.append(error)
            continue
        already = endpoint.creates and endpoint.is_already_exists(entry) and (maybe_landed or existing_is_success)
        for item in concerned:
            if already:
                decided[item.index] = Outcome(
                    item.index, OutcomeStatus.SUCCEEDED, item.row, note=ALREADY_CREATED_NOTE, parse=parse
                )
            else:
                decided[item.index] = Outcome(item.index, OutcomeStatus.FAILED, item.row, error=error, parse=parse)

    silent = [i for i in items if i.index not in decided]
    if silent and unattributed:
        error = attrs.evolve(
            unattributed[0],
            message=f"{unattributed[0].message} (HubSpot's error did not say which input it concerns)",
        )
        for item in silent:
            decided[item.index] = Outcome(item.index, OutcomeStatus.FAILED, item.row, error=error, parse=parse)
        silent = []
    return [decided[i.index] for i in items if i.index in decided], silent
