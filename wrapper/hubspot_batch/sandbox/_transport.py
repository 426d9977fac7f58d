"""SandboxTransport: the app behind httpx's sync and async transport interfaces."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from ._app import SandboxApp
from ._config import SandboxConfig
from ._messages import Dropped, SandboxRequest, SandboxResponse
from ._state import SandboxState

__all__ = ["SandboxTransport"]

_DISCONNECTED = "Server disconnected without sending a response."


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        if isinstance(value, int | float):
            return float(value)
    return None


def _to_sandbox(request: httpx.Request, body: bytes) -> SandboxRequest:
    return SandboxRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


def _to_httpx(response: SandboxResponse, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        response.status,
        headers=list(response.headers.items()),
        content=response.body,
        request=request,
    )


class SandboxTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) answering from a ``SandboxApp``, no sockets.

    ``httpx.Client(transport=SandboxTransport(cfg), base_url="https://api.hubapi.com")``.
    A response's ``delay`` is waited with ``sleep`` / ``async_sleep`` (inject no-ops
    to skip real waiting). A ``Dropped`` raises ``httpx.RemoteProtocolError``; a delay
    longer than the request's read timeout waits that timeout, then raises
    ``httpx.ReadTimeout`` (the effect, if any, was applied).
    """

    def __init__(
        self,
        app_or_config: SandboxApp | SandboxConfig | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Wrap an app, or build one from a config (default config if None)."""
        if isinstance(app_or_config, SandboxApp):
            self.app = app_or_config
        else:
            self.app = SandboxApp(app_or_config)
        self._sleep = sleep
        self._async_sleep = async_sleep

    @property
    def state(self) -> SandboxState:
        """The app's state (for assertions)."""
        return self.app.state

    @staticmethod
    def _plan(outcome: SandboxResponse | Dropped, request: httpx.Request) -> tuple[float, httpx.Response | Exception]:
        read_timeout = _read_timeout(request)
        if read_timeout is not None and outcome.delay > read_timeout:
            return read_timeout, httpx.ReadTimeout("timed out", request=request)
        if isinstance(outcome, Dropped):
            return outcome.delay, httpx.RemoteProtocolError(_DISCONNECTED, request=request)
        return outcome.delay, _to_httpx(outcome, request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer synchronously, sleeping for the response's delay."""
        outcome = self.app.handle(_to_sandbox(request, request.read()))
        delay, result = self._plan(outcome, request)
        if delay > 0:
            self._sleep(delay)
        if isinstance(result, Exception):
            raise result
        return result

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer asynchronously, awaiting the response's delay."""
        outcome = self.app.handle(_to_sandbox(request, await request.aread()))
        delay, result = self._plan(outcome, request)
        if delay > 0:
            await self._async_sleep(delay)
        if isinstance(result, Exception):
            raise result
        return result
