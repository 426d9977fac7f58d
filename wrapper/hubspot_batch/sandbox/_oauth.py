"""The OAuth token endpoint: short-lived access tokens for a refresh token.

``POST /oauth/2026-03/token`` (HubSpot's current endpoint) and the legacy
``POST /oauth/v1/token`` take a form-encoded body (``grant_type=refresh_token``,
``client_id``, ``client_secret``, ``refresh_token``) and answer with a new
access token that lives ``SandboxConfig.token_lifetime`` seconds on the app's
clock; a request with it after that answers 401 ``EXPIRED_AUTHENTICATION``.
Errors follow HubSpot's RFC 6749 shape (``error``, ``error_description`` plus
``status`` and ``message``).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from ._config import SandboxConfig
from ._state import SandboxState

__all__ = ["TOKEN_PATHS", "issue_token"]

TOKEN_PATHS = frozenset({"/oauth/2026-03/token", "/oauth/v1/token"})


def _error(error: str, description: str, status: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": error, "error_description": description, "status": status, "message": description}


def issue_token(config: SandboxConfig, state: SandboxState, body: bytes, now: float) -> tuple[int, dict[str, Any]]:
    """Answer one token request: (status, JSON body)."""
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=False).items()}
    except UnicodeDecodeError:
        form = {}
    if form.get("grant_type") != "refresh_token":
        return _error("unsupported_grant_type", "grant_type must be refresh_token", "BAD_GRANT_TYPE")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or config.oauth_clients.get(client_id) != secret:
        return _error("invalid_client", "client id or secret is invalid", "BAD_CLIENT_ID")
    refresh = form.get("refresh_token", "")
    if not refresh or (config.refresh_tokens is not None and refresh not in config.refresh_tokens):
        return _error("invalid_grant", "refresh token is invalid, expired or revoked", "BAD_REFRESH_TOKEN")
    token = "sbx-oauth-" + uuid.uuid4().hex
    state.issue_token(token, now + config.token_lifetime)
    return 200, {
        "token_type": "bearer",
        "refresh_token": refresh,
        "access_token": token,
        "expires_in": int(config.token_lifetime),
    }
