"""Shared pieces of the endpoint handlers: context, result, field checks."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import attrs

from ._config import SandboxConfig
from ._errors import duplicate_ids_error, validation_error
from ._state import SandboxState

__all__ = [
    "EndpointContext",
    "EndpointHandler",
    "EndpointResult",
    "check_duplicates",
    "opt_str",
    "req_int",
    "req_str",
]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


@attrs.frozen
class EndpointContext:
    """What a handler may use: config, state, the request time, path parameters."""

    config: SandboxConfig
    state: SandboxState
    now: str
    app_id: int | None = None
    version: str = ""


@attrs.frozen
class EndpointResult:
    """A handled batch: HTTP status, result items and per-input errors."""

    status: int
    results: list[dict[str, Any]] = attrs.field(hash=False)
    errors: list[dict[str, Any]] = attrs.field(factory=list, hash=False)


#: A handler: validated context and the ``inputs`` list (each a JSON object) -> result.
EndpointHandler = Callable[[EndpointContext, list[dict[str, Any]]], EndpointResult]


def req_str(item: Mapping[str, Any], key: str, index: int) -> str:
    """A required string field, else a whole-batch 400."""
    value = item.get(key)
    if not isinstance(value, str):
        raise validation_error(f"Invalid input: inputs[{index}].{key} is required and must be a string")
    return value


def opt_str(item: Mapping[str, Any], key: str, index: int) -> str | None:
    """An optional string field (null allowed), else a whole-batch 400."""
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise validation_error(f"Invalid input: inputs[{index}].{key} must be a string")
    return value


def req_int(item: Mapping[str, Any], key: str, index: int, bounds: tuple[int, int]) -> int:
    """A required integer field within ``bounds``, else a whole-batch 400."""
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation_error(f"Invalid input: inputs[{index}].{key} is required and must be an integer")
    if not bounds[0] <= value <= bounds[1]:
        raise validation_error(f"Invalid input: inputs[{index}].{key} is out of range: {value}")
    return value


def check_duplicates(ids: Sequence[str], keys: Sequence[Hashable] | None = None) -> None:
    """Raise HubSpot's whole-batch duplicate-ids 400 if any key repeats.

    ``keys`` (default: ``ids``) decide what counts as a repeat; ``ids`` name them.
    """
    seen: set[Hashable] = set()
    dups: dict[str, None] = {}
    for key, id_ in zip(ids if keys is None else keys, ids, strict=True):
        if key in seen:
            dups[id_] = None
        seen.add(key)
    if dups:
        raise duplicate_ids_error(list(dups))
