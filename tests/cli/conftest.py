"""Fixtures for the CLI tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot_batch.sandbox import SandboxConfig, SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox in the test process, so that tests can look at its state and stats."""
    with SandboxServer(config=SandboxConfig(rate_limit=None, missing_ids={"404", "99999"})) as server:
        yield server
