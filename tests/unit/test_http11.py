"""ResponseReader: HTTP/1.1 response framing without I/O (bytes in, complete responses out)."""

from __future__ import annotations

import itertools

import pytest
from hubspot_batch._http11 import MAX_HEAD, Reply, ResponseError, ResponseReader, request_head
from hypothesis import given, settings
from hypothesis import strategies as st


def as_tuple(reply: Reply | None) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool] | None:
    if reply is None:
        return None
    return (reply.status, reply.reason, reply.headers, reply.body, reply.keep_alive)


def read_whole(data: bytes, *, no_body: bool = False) -> Reply | None:
    reader = ResponseReader()
    reader.start(no_body=no_body)
    return reader.feed(data)


def read_pieces(pieces: list[bytes], *, no_body: bool = False, close: bool = False) -> Reply:
    """Feed ``pieces`` in order; the reply must appear exactly once, with the last piece (or on close)."""
    reader = ResponseReader()
    reader.start(no_body=no_body)
    for n, piece in enumerate(pieces):
        reply = reader.feed(piece)
        if reply is not None:
            assert n == len(pieces) - 1 or all(not p for p in pieces[n + 1 :]), "complete before all bytes arrived"
            assert not close
            return reply
    assert close, "the response never completed"
    reply = reader.close()
    assert reply is not None
    return reply


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


SIMPLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"

CHUNKED = (
    b"HTTP/1.1 207 Multi-Status\r\n"
    b"Content-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"5;name=value\r\n"
    b'{"a":\r\n'
    b"A ; ext\r\n"
    b" [1, 2, 3]\r\n"
    b"1\r\n"
    b"}\r\n"
    b"0;last\r\n"
    b"X-Trailer: yes\r\n"
    b"X-Other: 2\r\n"
    b"\r\n"
)
CHUNKED_REPLY = (
    207,
    b"Multi-Status",
    [(b"Content-Type", b"application/json"), (b"Transfer-Encoding", b"chunked")],
    b'{"a": [1, 2, 3]}',
    True,
)


# --------------------------------------------------------------------------- Content-Length


def test_content_length_in_one_piece() -> None:
    reply = read_whole(SIMPLE)
    assert as_tuple(reply) == (
        200,
        b"OK",
        [(b"Content-Type", b"text/plain"), (b"Content-Length", b"11")],
        b"hello world",
        True,
    )


def test_content_length_byte_by_byte() -> None:
    reader = ResponseReader()
    reader.start()
    assert not reader.received
    for byte in bytewise(SIMPLE)[:-1]:
        assert reader.feed(byte) is None
        assert reader.received
    reply = reader.feed(SIMPLE[-1:])
    assert as_tuple(reply) == as_tuple(read_whole(SIMPLE))
    assert not reader.leftover


def test_content_length_zero_completes_with_the_head() -> None:
    reply = read_whole(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert reply is not None
    assert reply.body == b""


def test_reason_phrase_may_be_missing_or_hold_spaces() -> None:
    reply = read_whole(b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
    assert reply is not None
    assert (reply.status, reply.reason) == (404, b"")
    reply = read_whole(b"HTTP/1.1 503 Service Temporarily Unavailable\r\nContent-Length: 0\r\n\r\n")
    assert reply is not None
    assert (reply.status, reply.reason) == (503, b"Service Temporarily Unavailable")


def test_header_values_are_trimmed_and_order_and_repeats_kept() -> None:
    reply = read_whole(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Pad:  \t v \t\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"
    )
    assert reply is not None
    assert reply.headers == [
        (b"Set-Cookie", b"a=1"),
        (b"X-Pad", b"v"),
        (b"Set-Cookie", b"b=2"),
        (b"Content-Length", b"0"),
    ]


def test_repeated_identical_content_length_is_accepted() -> None:
    reply = read_whole(b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc")
    assert reply is not None
    assert reply.body == b"abc"


def test_body_bytes_are_not_mistaken_for_a_head() -> None:
    body = b"HTTP/1.1 500 Nope\r\n\r\n"
    reply = read_whole(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert reply is not None
    assert (reply.status, reply.body) == (200, body)


# --------------------------------------------------------------------------- chunked


def test_chunked_with_extensions_and_trailers_in_one_piece() -> None:
    assert as_tuple(read_whole(CHUNKED)) == CHUNKED_REPLY


def test_chunked_byte_by_byte() -> None:
    assert as_tuple(read_pieces(bytewise(CHUNKED))) == CHUNKED_REPLY


@pytest.mark.parametrize("cut", range(1, len(CHUNKED)))
def test_chunked_split_in_two_at_every_boundary(cut: int) -> None:
    assert as_tuple(read_pieces([CHUNKED[:cut], CHUNKED[cut:]])) == CHUNKED_REPLY


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CHUNKED)), max_size=30))
def test_chunked_split_anywhere_gives_the_same_reply(cuts: list[int]) -> None:
    assert as_tuple(read_pieces(split_at(CHUNKED, cuts))) == CHUNKED_REPLY


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SIMPLE)), max_size=20))
def test_content_length_split_anywhere_gives_the_same_reply(cuts: list[int]) -> None:
    assert as_tuple(read_pieces(split_at(SIMPLE, cuts))) == as_tuple(read_whole(SIMPLE))


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=40), max_size=8),
    data=st.data(),
)
def test_any_chunked_body_round_trips(chunks: list[bytes], data: st.DataObject) -> None:
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(wire)), max_size=10))
    reply = read_pieces(split_at(wire, cuts))
    assert reply.body == b"".join(chunks)
    assert reply.keep_alive


def test_chunked_without_trailers() -> None:
    reply = read_whole(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert reply is not None
    assert reply.body == b"abc"


def test_chunk_size_is_hex_and_case_insensitive() -> None:
    body = bytes(range(256)) * 2  # 0x200 bytes
    reply = read_whole(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1fF\r\n%s\r\n1\r\n%s\r\n0\r\n\r\n"
        % (body[:-1], body[-1:])
    )
    assert reply is not None
    assert reply.body == body


def test_chunked_wins_over_content_length() -> None:
    reply = read_whole(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    )
    assert reply is not None
    assert reply.body == b"ok"


def test_chunked_response_is_incomplete_until_the_final_blank_line() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n") is None
    reply = reader.feed(b"\r\n")
    assert reply is not None
    assert reply.body == b"ok"


# --------------------------------------------------------------------------- close-delimited


def test_close_delimited_body_completes_only_on_close() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ") is None
    assert reader.feed(b"data") is None
    assert reader.feed(b"") is None
    reply = reader.close()
    assert as_tuple(reply) == (200, b"OK", [(b"Content-Type", b"text/plain")], b"some data", False)


def test_close_delimited_empty_body() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(b"HTTP/1.0 200 OK\r\n\r\n") is None
    reply = reader.close()
    assert reply is not None
    assert (reply.body, reply.keep_alive) == (b"", False)


def test_non_chunked_transfer_encoding_is_read_until_close() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef") is None
    reply = reader.close()
    assert reply is not None
    assert (reply.body, reply.keep_alive) == (b"abcdef", False)


# --------------------------------------------------------------------------- interim and bodiless responses


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
    ],
)
def test_interim_responses_are_skipped(interim: bytes) -> None:
    wire = interim + SIMPLE
    assert as_tuple(read_whole(wire)) == as_tuple(read_whole(SIMPLE))
    assert as_tuple(read_pieces(bytewise(wire))) == as_tuple(read_whole(SIMPLE))


def test_interim_response_alone_is_not_a_reply() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(b"HTTP/1.1 100 Continue\r\n\r\n") is None
    assert reader.feed(SIMPLE) is not None


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body(status: int) -> None:
    # Even with a Content-Length (304 repeats the representation's length), no body follows.
    wire = b"HTTP/1.1 %d X\r\nContent-Length: 42\r\n\r\n" % status
    reader = ResponseReader()
    reader.start()
    reply = reader.feed(wire)
    assert reply is not None
    assert (reply.status, reply.body, reply.keep_alive) == (status, b"", True)
    assert not reader.leftover
    # The next response on the connection is read normally.
    reader.start()
    assert as_tuple(reader.feed(SIMPLE)) == as_tuple(read_whole(SIMPLE))


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ],
)
def test_head_request_has_no_body(head: bytes) -> None:
    reader = ResponseReader()
    reader.start(no_body=True)
    reply = reader.feed(head)
    assert reply is not None
    assert reply.body == b""
    assert not reader.leftover
    # no_body applies to that request only.
    reader.start()
    assert as_tuple(reader.feed(SIMPLE)) == as_tuple(read_whole(SIMPLE))


# --------------------------------------------------------------------------- keep-alive


@pytest.mark.parametrize(
    ("wire", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", False),
    ],
)
def test_keep_alive_rules(wire: bytes, keep_alive: bool) -> None:
    reply = read_whole(wire)
    assert reply is not None
    assert reply.keep_alive is keep_alive


@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
def test_close_delimited_is_never_keep_alive(version: bytes) -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(version + b" 200 OK\r\nConnection: keep-alive\r\n\r\nbody") is None
    reply = reader.close()
    assert reply is not None
    assert (reply.body, reply.keep_alive) == (b"body", False)


# --------------------------------------------------------------------------- leftover


def test_no_leftover_after_an_exact_response() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(SIMPLE) is not None
    assert not reader.leftover
    assert not reader.received


@pytest.mark.parametrize("wire", [SIMPLE, CHUNKED])
def test_bytes_beyond_the_response_are_leftover(wire: bytes) -> None:
    reader = ResponseReader()
    reader.start()
    reply = reader.feed(wire + b"HTTP/1.1 200 OK\r\n")
    assert reply is not None
    assert as_tuple(reply) == as_tuple(read_whole(wire))
    assert reader.leftover


def test_leftover_arriving_after_the_reply() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(SIMPLE) is not None
    assert reader.feed(b"junk") is None
    assert reader.leftover


# --------------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n", id="http2-version"),
        pytest.param(b"HTTP/1.1\r\nContent-Length: 0\r\n\r\n", id="no-status"),
        pytest.param(b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="lowercase-version"),
        pytest.param(b"ICY 200 OK\r\n\r\n", id="not-http"),
        pytest.param(b"<html>hello</html>\r\n\r\n", id="html"),
        pytest.param(b"HTTP/1.1 2O0 OK\r\nContent-Length: 0\r\n\r\n", id="letter-in-status"),
        pytest.param(b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", id="two-digit-status"),
        pytest.param(b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", id="four-digit-status"),
        pytest.param(b"HTTP/1.1 -20 OK\r\nContent-Length: 0\r\n\r\n", id="negative-status"),
        pytest.param(b"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", id="double-space"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n", id="header-without-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n", id="empty-header-name"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", id="space-before-colon"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n", id="obs-fold-space"),
        pytest.param(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\nContent-Length: 0\r\n\r\n", id="obs-fold-tab"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", id="conflicting-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab", id="conflicting-list"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\na", id="plus-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", id="word-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", id="hex-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", id="empty-length"),
        pytest.param(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", id="101"),
    ],
)
def test_malformed_head_raises(wire: bytes) -> None:
    with pytest.raises(ResponseError):
        read_whole(wire)
    with pytest.raises(ResponseError):
        read_pieces(bytewise(wire))


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"-1\r\nx\r\n0\r\n\r\n", id="negative-size"),
        pytest.param(b"+1\r\nx\r\n0\r\n\r\n", id="plus-size"),
        pytest.param(b"0x1\r\nx\r\n0\r\n\r\n", id="0x-prefix"),
        pytest.param(b"g\r\nx\r\n0\r\n\r\n", id="not-hex"),
        pytest.param(b"\r\nx\r\n0\r\n\r\n", id="empty-size"),
        pytest.param(b";ext\r\nx\r\n0\r\n\r\n", id="only-extension"),
        pytest.param(b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n", id="underscore-in-size"),
        pytest.param(b"3\r\nabcXY0\r\n\r\n", id="data-not-followed-by-crlf"),
        pytest.param(b"3\r\nab\r\n\r\n0\r\n\r\n", id="data-shorter-than-size"),
    ],
)
def test_malformed_chunked_body_raises(body: bytes) -> None:
    with pytest.raises(ResponseError):
        read_whole(CHUNKED_HEAD + body)
    with pytest.raises(ResponseError):
        read_pieces([CHUNKED_HEAD, *bytewise(body)])


def test_endless_chunk_size_line_raises() -> None:
    reader = ResponseReader()
    reader.start()
    reader.feed(CHUNKED_HEAD)
    with pytest.raises(ResponseError):
        for _ in range(100):
            reader.feed(b"1" * 100)


def test_head_larger_than_max_head_arriving_in_pieces_raises() -> None:
    reader = ResponseReader()
    reader.start()
    reader.feed(b"HTTP/1.1 200 OK\r\n")
    header = b"X-Big: " + b"a" * 1000 + b"\r\n"
    with pytest.raises(ResponseError):
        for _ in range(MAX_HEAD // len(header) + 2):
            reader.feed(header)


def test_head_within_max_head_is_accepted() -> None:
    filler = b"X-Big: " + b"a" * (MAX_HEAD - 200) + b"\r\n"
    wire = b"HTTP/1.1 200 OK\r\n" + filler + b"Content-Length: 2\r\n\r\nok"
    reply = read_whole(wire)
    assert reply is not None
    assert reply.body == b"ok"


def test_complete_head_larger_than_max_head_in_one_piece_raises() -> None:
    # MAX_HEAD is documented as the largest head accepted; it must not depend on how the bytes arrive.
    filler = b"X-Big: " + b"a" * (MAX_HEAD + 1000) + b"\r\n"
    with pytest.raises(ResponseError):
        read_whole(b"HTTP/1.1 200 OK\r\n" + filler + b"Content-Length: 2\r\n\r\nok")


# --------------------------------------------------------------------------- close()


def test_close_with_nothing_received_returns_none() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.close() is None


def test_close_after_a_complete_response_returns_none() -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(SIMPLE) is not None
    assert reader.close() is None


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"H", id="first-byte"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="mid-head"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", id="before-body"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", id="mid-body"),
        pytest.param(CHUNKED_HEAD, id="chunked-before-first-chunk"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhel", id="mid-chunk"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhello\r\n", id="between-chunks"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\n", id="before-trailers-end"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhello\r\n0\r\nX-T: 1\r\n", id="mid-trailers"),
    ],
)
def test_close_in_the_middle_of_a_response_raises(partial: bytes) -> None:
    reader = ResponseReader()
    reader.start()
    assert reader.feed(partial) is None
    assert reader.received
    with pytest.raises(ResponseError):
        reader.close()


# --------------------------------------------------------------------------- several responses on one connection


def test_one_reader_frames_successive_responses() -> None:
    reader = ResponseReader()
    for wire in (SIMPLE, CHUNKED, b"HTTP/1.1 204 No Content\r\n\r\n", SIMPLE):
        reader.start()
        reply = None
        for byte in bytewise(wire):
            assert reply is None
            reply = reader.feed(byte)
        assert reply is not None
        assert not reader.leftover
    assert reply is not None
    assert reply.body == b"hello world"


# --------------------------------------------------------------------------- request_head


def test_request_head_bytes() -> None:
    head = request_head(
        b"POST",
        b"/crm/v3/objects/communications/batch/update?x=1",
        [(b"Host", b"api.hubapi.com"), (b"Content-Length", b"2"), (b"Authorization", b"Bearer t")],
    )
    assert head == (
        b"POST /crm/v3/objects/communications/batch/update?x=1 HTTP/1.1\r\n"
        b"Host: api.hubapi.com\r\n"
        b"Content-Length: 2\r\n"
        b"Authorization: Bearer t\r\n"
        b"\r\n"
    )


def test_request_head_without_headers() -> None:
    assert request_head(b"GET", b"/", []) == b"GET / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize(
    "header",
    [
        (b"X-Evil", b"a\r\nInjected: 1"),
        (b"X-Evil", b"a\nInjected: 1"),
        (b"X-Evil", b"a\rb"),
        (b"X-Evil\r\nInjected", b"1"),
        (b"X-Evil\n", b"1"),
        (b"X-Evil: y", b"1"),
    ],
)
def test_request_head_rejects_line_breaks_and_colons_in_names(header: tuple[bytes, bytes]) -> None:
    with pytest.raises(ValueError):
        request_head(b"GET", b"/", [(b"Host", b"h"), header])
