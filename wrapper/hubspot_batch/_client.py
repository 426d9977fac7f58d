"""The two faces: :class:`HubSpotBatch` (blocking) and :class:`AsyncHubSpotBatch` (asyncio).

Both hold a :class:`_Core` (configuration, the per-client runtime, and how a
call becomes a job) and differ only in how they wait: the async face awaits
the engine's coroutines; the blocking face runs the very same coroutines on a
private event loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

import httpx

from . import _versions
from ._auth import Credentials, TokenSource
from ._daily import daily_budget
from ._endpoints import ApiVersion, Endpoint, EndpointName, endpoint, known_version, versions
from ._engine import Job, OnInvalid, Runtime, check_all, prepared_source
from ._errors import ConfigurationError, InputIssue, InputValidationError
from ._ids import IdFrom, with_id_from
from ._limiter import TIERS, LimiterBackend, LocalLimiter, RateTier, RollingWindow
from ._plan import JobPlan, make_plan
from ._resources import (
    AsyncCommunications,
    AsyncSubscriptionStatuses,
    AsyncTimelineEvents,
    AsyncWebhookSubscriptions,
    Communications,
    SubscriptionStatuses,
    TimelineEvents,
    WebhookSubscriptions,
)
from ._results import BatchResult, Outcome, Progress
from ._retry import RetryPolicy
from ._sync import SyncStateSource, UnchangedFilter, namespace_for, open_state

__all__ = ["DEFAULT_BASE_URL", "AsyncHubSpotBatch", "HubSpotBatch"]

DEFAULT_BASE_URL = "https://api.hubapi.com"
version_logger = logging.getLogger("hubspot_batch.versions")
"""Where lifecycle warnings go (the CLI prints them as notices)."""
T = TypeVar("T")
Rows = Iterable[Any] | AsyncIterable[Any]


def _limiter(rate_limit: int | str | bool | RollingWindow | LimiterBackend | None) -> LimiterBackend | None:
    if rate_limit is False:
        return None
    if rate_limit is None or rate_limit is True:
        return LocalLimiter(RollingWindow(TIERS["free"]))
    if isinstance(rate_limit, str):
        if rate_limit not in TIERS:
            raise ConfigurationError(f"rate_limit tier {rate_limit!r} is not one of {', '.join(TIERS)}")
        return LocalLimiter(RollingWindow(TIERS[rate_limit]))
    if isinstance(rate_limit, int):
        if rate_limit < 1:
            raise ConfigurationError("rate_limit must be a positive number of requests per 10 seconds")
        return LocalLimiter(RollingWindow(rate_limit, cap=rate_limit))
    if isinstance(rate_limit, RollingWindow):
        return LocalLimiter(rate_limit)
    return rate_limit


class _Core:
    """Configuration and the shared runtime; turns a call into a job."""

    def __init__(
        self,
        *,
        access_token: TokenSource | None,
        developer_api_key: str | None,
        base_url: str,
        timeout: float,
        max_concurrency: int,
        rate_limit: int | RateTier | bool | RollingWindow | LimiterBackend | None,
        retry: RetryPolicy | None,
        batch_size: int | None,
        transport: httpx.AsyncBaseTransport | None,
        on_invalid: OnInvalid,
        progress: Callable[[Progress], None] | None,
        api_version: ApiVersion,
        verify: ssl.SSLContext | str | bool = True,
        sync_state: SyncStateSource | None = None,
        full: bool = False,
        portal: str | None = None,
        max_daily_share: float | None = None,
        wait_for_reset: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if timeout is not None and timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        if batch_size is not None and not 1 <= batch_size <= 100:
            raise ConfigurationError("batch_size must be between 1 and 100 (HubSpot's batch limit)")
        if on_invalid not in ("raise", "skip"):
            raise ConfigurationError("on_invalid must be 'raise' or 'skip'")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
        try:
            credentials = Credentials(access_token, developer_api_key)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"credentials: {exc}") from None
        if not isinstance(api_version, str) or not known_version(api_version):
            known = ", ".join(v.version for v in versions())
            raise ConfigurationError(
                f"api_version must be 'v3' (the numbered versions), 'latest' or one of {known}; got {api_version!r}"
            )
        self.api_version: ApiVersion = api_version
        self.batch_size = batch_size
        self.on_invalid: OnInvalid = on_invalid
        self.progress = progress
        self.runtime = Runtime(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            credentials=credentials,
            limiter=_limiter(rate_limit),
            max_concurrency=max_concurrency,
            retry=retry or RetryPolicy(),
            transport=transport,
            verify=verify,
            daily=daily_budget(max_daily_share, rate_limit),
            wait_for_reset=wait_for_reset,
        )
        if wait_for_reset and max_daily_share is None:
            raise ConfigurationError("wait_for_reset needs max_daily_share")
        self.sync_state = sync_state
        self._state_clients: dict[str, Any] = {}  # Redis clients of the sync state, by URL: one pool for every job
        self.full = full
        self.portal = portal
        self._usage_fetched = False

    def __repr__(self) -> str:
        return repr(self.runtime)

    def job(
        self,
        name: EndpointName,
        *,
        api_version: str | None,
        batch_size: int | None,
        path_params: dict[str, Any] | None = None,
        existing_is_success: bool = False,
        total: int | None = None,
        id_from: IdFrom | None = None,
    ) -> Job:
        """A job for one call, with the endpoint resolved and the arguments checked.

        With ``id_from`` the ids of created rows are derived from the rows, so
        "already exists" means an earlier run created it: success.
        """
        ep: Endpoint = self.endpoint(name, api_version, id_from)
        existing_is_success = existing_is_success or id_from is not None
        warning = _versions.notice(ep.version)
        if warning is not None:
            version_logger.warning("%s: %s", name, warning)
        size = batch_size or self.batch_size or ep.default_batch_size
        if not 1 <= size <= 100:
            raise ConfigurationError("batch_size must be between 1 and 100 (HubSpot's batch limit)")
        if not self.runtime.credentials.can_authenticate(developer_key_allowed=ep.developer_key):
            what = "access_token or developer_api_key" if ep.developer_key else "access_token"
            raise ConfigurationError(f"{name} needs credentials: pass {what}")
        return Job(
            self.runtime,
            ep,
            ep.path(**(path_params or {})),
            size,
            existing_is_success=existing_is_success,
            progress=self.progress,
            total=total,
        )

    def endpoint(self, name: EndpointName, api_version: str | None, id_from: IdFrom | None = None) -> Endpoint:
        """The endpoint a call uses: its version resolved, ids derived when ``id_from`` is given."""
        ep = endpoint(name, api_version or self.api_version)
        return ep if id_from is None else with_id_from(ep, id_from)

    async def aclose(self) -> None:
        """Close the runtime (connection pool, limiter) and the sync state's Redis clients."""
        clients, self._state_clients = self._state_clients, {}
        for client in clients.values():
            try:
                client.close()
            except Exception:  # closing never fails a job
                pass
        await self.runtime.aclose()

    def validate(
        self, name: EndpointName, rows: Iterable[Any], api_version: str | None, id_from: IdFrom | None = None
    ) -> tuple[InputIssue, ...]:
        """Every problem in ``rows`` (index and field of each), sending nothing."""
        return tuple(check_all(self.endpoint(name, api_version, id_from), rows, "validate"))

    async def collect(self, job: Job, rows: Rows, on_invalid: OnInvalid | None) -> BatchResult:
        """Read every row, check them all (nothing is sent if one is invalid), send, and return one result.

        Rows are checked in a first pass that keeps nothing, then prepared
        again as they are sent: prepared rows are not all held at once.
        """
        if isinstance(rows, AsyncIterable):
            rows = [row async for row in rows]
        elif not isinstance(rows, list | tuple):
            rows = list(rows)  # read twice
        on_invalid = on_invalid or self.on_invalid
        if on_invalid == "raise":
            issues = check_all(job.endpoint, rows, job.job_id)
            if issues:
                raise InputValidationError(issues)
        job.total = len(rows)
        outcomes: list[Outcome] = []
        async with self._synced(job, rows, on_invalid) as (source, sync):
            async for run in job.runs(source):
                if sync is not None:
                    sync.confirm(run)
                outcomes += run
        return job.result(outcomes)

    def stream(self, job: Job, rows: Rows, on_invalid: OnInvalid | None) -> AsyncGenerator[BatchResult, None]:
        """Results part by part, reading rows only as fast as they are sent."""
        return self._stream(job, rows, on_invalid or self.on_invalid)

    async def _stream(self, job: Job, rows: Rows, on_invalid: OnInvalid) -> AsyncGenerator[BatchResult, None]:
        async with self._synced(job, rows, on_invalid) as (source, sync):
            async for part in job.run(source):
                if sync is not None:
                    sync.confirm(part)
                yield part

    async def plan(
        self,
        name: EndpointName,
        rows: Rows,
        api_version: str | None,
        batch_size: int | None,
        app_id: int | None,
        id_from: IdFrom | None,
    ) -> JobPlan:
        """Count what a call would take (see :func:`._plan.make_plan`), sending no batch request."""
        ep = self.endpoint(name, api_version, id_from)
        if ep.path_params and app_id is None:
            raise ConfigurationError(f"{name}: plan needs app_id")
        path = ep.path(**({"appId": app_id} if ep.path_params else {}))
        size = batch_size or self.batch_size or ep.default_batch_size
        usage = await self.runtime.fetch_daily_usage() if self.runtime.credentials.provider is not None else None
        limiter = self.runtime.limiter
        window = getattr(limiter, "window", None)
        rate = getattr(window, "limit", None)
        interval = float(getattr(window, "interval", 10.0))
        state = None
        owned = False
        if self.sync_state is not None:
            state, owned = open_state(self.sync_state, ep, namespace_for(path, self.portal), self._state_clients)
        try:
            return await make_plan(
                ep, rows, batch_size=size, state=state, full=self.full, rate=rate, interval=interval, usage=usage
            )
        finally:
            if owned and state is not None:
                state.close()

    @contextlib.asynccontextmanager
    async def _synced(
        self, job: Job, rows: Rows, on_invalid: OnInvalid
    ) -> AsyncIterator[tuple[AsyncIterator[list[Any]], UnchangedFilter | None]]:
        """The job's prepared source, filtered by the sync state (and the day's usage fetched once when budgeted)."""
        daily = self.runtime.daily
        if daily is not None and not daily.known and not self._usage_fetched:
            self._usage_fetched = True
            usage = await self.runtime.fetch_daily_usage()
            if usage is not None:
                daily.adopt(usage)
        if self.sync_state is None:
            yield prepared_source(job.endpoint, rows, job.job_id, on_invalid), None
            return
        state, owned = open_state(
            self.sync_state, job.endpoint, namespace_for(job.path, self.portal), self._state_clients
        )
        try:
            sync = UnchangedFilter(state, job.endpoint, full=self.full)
            yield prepared_source(job.endpoint, rows, job.job_id, on_invalid, sync), sync
        finally:
            if owned:
                state.close()


async def _agen(parts: AsyncIterator[BatchResult]) -> AsyncGenerator[BatchResult, None]:
    async for part in parts:
        yield part


_CLIENT_DOC = """

    Arguments (all keyword-only):

    - ``access_token``: a private-app or OAuth access token (sent as a bearer
      token), a callable (sync or async) returning the current token, or a
      :class:`TokenProvider` such as :class:`OAuthRefresher` (refreshes before
      expiry and once after a 401, single-flight).
    - ``developer_api_key``: a developer API key, used for webhook subscriptions
      (sent as ``hapikey``); never logged.
    - ``base_url``: HubSpot's API (default ``https://api.hubapi.com``), or a sandbox.
    - ``timeout``: seconds per request (default 30; the generated client alone has none).
    - ``max_concurrency``: requests in flight at once (default 16).
    - ``rate_limit``: requests per 10 seconds as a cap (an ``int``), a tier name
      (``"free"``, ``"professional"``, ``"enterprise"``, ``"api-limit-increase"``,
      ``"oauth-app"``) to start from, ``None`` (start from the free tier) or
      ``False`` to disable limiting. The real limit is learned from HubSpot's
      ``X-HubSpot-RateLimit-*`` headers either way (never above an ``int`` cap).
    - ``retry``: a :class:`RetryPolicy` (attempts, backoff, caps).
    - ``batch_size``: inputs per request for every endpoint (default 100).
    - ``transport``: an ``httpx.AsyncBaseTransport`` (the sandbox's,
      ``httpx.MockTransport``, ``httpx.AsyncHTTPTransport(http2=True)``...);
      by default batch POSTs go through aiohttp (proxies from
      ``HTTP(S)_PROXY``/``ALL_PROXY``/``NO_PROXY``) and everything else
      through httpx.
    - ``sync_state``: incremental sync: a SQLite file (a directory: one file
      per endpoint) or a state object (``RedisState`` for several workers).
      A row whose payload HubSpot already accepted is not sent (outcome
      ``unchanged``); a payload is remembered once HubSpot confirmed it.
      ``full=True`` sends every row and refreshes the state; ``portal`` names
      the portal in the state's namespace.
    - ``max_daily_share``: never send a request that would take the portal's
      daily usage above this share (0 < F <= 1) of its daily limit (learned
      from ``X-HubSpot-RateLimit-Daily*`` headers, or HubSpot's usage endpoint
      with a private-app token; OAuth answers carry no daily figures, and then
      nothing is refused). Rows left get ``not_sent`` with category
      ``DAILY_BUDGET``; ``wait_for_reset=True`` waits for the daily reset instead.
    - ``verify``: TLS verification, as httpx takes it: ``True`` (certifi's
      bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), a CA bundle path,
      ``False``, or an ``ssl.SSLContext`` (load client certificates into it).
    - ``on_invalid``: ``"raise"`` (default: nothing is sent if a row is invalid)
      or ``"skip"`` (invalid rows are reported as failed, the rest is sent).
    - ``progress``: a callable given a :class:`Progress` after every batch.
    - ``api_version``: ``"v3"`` (default: the numbered versions, v3 and v4 for
      status writes), a date-based version (``"2026-03"``, ``"2026-09"``) or
      ``"latest"`` (the newest generally available version of each endpoint);
      each call can override it with its own ``api_version=``. Every result
      says the version it used (:attr:`BatchResult.api_version`); a job on a
      version whose support ends within 90 days logs a warning
      (:func:`hubspot_batch.versions` lists each version's dates).
    - ``rate_limit_backend``: where the rate budget lives when several
      processes share it: a Redis URL or a :class:`RedisLimiter` (or any
      :class:`LimiterBackend`); ``rate_limit`` then gives its starting tier or cap.
"""


class _Client:
    """What both faces share: the arguments (see ``_CLIENT_DOC``) and the core built from them."""

    def __init__(
        self,
        *,
        access_token: TokenSource | None = None,
        developer_api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_concurrency: int = 16,
        rate_limit: int | RateTier | bool | RollingWindow | LimiterBackend | None = None,
        retry: RetryPolicy | None = None,
        batch_size: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_invalid: OnInvalid = "raise",
        progress: Callable[[Progress], None] | None = None,
        api_version: ApiVersion = "v3",
        rate_limit_backend: LimiterBackend | str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        sync_state: SyncStateSource | None = None,
        full: bool = False,
        portal: str | None = None,
        max_daily_share: float | None = None,
        wait_for_reset: bool = False,
    ) -> None:
        if rate_limit_backend is not None:
            if rate_limit is False:
                raise ConfigurationError("rate_limit=False contradicts rate_limit_backend")
            if isinstance(rate_limit_backend, str):  # a Redis URL
                from ._redis_limiter import RedisLimiter

                cap = rate_limit if isinstance(rate_limit, int) and not isinstance(rate_limit, bool) else None
                start: Any = cap if cap is not None else (rate_limit if isinstance(rate_limit, str) else "free")
                rate_limit_backend = RedisLimiter(rate_limit_backend, limit=start, cap=cap)
            rate_limit = rate_limit_backend
        self._core = _Core(
            access_token=access_token,
            developer_api_key=developer_api_key,
            base_url=base_url,
            timeout=timeout,
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            retry=retry,
            batch_size=batch_size,
            transport=transport,
            on_invalid=on_invalid,
            progress=progress,
            api_version=api_version,
            verify=verify,
            sync_state=sync_state,
            full=full,
            portal=portal,
            max_daily_share=max_daily_share,
            wait_for_reset=wait_for_reset,
        )
        self._attach()

    def _attach(self) -> None:
        raise NotImplementedError


class AsyncHubSpotBatch(_Client):
    """The asyncio client. Use ``async with AsyncHubSpotBatch(...) as hs:``.

    Namespaces: ``hs.communications``, ``hs.webhooks``,
    ``hs.subscription_statuses``, ``hs.timeline``.
    """

    __doc__ = (__doc__ or "") + _CLIENT_DOC

    def _attach(self) -> None:
        self.communications = AsyncCommunications(self._core)
        self.webhooks = AsyncWebhookSubscriptions(self._core)
        self.subscription_statuses = AsyncSubscriptionStatuses(self._core)
        self.timeline = AsyncTimelineEvents(self._core)

    def __repr__(self) -> str:
        return f"AsyncHubSpotBatch({self._core!r})"

    async def __aenter__(self) -> AsyncHubSpotBatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._core.aclose()


class HubSpotBatch(_Client):
    """The blocking client. Use ``with HubSpotBatch(...) as hs:``.

    Namespaces: ``hs.communications``, ``hs.webhooks``,
    ``hs.subscription_statuses``, ``hs.timeline``. It runs the same engine as
    :class:`AsyncHubSpotBatch` on a private event loop, so it cannot be used
    from inside a running event loop (use the async client there). The
    ``*_iter`` methods send while you iterate.
    """

    __doc__ = (__doc__ or "") + _CLIENT_DOC

    def _attach(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.communications = Communications(self._core, self._run, self._iterate)
        self.webhooks = WebhookSubscriptions(self._core, self._run, self._iterate)
        self.subscription_statuses = SubscriptionStatuses(self._core, self._run, self._iterate)
        self.timeline = TimelineEvents(self._core, self._run, self._iterate)

    def __repr__(self) -> str:
        return f"HubSpotBatch({self._core!r})"

    def __enter__(self) -> HubSpotBatch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and the private event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.run_until_complete(self._core.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
        self._loop = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coroutine.close()
            raise ConfigurationError(
                "HubSpotBatch blocks and cannot run inside a running event loop; use AsyncHubSpotBatch there"
            )
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def _iterate(self, parts: AsyncGenerator[BatchResult, None]) -> Iterator[BatchResult]:
        try:
            while True:
                try:
                    part = self._run(parts.__anext__())
                except StopAsyncIteration:
                    return
                yield part
        finally:
            if self._loop is not None and not self._loop.is_closed():
                self._run(parts.aclose())
