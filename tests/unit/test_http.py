"""The engine's POST path on aiohttp (the default) against scripted loopback servers, proxies and TLS."""

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
from hubspot_batch._http import AiohttpPoster, httpx_patched
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


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port bound on loopback without listening: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@asynccontextmanager
async def poster(**options: Any) -> AsyncIterator[AiohttpPoster]:
    options.setdefault("max_connections", 4)
    options.setdefault("timeout", httpx.Timeout(2.0))
    made = AiohttpPoster(**options)
    try:
        yield made
    finally:
        await made.aclose()


def batch_answer(request: Request) -> bytes:
    """HubSpot's 200 for a communications batch: every input echoed as a result."""
    sent = json.loads(request.body)["inputs"] if request.body else []
    body = json.dumps(
        {
            "status": "COMPLETE",
            "results": [{**row, "archived": False} for row in sent],
            "startedAt": "2026-01-01T00:00:00Z",
            "completedAt": "2026-01-01T00:00:00Z",
        }
    ).encode()
    return response(body, headers=b"Content-Type: application/json\r\n")


ROWS = [{"id": "1", "properties": {"hs_communication_body": "hi"}}]


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("http_proxy", raising=False)


# --------------------------------------------------------------------------- requests and responses


async def test_post_body_arrives_intact_and_the_answer_is_read_whole(no_proxies: None) -> None:
    body = b'{"inputs":[' + b",".join(b'{"n":%d}' % i for i in range(2000)) + b"]}"
    async with serve_keep_alive(lambda r: response(r.body[::-1])) as server, poster() as post:
        answer = await post.post(
            f"{server.url}/x", content=body, headers={"Content-Type": "application/json"}, trace=None
        )
    assert answer.status == 200 and answer.content == body[::-1]
    (request,) = server.requests
    assert request.line == b"POST /x HTTP/1.1"
    assert request.header(b"content-length") == str(len(body)).encode()
    assert request.header(b"host") == f"127.0.0.1:{server.port}".encode()


async def test_keep_alive_reuses_connections_and_concurrent_requests_get_their_own_answers(no_proxies: None) -> None:
    async with serve_keep_alive(lambda r: response(r.path)) as server, poster(max_connections=2) as post:
        answers = await asyncio.gather(
            *(post.post(f"{server.url}/{i}", content=b"x", headers={}, trace=None) for i in range(20))
        )
    assert [a.content for a in answers] == [f"/{i}".encode() for i in range(20)]
    assert server.connections <= 2


async def test_chunked_and_gzip_answers_are_decoded(no_proxies: None) -> None:
    payload = b'{"results": []}' * 50

    def answer(request: Request) -> bytes:
        if request.path == b"/gzip":
            return response(gzip.compress(payload), headers=b"Content-Encoding: gzip\r\n")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (payload[:100], payload[100:])) + b"0\r\n\r\n"
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks

    async with serve_keep_alive(answer) as server, poster() as post:
        zipped = await post.post(f"{server.url}/gzip", content=b"", headers={}, trace=None)
        chunked = await post.post(f"{server.url}/chunked", content=b"", headers={}, trace=None)
    assert zipped.content == payload and chunked.content == payload


async def test_headers_are_case_insensitive(no_proxies: None) -> None:
    extra = b"X-HubSpot-RateLimit-Remaining: 7\r\nX-HubSpot-API-Deprecated: true\r\n"
    async with serve_keep_alive(response(headers=extra)) as server, poster() as post:
        answer = await post.post(server.url, content=b"", headers={}, trace=None)
    assert answer.headers.get("x-hubspot-ratelimit-remaining") == "7"
    assert "x-hubspot-api-deprecated" in answer.headers


async def test_trace_is_called_once_the_request_goes_out(no_proxies: None) -> None:
    events: list[str] = []

    async def trace(event: str, info: dict[str, Any]) -> None:
        events.append(event)

    async with serve_keep_alive(response()) as server, poster() as post:
        await post.post(server.url, content=b"x", headers={}, trace=trace)
    assert events == ["http11.send_request_headers.started"]


# --------------------------------------------------------------------------- errors are httpx's


async def test_connection_refused_is_connect_error(no_proxies: None) -> None:
    with refusing_port() as port:
        async with poster() as post:
            with pytest.raises(httpx.ConnectError):
                await post.post(f"http://127.0.0.1:{port}/", content=b"", headers={}, trace=None)


async def test_server_closing_without_answering_is_remote_protocol_error(no_proxies: None) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with Server(handler) as server, poster() as post:
        with pytest.raises(httpx.RemoteProtocolError):
            await post.post(server.url, content=b"x", headers={}, trace=None)


async def test_server_never_answering_is_read_timeout(no_proxies: None) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await wait_for_eof(reader)

    async with Server(handler) as server, poster(timeout=httpx.Timeout(0.3)) as post:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await post.post(server.url, content=b"x", headers={}, trace=None)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("answer", [b"HTTP/1.1 2xx NOPE\r\n\r\n", b"garbage\r\n\r\n"])
async def test_malformed_answer_is_remote_protocol_error(no_proxies: None, answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()

    async with Server(handler) as server, poster() as post:
        with pytest.raises(httpx.RemoteProtocolError):
            await post.post(server.url, content=b"x", headers={}, trace=None)


async def test_close_mid_body_is_remote_protocol_error(no_proxies: None) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        await writer.drain()

    async with Server(handler) as server, poster() as post:
        with pytest.raises(httpx.RemoteProtocolError):
            await post.post(server.url, content=b"x", headers={}, trace=None)


async def test_unsupported_scheme_is_httpx_unsupported_protocol(no_proxies: None) -> None:
    async with poster() as post:
        with pytest.raises((httpx.UnsupportedProtocol, httpx.ConnectError)):
            await post.post("ftp://127.0.0.1/", content=b"", headers={}, trace=None)


# --------------------------------------------------------------------------- TLS


TlsPair = tuple[ssl.SSLContext, ssl.SSLContext, Any]


@pytest.fixture(scope="module")
def tls() -> TlsPair:
    """(server context, client context trusting the server's self-signed certificate, the CA)."""
    import trustme  # a test dependency (pyproject's "test" extra)

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    client_context = ssl.create_default_context()
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca.configure_trust(client_context)
    return server_context, client_context, ca


async def test_https_with_verify_as_a_context(tls: TlsPair, no_proxies: None) -> None:
    server_context, client_context, _ = tls
    box: list[Server] = []
    async with Server(keep_alive_server(lambda r: response(b"secure " + r.body), box), server_context) as server:
        box.append(server)
        async with poster(verify=client_context) as post:
            one = await post.post(server.url, content=b"one", headers={}, trace=None)
            two = await post.post(server.url, content=b"two", headers={}, trace=None)
    assert (one.content, two.content) == (b"secure one", b"secure two")
    assert server.connections == 1


async def test_https_trusts_a_ca_bundle_from_ssl_cert_file(
    tls: TlsPair, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, no_proxies: None
) -> None:
    server_context, _, ca = tls
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    box: list[Server] = []
    async with Server(keep_alive_server(response(b"ok"), box), server_context) as server:
        box.append(server)
        async with poster() as post:
            answer = await post.post(server.url, content=b"", headers={}, trace=None)
        async with poster(verify=str(bundle)) as post:  # verify= as a path, the same
            again = await post.post(server.url, content=b"", headers={}, trace=None)
    assert answer.content == again.content == b"ok"


async def test_https_with_an_untrusted_certificate_is_connect_error(tls: TlsPair, no_proxies: None) -> None:
    server_context, _, _ = tls
    box: list[Server] = []
    async with Server(keep_alive_server(response(), box), server_context) as server:
        box.append(server)
        async with poster() as post:
            with pytest.raises(httpx.ConnectError):
                await post.post(server.url, content=b"", headers={}, trace=None)
    assert server.requests == []


async def test_client_certificates_through_an_ssl_context(tls: TlsPair, no_proxies: None) -> None:
    import trustme

    _server_context, client_context, ca = tls
    mutual = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(mutual)
    ca.configure_trust(mutual)
    mutual.verify_mode = ssl.CERT_REQUIRED
    with_cert = ssl.create_default_context()
    ca.configure_trust(with_cert)
    ca.issue_cert("client@example.com").configure_cert(with_cert)
    assert isinstance(ca, trustme.CA)
    box: list[Server] = []
    async with Server(keep_alive_server(response(b"hello client"), box), mutual) as server:
        box.append(server)
        async with poster(verify=with_cert) as post:
            answer = await post.post(server.url, content=b"", headers={}, trace=None)
        async with poster(verify=client_context) as post:  # no client certificate: refused
            with pytest.raises(httpx.RequestError):
                await post.post(server.url, content=b"", headers={}, trace=None)
    assert answer.content == b"hello client"


# --------------------------------------------------------------------------- proxies


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
async def test_the_client_honours_proxy_variables(
    monkeypatch: pytest.MonkeyPatch, no_proxies: None, variable: str
) -> None:
    with refusing_port() as port:
        async with serve_keep_alive(batch_answer) as proxy:
            monkeypatch.setenv(variable, proxy.url)
            hs = AsyncHubSpotBatch(
                access_token="t",
                base_url=f"http://127.0.0.1:{port}",
                rate_limit=False,
                retry=RetryPolicy(max_attempts=1),
            )
            async with hs:
                result = await hs.communications.update(ROWS)
    assert result.ok, result.summary()
    assert [r.line for r in proxy.requests] == [
        b"POST http://127.0.0.1:%d/crm/v3/objects/communications/batch/update HTTP/1.1" % port
    ]


async def test_no_proxy_sends_directly(monkeypatch: pytest.MonkeyPatch, no_proxies: None) -> None:
    async with serve_keep_alive(batch_answer) as target, serve_keep_alive(batch_answer) as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with AsyncHubSpotBatch(access_token="t", base_url=target.url, rate_limit=False) as hs:
            assert (await hs.communications.update(ROWS)).ok
    assert proxy.requests == [] and len(target.requests) == 1


# --------------------------------------------------------------------------- the library's default


async def test_the_engine_posts_through_aiohttp_by_default(monkeypatch: pytest.MonkeyPatch, no_proxies: None) -> None:
    calls: list[str] = []
    original = AiohttpPoster.post

    async def spy(self: AiohttpPoster, url: str, **kw: Any) -> Any:
        calls.append(url)
        return await original(self, url, **kw)

    monkeypatch.setattr(AiohttpPoster, "post", spy)
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        async with AsyncHubSpotBatch(access_token="t", base_url=server.url, rate_limit=False) as hs:
            result = await hs.communications.update(ROWS)
        assert result.ok
        stored = server.state.communication("1")
        assert stored is not None and stored.properties["hs_communication_body"] == "hi"
    assert calls == [f"{server.url}/crm/v3/objects/communications/batch/update"]


async def test_a_transport_given_or_httpx_patched_by_a_test_tool_goes_through_httpx(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(
            200, content=batch_answer(Request(b"POST / HTTP/1.1", [], request.content)).split(b"\r\n\r\n", 1)[1]
        )

    async with AsyncHubSpotBatch(access_token="t", transport=httpx.MockTransport(handler), rate_limit=False) as hs:
        assert (await hs.communications.update(ROWS)).ok
    assert seen == ["/crm/v3/objects/communications/batch/update"]

    assert not httpx_patched()
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def patched(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append("patched " + request.url.path)
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", patched)
    assert httpx_patched()
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        async with AsyncHubSpotBatch(access_token="t", base_url=server.url, rate_limit=False) as hs:
            assert (await hs.communications.update(ROWS)).ok
    assert seen[-1] == "patched /crm/v3/objects/communications/batch/update"


async def test_the_request_a_batch_sends_carries_what_httpx_would(no_proxies: None) -> None:
    rows = [*ROWS, {"id": "2", "properties": {"hs_communication_body": "é"}}]
    async with (
        serve_keep_alive(batch_answer) as server,
        AsyncHubSpotBatch(access_token="t0k", base_url=server.url, rate_limit=False) as hs,
    ):
        result = await hs.communications.update(rows)
    assert result.ok, result.summary()
    (request,) = server.requests
    assert request.line == b"POST /crm/v3/objects/communications/batch/update HTTP/1.1"
    assert request.header(b"authorization") == b"Bearer t0k"
    assert request.header(b"content-type") == b"application/json"
    assert (request.header(b"user-agent") or b"").startswith(b"hubspot-batch/")
    assert b"gzip" in (request.header(b"accept-encoding") or b"")
    assert json.loads(request.body)["inputs"][1]["properties"] == {"hs_communication_body": "é"}


async def test_the_request_log_line_hides_the_developer_key(caplog: pytest.LogCaptureFixture, no_proxies: None) -> None:
    key = "devkey-SECRET-123456"
    caplog.set_level(logging.DEBUG)
    with SandboxServer(config=SandboxConfig(rate_limit=None, developer_api_keys={key})) as server:
        async with AsyncHubSpotBatch(developer_api_key=key, base_url=server.url, rate_limit=False) as hs:
            result = await hs.webhooks.update_subscriptions(424242, [{"id": 1, "active": True}])
    assert result.ok
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("hapikey=***" in line and '"HTTP/1.1 200 OK"' in line for line in lines), lines
    assert key not in caplog.text
