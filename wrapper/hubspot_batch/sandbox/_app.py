"""SandboxApp: request in, response (or Dropped) out. It never sleeps and never does I/O."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from typing import Any

import attrs

from .._operations import Operation, operations
from ._admin import portal_summary
from ._auth import check_auth
from ._batch import INT32, EndpointContext, EndpointHandler, EndpointResult
from ._clock import Clock, iso_timestamp
from ._communications import update_communications
from ._config import REQUIRED_SCOPES, SandboxConfig
from ._errors import (
    BatchRejected,
    dump_json,
    error_body,
    html_error_page,
    new_correlation_id,
    validation_error,
)
from ._faults import DROP_AFTER, DROP_BEFORE, ERROR_5XX, NON_JSON, STALL, TRUNCATED, FaultInjector
from ._messages import Dropped, SandboxRequest, SandboxResponse
from ._oauth import TOKEN_PATHS, issue_token
from ._portals import PortalRouter
from ._ratelimit import RateLimiter
from ._state import SandboxState
from ._statuses import write_statuses
from ._timeline import create_events, create_occurrences
from ._usage import USAGE_PATH, USAGE_SCOPES, usage_body
from ._webhooks import update_subscriptions

__all__ = ["SandboxApp"]

_JSON = "application/json;charset=utf-8"
_HTML = "text/html;charset=utf-8"
_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_NON_JSON_PAGE = (
    b"<!DOCTYPE html><html><head><title>HubSpot</title></head>"
    b"<body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>"
)


@attrs.frozen
class _Route:
    endpoint: str
    handler: EndpointHandler
    version: str = ""
    raw_app_id: str | None = None
    required_scopes: tuple[str, ...] | None = None
    developer_key: bool | None = None


_SANDBOX_NAMES = {
    "webhook_subscriptions": "webhooks",
    "communications": "communications",
    "subscription_statuses": "statuses",
    "timeline_events": "timeline",
}
"""The library's endpoint names and the sandbox's (its config, stats and effects use the short ones)."""


def _handler(name: str, operation: Operation) -> EndpointHandler:
    if name == "webhooks":
        return update_subscriptions
    if name == "communications":
        return update_communications
    if name == "statuses":
        return write_statuses
    return create_occurrences if operation.item_schema.endswith("Occurrence") else create_events


def _required(name: str, operation: Operation) -> tuple[str, ...]:
    """The scope a token needs here: ``REQUIRED_SCOPES`` where the spec lists it, else the spec's first."""
    return next(((s,) for s in REQUIRED_SCOPES[name] if s in operation.scopes), operation.scopes[:1])


@attrs.frozen
class _Path:
    pattern: re.Pattern[str]
    route: _Route


def _paths() -> tuple[_Path, ...]:
    """One route per batch operation the vendored specs describe (read from the spec, not from the client)."""
    routes = []
    for operation in operations():
        name = _SANDBOX_NAMES[operation.endpoint]
        pattern = re.escape(operation.path_template)
        for param in operation.path_params:
            pattern = pattern.replace(re.escape("{" + param + "}"), f"(?P<{param}>[^/]+)")
        route = _Route(
            name,
            _handler(name, operation),
            operation.version,
            required_scopes=_required(name, operation),
            developer_key=operation.developer_key,
        )
        routes.append(_Path(re.compile(f"^{pattern}$"), route))
    return tuple(routes)


_ROUTES = _paths()
_INT = re.compile(r"^-?[0-9]+$")


class SandboxApp:
    """The simulated HubSpot: ``handle(request)`` -> ``SandboxResponse`` or ``Dropped``.

    ``clock`` drives the rolling rate-limit window (monotonic seconds);
    ``wall_clock`` gives the dates in bodies and the day of the daily limit.
    Safe to call from many threads.

    With ``config.portals`` the app serves several portals: each is a
    ``SandboxApp`` of its own (``portal(name)``, ``portal_names()``) and each
    request goes to the portal of its bearer token; ``state`` then holds only
    the requests that reached no portal (all answered 401).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        state: SandboxState | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        """Build the app; a fresh ``SandboxState`` unless one is given (not with ``portals``)."""
        self.config = config if config is not None else SandboxConfig()
        self._router: PortalRouter | None = None
        if self.config.portals:
            if state is not None:
                raise ValueError("with portals each portal has its own state: pass no state")
            self._router = PortalRouter(
                self.config, lambda portal_config: SandboxApp(portal_config, clock=clock, wall_clock=wall_clock)
            )
            state = self._router.unrouted.state
        self.state: SandboxState = state if state is not None else SandboxState()
        self._wall_clock = wall_clock
        self._clock = clock
        self._limiter = RateLimiter(self.config, clock, wall_clock)
        self._faults = FaultInjector(self.config)
        self._jitter_rng = random.Random(self.config.seed ^ 0x5EED)
        self._shuffle_rng = random.Random(self.config.seed ^ 0x5AFF1E)
        self._arrival_rng = random.Random(self.config.seed ^ 0xA881FE)
        self._rng_lock = threading.Lock()

    # --------------------------------------------------------------- helpers

    def _latency(self) -> float:
        cfg = self.config
        if not cfg.latency_jitter:
            return cfg.latency
        with self._rng_lock:
            return cfg.latency + cfg.latency_jitter * self._jitter_rng.random()

    def _arrival_delay(self) -> float:
        # How much later than now the network delivers the request (``arrival_jitter``).
        jitter = self.config.arrival_jitter
        if not jitter:
            return 0.0
        with self._rng_lock:
            return jitter * self._arrival_rng.random()

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> SandboxResponse:
        cid = body.get("correlationId")
        out = dict(headers)
        out["Content-Type"] = _JSON
        out["X-HubSpot-Correlation-Id"] = cid if isinstance(cid, str) else new_correlation_id()
        return SandboxResponse(status, out, dump_json(body), delay=self._latency())

    def _finish(self, result: SandboxResponse | Dropped, late: float = 0.0) -> SandboxResponse | Dropped:
        # `late`: the request reached the rate limit that long after now; its answer cannot come earlier.
        if late > 0:
            result = attrs.evolve(result, delay=result.delay + late)
        if isinstance(result, Dropped):
            self.state.record_dropped()
        else:
            self.state.record_response(result.status)
        return result

    def _route(self, request: SandboxRequest) -> _Route | None:
        for path in _ROUTES:
            match = path.pattern.match(request.path)
            if match is not None:
                return attrs.evolve(path.route, raw_app_id=match.groupdict().get("appId"))
        return None

    def _inputs(self, route: _Route, body: bytes) -> list[dict[str, Any]]:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", 1)
            col = getattr(exc, "colno", 1)
            raise validation_error(f"Invalid input JSON on line {line}, column {col}: {exc}") from None
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if not isinstance(inputs, list):
            raise validation_error("Invalid input JSON: the body must be an object with an 'inputs' list")
        if not inputs:
            raise validation_error("Invalid input: 'inputs' must not be empty")
        limit = self.config.batch_size_for(route.endpoint)
        if len(inputs) > limit:
            raise validation_error(
                f"Batch input size {len(inputs)} exceeds the maximum of {limit} inputs",
                context={"maxInputs": [str(limit)], "inputs": [str(len(inputs))]},
            )
        for index, item in enumerate(inputs):
            if not isinstance(item, dict):
                raise validation_error(f"Invalid input: inputs[{index}] must be an object")
        return inputs

    def _app_id(self, route: _Route) -> int | None:
        raw = route.raw_app_id
        if raw is None:
            return None
        if _INT.match(raw) and INT32[0] <= int(raw) <= INT32[1]:
            return int(raw)
        raise validation_error(f"Invalid path parameter appId: {raw!r} is not an int32")

    def _run(self, route: _Route, request: SandboxRequest) -> tuple[int, dict[str, Any]]:
        try:
            app_id = self._app_id(route)
            inputs = self._inputs(route, request.body)
            started = iso_timestamp(self._wall_clock())
            ctx = EndpointContext(self.config, self.state, started, app_id, route.version)
            result: EndpointResult = route.handler(ctx, inputs)
        except BatchRejected as rejected:
            return rejected.status, rejected.body
        results, errors = result.results, result.errors
        if self.config.shuffle_results:
            with self._rng_lock:
                self._shuffle_rng.shuffle(results)
                self._shuffle_rng.shuffle(errors)
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": iso_timestamp(self._wall_clock()),
        }
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        return result.status, body

    def _usage(self, request: SandboxRequest) -> SandboxResponse:
        # The daily-usage endpoint: authenticated, but neither limited nor counted, and never faulted.
        if request.method.upper() != "GET":
            body = error_body(f"HTTP {request.method} is not allowed here", "METHOD_NOT_ALLOWED")
            headers = self._limiter.peek()
            headers["Allow"] = "GET"
            return self._json(405, body, headers)
        failure = check_auth(
            self.config,
            self.state,
            "usage",
            request.query,
            request.headers,
            self._clock(),
            required=USAGE_SCOPES,
            developer_key=False,
        )
        if failure is not None:
            return self._json(failure.status, failure.body, self._limiter.peek())
        usage = self._limiter.usage()
        return self._json(200, usage_body(self.config, usage), self._limiter.peek())

    def reset_day(self) -> None:
        """Start a new day of the daily limit now (the daily count goes back to 0), as a reset would.

        With ``portals``, every portal starts a new day (``portal(name).reset_day()`` for one).
        """
        if self._router is not None:
            for app in self._router.apps.values():
                app.reset_day()
            return
        self._limiter.reset_day()

    # --------------------------------------------------------------- portals

    def portal_names(self) -> tuple[str, ...]:
        """The names of the portals, sorted (empty when the app serves one portal)."""
        return () if self._router is None else tuple(self._router.apps)

    def portal(self, name: str) -> SandboxApp:
        """The app of portal ``name`` (its own ``state``, rate limit, ``reset_day()``, ``revoke()``).

        Raises ``KeyError`` for a name not in ``portal_names()``.
        """
        if self._router is None:
            raise KeyError(f"no portal {name!r}: this app serves one portal (SandboxConfig.portals is empty)")
        try:
            return self._router.apps[name]
        except KeyError:
            raise KeyError(f"no portal {name!r}; portals: {list(self._router.apps)}") from None

    def portal_of(self, token: str) -> str | None:
        """The portal a bearer token reaches (configured or issued there); None if none (or one portal)."""
        return None if self._router is None else self._router.portal_of(token)

    def revoke(self, token: str) -> bool:
        """From now on ``token`` answers 401 ``INVALID_AUTHENTICATION`` (as a deleted or rotated token).

        With ``portals``: the portal that knows the token revokes it; False
        (nothing done) when no portal knows it. Otherwise always True.
        """
        if self._router is not None:
            return self._router.revoke(token)
        self.state.revoke_token(token)
        return True

    def portal_summaries(self) -> dict[str, dict[str, Any]]:
        """Every portal's counters as JSON (``{name: summary}``; ``{}`` with one portal).

        The same as the server's ``GET /_sandbox/portals``; see ``portal_summary``.
        """
        if self._router is None:
            return {}
        return {name: portal_summary(app.state) for name, app in self._router.apps.items()}

    # ------------------------------------------------------------------ core

    def handle(self, request: SandboxRequest) -> SandboxResponse | Dropped:
        """Answer one request (see the package docstring for the order of checks)."""
        if self._router is not None:
            return self._router.handle(request)
        self.state.record_request()
        if request.path in TOKEN_PATHS and request.method.upper() == "POST":
            status, token_body = issue_token(self.config, self.state, request.body, self._clock())
            return self._finish(self._json(status, token_body, {}))
        if request.path == USAGE_PATH:
            return self._finish(self._usage(request))
        route = self._route(request)
        if route is None:
            body = error_body(f"Unable to route {request.method} {request.path}", "NOT_FOUND")
            return self._finish(self._json(404, body, self._limiter.peek()))
        if request.method.upper() != "POST":
            body = error_body(f"HTTP {request.method} is not allowed here", "METHOD_NOT_ALLOWED")
            headers = self._limiter.peek()
            headers["Allow"] = "POST"
            return self._finish(self._json(405, body, headers))

        failure = check_auth(
            self.config,
            self.state,
            route.endpoint,
            request.query,
            request.headers,
            self._clock(),
            required=route.required_scopes,
            developer_key=route.developer_key,
        )
        if failure is not None:
            return self._finish(self._json(failure.status, failure.body, self._limiter.peek()))

        late = self._arrival_delay()
        decision = self._limiter.admit(late)
        headers = decision.headers
        if route.version in self.config.deprecated_versions:
            headers["X-HubSpot-API-Deprecated"] = "true"
        if decision.policy is not None:
            self.state.record_rate_limited(decision.policy)
            body = {
                "status": "error",
                "message": f"You have reached your {decision.policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": new_correlation_id(),
                "policyName": decision.policy,
                "requestId": new_correlation_id(),
            }
            return self._finish(self._json(429, body, headers), late)

        plan = self._faults.draw()
        if plan.before == DROP_BEFORE:
            self.state.record_fault(DROP_BEFORE)
            return self._finish(Dropped(DROP_BEFORE, self._latency()), late)
        if plan.before == ERROR_5XX:
            self.state.record_fault(ERROR_5XX)
            status = plan.status_5xx
            html_headers = dict(headers)
            html_headers["Content-Type"] = _HTML
            page = html_error_page(status, _REASONS[status])
            return self._finish(SandboxResponse(status, html_headers, page, self._latency(), ERROR_5XX), late)

        status, body = self._run(route, request)
        response = self._json(status, body, headers)
        if not 200 <= status < 300 or plan.after is None:
            return self._finish(response, late)
        self.state.record_fault(plan.after)
        if plan.after == DROP_AFTER:
            return self._finish(Dropped(DROP_AFTER, response.delay), late)
        if plan.after == STALL:
            response = attrs.evolve(response, delay=response.delay + self.config.stall_seconds, fault=STALL)
        elif plan.after == TRUNCATED:
            response = attrs.evolve(response, body=response.body[: len(response.body) // 2], fault=TRUNCATED)
        elif plan.after == NON_JSON:
            html_headers = dict(response.headers)
            html_headers["Content-Type"] = _HTML
            response = attrs.evolve(response, headers=html_headers, body=_NON_JSON_PAGE, fault=NON_JSON)
        return self._finish(response, late)
