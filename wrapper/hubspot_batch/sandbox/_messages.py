"""The values that cross the app boundary: SandboxRequest, SandboxResponse, Dropped."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["Dropped", "SandboxRequest", "SandboxResponse"]


def _lower_keys(value: Mapping[str, str]) -> Mapping[str, str]:
    return types.MappingProxyType({k.lower(): v for k, v in value.items()})


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class SandboxRequest:
    """One HTTP request as the app sees it (header names lower-cased)."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map, hash=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys, hash=False)
    body: bytes = b""

    @classmethod
    def post_json(
        cls,
        path: str,
        payload: Any,
        *,
        token: str | None = "sandbox-token",
        query: Mapping[str, str] | None = None,
    ) -> SandboxRequest:
        """Build a JSON ``POST`` with an optional bearer token (handy in tests)."""
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        body = json.dumps(payload).encode()
        return cls("POST", path, query=query or {}, headers=headers, body=body)


@attrs.frozen
class SandboxResponse:
    """What to answer: status, headers, body, and how long to wait before answering.

    ``fault`` names the injected fault that shaped this response, if any
    (``"error_5xx"``, ``"truncated"``, ``"non_json"``, ``"stall"``).
    """

    status: int
    headers: Mapping[str, str] = attrs.field(converter=_frozen_map, hash=False)
    body: bytes
    delay: float = 0.0
    fault: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` for a non-JSON fault)."""
        return json.loads(self.body)


@attrs.frozen
class Dropped:
    """Close the connection without answering, after waiting ``delay`` seconds.

    ``reason`` is ``"drop_before"`` (nothing was applied) or ``"drop_after"``
    (the batch was applied, the answer is lost).
    """

    reason: str
    delay: float = 0.0
