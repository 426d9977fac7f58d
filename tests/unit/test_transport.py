"""Http11Transport under httpx.AsyncClient against scripted loopback servers."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from hubspot_batch import AsyncHubSpotBatch, RetryPolicy
from hubspot_batch._http11 import Reply
from hubspot_batch._transport import Http11Transport
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Request:
    def __init__(self, line: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.line = line
        self.headers = headers
        self.body = body

    @property
    def method(self) -> bytes:
        return self.line.split(b" ")[0]

    @property
    def path(self) -> bytes:
        return self.line.split(b" ")[1]

    def header(self, name: bytes) -> bytes | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        assert len(values) <= 1, f"{name!r} sent {len(values)} times"
        return values[0] if values else None


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request (Content-Length or chunked body), or None at a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    lines = head[:-4].split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name, value.strip()))
    request = Request(lines[0], headers, b"")
    if (request.header(b"transfer-encoding") or b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        request.body = b"".join(parts)
    else:
        request.body = await reader.readexactly(int(request.header(b"content-length") or 0))
    return request


async def wait_for_eof(reader: asyncio.StreamReader) -> None:
    """Until the client closes its side (anything it sends meanwhile is ignored)."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass


def response(body: bytes = b"ok", status: bytes = b"200 OK", headers: bytes = b"") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status, len(body), headers, body)


class Server:
    """A loopback asyncio server running ``handler`` for each connection; counts connections."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.connections = 0
        self.requests: list[Request] = []
        self.port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)
            self._writers.discard(writer)

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):  # handlers still reading see the connection end
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1.0)
        await self._server.wait_closed()


def keep_alive_server(answer: Callable[[Request], bytes] | bytes, server_box: list[Server]) -> Handler:
    """A handler answering every request on the connection (recorded on the server) until EOF."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            server_box[0].requests.append(request)
            writer.write(answer(request) if callable(answer) else answer)
            await writer.drain()

    return handler


@asynccontextmanager
async def serve_keep_alive(answer: Callable[[Request], bytes] | bytes) -> AsyncIterator[Server]:
    box: list[Server] = []
    async with Server(keep_alive_server(answer, box)) as server:
        box.append(server)
        yield server


@asynccontextmanager
async def client_for(server: Server, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=Http11Transport(), base_url=server.url, **options) as client:
        yield client


# --------------------------------------------------------------------------- requests and responses


async def test_post_body_arrives_intact_with_host_and_content_length() -> None:
    payload = bytes(range(256)) * 32768  # 8 MiB, read late by the server: the client must wait to write it all

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        request = await read_request(reader)
        assert request is not None
        server.requests.append(request)
        writer.write(response(b"got %d" % len(request.body), headers=b"X-Seen: 1\r\n"))
        await writer.drain()
        await wait_for_eof(reader)

    async with Server(handler) as server, client_for(server) as client:
        r = await client.post("/upload?x=1&y=%20", content=payload, headers={"X-Custom": "v"})
    assert r.status_code == 200
    assert r.reason_phrase == "OK"
    assert r.http_version == "HTTP/1.1"
    assert r.text == f"got {len(payload)}"
    assert r.headers["x-seen"] == "1"
    [request] = server.requests
    assert request.line == b"POST /upload?x=1&y=%20 HTTP/1.1"
    assert request.header(b"host") == b"127.0.0.1:%d" % server.port
    assert request.header(b"content-length") == str(len(payload)).encode()
    assert request.header(b"x-custom") == b"v"
    assert request.body == payload


async def test_json_body_and_streamed_body() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"part one, "
        yield b"part two"

    async with serve_keep_alive(lambda r: response(r.body)) as server, client_for(server) as client:
        r1 = await client.post("/json", json={"inputs": [{"id": "1"}]})
        r2 = await client.post("/stream", content=chunks())
    assert json.loads(r1.content) == {"inputs": [{"id": "1"}]}
    assert server.requests[0].header(b"content-type") == b"application/json"
    assert r2.content == b"part one, part two"
    assert server.requests[1].header(b"transfer-encoding") == b"chunked"


async def test_head_request_reads_no_body_and_keeps_the_connection() -> None:
    def answer(request: Request) -> bytes:
        if request.method == b"HEAD":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
        return response(b"after head")

    async with serve_keep_alive(answer) as server, client_for(server, timeout=1.0) as client:
        head = await client.head("/")
        after = await client.get("/")
    assert head.status_code == 200
    assert head.headers["content-length"] == "1000"
    assert head.content == b""
    assert after.text == "after head"
    assert server.connections == 1


async def test_keep_alive_reuses_one_connection() -> None:
    async with serve_keep_alive(lambda r: response(r.path)) as server, client_for(server) as client:
        texts = [(await client.get(f"/{n}")).text for n in range(5)]
    assert texts == ["/0", "/1", "/2", "/3", "/4"]
    assert server.connections == 1


async def test_connection_close_response_is_not_reused() -> None:
    eofs: list[bool] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(b"bye", headers=b"Connection: close\r\n"))
        await writer.drain()
        # The server leaves the connection open: the client must not send on it again.
        await wait_for_eof(reader)
        eofs.append(True)

    async with Server(handler) as server, client_for(server) as client:
        r1 = await client.get("/")
        r2 = await asyncio.wait_for(client.get("/"), 1.0)
        for _ in range(100):
            if len(eofs) == 2:
                break
            await asyncio.sleep(0.01)
    assert (r1.text, r2.text) == ("bye", "bye")
    assert server.connections == 2
    assert eofs == [True, True]  # the client closed both connections itself


async def test_http10_response_without_keep_alive_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await wait_for_eof(reader)

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        assert (await client.get("/")).text == "ok"
        assert (await client.get("/")).text == "ok"
    assert server.connections == 2


async def test_server_closing_an_idle_connection_then_next_request_uses_a_new_one() -> None:
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        assert request is not None
        writer.write(response(b"n%d" % server.connections))
        await writer.drain()
        await asyncio.sleep(0.02)  # idle a moment, then give up on the connection
        writer.close()
        await writer.wait_closed()
        closed.set()

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        assert (await client.get("/")).text == "n1"
        await asyncio.wait_for(closed.wait(), 1.0)
        await asyncio.sleep(0.05)  # the client's loop sees the FIN
        assert (await client.get("/")).text == "n2"
    assert server.connections == 2


async def test_server_closing_right_after_its_response_does_not_fail_the_next_request() -> None:
    # The server answers (no "Connection: close") and closes at once: its FIN is already on the client's
    # socket when the next request is made, so that request must go on a new connection and succeed
    # (httpx's own transport does this).
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response(b"n%d" % server.connections))
        await writer.drain()

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        texts = [(await client.get("/")).text for _ in range(4)]
    assert texts == ["n1", "n2", "n3", "n4"]


async def test_concurrent_requests_each_get_their_own_response() -> None:
    async def answer_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            n = int(request.path.rsplit(b"/", 1)[1])
            await asyncio.sleep(0.001 * (n % 5))  # answer out of order across connections
            writer.write(response(b"answer %d" % n))
            await writer.drain()

    async with Server(answer_later) as server, client_for(server) as client:
        responses = await asyncio.gather(*(client.get(f"/item/{n}") for n in range(20)))
        assert [r.text for r in responses] == [f"answer {n}" for n in range(20)]
        opened = server.connections
        assert 1 <= opened <= 20
        # The connections are pooled: a second round opens few or none.
        responses = await asyncio.gather(*(client.get(f"/item/{n}") for n in range(10)))
        assert [r.text for r in responses] == [f"answer {n}" for n in range(10)]
    assert server.connections == opened


async def test_chunked_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
            await writer.drain()
            for piece in (b"6;ext=1\r\nhello \r\n", b"5\r\nwor", b"ld\r\n", b"0\r\nX-Trailer: t\r\n\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0)

    async with Server(handler) as server, client_for(server) as client:
        r1 = await client.get("/")
        r2 = await client.get("/")
    assert r1.text == r2.text == "hello world"
    assert r1.headers["content-type"] == "text/plain"
    assert server.connections == 1


async def test_gzip_response_is_decoded() -> None:
    text = b'{"status": "COMPLETE", "results": []}' * 50
    packed = gzip.compress(text)
    answer = response(packed, headers=b"Content-Encoding: gzip\r\nContent-Type: application/json\r\n")
    async with serve_keep_alive(answer) as server, client_for(server) as client:
        r = await client.get("/")
    assert r.content == text
    assert b"gzip" in (server.requests[0].header(b"accept-encoding") or b"")


async def test_interim_100_continue_is_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"final")
    async with serve_keep_alive(answer) as server, client_for(server) as client:
        r = await client.post("/", content=b"x")
    assert (r.status_code, r.text) == (200, "final")


# --------------------------------------------------------------------------- errors


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound on loopback without listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_connection_refused_is_connect_error() -> None:
    with refusing_port() as port:
        async with httpx.AsyncClient(transport=Http11Transport(), base_url=f"http://127.0.0.1:{port}") as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")


async def test_server_closing_without_answering_is_remote_protocol_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


async def test_server_never_answering_is_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await wait_for_eof(reader)

    async with Server(handler) as server, client_for(server, timeout=httpx.Timeout(5.0, read=0.2)) as client:
        start = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/")
        elapsed = time.monotonic() - start
    assert 0.18 <= elapsed < 3.0  # the read timeout, not the 5 s fallback


async def test_read_timeout_counts_silence_not_total_time() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        for byte in b"slow":  # 4 x 0.1 s > read timeout 0.25 s, but never 0.25 s of silence
            await asyncio.sleep(0.1)
            writer.write(bytes([byte]))
            await writer.drain()
        await wait_for_eof(reader)

    async with Server(handler) as server, client_for(server, timeout=httpx.Timeout(5.0, read=0.25)) as client:
        r = await client.get("/")
    assert r.text == "slow"


async def test_server_not_reading_a_large_body_is_write_timeout() -> None:
    done = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # never reads

    async with Server(handler) as server, client_for(server, timeout=httpx.Timeout(5.0, write=0.1)) as client:
        start = time.monotonic()
        with pytest.raises(httpx.WriteTimeout):
            await client.post("/", content=b"x" * (64 * 1024 * 1024))
        assert time.monotonic() - start < 3.0  # the timeout, not the 5 s fallback
        done.set()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", id="bad-version"),
        pytest.param(b"HTTP/1.1 OK 200\r\nContent-Length: 0\r\n\r\n", id="non-digit-status"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", id="two-lengths"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk"),
    ],
)
async def test_malformed_response_is_remote_protocol_error(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        await wait_for_eof(reader)

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", id="content-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", id="chunked"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="head"),
    ],
)
async def test_close_mid_response_is_remote_protocol_error(partial: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(partial)
        await writer.drain()

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/")


async def test_close_delimited_response_is_read_to_the_end() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil ")
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(b"the end")
        await writer.drain()

    async with Server(handler) as server, client_for(server, timeout=1.0) as client:
        r1 = await client.get("/")
        r2 = await client.get("/")
    assert r1.text == r2.text == "until the end"
    assert server.connections == 2


async def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()

    async def never_connects(*args: object, **kwargs: object) -> Any:
        await asyncio.sleep(10)

    monkeypatch.setattr(loop, "create_connection", never_connects)
    timeout = httpx.Timeout(5.0, connect=0.1)
    async with httpx.AsyncClient(transport=Http11Transport(), base_url="http://127.0.0.1:9", timeout=timeout) as c:
        start = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout):
            await c.get("/")
    assert time.monotonic() - start < 3.0  # the timeout, not the 5 s fallback


async def test_header_with_line_break_is_local_protocol_error() -> None:
    async with serve_keep_alive(response()) as server, client_for(server) as client:
        with pytest.raises(httpx.LocalProtocolError):
            await client.get("/", headers={"X-Evil": "a\r\nInjected: 1"})
        assert (await client.get("/")).status_code == 200  # nothing half-sent broke the pool
    assert [r.header(b"injected") for r in server.requests] == [None]


# --------------------------------------------------------------------------- cancellation, tracing, closing


async def test_cancelled_request_closes_its_connection_and_the_next_one_works() -> None:
    slow_arrived = asyncio.Event()
    slow_closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            if request.path == b"/slow":
                slow_arrived.set()
                await wait_for_eof(reader)
                slow_closed.set()
                return
            writer.write(response(b"fast"))
            await writer.drain()

    async with Server(handler) as server, client_for(server, timeout=5.0) as client:
        task = asyncio.create_task(client.get("/slow"))
        await asyncio.wait_for(slow_arrived.wait(), 1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(slow_closed.wait(), 1.0)  # the server sees the client hang up
        r = await asyncio.wait_for(client.get("/fast"), 1.0)
    assert r.text == "fast"
    assert server.connections == 2


async def test_trace_extension_sees_send_request_headers_started() -> None:
    events: list[str] = []

    async def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with serve_keep_alive(response()) as server, client_for(server) as client:
        r = await client.get("/", extensions={"trace": trace})
    assert r.status_code == 200
    assert any(name.endswith("send_request_headers.started") for name in events), events


async def test_aclose_closes_open_connections_and_later_use_raises() -> None:
    eof = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response())
        await writer.drain()
        await wait_for_eof(reader)
        eof.set()

    transport = Http11Transport()
    async with Server(handler) as server:
        client = httpx.AsyncClient(transport=transport, base_url=server.url)
        assert (await client.get("/")).status_code == 200
        await transport.aclose()
        await asyncio.wait_for(eof.wait(), 1.0)  # the idle keep-alive connection was closed
        with pytest.raises(RuntimeError):
            await client.get("/")
        await client.aclose()
    assert server.connections == 1


async def test_unsupported_scheme() -> None:
    transport = Http11Transport()
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://example.com/"))


# --------------------------------------------------------------------------- TLS


TlsPair = tuple[ssl.SSLContext, ssl.SSLContext]


@pytest.fixture(scope="module")
def tls() -> TlsPair:
    """(server context, client context trusting the server's self-signed certificate for 127.0.0.1)."""
    import trustme  # a test dependency (pyproject's "test" extra)

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    client_context = ssl.create_default_context()
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca.configure_trust(client_context)
    return server_context, client_context


async def test_https_through_a_trusted_self_signed_certificate(tls: TlsPair) -> None:
    server_context, client_context = tls
    box: list[Server] = []
    async with Server(keep_alive_server(lambda r: response(b"secure " + r.body), box), server_context) as server:
        box.append(server)
        async with httpx.AsyncClient(transport=Http11Transport(verify=client_context), base_url=server.url) as client:
            r1 = await client.post("/", content=b"one")
            r2 = await client.post("/", content=b"two")
    assert (r1.text, r2.text) == ("secure one", "secure two")
    assert server.connections == 1
    assert server.requests[0].header(b"host") == b"127.0.0.1:%d" % server.port


async def test_https_with_an_untrusted_certificate_is_connect_error(tls: TlsPair) -> None:
    server_context, _ = tls
    box: list[Server] = []
    async with Server(keep_alive_server(response(), box), server_context) as server:
        box.append(server)
        async with httpx.AsyncClient(transport=Http11Transport(), base_url=server.url, timeout=2.0) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/")
    assert server.requests == []


# --------------------------------------------------------------------------- the library's default


ROWS = [{"id": "1", "properties": {"hs_communication_body": "hi"}}]


async def test_async_client_uses_it_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = Http11Transport.send

    async def spy(self: Http11Transport, scheme: str, host: str, port: int | None, data: bytes, **kw: Any) -> Reply:
        calls.append(data.split(b" ", 2)[1].decode())  # the request line's target
        return await original(self, scheme, host, port, data, **kw)

    monkeypatch.setattr(Http11Transport, "send", spy)
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        async with AsyncHubSpotBatch(access_token="t", base_url=server.url, rate_limit=False) as hs:
            result = await hs.communications.update(ROWS)
        assert result.ok
        stored = server.state.communication("1")
        assert stored is not None
        assert stored.properties["hs_communication_body"] == "hi"
    assert calls == ["/crm/v3/objects/communications/batch/update"]


async def test_async_client_still_honours_proxy_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # The transport's docstring promises that proxies from the environment keep working, as they did
    # when the library let httpx pick its transport.
    def answer(request: Request) -> bytes:
        body = {
            "status": "COMPLETE",
            "results": [{"id": "1", "properties": {"hs_communication_body": "hi"}, "archived": False}],
            "startedAt": "2026-01-01T00:00:00Z",
            "completedAt": "2026-01-01T00:00:00Z",
        }
        return response(json.dumps(body).encode(), headers=b"Content-Type: application/json\r\n")

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with refusing_port() as port:
        async with serve_keep_alive(answer) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            hs = AsyncHubSpotBatch(
                access_token="t",
                base_url=f"http://127.0.0.1:{port}",
                rate_limit=False,
                retry=RetryPolicy(max_attempts=1),
            )
            async with hs:
                await hs.communications.update(ROWS)
    assert [r.line for r in proxy.requests] == [
        b"POST http://127.0.0.1:%d/crm/v3/objects/communications/batch/update HTTP/1.1" % port
    ]


@pytest.mark.parametrize("encoding", [None, b"gzip"])
async def test_the_engine_writes_whole_requests_and_reads_plain_or_compressed_answers(encoding: bytes | None) -> None:
    # The engine skips httpx.Request/Response with this transport: the request it writes itself must
    # carry what httpx would have sent, and a compressed answer must still be decoded.
    def answer(request: Request) -> bytes:
        sent = json.loads(request.body)["inputs"]
        body = json.dumps(
            {
                "status": "COMPLETE",
                "results": [{**row, "archived": False} for row in sent],
                "startedAt": "2026-01-01T00:00:00Z",
                "completedAt": "2026-01-01T00:00:00Z",
            }
        ).encode()
        if encoding is None:
            return response(body, headers=b"Content-Type: application/json\r\n")
        return response(gzip.compress(body), headers=b"Content-Encoding: gzip\r\nContent-Type: application/json\r\n")

    rows = [*ROWS, {"id": "2", "properties": {"hs_communication_body": "é"}}]
    async with serve_keep_alive(answer) as server:
        hs = AsyncHubSpotBatch(access_token="t0k", base_url=server.url, rate_limit=False)
        async with hs:
            result = await hs.communications.update(rows)
    assert result.ok, result.summary()
    assert [o.raw["properties"]["hs_communication_body"] for o in result if o.raw] == ["hi", "é"]
    (request,) = server.requests
    assert request.line == b"POST /crm/v3/objects/communications/batch/update HTTP/1.1"
    assert request.header(b"host") == f"127.0.0.1:{server.port}".encode()
    assert request.header(b"content-length") == str(len(request.body)).encode()
    assert request.header(b"authorization") == b"Bearer t0k"
    assert request.header(b"content-type") == b"application/json"
    assert (request.header(b"user-agent") or b"").startswith(b"hubspot-batch/")
    assert b"gzip" in (request.header(b"accept-encoding") or b"")
    assert json.loads(request.body)["inputs"][1]["properties"] == {"hs_communication_body": "é"}


async def test_the_request_log_line_of_the_byte_path_hides_the_developer_key(caplog: pytest.LogCaptureFixture) -> None:
    key = "devkey-SECRET-123456"
    caplog.set_level(logging.DEBUG)
    with SandboxServer(config=SandboxConfig(rate_limit=None, developer_api_keys={key})) as server:
        async with AsyncHubSpotBatch(developer_api_key=key, base_url=server.url, rate_limit=False) as hs:
            result = await hs.webhooks.update_subscriptions(424242, [{"id": 1, "active": True}])
    assert result.ok
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("hapikey=***" in line and '"HTTP/1.1 200 OK"' in line for line in lines), lines
    assert key not in caplog.text
