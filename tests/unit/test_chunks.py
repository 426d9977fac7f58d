"""Chunking: size limits, duplicate keys pushed to later batches, order kept."""

from __future__ import annotations

from hubspot_batch._chunks import Item, chunk_all
from hypothesis import given
from hypothesis import strategies as st


def items(keys: list[int]) -> list[Item]:
    return [Item(i, {"id": str(k)}, k, b"{}") for i, k in enumerate(keys)]


def test_plain_chunks_of_the_size() -> None:
    chunks = chunk_all(items(list(range(250))), 100)
    assert [len(c.items) for c in chunks] == [100, 100, 50]
    assert [i.index for c in chunks for i in c.items] == list(range(250))


def test_duplicate_goes_to_the_next_batch_in_order() -> None:
    chunks = chunk_all(items([1, 2, 1, 3, 1]), 10)
    assert [[i.index for i in c.items] for c in chunks] == [[0, 1, 3], [2], [4]]


@given(st.lists(st.integers(min_value=0, max_value=15), max_size=300), st.integers(min_value=1, max_value=20))
def test_chunk_properties(keys: list[int], size: int) -> None:
    chunks = chunk_all(items(keys), size)
    seen = [i.index for c in chunks for i in c.items]
    assert sorted(seen) == list(range(len(keys)))  # every item exactly once
    for chunk in chunks:
        assert 1 <= len(chunk.items) <= size
        assert len({i.key for i in chunk.items}) == len(chunk.items)  # no duplicate key in a batch
    # the writes of one key go out in input order
    for key in set(keys):
        order = [i.index for c in chunks for i in c.items if i.key == key]
        assert order == sorted(order)
