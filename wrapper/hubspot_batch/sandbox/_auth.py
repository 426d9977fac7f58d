"""Authentication and scopes: who may call which endpoint (401 / 403)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._config import REQUIRED_SCOPES, SandboxConfig
from ._errors import error_body, java_list
from ._state import SandboxState

__all__ = ["AuthFailure", "bearer_token", "check_auth"]

_NOT_FOUND = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
    "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_BAD_KEY = "The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/"
_EXPIRED = "The OAuth token used to make this call expired 0 second(s) ago."
_SCOPES = (
    "This app hasn't been granted all required scopes to make this call. "
    "Read more about required scopes here: https://developers.hubspot.com/scopes."
)


@attrs.frozen
class AuthFailure:
    """A refused request: 401 or 403 and HubSpot's error body."""

    status: int
    body: dict[str, Any] = attrs.field(hash=False)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The bearer token of a request's (lower-cased) headers, or None."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_auth(
    config: SandboxConfig,
    state: SandboxState,
    endpoint: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    now: float | None = None,
    *,
    required: tuple[str, ...] | None = None,
    developer_key: bool | None = None,
) -> AuthFailure | None:
    """None when the caller may use ``endpoint``, else the failure to answer with.

    Where the endpoint's spec accepts a developer API key (``developer_key``;
    by default the webhook endpoints) it may come as ``?hapikey=``; a valid
    key skips the scope check. Everywhere else only ``Authorization: Bearer``,
    with the ``required`` scopes (by default ``REQUIRED_SCOPES[endpoint]``).
    Tokens issued by the OAuth token endpoint are valid until they expire
    (``now`` on the app's clock); a revoked token (``state.revoke_token``) is
    refused like an unknown one.
    """
    hapikey = query.get("hapikey")
    if developer_key is None:
        developer_key = endpoint == "webhooks"
    if developer_key and hapikey:
        keys = config.developer_api_keys
        if keys is None or hapikey in keys:
            return None
    token = bearer_token(headers)
    if token is None:
        message = _BAD_KEY if hapikey else _NOT_FOUND
        return AuthFailure(401, error_body(message, "INVALID_AUTHENTICATION"))
    if state.is_token_revoked(token):
        return AuthFailure(401, error_body(_NOT_FOUND, "INVALID_AUTHENTICATION"))
    issued_until = state.issued_token_expiry(token)
    if config.access_tokens is not None and token not in config.access_tokens and issued_until is None:
        return AuthFailure(401, error_body(_NOT_FOUND, "INVALID_AUTHENTICATION"))
    expired = issued_until is not None and now is not None and now >= issued_until
    if expired or token in config.expired_tokens or state.is_token_expired(token):
        return AuthFailure(401, error_body(_EXPIRED, "EXPIRED_AUTHENTICATION"))
    lacking = config.missing_scopes.get(token, ())
    if required is None:
        required = REQUIRED_SCOPES[endpoint]
    missing = [scope for scope in required if scope in lacking]
    if missing:
        body = error_body(
            _SCOPES,
            "MISSING_SCOPES",
            context={"requiredGranularScopes": list(required)},
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": "{missingScopes=" + java_list(missing) + "}",
                }
            ],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )
        return AuthFailure(403, body)
    return None
