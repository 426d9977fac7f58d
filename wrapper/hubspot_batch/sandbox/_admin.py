"""The loopback server's admin surface under ``/_sandbox/`` (off HubSpot's paths; never in the transport).

- ``GET /_sandbox/portals``: 200, ``{name: summary}`` for every portal
  (``{}`` when the app serves one portal), where a summary is
  ``portal_summary(state)``.
- ``POST /_sandbox/revoke`` with ``{"token": "..."}``: 200 ``{"revoked":
  true}``, or ``{"revoked": false}`` when no portal knows the token; the
  token then answers 401. A body without a non-empty ``token`` string: 400.

Admin requests reach no portal: they are not counted, limited or faulted.
No answer ever contains a token.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ._config import ENDPOINTS
from ._errors import dump_json, error_body, new_correlation_id
from ._messages import SandboxRequest, SandboxResponse
from ._state import SandboxState

if TYPE_CHECKING:
    from ._app import SandboxApp

__all__ = ["ADMIN_PREFIX", "PORTALS_PATH", "REVOKE_PATH", "admin_response", "portal_summary"]

ADMIN_PREFIX = "/_sandbox/"
PORTALS_PATH = "/_sandbox/portals"
REVOKE_PATH = "/_sandbox/revoke"
_JSON = "application/json;charset=utf-8"


def portal_summary(state: SandboxState) -> dict[str, Any]:
    """One portal's counters as JSON: what ``GET /_sandbox/portals`` answers per portal.

    ``requests``, ``responses`` (``{"200": n, ...}``), ``rate_limited`` (by
    policy), ``applied`` (inputs applied per endpoint), ``distinct`` (distinct
    keys applied per endpoint: ``applied == distinct`` means no key was
    applied twice), ``timeline_duplicates`` (creates refused because the
    event existed), ``dropped``, ``faults`` (by kind), ``token_refreshes``.
    """
    stats = state.stats()
    applied: dict[str, int] = {}
    distinct: dict[str, int] = {}
    for endpoint in ENDPOINTS:
        counts = state.applications(endpoint)
        applied[endpoint] = sum(counts.values())
        distinct[endpoint] = len(counts)
    return {
        "requests": stats.requests,
        "responses": {str(status): n for status, n in sorted(stats.responses_by_status.items())},
        "rate_limited": dict(stats.rate_limited),
        "applied": applied,
        "distinct": distinct,
        "timeline_duplicates": stats.timeline_duplicates_rejected,
        "dropped": stats.dropped,
        "faults": dict(stats.faults),
        "token_refreshes": stats.token_refreshes,
    }


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> SandboxResponse:
    out = dict(headers or {})
    out["Content-Type"] = _JSON
    cid = body.get("correlationId")
    out["X-HubSpot-Correlation-Id"] = cid if isinstance(cid, str) else new_correlation_id()
    return SandboxResponse(status, out, dump_json(body))


def _not_allowed(request: SandboxRequest, allow: str) -> SandboxResponse:
    body = error_body(f"HTTP {request.method} is not allowed here", "METHOD_NOT_ALLOWED")
    return _answer(405, body, {"Allow": allow})


def _revoke(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        body = error_body('The body must be a JSON object {"token": "<bearer token>"}', "VALIDATION_ERROR")
        return _answer(400, body)
    return _answer(200, {"revoked": app.revoke(token)})


def admin_response(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    """Answer one request under ``ADMIN_PREFIX`` (404 for other admin paths, 405 for a wrong method)."""
    if request.path == PORTALS_PATH:
        if request.method.upper() != "GET":
            return _not_allowed(request, "GET")
        return _answer(200, app.portal_summaries())
    if request.path == REVOKE_PATH:
        if request.method.upper() != "POST":
            return _not_allowed(request, "POST")
        return _revoke(app, request)
    return _answer(404, error_body(f"Unable to route {request.method} {request.path}", "NOT_FOUND"))
