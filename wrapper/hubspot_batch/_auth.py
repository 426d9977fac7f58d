"""Credentials: access tokens (static, from a callable, or refreshed by OAuth) and a developer API key.

The access token travels as ``Authorization: Bearer …``; the developer API key
(for webhook subscriptions, which belong to an app) as the ``hapikey`` query
parameter. Three kinds of token source, one interface (:class:`TokenProvider`):

- a string: a private-app token (or any token that does not expire);
- a callable, sync or async, returning the current token (asked before every
  request, and once more after a 401);
- :class:`OAuthRefresher`: client id, client secret and refresh token; it
  fetches access tokens from HubSpot's token endpoint, follows ``expires_in``,
  refreshes shortly before expiry and once more on a 401, single-flight:
  however many requests are in flight, one refresh.

No secret ever appears in a ``repr``, a log line or an exception message:
:class:`Secret` hides its value, and :func:`redact` removes ``hapikey`` values
and bearer tokens from any text that might carry them (httpx's request log
included, see :func:`install_log_redaction`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx

from ._errors import AuthenticationError

__all__ = [
    "AuthRefreshError",
    "Credentials",
    "OAuthRefresher",
    "Secret",
    "TokenProvider",
    "install_log_redaction",
    "redact",
]

logger = logging.getLogger("hubspot_batch")
_HAPIKEY = re.compile(r"(hapikey=)[^&\s\"'#]+", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_FORM_SECRETS = re.compile(r"((?:client_secret|refresh_token|access_token)=)[^&\s\"']+", re.IGNORECASE)
TOKEN_PATH = "/oauth/2026-03/token"
"""HubSpot's current token endpoint (``/oauth/v1/token`` is deprecated on 2027-02-16)."""


def redact(text: str) -> str:
    """``text`` with ``hapikey=…``, form-encoded secrets and bearer tokens replaced by ``***``."""
    return _BEARER.sub(r"\1***", _FORM_SECRETS.sub(r"\1***", _HAPIKEY.sub(r"\1***", text)))


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


class AuthRefreshError(AuthenticationError):
    """A new access token could not be obtained (the job stops; unsent inputs are reported not sent)."""


@runtime_checkable
class TokenProvider(Protocol):
    """Where access tokens come from. Implement it to plug in your own source."""

    async def token(self, http: httpx.AsyncClient) -> str:
        """The token to send now (fetching or refreshing one if needed)."""

    async def renew(self, http: httpx.AsyncClient, rejected: str) -> bool:
        """HubSpot answered 401 to ``rejected``: make a new token ready; False if there is no way to."""


class _StaticToken:
    def __init__(self, value: str) -> None:
        self._value = Secret(value)

    def __repr__(self) -> str:
        return "StaticToken('***')"

    async def token(self, http: httpx.AsyncClient) -> str:
        return self._value.reveal()

    async def renew(self, http: httpx.AsyncClient, rejected: str) -> bool:
        return False


class _CallableToken:
    def __init__(self, source: Callable[[], str | Awaitable[str]]) -> None:
        self._source = source

    def __repr__(self) -> str:
        return f"CallableToken({getattr(self._source, '__qualname__', type(self._source).__name__)})"

    async def token(self, http: httpx.AsyncClient) -> str:
        value = self._source()
        if inspect.isawaitable(value):
            value = await value
        if not isinstance(value, str) or not value.strip():
            raise AuthRefreshError("the access-token callable returned no token")
        return value.strip()

    async def renew(self, http: httpx.AsyncClient, rejected: str) -> bool:
        return await self.token(http) != rejected


class OAuthRefresher:
    """Access tokens from an OAuth refresh token, renewed before they expire and after a 401.

    ``token_url`` defaults to HubSpot's current endpoint on the client's base
    URL (``/oauth/2026-03/token``); pass ``token_url=".../oauth/v1/token"``
    for the legacy one. A token is renewed ``refresh_margin`` seconds before
    ``expires_in`` runs out (at most a tenth of its life). Refreshes are
    single-flight. If HubSpot returns a new refresh token it is used from then on.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        token_url: str | None = None,
        refresh_margin: float = 60.0,
    ) -> None:
        if not client_id or not client_secret or not refresh_token:
            raise ValueError("OAuthRefresher needs client_id, client_secret and refresh_token")
        self._client_id = client_id
        self._client_secret = Secret(client_secret)
        self._refresh_token = Secret(refresh_token)
        self._token_url = token_url
        self._margin = refresh_margin
        self._token: Secret | None = None
        self._expires_at = float("-inf")
        self._lock: asyncio.Lock | None = None
        self.refreshes = 0
        """How many access tokens were fetched."""

    def __repr__(self) -> str:
        return f"OAuthRefresher(client_id={self._client_id!r}, client_secret='***', refresh_token='***')"

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def token(self, http: httpx.AsyncClient) -> str:
        """The current access token, refreshed first when it is about to expire."""
        current = self._token
        if current is not None and self._now() < self._expires_at:
            return current.reveal()
        return await self._refresh(http, stale=current.reveal() if current else None)

    async def renew(self, http: httpx.AsyncClient, rejected: str) -> bool:
        """Refresh after a 401 for ``rejected`` (unless another request already did)."""
        await self._refresh(http, stale=rejected)
        return True

    async def _refresh(self, http: httpx.AsyncClient, stale: str | None) -> str:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            current = self._token
            if current is not None and current.reveal() != stale and self._now() < self._expires_at:
                return current.reveal()  # someone refreshed while we waited
            return await self._fetch(http)

    async def _fetch(self, http: httpx.AsyncClient) -> str:
        url = self._token_url or TOKEN_PATH
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret.reveal(),
            "refresh_token": self._refresh_token.reveal(),
        }
        try:
            response = await http.post(url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthRefreshError(f"could not reach the OAuth token endpoint: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            detail = ""
            if isinstance(body, dict):
                detail = str(body.get("error_description") or body.get("message") or body.get("error") or "")
            raise AuthRefreshError(
                f"refreshing the OAuth access token failed ({response.status_code}): {redact(detail) or 'no detail'}",
                status_code=response.status_code,
                category=str(body.get("status") or body.get("error") or "") if isinstance(body, dict) else None,
            )
        lifetime = float(body.get("expires_in") or 1800)
        margin = min(self._margin, lifetime / 10)
        self._token = Secret(str(body["access_token"]))
        self._expires_at = self._now() + lifetime - margin
        if body.get("refresh_token"):
            self._refresh_token = Secret(str(body["refresh_token"]))
        self.refreshes += 1
        logger.info("fetched a new OAuth access token (valid %ds)", int(lifetime))
        return self._token.reveal()


TokenSource = str | Callable[[], str | Awaitable[str]] | TokenProvider
"""What ``access_token=`` accepts: a token, a callable returning one, or a :class:`TokenProvider`."""


def token_provider(source: TokenSource) -> TokenProvider:
    """The provider behind ``access_token=``."""
    if isinstance(source, str):
        return _StaticToken(source)
    if isinstance(source, TokenProvider):
        return source
    if callable(source):
        return _CallableToken(source)
    raise TypeError(f"access_token must be a string, a callable or a TokenProvider, got {type(source).__name__}")


class Credentials:
    """What a client authenticates with: an access-token source, a developer API key, or both."""

    __slots__ = ("developer_api_key", "provider")

    def __init__(self, access_token: TokenSource | None = None, developer_api_key: str | None = None) -> None:
        self.provider = token_provider(access_token) if access_token else None
        self.developer_api_key = Secret(developer_api_key) if developer_api_key else None

    def __repr__(self) -> str:
        return (
            f"Credentials(access_token={self.provider!r}, "
            f"developer_api_key={'***' if self.developer_api_key else None})"
        )

    async def for_request(
        self, http: httpx.AsyncClient, *, developer_key_allowed: bool
    ) -> tuple[dict[str, str], dict[str, str], str | None]:
        """Headers, query parameters and the token used, for one request.

        Where the endpoint takes a developer API key (webhook subscriptions)
        and one is set, it is used (webhook subscriptions belong to the app);
        otherwise the bearer token.
        """
        if developer_key_allowed and self.developer_api_key:
            return {}, {"hapikey": self.developer_api_key.reveal()}, None
        if self.provider is not None:
            token = await self.provider.token(http)
            return {"Authorization": f"Bearer {token}"}, {}, token
        return {}, {}, None

    async def renew(self, http: httpx.AsyncClient, rejected: str | None) -> bool:
        """After a 401: whether a new token is ready to retry with."""
        if rejected is None or self.provider is None:
            return False
        return await self.provider.renew(http, rejected)

    def can_authenticate(self, *, developer_key_allowed: bool) -> bool:
        """Whether these credentials can authenticate a request to such an endpoint."""
        return bool(self.provider or (developer_key_allowed and self.developer_api_key))


class _RedactingFilter(logging.Filter):
    """Rewrites log records so that no ``hapikey``, form secret or bearer token survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "hubspot_batch",
)
_installed = False


def install_log_redaction() -> None:
    """Add the redacting filter to the loggers that print request URLs (httpx, httpcore, ours)."""
    global _installed
    if _installed:
        return
    # A logger's filters do not apply to records its children log, so name them all.
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(_RedactingFilter())
    _installed = True
