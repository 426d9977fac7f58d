"""Credentials: a private-app or OAuth access token, and a developer API key.

The token travels as ``Authorization: Bearer …``; the developer API key (for
webhook subscriptions, which belong to an app) as the ``hapikey`` query
parameter. Neither ever appears in a ``repr``, a log line or an exception:
:class:`Secret` hides its value everywhere but where it is sent, and
:func:`redact` removes ``hapikey`` values from any text that might contain a
URL (httpx's own request log included, see :func:`install_log_redaction`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["Credentials", "Secret", "install_log_redaction", "redact"]

_HAPIKEY = re.compile(r"(hapikey=)[^&\s\"'#]+", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with any ``hapikey=…`` value and bearer token replaced by ``***``."""
    return _BEARER.sub(r"\1***", _HAPIKEY.sub(r"\1***", text))


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print ``Secret('***')``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a secret must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        """The value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not picklable")


class Credentials:
    """What a client authenticates with: an access token, a developer API key, or both."""

    __slots__ = ("developer_api_key", "token")

    def __init__(self, access_token: str | None = None, developer_api_key: str | None = None) -> None:
        self.token = Secret(access_token) if access_token else None
        self.developer_api_key = Secret(developer_api_key) if developer_api_key else None

    def __repr__(self) -> str:
        return (
            f"Credentials(access_token={'***' if self.token else None}, "
            f"developer_api_key={'***' if self.developer_api_key else None})"
        )

    def for_request(self, *, developer_key_allowed: bool) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that authenticate one request.

        Where the endpoint takes a developer API key (webhook subscriptions)
        and one is set, it is used (webhook subscriptions belong to the app);
        otherwise the bearer token.
        """
        if developer_key_allowed and self.developer_api_key:
            return {}, {"hapikey": self.developer_api_key.reveal()}
        if self.token:
            return {"Authorization": f"Bearer {self.token.reveal()}"}, {}
        return {}, {}

    def can_authenticate(self, *, developer_key_allowed: bool) -> bool:
        """Whether these credentials can authenticate a request to such an endpoint."""
        return bool(self.token or (developer_key_allowed and self.developer_api_key))


class _RedactingFilter(logging.Filter):
    """Rewrites log records so that no ``hapikey`` or bearer token survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_installed = False


def install_log_redaction() -> None:
    """Add the redacting filter to the loggers that print request URLs (httpx, httpcore, ours)."""
    global _installed
    if _installed:
        return
    for name in ("httpx", "httpcore", "hubspot_batch"):
        logging.getLogger(name).addFilter(_RedactingFilter())
    _installed = True
