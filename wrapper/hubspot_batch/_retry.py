"""Pure decisions about one HTTP exchange: success, retry (after how long), split, or stop.

Nothing here sends, sleeps or reads a clock: :func:`classify` turns a status,
headers and body (or a transport exception) into a :class:`Decision`, and
:func:`backoff_delay` / :func:`parse_retry_after` compute waits. The engine
acts on them.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
import httpx

from ._json import decode
from ._results import OutcomeError

__all__ = ["Decision", "RetryPolicy", "Verdict", "backoff_delay", "classify", "hubspot_error", "parse_retry_after"]


@attrs.frozen(slots=True)
class RetryPolicy:
    """How hard to try.

    ``max_attempts``: tries per batch for server errors, transport errors and
    unreadable bodies (the first try included). ``max_rate_limited``: how many
    rolling-window 429s one batch may meet before its inputs are reported as
    failed. Backoff is exponential with full jitter between ``backoff_base``
    and ``backoff_max`` seconds; a ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds. ``max_split_requests``: extra requests one
    batch may spend isolating the inputs of a whole-batch 400.
    """

    max_attempts: int = 6
    max_rate_limited: int = 30
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    locked_wait: float = 2.0
    max_split_requests: int = 40

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("waits must not be negative")


class Verdict(enum.Enum):
    """What to do after one exchange."""

    SUCCESS = "success"  # a 2xx with a readable batch body
    RETRY = "retry"  # try the same inputs again after `delay`
    RATE_LIMITED = "rate_limited"  # 429 rolling window: pause every sender, then retry
    DAILY_LIMIT = "daily_limit"  # 429 DAILY: stop the job
    SPLIT = "split"  # whole-batch rejection: isolate the offending inputs
    REJECTED = "rejected"  # the inputs failed and retrying cannot help
    AUTH = "auth"  # 401: stop the job
    SCOPES = "scopes"  # 403: stop the job


@attrs.frozen(slots=True)
class Decision:
    """The verdict on one exchange, with what the engine needs to act on it.

    ``maybe_landed`` is true when HubSpot may have applied the request although
    we got no usable answer (dropped after sending, timeout, 5xx, truncated
    body): a retried create must then accept "already exists" for its own ids.
    """

    verdict: Verdict
    status_code: int | None = None
    body: Any = None
    error: OutcomeError | None = None
    delay: float | None = None
    maybe_landed: bool = False


_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def parse_retry_after(headers: Mapping[str, str], now_wall: float) -> float | None:
    """Seconds to wait from ``Retry-After-Ms``, or ``Retry-After`` in seconds or as an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            seconds = float(ms) / 1000.0
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds):
        return max(seconds, 0.0)
    if value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity", "+inf"):
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now_wall, 0.0)


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full-jitter exponential backoff for retry number ``attempt`` (1 for the first retry)."""
    ceiling = min(policy.backoff_max, policy.backoff_base * (2 ** max(attempt - 1, 0)))
    return policy.backoff_base / 2 + rng.uniform(0, max(ceiling - policy.backoff_base / 2, 0))


def _json(content: bytes) -> Any:
    try:
        return decode(content)
    except (ValueError, UnicodeDecodeError):
        return None


def hubspot_error(status: int | None, body: Any, *, fallback: str) -> OutcomeError:
    """HubSpot's error body (or a page that is not JSON) as an :class:`OutcomeError`."""
    if isinstance(body, Mapping):
        context = body.get("context")
        sub = body.get("subCategory")
        return OutcomeError(
            category=str(body.get("category") or body.get("errorType") or body.get("policyName") or "UNKNOWN"),
            message=str(body.get("message") or fallback),
            status_code=status,
            context=context if isinstance(context, Mapping | str) else None,
            correlation_id=str(body["correlationId"]) if body.get("correlationId") else None,
            sub_category=sub if isinstance(sub, str) else None,
        )
    return OutcomeError(category="HTTP_ERROR", message=fallback, status_code=status)


def classify(
    *,
    status: int | None,
    headers: Mapping[str, str],
    content: bytes,
    exc: Exception | None,
    policy: RetryPolicy,
    now_wall: float,
) -> Decision:
    """Decide what one exchange means. ``exc`` is the transport exception, if any."""
    if exc is not None:
        landed = not isinstance(exc, _NOT_SENT_ERRORS)
        error = OutcomeError(
            category="TRANSPORT_ERROR", message=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
        return Decision(Verdict.RETRY, error=error, maybe_landed=landed)
    assert status is not None
    if 200 <= status < 300:
        body = _json(content)
        if (
            isinstance(body, Mapping)
            and isinstance(body.get("results", []), list)
            and isinstance(body.get("errors") or [], list)
        ):
            return Decision(Verdict.SUCCESS, status_code=status, body=body)
        what = "not JSON (truncated or an HTML page)" if body is None else "not a batch response"
        error = OutcomeError(category="INVALID_RESPONSE", message=f"{status} body is {what}", status_code=status)
        return Decision(Verdict.RETRY, status_code=status, error=error, maybe_landed=True)

    body = _json(content)
    retry_after = parse_retry_after(headers, now_wall)
    if retry_after is not None:
        retry_after = min(retry_after, policy.max_retry_after)
    error = hubspot_error(status, body, fallback=f"HTTP {status}" + ("" if body is not None else " (not JSON)"))
    if status == 429:
        policy_name = str(body.get("policyName", "")).upper() if isinstance(body, Mapping) else ""
        if policy_name == "DAILY":
            return Decision(Verdict.DAILY_LIMIT, status_code=status, error=attrs.evolve(error, category="DAILY_LIMIT"))
        return Decision(Verdict.RATE_LIMITED, status_code=status, error=error, delay=retry_after)
    if status == 401:
        return Decision(Verdict.AUTH, status_code=status, error=error)
    if status == 403:
        return Decision(Verdict.SCOPES, status_code=status, error=error)
    if status == 423:
        return Decision(
            Verdict.RETRY, status_code=status, error=error, delay=max(retry_after or 0.0, policy.locked_wait)
        )
    if status == 477 or status >= 500:
        return Decision(Verdict.RETRY, status_code=status, error=error, delay=retry_after, maybe_landed=status != 477)
    if status in (400, 409, 413, 422):
        return Decision(Verdict.SPLIT, status_code=status, error=error, body=body)
    return Decision(Verdict.REJECTED, status_code=status, error=error, body=body)
