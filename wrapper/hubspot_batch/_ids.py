"""Deterministic ids for creates: the same input row gets the same id on every run.

Timeline events are immutable and their ``id`` is unique per app and
template (or event type). With random ids a re-run creates every event
again; with ``id_from=`` a row without an ``id`` gets a UUID5 of the named
fields (or of what a callable returns), namespaced by the endpoint and the
row's template or event type, so running the same input twice creates each
event once — the second run finds it "already exists" and reports success.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._endpoints import Endpoint

__all__ = ["IdFrom", "NAMESPACE", "deterministic_id", "with_id_from"]

IdFrom = Sequence[str] | Callable[[Mapping[str, Any]], str]
"""Field names whose values make the id, or a callable returning the text the id is made from."""

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/hubspot-batch/ids")
"""The UUID5 namespace of every id the library derives (fixed forever: changing it would re-create events)."""

_KINDS = ("eventTemplateId", "eventTypeName")


def _fields(id_from: IdFrom) -> tuple[str, ...] | None:
    if callable(id_from):
        return None
    if isinstance(id_from, str):
        id_from = [f.strip() for f in id_from.split(",")]
    fields = tuple(id_from)
    if not fields or not all(isinstance(f, str) and f for f in fields):
        from ._errors import ConfigurationError

        raise ConfigurationError(f"id_from must name one or more fields (or be a callable), got {id_from!r}")
    return fields


def deterministic_id(endpoint: str, row: Mapping[str, Any], id_from: IdFrom) -> str | None:
    """The id ``id_from`` derives for ``row`` (None when a named field is missing or empty)."""
    kind = next((str(row[k]) for k in _KINDS if row.get(k) not in (None, "")), "")
    fields = _fields(id_from)
    if fields is None:
        assert callable(id_from)
        name = id_from(row)
        if not isinstance(name, str) or not name:
            return None
    else:
        values = [row.get(f) for f in fields]
        if any(v in (None, "") for v in values):
            return None
        name = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return str(uuid.uuid5(NAMESPACE, f"{endpoint}\x1f{kind}\x1f{name}"))


def with_id_from(endpoint: Endpoint, id_from: IdFrom) -> Endpoint:
    """``endpoint`` whose rows without an ``id`` get the id ``id_from`` derives.

    A row missing a named field is an input error (before anything is sent).
    """
    from ._errors import ConfigurationError

    if not endpoint.creates:
        raise ConfigurationError(f"id_from applies to endpoints that create (timeline events), not {endpoint.name}")
    fields = _fields(id_from)
    earlier = endpoint.extra_check

    def make(row: Mapping[str, Any]) -> str | None:
        return deterministic_id(endpoint.name, row, id_from)

    def check(row: Mapping[str, Any], problems: list[tuple[str, str]]) -> None:
        if earlier is not None:
            earlier(row, problems)
        if row.get("id"):
            return
        if fields is not None:
            for name in fields:
                if row.get(name) in (None, ""):
                    problems.append((name, "is named by id_from but missing: the row's id cannot be derived"))
        elif make(row) is None:
            problems.append(("id", "id_from returned no text for this row: its id cannot be derived"))

    return attrs.evolve(endpoint, extra_check=check, make_id=make)
