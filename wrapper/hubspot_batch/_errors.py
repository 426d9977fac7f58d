"""The exceptions hubspot-batch raises.

Every exception derives from :class:`HubSpotBatchError`::

    HubSpotBatchError
    ├── ConfigurationError          bad arguments to a client or a call
    ├── InputValidationError        rows that do not match the spec (index + field)
    ├── TransportError              connection failures and timeouts (after retries)
    ├── HubSpotError                HubSpot answered with an error
    │   ├── AuthenticationError     401: bad or expired token / developer key
    │   ├── MissingScopesError      403: the token lacks scopes (names them)
    │   ├── RateLimitError          429 TEN_SECONDLY_ROLLING (after retries)
    │   │   └── DailyLimitError     429 DAILY: nothing more is sent today
    │   ├── BatchRejectedError      400/409/422: the request was rejected
    │   └── ServerError             5xx and other unexpected answers (after retries)
    └── BatchFailedError            ``BatchResult.raise_for_errors()``: some inputs
                                    failed or were not sent

No message or ``repr`` of these exceptions ever contains an access token or a
developer API key: they carry HubSpot's ``category``, ``correlationId`` and
message, never request headers or query strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._results import BatchResult

__all__ = [
    "AuthenticationError",
    "BatchFailedError",
    "BatchRejectedError",
    "ConfigurationError",
    "DailyLimitError",
    "HubSpotBatchError",
    "HubSpotError",
    "InputIssue",
    "InputValidationError",
    "MissingScopesError",
    "RateLimitError",
    "ServerError",
    "TransportError",
]


class HubSpotBatchError(Exception):
    """Base class of every exception raised by hubspot-batch.

    ``result`` is set when the error stopped a job: the
    :class:`~hubspot_batch.BatchResult` with every input's outcome.
    """

    result: BatchResult | None = None


class ConfigurationError(HubSpotBatchError, ValueError):
    """An argument given to a client or a call is not usable."""


class InputIssue:
    """One problem with one input row: its position, the field, and what is wrong."""

    __slots__ = ("field", "index", "message")

    def __init__(self, index: int, field: str, message: str) -> None:
        self.index = index
        self.field = field
        self.message = message

    def __str__(self) -> str:
        where = f"field {self.field!r}" if self.field else "the row"
        return f"input {self.index}: {where}: {self.message}"

    def __repr__(self) -> str:
        return f"InputIssue(index={self.index}, field={self.field!r}, message={self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InputIssue):
            return NotImplemented
        return (self.index, self.field, self.message) == (other.index, other.field, other.message)

    def __hash__(self) -> int:
        return hash((self.index, self.field, self.message))


class InputValidationError(HubSpotBatchError, ValueError):
    """Input rows do not match the endpoint's request schema; nothing was sent.

    ``issues`` lists every problem found (index and field of each); the
    message shows the first few.
    """

    def __init__(self, issues: Sequence[InputIssue]) -> None:
        self.issues = tuple(issues)
        shown = "; ".join(str(i) for i in self.issues[:5])
        more = f" (and {len(self.issues) - 5} more)" if len(self.issues) > 5 else ""
        super().__init__(f"{len(self.issues)} invalid input(s), nothing was sent: {shown}{more}")


class TransportError(HubSpotBatchError):
    """The request could not be completed: connection refused or dropped, timeout."""


class HubSpotError(HubSpotBatchError):
    """HubSpot answered with an error status.

    Attributes: ``status_code``, ``category`` and ``correlation_id`` (from
    HubSpot's error body when it had one), ``context`` and ``body`` (the
    parsed JSON body, or ``None`` for non-JSON pages).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        context: Mapping[str, Any] | str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.category = category
        self.correlation_id = correlation_id
        self.context = context
        self.body = body

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"status {self.status_code}")
        if self.category:
            parts.append(f"category {self.category}")
        if self.correlation_id:
            parts.append(f"correlationId {self.correlation_id}")
        return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


class AuthenticationError(HubSpotError):
    """401: the access token or developer API key is missing, wrong or expired."""


class MissingScopesError(HubSpotError):
    """403: the token lacks scopes. ``missing_scopes`` names them when HubSpot did."""

    def __init__(
        self, message: str, *, missing_scopes: Sequence[str] = (), required_scope: str = "", **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.missing_scopes = tuple(missing_scopes)
        self.required_scope = required_scope


class RateLimitError(HubSpotError):
    """429 for the rolling ten-second window, still met after every retry."""


class DailyLimitError(RateLimitError):
    """429 DAILY: the account's daily request limit is used up until midnight (account time zone)."""


class BatchRejectedError(HubSpotError):
    """HubSpot rejected a whole request (400, 409, 422...)."""


class ServerError(HubSpotError):
    """HubSpot (or its edge) failed: 5xx or an unexpected answer, after every retry."""


class BatchFailedError(HubSpotBatchError):
    """Raised by ``BatchResult.raise_for_errors()`` when inputs failed or were not sent.

    ``result`` is the whole :class:`~hubspot_batch.BatchResult`; ``cause`` the
    error that stopped the job early, if one did.
    """

    def __init__(self, result: BatchResult) -> None:
        self.result: BatchResult = result
        failed, not_sent = len(result.failed), len(result.not_sent)
        first = (result.failed + result.not_sent)[:3]
        examples = "; ".join(o.describe() for o in first)
        stopped = f" Stopped early: {result.stopped_by}." if result.stopped_by else ""
        super().__init__(f"{failed} input(s) failed and {not_sent} were not sent of {len(result)}.{stopped} {examples}")
