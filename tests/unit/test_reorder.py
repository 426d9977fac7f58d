"""The reorderer: outcomes come back in input order, whatever order batches finish in."""

from __future__ import annotations

from hubspot_batch._reorder import End, Reorderer, follows
from hubspot_batch._results import Outcome, OutcomeStatus


def _outcomes(*indexes: int) -> list[Outcome]:
    return [Outcome(i, OutcomeStatus.SUCCEEDED, {"id": str(i)}) for i in indexes]


def _indexes(outcomes: list[Outcome]) -> list[int]:
    return [o.index for o in outcomes]


def test_follows_says_whether_outcomes_are_the_next_inputs_in_order() -> None:
    assert follows(_outcomes(3, 4, 5), 3)
    assert not follows(_outcomes(4, 3), 3)
    assert not follows(_outcomes(4, 5), 3)
    assert not follows([], 0)


def test_outcomes_in_order_are_handed_on_as_they_are() -> None:
    reorder = Reorderer()
    first, second = _outcomes(0, 1), _outcomes(2, 3, 4)
    assert reorder.add(first) is first  # the usual case: no copy
    assert reorder.add(second) is second
    assert reorder.next_index == 5
    assert not reorder.waiting


def test_a_block_that_finishes_early_waits_for_the_inputs_before_it() -> None:
    reorder = Reorderer()
    assert reorder.add(_outcomes(2, 3)) == []
    assert reorder.add(_outcomes(4)) == []
    assert _indexes(reorder.add(_outcomes(0, 1))) == [0, 1, 2, 3, 4]
    assert not reorder.waiting


def test_interleaved_blocks_are_released_as_far_as_they_reach() -> None:
    reorder = Reorderer()
    assert reorder.add(_outcomes(1, 4)) == []
    assert _indexes(reorder.add(_outcomes(0))) == [0, 1]
    assert _indexes(reorder.add(_outcomes(3, 2))) == [2, 3, 4]
    assert _indexes(reorder.add(_outcomes(5))) == [5]


def test_the_end_marker_says_when_every_input_read_is_done() -> None:
    reorder = Reorderer()
    assert not reorder.complete
    assert reorder.add(_outcomes(1)) == []
    assert reorder.add(End(2)) == []
    assert reorder.read == 2
    assert not reorder.complete
    assert _indexes(reorder.add(_outcomes(0))) == [0, 1]
    assert reorder.complete
    assert reorder.gap() is None


def test_no_rows_read_is_complete_at_once() -> None:
    reorder = Reorderer()
    assert reorder.add(End(0)) == []
    assert reorder.complete


def test_a_gap_after_the_end_marker_names_the_inputs_without_an_outcome() -> None:
    reorder = Reorderer()
    assert reorder.gap() is None  # no end yet: nothing is known to be missing
    assert _indexes(reorder.add(_outcomes(0))) == [0]
    assert reorder.add(_outcomes(3)) == []
    reorder.add(End(4))
    assert not reorder.complete
    assert reorder.gap() == range(1, 4)
