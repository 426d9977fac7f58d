"""Helpers shared by the sandbox tests (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubspot_batch.sandbox import (
    Dropped,
    SandboxApp,
    SandboxRequest,
    SandboxResponse,
)

COMMS = "/crm/v3/objects/communications/batch/update"
STATUSES = "/communication-preferences/v4/statuses/batch/write"
TIMELINE = "/integrators/timeline/v3/events/batch/create"
WEBHOOKS_V3 = "/webhooks/v3/{app}/subscriptions/batch/update"
WEBHOOKS_2026 = "/webhooks/2026-03/{app}/subscriptions/batch/update"
WALL_START = 1_795_428_000.0  # 2026-11-23T10:00:00Z

MakeApp = Callable[..., SandboxApp]


class FakeClock:
    """A manual clock: ``now`` only moves when a test calls ``advance``."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def post(
    app: SandboxApp,
    path: str,
    inputs: Any,
    *,
    token: str | None = "tok",
    query: dict[str, str] | None = None,
) -> SandboxResponse | Dropped:
    """POST ``{"inputs": inputs}`` (or ``inputs`` itself if it is a dict/bytes)."""
    if isinstance(inputs, bytes):
        req = SandboxRequest.post_json(path, None, token=token, query=query)
        req = SandboxRequest(req.method, req.path, req.query, req.headers, inputs)
        return app.handle(req)
    payload = inputs if isinstance(inputs, dict) else {"inputs": inputs}
    return app.handle(SandboxRequest.post_json(path, payload, token=token, query=query))


def answer(outcome: SandboxResponse | Dropped) -> SandboxResponse:
    assert isinstance(outcome, SandboxResponse), outcome
    return outcome
