"""A lean HTTP/1.1 transport for httpx on asyncio: the default under every client.

httpx's own async stack (httpcore's connection pool on anyio streams) costs
about three times the CPU per request of this one, and a batch client spends
most of its CPU there (see ``benchmarks/RESULTS.md``). This transport keeps
httpx's client (headers, auth, cookies, decoding, timeouts, proxies from the
environment, event hooks) and replaces only the socket work: one asyncio
protocol per connection, keep-alive connections reused most-recent first,
response framing done by :mod:`._http11`.

What it does not do: HTTP/2, proxies, client certificates. The clients
leave the choice to httpx when proxy variables are set in the environment;
pass ``transport=httpx.AsyncHTTPTransport(...)`` for the rest.

It is an ``httpx.AsyncHTTPTransport``, and when a test tool has patched that
class's ``handle_async_request`` (vcrpy, pytest-httpx, respx), requests go
through the patch, so recorded and mocked tests of our users keep working.

Errors are httpx's: ``ConnectError`` / ``ConnectTimeout`` (nothing was
sent), ``WriteError`` / ``WriteTimeout``, ``ReadError`` / ``ReadTimeout`` /
``RemoteProtocolError`` (the request may have been processed).
"""

from __future__ import annotations

import asyncio
import os
import select
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.request import getproxies

import httpx

from ._http11 import Reply, ResponseError, ResponseReader, request_head

__all__ = ["Http11Transport", "Trace", "proxies_in_environment", "reply_response"]

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTPX_SOURCE = os.path.join("httpx", "_transports", "default.py")


def _readable(fd: int) -> bool:
    """Whether ``fd`` has something to read (data or end of file) right now."""
    if fd < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover - Windows


def proxies_in_environment() -> bool:
    """Whether proxy variables are set (httpx honours them only when it picks the transport itself)."""
    return any(scheme in ("http", "https", "all") for scheme in getproxies())


Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
"""httpx's ``trace`` request extension: ``await trace(event_name, info)``."""


def reply_response(reply: Reply) -> httpx.Response:
    """A complete reply as an ``httpx.Response`` (httpx decodes any content encoding when it is read)."""
    return httpx.Response(
        reply.status,
        headers=reply.headers,
        stream=httpx.ByteStream(reply.body),
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": reply.reason},
    )


def _request_bytes(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """One request on the wire; a header that would break the framing is httpx's ``LocalProtocolError``."""
    try:
        return request_head(method, target, headers) + body
    except ValueError as exc:
        raise httpx.LocalProtocolError(str(exc)) from exc


def _patched(handler: Any) -> bool:
    """Whether ``httpx.AsyncHTTPTransport.handle_async_request`` is not httpx's own (a test tool wraps it)."""
    code = getattr(handler, "__code__", None)
    return code is None or not code.co_filename.endswith(_HTTPX_SOURCE)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._reader = ResponseReader()
        self._waiter: asyncio.Future[Reply] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout: float | None = None
        self._last_read = 0.0
        self.closed = False
        self.idle_since = 0.0

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: the connection is out of step
            self.close()
            return
        self._last_read = self._loop.time()
        try:
            reply = self._reader.feed(data)
        except ResponseError as exc:
            self._fail(httpx.RemoteProtocolError(str(exc)))
            return
        if reply is not None:
            self._finish(reply)

    def eof_received(self) -> bool:
        self._on_closed(None)
        return False  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_closed(exc)
        self.closed = True
        if self._drained is not None and not self._drained.done():
            self._drained.set_exception(httpx.WriteError(str(exc) if exc else "connection closed while writing"))

    def pause_writing(self) -> None:
        if self._drained is None or self._drained.done():
            self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # ---- state

    def usable(self) -> bool:
        """Whether an idle connection can carry another request.

        Like httpcore, look at the socket itself: a server that closed the
        connection (or sent anything unasked) right after its last response
        makes the socket readable before the event loop has told us.
        """
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            return False
        sock = transport.get_extra_info("socket")
        return sock is None or not _readable(sock.fileno())

    def close(self) -> None:
        """Close the connection (abruptly: nothing is pending on it that matters)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()

    def _on_closed(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            reply = self._reader.close()
        except ResponseError as error:
            self._fail(httpx.RemoteProtocolError(str(error)))
            return
        if reply is not None:
            self._finish(reply)
        elif exc is not None:
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__))
        else:
            self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    def _finish(self, reply: Reply) -> None:
        if self._reader.leftover:
            reply.keep_alive = False
        self._stop_timer()
        assert self._waiter is not None
        self._waiter.set_result(reply)

    def _fail(self, exc: Exception) -> None:
        self._stop_timer()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check_read_timeout(self) -> None:
        self._timer = None
        timeout = self._read_timeout
        if timeout is None or self._waiter is None or self._waiter.done():
            return
        quiet = self._loop.time() - self._last_read
        if quiet >= timeout:
            self._fail(httpx.ReadTimeout(f"no response bytes for {timeout:g}s"))
        else:
            self._timer = self._loop.call_at(self._last_read + timeout, self._check_read_timeout)

    # ---- one exchange

    async def exchange(
        self, data: bytes, *, no_body: bool, write_timeout: float | None, read_timeout: float | None
    ) -> Reply:
        """Send one request's bytes and wait for its complete response."""
        assert self._transport is not None
        self._reader.start(no_body=no_body)
        waiter: asyncio.Future[Reply] = self._loop.create_future()
        self._waiter = waiter
        self._read_timeout = read_timeout
        try:
            self._transport.write(data)
        except (OSError, RuntimeError) as exc:
            self.close()
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
        if self._drained is not None and not self._drained.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._drained), write_timeout)
            except TimeoutError:
                self.close()
                raise httpx.WriteTimeout(f"could not send the request within {write_timeout:g}s") from None
        self._last_read = self._loop.time()
        if read_timeout is not None and not waiter.done():
            self._timer = self._loop.call_at(self._last_read + read_timeout, self._check_read_timeout)
        try:
            return await waiter
        finally:
            self._waiter = None
            self._stop_timer()


class Http11Transport(httpx.AsyncHTTPTransport):
    """HTTP/1.1 over asyncio with keep-alive pooling (the default transport of hubspot-batch's clients).

    ``max_idle`` bounds the idle connections kept per origin;
    ``keepalive_expiry`` drops idle connections older than that many
    seconds (servers close idle connections, and reusing one they are closing
    fails the request). ``verify`` is passed to :func:`httpx.create_ssl_context`.
    """

    def __init__(
        self,
        *,
        max_idle: int = 16,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | str | bool = True,
    ) -> None:
        self.max_idle = max_idle
        self.keepalive_expiry = keepalive_expiry
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None  # made on the first https request (loading CA files is slow)
        self._patch_checked: Any = None
        # httpx's own pool (AsyncHTTPTransport.__init__, which imports httpcore) is set up only
        # when a test tool's patch hands a request to httpx's code: see _httpx_pool().
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"Http11Transport(max_idle={self.max_idle}, open={len(self._open)})"

    def patched(self) -> bool:
        """Whether a test tool has patched ``httpx.AsyncHTTPTransport.handle_async_request`` (see the module)."""
        handler = httpx.AsyncHTTPTransport.handle_async_request
        if handler is self._patch_checked:
            return False
        if _patched(handler):
            return True
        self._patch_checked = handler
        return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a pooled connection and return the complete response."""
        if self.patched():
            self._httpx_pool()
            return await httpx.AsyncHTTPTransport.handle_async_request(self, request)
        url = request.url
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        trace: Trace | None = request.extensions.get("trace")
        data = self._serialize(request, await request.aread())
        reply = await self.send(
            url.scheme, url.host, url.port, data, no_body=request.method == "HEAD", timeouts=timeouts, trace=trace
        )
        return reply_response(reply)

    async def post(
        self,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        timeouts: Mapping[str, float | None],
        trace: Trace | None = None,
    ) -> Reply:
        """POST ``body`` to ``url`` with ``headers`` (``Host`` and ``Content-Length`` are added); the complete reply.

        What the engine calls instead of :meth:`handle_async_request`: no
        ``httpx.Request`` or ``Response`` is made.
        """
        fields = [(b"Host", url.netloc), *headers, (b"Content-Length", b"%d" % len(body))]
        data = _request_bytes(b"POST", url.raw_path, fields, body)
        return await self.send(url.scheme, url.host, url.port, data, timeouts=timeouts, trace=trace)

    async def send(
        self,
        scheme: str,
        host: str,
        port: int | None,
        data: bytes,
        *,
        no_body: bool = False,
        timeouts: Mapping[str, float | None],
        trace: Trace | None = None,
    ) -> Reply:
        """Send the bytes of one whole request (head and body) and return the complete reply.

        :meth:`handle_async_request` and :meth:`post` serialize their
        requests and come here. ``trace`` gets httpx's trace events for the
        request's start and its answer's head.
        """
        if self._closed:
            raise RuntimeError("the transport is closed")
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        if not host:
            raise httpx.UnsupportedProtocol("no host in the URL")
        origin: Origin = (scheme, host, port or _DEFAULT_PORTS[scheme])
        connection = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"))
        if trace is not None:
            await trace("http11.send_request_headers.started", {})
        try:
            reply = await connection.exchange(
                data, no_body=no_body, write_timeout=timeouts.get("write"), read_timeout=timeouts.get("read")
            )
        except BaseException:
            connection.close()
            self._open.discard(connection)
            raise
        if trace is not None:
            await trace("http11.receive_response_headers.complete", {})
        self._release(origin, connection, reply.keep_alive)
        return reply

    async def __aenter__(self) -> Http11Transport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection; the transport cannot be used afterwards."""
        self._closed = True
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
        if "_pool" in self.__dict__:
            await super().aclose()

    def _httpx_pool(self) -> None:
        """Set up httpx's own connection pool (used only through a test tool's patch)."""
        if "_pool" not in self.__dict__:
            limits = httpx.Limits(max_connections=self.max_idle, keepalive_expiry=self.keepalive_expiry)
            super().__init__(verify=self._ssl_context(), limits=limits)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(verify=self._verify)
            self._ssl.set_alpn_protocols(["http/1.1"])
        return self._ssl

    # ---- pool

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        oldest_allowed = asyncio.get_running_loop().time() - self.keepalive_expiry
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be closing
            if connection.usable() and connection.idle_since >= oldest_allowed:
                return connection
            connection.close()
            self._open.discard(connection)
        return None

    def _release(self, origin: Origin, connection: _Connection, keep_alive: bool) -> None:
        idle = self._idle.setdefault(origin, [])
        if keep_alive and not self._closed and connection.usable() and len(idle) < self.max_idle:
            connection.idle_since = asyncio.get_running_loop().time()
            idle.append(connection)
        else:
            connection.close()
            self._open.discard(connection)

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect to {host}:{port} within {timeout:g}s") from None
        except OSError as exc:  # refused, unreachable, DNS (socket.gaierror), TLS (ssl.SSLError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        self._open.add(connection)
        return connection

    @staticmethod
    def _serialize(request: httpx.Request, body: bytes) -> bytes:
        headers = request.headers.raw
        if any(name.lower() == b"transfer-encoding" for name, _ in headers):  # a streamed body: one chunk
            body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
        return _request_bytes(request.method.encode("ascii"), request.url.raw_path, headers, body)
