"""Fixtures for the sandbox tests: fake clocks and an app factory."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot_batch.sandbox import SandboxApp, SandboxConfig
from sandbox_helpers import WALL_START, FakeClock, MakeApp


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def wall() -> FakeClock:
    return FakeClock(WALL_START)


@pytest.fixture
def make_app(clock: FakeClock, wall: FakeClock) -> MakeApp:
    def make(**config: Any) -> SandboxApp:
        return SandboxApp(SandboxConfig(**config), clock=clock, wall_clock=wall)

    return make
