"""Fixtures for engine tests: the sandbox as an in-process transport on the event loop's clock.

Under ``@pytest.mark.looptime`` the loop's clock is virtual: ``asyncio.sleep``
returns at once and time jumps, so rate windows of 10 s and latencies of
hundreds of milliseconds cost no real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from hubspot_batch import AsyncHubSpotBatch
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport


def loop_clock() -> float:
    return asyncio.get_running_loop().time()


@pytest.fixture
def make_sandbox() -> Callable[..., SandboxTransport]:
    """Build a sandbox transport whose rate window and latency follow the event loop's clock."""

    def make(**config: object) -> SandboxTransport:
        app = SandboxApp(SandboxConfig(**config), clock=loop_clock, wall_clock=time.time)  # type: ignore[arg-type]
        return SandboxTransport(app, sleep=lambda s: None, async_sleep=asyncio.sleep)

    return make


@pytest.fixture
def make_client() -> Callable[..., AsyncHubSpotBatch]:
    def make(transport: SandboxTransport, **options: object) -> AsyncHubSpotBatch:
        options.setdefault("access_token", "test-token")
        return AsyncHubSpotBatch(transport=transport, **options)  # type: ignore[arg-type]

    return make


def comm_rows(n: int, start: int = 1) -> list[dict[str, object]]:
    return [{"id": str(i), "properties": {"hs_communication_body": f"body {i}"}} for i in range(start, start + n)]
