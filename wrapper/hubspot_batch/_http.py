"""The batch POST on aiohttp: the engine's hot path, with httpx's errors and log line.

A batch client spends most of its CPU in the HTTP stack. aiohttp parses
responses in C and keeps a keep-alive pool per client; used directly (no
``httpx.Request``/``Response`` per batch) it costs a fraction of httpx's own
async stack. httpx stays the library's interface everywhere else: the
generated client, the OAuth token refresh, users' ``transport=`` (the
sandbox, ``httpx.MockTransport``, ``httpx.AsyncHTTPTransport(http2=True)``)
and test tools that patch httpx (pytest-httpx, respx) — when one of those is
in play the engine posts through httpx instead (:func:`httpx_patched`).

What aiohttp does here, configured rather than written:

- proxies from ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` (aiohttp's
  ``trust_env``), and ``ALL_PROXY`` for either scheme (read with the standard
  library's ``urllib.request.getproxies``, which aiohttp does not consult);
- TLS with the context httpx would build (``httpx.create_ssl_context``:
  certifi's bundle, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, ``verify=`` as a
  path, ``False`` or an ``ssl.SSLContext`` carrying client certificates);
- gzip / deflate (and brotli when installed) answers decoded;
- timeouts: ``connect`` bounds the wait for a pooled connection and the
  connect; ``read`` bounds each wait for response bytes.

Errors are httpx's, so that callers and the retry policy see one family:
``ConnectError`` / ``ConnectTimeout`` / ``UnsupportedProtocol`` (nothing was
sent), ``ReadTimeout`` / ``ReadError`` / ``RemoteProtocolError`` (the request
may have been processed).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from types import SimpleNamespace
from typing import Any
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx

__all__ = ["AiohttpPoster", "Answer", "Trace", "httpx_patched", "map_error", "tls_context"]

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
"""httpx's ``trace`` request extension: ``await trace(event_name, info)``; called when the request goes out."""

_httpx_logger = logging.getLogger("httpx")
_HTTPX_SOURCE = "httpx/_transports/default.py"


class Answer:
    """An HTTP answer, body read: what the engine's decisions look at."""

    __slots__ = ("content", "headers", "reason", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes, reason: str = "") -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.reason = reason


def httpx_patched() -> bool:
    """Whether a test tool has replaced ``httpx.AsyncHTTPTransport.handle_async_request`` (respx, pytest-httpx...)."""
    code = getattr(httpx.AsyncHTTPTransport.handle_async_request, "__code__", None)
    return code is None or not code.co_filename.replace("\\", "/").endswith(_HTTPX_SOURCE)


def map_error(exc: BaseException, request: httpx.Request) -> httpx.RequestError:
    """The httpx exception for an aiohttp (or socket) error: whether the request may have landed is kept."""
    message = str(exc) or type(exc).__name__
    kind: type[httpx.RequestError]
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ClientProxyConnectionError):
        kind = httpx.ConnectError
    elif isinstance(exc, asyncio.TimeoutError):  # aiohttp.SocketTimeoutError and ServerTimeoutError too
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    else:
        kind = httpx.ReadError
    return kind(message, request=request)


async def _headers_sent(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    trace: Trace | None = context.trace_request_ctx
    if trace is not None:
        await trace("http11.send_request_headers.started", {})


def tls_context(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext:
    """The TLS context for ``verify`` as httpx reads it; a path is a CA bundle file or directory."""
    if isinstance(verify, str):
        return (
            ssl.create_default_context(capath=verify)
            if os.path.isdir(verify)
            else ssl.create_default_context(cafile=verify)
        )
    return httpx.create_ssl_context(verify=verify)


def _proxy_for(url: str, proxies: Mapping[str, str]) -> str | None:
    """``ALL_PROXY`` for a URL that no scheme proxy covers and ``NO_PROXY`` does not exclude (else None)."""
    scheme, _, rest = url.partition("://")
    if scheme in proxies or "all" not in proxies:
        return None  # aiohttp's trust_env takes HTTP_PROXY / HTTPS_PROXY (and NO_PROXY) itself
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return None if proxy_bypass(host.split(":", 1)[0]) else proxies["all"]


class AiohttpPoster:
    """A keep-alive pool of at most ``max_connections`` connections that POSTs bytes and reads the whole answer.

    Made inside the running event loop (aiohttp sessions belong to one
    loop); close it with :meth:`aclose`.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        timeout: httpx.Timeout,
        verify: ssl.SSLContext | str | bool = True,
        user_agent: str = "",
    ) -> None:
        self._verify = verify
        self._proxies = getproxies()  # read once per pool: the environment is the process's, reading it costs
        self._ssl: ssl.SSLContext | None = None  # built on the first https request (loading CA files is slow)
        tracing = aiohttp.TraceConfig()
        tracing.on_request_headers_sent.append(_headers_sent)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=timeout.connect, sock_connect=timeout.connect, sock_read=timeout.read
            ),
            trust_env=True,
            trace_configs=[tracing],
            headers={"User-Agent": user_agent} if user_agent else None,
        )

    def _ssl_for(self, url: str) -> ssl.SSLContext | bool:
        if not url.startswith("https:"):
            return True
        if self._ssl is None:
            self._ssl = tls_context(self._verify)
        return self._ssl

    async def post(self, url: str, *, content: bytes, headers: Mapping[str, str], trace: Trace | None) -> Answer:
        """POST ``content`` to ``url`` and return the answer, body read (and decoded)."""
        try:
            async with self._session.post(
                url,
                data=content,
                headers=dict(headers),
                ssl=self._ssl_for(url),
                proxy=_proxy_for(url, self._proxies) if self._proxies else None,
                allow_redirects=False,
                trace_request_ctx=trace,
            ) as response:
                body = await response.read()
                answer = Answer(response.status, response.headers, body, response.reason or "")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise map_error(exc, httpx.Request("POST", url)) from exc
        if _httpx_logger.isEnabledFor(logging.INFO):  # the line httpx's client logs (redacted like it)
            _httpx_logger.info('HTTP Request: POST %s "HTTP/1.1 %d %s"', url, answer.status, answer.reason)
        return answer

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._session.close()
