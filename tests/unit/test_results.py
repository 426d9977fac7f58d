"""Outcomes built by the engine's fast constructor are the outcomes attrs would build."""

from __future__ import annotations

import attrs
import pytest
from hubspot_batch._results import Outcome, OutcomeStatus, succeeded, unchanged


def _parse(raw: object) -> object:
    return ("parsed", raw)


def test_the_fast_constructor_builds_the_same_outcome() -> None:
    fast = succeeded(3, {"id": "1"}, {"id": "1", "archived": False}, _parse)
    slow = Outcome(3, OutcomeStatus.SUCCEEDED, {"id": "1"}, raw={"id": "1", "archived": False}, parse=_parse)
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert attrs.asdict(fast) == attrs.asdict(slow)
    assert fast.ok and fast.result == ("parsed", {"id": "1", "archived": False})
    assert (fast.error, fast.note) == (None, None)


def test_the_unchanged_constructor_builds_the_same_outcome() -> None:
    fast = unchanged(7, {"id": "1"}, "not sent")
    slow = Outcome(7, OutcomeStatus.UNCHANGED, {"id": "1"}, note="not sent")
    assert fast == slow and repr(fast) == repr(slow) and attrs.asdict(fast) == attrs.asdict(slow)
    assert fast.result is None and not fast.ok and fast.to_dict() == slow.to_dict()


def test_it_is_as_frozen_as_any_outcome() -> None:
    outcome = succeeded(0, {}, {}, _parse)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        outcome.index = 1  # type: ignore[misc]
