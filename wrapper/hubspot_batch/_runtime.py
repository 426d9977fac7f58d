"""Per-client machinery every job of a client shares: HTTP pools, rate limiter, concurrency bound, credentials."""

from __future__ import annotations

import asyncio
import random
import ssl
from typing import Any

import attrs
import httpx
from hubspot_batch_api import Client as GeneratedClient

from ._auth import Credentials, install_log_redaction
from ._daily import USAGE_PATH, DailyBudget, DailyUsage, parse_usage
from ._errors import HubSpotBatchError
from ._http import AiohttpPoster, Answer, Trace, httpx_patched, tls_context
from ._limiter import LimiterBackend
from ._retry import RetryPolicy

__all__ = ["USER_AGENT", "Runtime"]

USER_AGENT = "hubspot-batch/0.1 (+python)"
"""The ``User-Agent`` of every request."""


@attrs.define
class Runtime:
    """Per-client machinery shared by every call: HTTP pools, limiter, concurrency, credentials.

    Batch POSTs go through an :class:`AiohttpPoster` (see :mod:`._http`),
    unless the client was given an httpx ``transport`` or a test tool has
    patched httpx: then through httpx, as every other request (OAuth token
    refresh) always does.
    """

    base_url: str
    timeout: float
    credentials: Credentials
    limiter: LimiterBackend | None
    max_concurrency: int
    retry: RetryPolicy
    transport: httpx.AsyncBaseTransport | None = None
    verify: ssl.SSLContext | str | bool = True
    daily: DailyBudget | None = None
    wait_for_reset: bool = False
    rng: random.Random = attrs.field(factory=random.Random)
    _client: GeneratedClient | None = attrs.field(default=None, init=False)
    _poster: AiohttpPoster | None = attrs.field(default=None, init=False)
    _semaphore: asyncio.Semaphore | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        install_log_redaction()

    async def fetch_daily_usage(self) -> DailyUsage | None:
        """The portal's day from HubSpot's usage endpoint (private-app tokens only; None when it does not answer)."""
        try:
            headers, _, _ = await self.credentials.for_request(self.http, developer_key_allowed=False)
            if not headers:
                return None
            response = await self.http.get(USAGE_PATH, headers=headers)
        except (httpx.HTTPError, HubSpotBatchError):
            return None
        if response.status_code != 200:
            return None
        try:
            return parse_usage(response.json())
        except ValueError:
            return None

    def __repr__(self) -> str:
        return (
            f"Runtime(base_url={self.base_url!r}, max_concurrency={self.max_concurrency}, "
            f"credentials={self.credentials!r})"
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled httpx client (created on first use, inside the running loop)."""
        if self._client is None:
            limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
            args: dict[str, Any] = {"limits": limits}
            if self.transport is not None:
                args["transport"] = self.transport
            self._client = GeneratedClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                verify_ssl=tls_context(self.verify) if isinstance(self.verify, str) else self.verify,
                httpx_args=args,
            )
        return self._client.get_async_httpx_client()

    async def post(
        self,
        url: httpx.URL,
        *,
        content: bytes,
        headers: dict[str, str],
        params: dict[str, str],
        trace: Trace,
    ) -> Answer:
        """POST and return the answer, body read (on aiohttp, or through httpx; see the class)."""
        if self.transport is None and not httpx_patched():
            if self._poster is None:
                self._poster = AiohttpPoster(
                    max_connections=self.max_concurrency,
                    timeout=httpx.Timeout(self.timeout),
                    verify=self.verify,
                    user_agent=USER_AGENT,
                )
            target = str(url.copy_merge_params(params) if params else url)
            return await self._poster.post(target, content=content, headers=headers, trace=trace)
        response = await self.http.post(
            url, content=content, headers=headers, params=params, extensions={"trace": trace}
        )
        return Answer(response.status_code, response.headers, response.content, response.reason_phrase)

    @property
    def semaphore(self) -> asyncio.Semaphore:
        """The client-wide bound on requests in flight."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    async def aclose(self) -> None:
        """Close the HTTP pool (and a limiter backend that holds connections)."""
        close = getattr(self.limiter, "aclose", None)
        if close is not None:
            await close()
        if self._client is not None:
            await self._client.get_async_httpx_client().aclose()
            self._client = None
        if self._poster is not None:
            await self._poster.aclose()
            self._poster = None
        self._semaphore = None
