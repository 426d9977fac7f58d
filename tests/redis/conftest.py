"""A real ``redis-server`` for the shared-limiter tests, started on a free 127.0.0.1 port.

``scripts/start-redis.sh`` installs Debian's ``redis-server``. Without it these
tests are skipped, loudly, except in CI (``CI=true``), where a missing server
fails the run. Helpers live in ``redis_helpers.py``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_helpers import RedisServer, find_redis_server, free_port


def _server_binary() -> str:
    binary = find_redis_server()
    if binary is None:
        message = (
            "!!! redis-server NOT FOUND: the shared (Redis) rate-limiter tests did NOT run. "
            "Install it with scripts/start-redis.sh (apt-get install redis-server). !!!"
        )
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return binary


@pytest.fixture(scope="session")
def redis_binary() -> str:
    return _server_binary()


@pytest.fixture(scope="session")
def redis_server(redis_binary: str) -> Iterator[RedisServer]:
    """The session's shared redis-server (tests use distinct keys)."""
    with tempfile.TemporaryDirectory(prefix="hubspot-batch-redis-") as directory:
        server = RedisServer(redis_binary, free_port(), directory)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def fresh_redis_server(redis_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (for tests that kill it)."""
    server = RedisServer(redis_binary, free_port(), str(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unique_key(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"
