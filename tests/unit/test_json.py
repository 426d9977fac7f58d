"""JSON in and out: orjson where it writes and reads exactly what the json module does, the json module elsewhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot_batch._json import decode, encode_plain, encode_strict
from hypothesis import given
from hypothesis import strategies as st

_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(_PLAIN)
def test_plain_values_are_written_byte_for_byte_as_the_json_module_writes_them(value: Any) -> None:
    try:
        strict = encode_strict(value)
    except ValueError:  # a lone surrogate: both refuse it
        with pytest.raises((TypeError, ValueError)):
            encode_plain(value)
        return
    assert encode_plain(value) == strict
    assert json.loads(strict) == value


def test_the_strict_way_refuses_what_json_cannot_carry() -> None:
    for bad in (float("nan"), float("inf"), "a\ud800", object()):
        with pytest.raises((TypeError, ValueError)):
            encode_strict({"v": bad})


@pytest.mark.parametrize(
    "body",
    [
        b'{"score": NaN, "big": 123456789012345678901234567890}',  # orjson refuses NaN
        b'{"text": "\\ud800"}',  # an escaped lone surrogate: orjson refuses it too
        b'{"results": [{"id": "1"}], "errors": []}',
    ],
)
def test_answers_are_read_as_the_json_module_reads_them(body: bytes) -> None:
    expected = json.loads(body)
    got = decode(body)
    assert got == expected or json.dumps(got) == json.dumps(expected)  # NaN != NaN


def test_a_body_that_is_not_json_raises_value_error() -> None:
    for body in (b"<html>502</html>", b'{"status": "COMP', b""):
        with pytest.raises(ValueError):
            decode(body)
