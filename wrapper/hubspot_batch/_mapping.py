"""Tie a batch response's results and errors back to the inputs that were sent.

HubSpot answers a batch with ``results`` (in no promised order) and, for
partial failures, ``errors`` whose ``context`` names the inputs concerned
(``ids``, ``subscriptionIds``, ``objectWriteTraceId``...). :func:`map_response`
gives each sent item its outcome, and returns the items HubSpot said nothing
about so that the engine can send them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._chunks import Item
from ._endpoints import Endpoint, _text
from ._results import Outcome, OutcomeError, OutcomeStatus
from ._retry import hubspot_error

__all__ = ["map_response"]

ALREADY_CREATED_NOTE = "already existed: created by an earlier attempt of this job whose answer was lost"


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
            constraints.setdefault(field, set()).update(_text(v) for v in values)
    return constraints


def _matches(item: Item, constraints: Mapping[str, set[str]]) -> bool:
    return all(_text(item.row.get(field)) in allowed for field, allowed in constraints.items())


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

    lookups: list[dict[tuple[str, ...], list[Item]]] = []
    for alternative in endpoint.result_keys:
        table: dict[tuple[str, ...], list[Item]] = {}
        for item in items:
            if all(item.row.get(f) is not None for f in alternative):
                table.setdefault(tuple(_text(item.row[f]) for f in alternative), []).append(item)
        lookups.append(table)

    for raw in body.get("results") or ():
        if not isinstance(raw, Mapping):
            continue
        for alternative, table in zip(endpoint.result_keys, lookups, strict=True):
            if all(raw.get(f) is not None for f in alternative):
                candidates = table.get(tuple(_text(raw[f]) for f in alternative), ())
                for item in candidates:
                    if item.index not in decided:
                        decided[item.index] = Outcome(
                            item.index, OutcomeStatus.SUCCEEDED, item.row, raw=raw, parse=parse
                        )
                        break
                if candidates:
                    break

    unattributed: list[OutcomeError] = []
    for entry in body.get("errors") or ():
        if not isinstance(entry, Mapping):
            continue
        error = hubspot_error(status_code, entry, fallback="HubSpot reported an error for this input")
        constraints = _context_constraints(endpoint, entry.get("context"))
        concerned = [i for i in items if i.index not in decided and _matches(i, constraints)] if constraints else []
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
        first = unattributed[0]
        message = f"{first.message} (HubSpot's error did not say which input it concerns)"
        error = OutcomeError(
            category=first.category,
            message=message,
            status_code=first.status_code,
            context=first.context,
            correlation_id=first.correlation_id,
            sub_category=first.sub_category,
        )
        for item in silent:
            decided[item.index] = Outcome(item.index, OutcomeStatus.FAILED, item.row, error=error, parse=parse)
        silent = []
    return [decided[i.index] for i in items if i.index in decided], silent
