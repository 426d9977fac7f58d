"""Several portals behind one sandbox: each bearer token reaches only its own portal.

``SandboxConfig.portals`` maps bearer tokens to portal names. The router
holds one ``SandboxApp`` per portal (its config evolved with
``access_tokens`` = that portal's tokens and no ``portals``), so each portal
has its own rolling window, daily count, fault generator and state. A
request goes to the portal of its bearer token; one with no token, or a
token no portal knows, goes to a portal-less app that accepts no
credentials at all (401, as HubSpot answers a bad token), so nothing is ever
applied outside a portal.

OAuth: a token request (``POST`` to a ``TOKEN_PATHS`` path) goes to the
portal whose ``portals`` entry names its ``refresh_token``; the access token
that portal issues is routed to it from then on. A refresh token no portal
knows answers 400 ``invalid_grant`` (after the client check).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import attrs

from ._auth import bearer_token
from ._config import SandboxConfig
from ._messages import Dropped, SandboxRequest, SandboxResponse
from ._oauth import TOKEN_PATHS

if TYPE_CHECKING:
    from ._app import SandboxApp

__all__ = ["PortalRouter"]


def _refresh_token(body: bytes) -> str | None:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
    except UnicodeDecodeError:
        return None
    values = form.get("refresh_token")
    return values[0] if values else None


def _issued_token(outcome: SandboxResponse | Dropped) -> str | None:
    if isinstance(outcome, Dropped) or outcome.status != 200:
        return None
    try:
        token = json.loads(outcome.body).get("access_token")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) else None


class PortalRouter:
    """One ``SandboxApp`` per portal, and the routing of requests to them by bearer token.

    Thread-safe: the routes (configured tokens plus tokens issued by a
    portal's OAuth endpoint) are guarded by a lock; each app is thread-safe.
    """

    def __init__(self, config: SandboxConfig, make_app: Callable[[SandboxConfig], SandboxApp]) -> None:
        """Build the portals of ``config.portals`` with ``make_app`` (one call per portal, one portal-less)."""
        tokens: dict[str, set[str]] = {}
        for token, name in config.portals.items():
            tokens.setdefault(name, set()).add(token)
        self._apps: dict[str, SandboxApp] = {
            name: make_app(attrs.evolve(config, access_tokens=frozenset(tokens[name]), portals={}))
            for name in sorted(tokens)
        }
        #: Answers requests that reach no portal: it accepts no token, key or refresh token.
        self.unrouted: SandboxApp = make_app(
            attrs.evolve(
                config,
                access_tokens=frozenset(),
                developer_api_keys=frozenset(),
                refresh_tokens=frozenset(),
                portals={},
            )
        )
        self._routes: dict[str, str] = dict(config.portals)
        self._lock = threading.Lock()

    @property
    def apps(self) -> Mapping[str, SandboxApp]:
        """Every portal's app by name (sorted by name)."""
        return self._apps

    def portal_of(self, token: str) -> str | None:
        """The name of the portal ``token`` reaches (configured or issued there), or None."""
        with self._lock:
            return self._routes.get(token)

    def _portal_for(self, request: SandboxRequest) -> tuple[str | None, bool]:
        """The portal to answer ``request`` (None: the portal-less app), and whether it asks for a token."""
        if request.path in TOKEN_PATHS and request.method.upper() == "POST":
            refresh = _refresh_token(request.body)
            return (None if refresh is None else self.portal_of(refresh)), True
        token = bearer_token(request.headers)
        return (None if token is None else self.portal_of(token)), False

    def handle(self, request: SandboxRequest) -> SandboxResponse | Dropped:
        """Answer ``request`` from the portal of its credentials (or the portal-less app)."""
        name, token_request = self._portal_for(request)
        if name is None:
            return self.unrouted.handle(request)
        outcome = self._apps[name].handle(request)
        if token_request:
            issued = _issued_token(outcome)
            if issued is not None:
                with self._lock:
                    self._routes[issued] = name
        return outcome

    def revoke(self, token: str) -> bool:
        """Make ``token`` answer 401 from now on; False (and nothing done) when no portal knows it."""
        name = self.portal_of(token)
        if name is None:
            return False
        self._apps[name].state.revoke_token(token)
        return True
