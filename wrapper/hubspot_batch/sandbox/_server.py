"""SandboxServer: the app behind a real HTTP/1.1 keep-alive server on loopback."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._admin import ADMIN_PREFIX, admin_response
from ._app import SandboxApp
from ._config import SandboxConfig
from ._messages import Dropped, SandboxRequest, SandboxResponse
from ._state import SandboxState

__all__ = ["SandboxServer"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away; report anything else as usual."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        request = SandboxRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
        )
        if request.path.startswith(ADMIN_PREFIX):
            outcome: SandboxResponse | Dropped = admin_response(self.server.app, request)
        else:
            outcome = self.server.app.handle(request)
        if outcome.delay > 0 and self.server.stopping.wait(outcome.delay):
            self.close_connection = True
            return
        if isinstance(outcome, Dropped):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        try:
            self.send_response(outcome.status)
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(outcome.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(outcome.body)
        except OSError:
            self.close_connection = True

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_PATCH = _handle
    do_DELETE = _handle
    do_HEAD = _handle
    do_OPTIONS = _handle


def _check_loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    if not ipaddress.ip_address(host).is_loopback or ":" in host:
        raise ValueError(f"the sandbox binds IPv4 loopback only, not {host!r}")
    return host


class SandboxServer:
    """A real HTTP/1.1 keep-alive server in a background thread, bound to loopback.

    Use as a context manager; ``url`` is ``http://127.0.0.1:PORT``. A ``Dropped``
    outcome closes the socket without writing anything; delays are waited in the
    connection's thread (and cut short by ``stop()``).

    Besides the app's paths it serves an admin surface under ``/_sandbox/``
    (``GET /_sandbox/portals``, ``POST /_sandbox/revoke``; see the package
    docstring), which the app itself (and so ``SandboxTransport``) does not.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        app: SandboxApp | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Prepare (not start) a server for ``app``, or for a new app built from ``config``."""
        if app is not None and config is not None:
            raise ValueError("pass either config or app, not both")
        self.app = app if app is not None else SandboxApp(config)
        self._address = (_check_loopback(host), port)
        self._server: _HTTPServer | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SandboxState:
        """The app's state (for assertions); with portals, only what reached no portal (``portal(name).state``)."""
        return self.app.state

    def portal_names(self) -> tuple[str, ...]:
        """The app's portal names (empty when it serves one portal)."""
        return self.app.portal_names()

    def portal(self, name: str) -> SandboxApp:
        """The app of portal ``name`` (``.state``, ``.reset_day()``...); ``KeyError`` if unknown."""
        return self.app.portal(name)

    def revoke(self, token: str) -> bool:
        """Make ``token`` answer 401 from now on (see ``SandboxApp.revoke``)."""
        return self.app.revoke(token)

    @property
    def port(self) -> int:
        """The bound port (after ``start()``)."""
        if self._port is None:
            raise RuntimeError("the server was never started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (after ``start()``)."""
        return f"http://{self._address[0]}:{self.port}"

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the server is already started")
        server = _HTTPServer(self._address, self.app)
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hubspot-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, release the port. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Start if needed and block until interrupted (Ctrl-C), then stop."""
        if self._server is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()
