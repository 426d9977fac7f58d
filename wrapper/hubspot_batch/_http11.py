"""HTTP/1.1 response framing without I/O: bytes in, complete responses out.

:class:`ResponseReader` is fed the bytes a connection receives and hands back
one complete response at a time (status, headers, body, whether the
connection can carry another request). It knows the three ways a response
body ends (``Content-Length``, ``Transfer-Encoding: chunked``, the server
closing the connection), skips ``1xx`` interim responses, and rejects
anything malformed with :class:`ResponseError` rather than guessing.
``_transport`` does the socket work around it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["MAX_HEAD", "Reply", "ReplyHeaders", "ResponseError", "ResponseReader", "request_head"]

MAX_HEAD = 64 * 1024
"""Largest status line + headers accepted (bytes)."""
_MAX_CHUNK_LINE = 4096
_LENGTH, _CHUNKED, _UNTIL_CLOSE = 0, 1, 2
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class ResponseError(Exception):
    """The server's bytes are not a valid HTTP/1.1 response."""


class Reply:
    """One complete response."""

    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes, keep_alive: bool
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive

    @property
    def encoded(self) -> bool:
        """Whether the body has a content encoding (gzip...) still to undo."""
        return any(token not in (b"", b"identity") for token in _tokens(self.headers, b"content-encoding"))

    def header_map(self) -> ReplyHeaders:
        """The headers as a read-only mapping with names in any case (last value of a repeated name)."""
        return ReplyHeaders({name.decode("latin-1").lower(): value.decode("latin-1") for name, value in self.headers})


class ReplyHeaders(Mapping[str, str]):
    """Response headers by name, in any case: what the engine's decisions read."""

    __slots__ = ("_by_name",)

    def __init__(self, by_lower_name: dict[str, str]) -> None:
        self._by_name = by_lower_name

    def __getitem__(self, name: str) -> str:
        return self._by_name[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        """The value of header ``name`` (any case), or ``default``."""
        return self._by_name.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"ReplyHeaders({self._by_name!r})"


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request line and header block of one request, ending with the blank line."""
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name or b":" in name:
            raise ValueError(f"header {name!r} holds a line break or a colon in its name")
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


def _parse_head(
    block: bytes,
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bool]:
    """Status, reason, headers and "is HTTP/1.1" from a head block (without its final blank line)."""
    lines = block.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise ResponseError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    code = parts[1]
    if len(code) != 3 or not code.isdigit():
        raise ResponseError(f"invalid status code {code[:20]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t") or line[:1] in (b" ", b"\t"):
            raise ResponseError(f"invalid header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return int(code), parts[2] if len(parts) == 3 else b"", headers, parts[0] == b"HTTP/1.1"


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """Comma-separated, lower-cased values of every header called ``name``."""
    out: list[bytes] = []
    for key, value in headers:
        if key.lower() == name:
            out += (token.strip().lower() for token in value.split(b","))
    return out


class ResponseReader:
    """Frames the responses arriving on one connection, one request at a time.

    Call :meth:`start` before each request (``no_body`` for ``HEAD``), feed
    received bytes to :meth:`feed`, and call :meth:`close` when the peer
    closed its side. Both return the :class:`Reply` once it is complete.
    """

    __slots__ = ("_buffer", "_chunks", "_head", "_mode", "_no_body", "_remaining", "_trailers")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._no_body = False
        self._reset()

    def _reset(self) -> None:
        self._head: tuple[int, bytes, list[tuple[bytes, bytes]], bool] | None = None
        self._mode = _LENGTH
        self._remaining = 0  # bytes left in the body (_LENGTH) or the current chunk (-1: expecting a size line)
        self._chunks: list[bytes] = []
        self._trailers = False

    @property
    def received(self) -> bool:
        """Whether any byte of a response to the current request has arrived."""
        return bool(self._buffer) or self._head is not None or bool(self._chunks)

    def start(self, *, no_body: bool = False) -> None:
        """Expect the response to a new request."""
        self._no_body = no_body
        self._reset()

    def feed(self, data: bytes) -> Reply | None:
        """Take received bytes; the response once it is complete, else ``None``."""
        self._buffer += data
        return self._advance()

    def close(self) -> Reply | None:
        """The peer closed: the response if closing completes it, ``None`` if nothing had arrived.

        Raises :class:`ResponseError` when the connection closed inside a response.
        """
        reply = self._advance()
        if reply is not None:
            return reply
        if self._head is not None and self._mode == _UNTIL_CLOSE:
            status, reason, headers, _ = self._head
            body = bytes(self._buffer)
            self._buffer.clear()
            self._reset()
            return Reply(status, reason, headers, body, False)
        if self.received:
            raise ResponseError("the server closed the connection in the middle of a response")
        return None

    @property
    def leftover(self) -> bool:
        """Whether bytes arrived beyond the last complete response (the connection is not reusable)."""
        return bool(self._buffer)

    def _advance(self) -> Reply | None:
        buffer = self._buffer
        while self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end > MAX_HEAD or (end < 0 and len(buffer) > MAX_HEAD):
                raise ResponseError(f"response head larger than {MAX_HEAD} bytes")
            if end < 0:
                return None
            head = _parse_head(bytes(buffer[:end]))
            del buffer[: end + 4]
            status = head[0]
            if status < 200:
                if status == 101:
                    raise ResponseError("unexpected 101 Switching Protocols")
                continue  # 100 Continue, 103 Early Hints: the real answer follows
            self._head = head
            headers = head[2]
            if self._no_body or status in (204, 304):
                return self._complete(b"")
            coding = _tokens(headers, b"transfer-encoding")
            if coding:
                self._mode = _CHUNKED if coding[-1] == b"chunked" else _UNTIL_CLOSE
                self._remaining = -1
            else:
                lengths = set(_tokens(headers, b"content-length"))
                if not lengths:
                    self._mode = _UNTIL_CLOSE
                elif len(lengths) > 1 or not all(v.isdigit() for v in lengths):
                    raise ResponseError(f"invalid Content-Length {sorted(lengths)!r}")
                else:
                    self._mode = _LENGTH
                    self._remaining = int(lengths.pop())
        if self._mode == _LENGTH:
            size = self._remaining
            if len(buffer) < size:
                return None
            body = bytes(buffer[:size])
            del buffer[:size]
            return self._complete(body)
        if self._mode == _CHUNKED:
            return self._advance_chunked()
        return None  # until close

    def _advance_chunked(self) -> Reply | None:
        buffer = self._buffer
        while True:
            if self._trailers:
                if buffer[:2] == b"\r\n":
                    del buffer[:2]
                    return self._complete(b"".join(self._chunks))
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        raise ResponseError("chunked trailers too large")
                    return None
                del buffer[: end + 4]
                return self._complete(b"".join(self._chunks))
            if self._remaining < 0:
                end = buffer.find(b"\r\n")
                if end > _MAX_CHUNK_LINE or (end < 0 and len(buffer) > _MAX_CHUNK_LINE):
                    raise ResponseError("chunk size line too long")
                if end < 0:
                    return None
                text = bytes(buffer[:end]).split(b";", 1)[0].strip(b" \t")
                if not text or text.translate(None, _HEX_DIGITS):
                    raise ResponseError(f"invalid chunk size {text[:20]!r}")
                size = int(text, 16)
                del buffer[: end + 2]
                if size == 0:
                    self._trailers = True
                    continue
                self._remaining = size
            size = self._remaining
            if len(buffer) < size + 2:
                return None
            if buffer[size : size + 2] != b"\r\n":
                raise ResponseError("chunk data not followed by CRLF")
            self._chunks.append(bytes(buffer[:size]))
            del buffer[: size + 2]
            self._remaining = -1

    def _complete(self, body: bytes) -> Reply:
        assert self._head is not None
        status, reason, headers, http11 = self._head
        connection = _tokens(headers, b"connection")
        keep_alive = (b"close" not in connection) if http11 else (b"keep-alive" in connection)
        self._reset()
        return Reply(status, reason, headers, body, keep_alive)
