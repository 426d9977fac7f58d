"""A rate limiter shared by many processes: HubSpot's rolling window kept in Redis.

HubSpot's limits belong to the app and the account, not to a process: several
workers (Celery, RQ, Airflow tasks, pods) that each throttle alone together
send more than the budget and meet 429s. :class:`RedisLimiter` keeps one
rolling window for all of them in Redis, with the same rules as the
in-process :class:`~hubspot_batch.RollingWindow`:

- every booking is a member of a sorted set scored by its send time; each
  ``reserve`` is one Lua script (one atomic step on the server) that drops
  bookings older than two intervals, reads the limit learned so far, books
  the earliest send time at or after now that keeps every window within the
  limit (never before the newest booking), counts the day's requests and
  returns how long to wait. The server's ``TIME`` is the one clock for every
  worker (monotonic clocks differ between processes and machines);
- a send leaving late (past half the margin after its slot) is checked
  again when it leaves (``depart``, one more script): a worker busy past its
  slot finds the sends booked after its own already gone and waits until
  the window ending then has room, rather than add one too many to it;
- once answered, a booking moves to when the answer came (``observe``:
  HubSpot counted the request at the latest then), and a request with no
  answer to when it really left (``confirm``): connection set-up and
  queueing in front of the server differ between workers, and a window
  booked at send times alone lets the next window start too early;
- what a response teaches (``X-HubSpot-RateLimit-Max``,
  ``-Interval-Milliseconds``, a ``-Remaining`` lower than the bookings
  explain: someone else spends the same budget) is written to Redis, so
  every worker knows it at its next reservation;
- a 429 fills the shared window so that every worker pauses, and a
  ``Retry-After`` pauses them all until then;
- the day's requests are counted (a key per UTC day, kept two days) and the
  last ``X-HubSpot-RateLimit-Daily-Remaining`` seen is stored: see
  :meth:`RedisLimiter.usage`. The engine stops a job on a ``DAILY`` 429;
- with ``max_daily_share``, the daily budget is shared too
  (:meth:`RedisLimiter.daily_budget`, :mod:`._redis_daily`): the portal's day
  (``limit``, ``used``, ``resets_at``) and every worker's requests under way
  (claims that expire after ``daily_claim_ttl`` seconds, in case a worker
  died) are kept in Redis, and one script claims a request only if the
  day's usage plus every claim stays within the share.

Keys (all in one Redis Cluster hash slot): ``<prefix>:{<key>}:window``
(sorted set), ``<prefix>:{<key>}:conf`` (hash: ``max``, ``interval``,
``paused_until``, ``daily``, ``daily_remaining``),
``<prefix>:{<key>}:daily:<YYYYMMDD>`` (counter), and for the daily budget
``<prefix>:{<key>}:day`` (hash) and ``<prefix>:{<key>}:day:claims`` (sorted
set). Use one ``key`` per HubSpot app/account budget.

When Redis cannot be reached (connection refused or dropped, a timeout, an
error answer), ``on_unavailable`` decides:

- ``"fallback"`` (default): log one WARNING per outage and go on with an
  in-process :class:`~hubspot_batch.RollingWindow` at ``fallback_fraction`` of
  the last limit learned (HubSpot's answers still teach it foreign usage);
  try Redis again every ``retry_interval`` seconds and return to it (INFO log);
- ``"fail"``: :meth:`RedisLimiter.reserve` raises
  :class:`RedisUnavailableError`, which names the URL with any password
  replaced by ``***``.

The shared daily budget follows the same policy: with ``"fallback"`` each
worker keeps its own in-process budget (the last shared figures, HubSpot's
headers still counting every worker's usage) with a WARNING; with ``"fail"``
claiming a request raises :class:`RedisUnavailableError`.

Every Redis call is bounded by ``timeout`` seconds (socket connect and read
timeouts, and an overall deadline), so a job never hangs on Redis. Calls made
after a request was sent (``confirm``, ``observe``, ``on_rate_limited``) never
raise: the request's outcome must not be lost to a limiter failure.

Sync and async: give a URL (a ``redis.asyncio`` client is made for each event
loop the limiter is used on), a ``redis.asyncio.Redis`` client (used as is,
on its own loop), or a blocking ``redis.Redis`` client (its calls run in a
worker thread). The blocking :class:`~hubspot_batch.HubSpotBatch` and the
asyncio :class:`~hubspot_batch.AsyncHubSpotBatch` both take a
:class:`RedisLimiter` as ``rate_limit=``; :meth:`RedisLimiter.usage_blocking`
and :meth:`RedisLimiter.reset_blocking` serve code without an event loop.

Where each part lives (one job per module):

- ``_redis_limiter``: this facade, :class:`RedisLimiter`, the
  :class:`~hubspot_batch.LimiterBackend` the engine awaits;
- ``_redis_daily``: the shared daily budget
  (:class:`~hubspot_batch._redis_daily.RedisDailyBudget`);
- ``_redis_settings``: its arguments, checked;
- ``_redis_keys``: key and member names;
- ``_redis_scripts``: the Lua scripts, their arguments, their registration;
- ``_redis_answers``: what the scripts answer, read into values
  (:class:`RedisReservation`, :class:`RedisUsage`);
- ``_redis_headers``: which rate-limit headers are believed;
- ``_redis_fallback``: the ``on_unavailable`` policy and the local window;
- ``_redis_connection``: the client per event loop, the deadline;
- ``_redis_errors`` and ``_redis_urls``: what counts as unreachable, the error
  then, and URLs without passwords.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from ._daily import DailyUsage
from ._limiter import RateLimitHeaders, RateTier, Reservation
from ._redis_answers import (
    DayFigures,
    RedisReservation,
    RedisUsage,
    read_booked_slot,
    read_daily_claim,
    read_daily_settle,
    read_usage,
)
from ._redis_connection import RedisConnection, require_redis
from ._redis_errors import RedisUnavailableError, describe_failure, is_unavailable, unavailable_error
from ._redis_fallback import Fallback, OnUnavailable
from ._redis_headers import believable
from ._redis_keys import BudgetKeys, MemberNames, utc_day
from ._redis_scripts import (
    ScriptCall,
    as_seconds,
    daily_claim_call,
    daily_settle_call,
    depart_call,
    observe_call,
    rate_limited_call,
    reserve_call,
    usage_call,
)
from ._redis_settings import check_settings
from ._redis_urls import redact_url

if TYPE_CHECKING:
    from ._redis_daily import RedisDailyBudget

__all__ = [
    "OnUnavailable",
    "RedisLimiter",
    "RedisReservation",
    "RedisUnavailableError",
    "RedisUsage",
    "redact_url",
]

logger = logging.getLogger("hubspot_batch")

_FAILED = object()
"""What :meth:`RedisLimiter._quietly` answers when Redis did not."""


class RedisLimiter:
    """A :class:`~hubspot_batch.LimiterBackend` whose rolling window lives in Redis, shared by every worker.

    Its arguments (keyword-only after ``redis``):

    - ``redis``: a Redis URL (``redis://[:password@]host:6379/0``,
      ``rediss://`` for TLS, ``unix://``), a ``redis.asyncio.Redis`` or a
      blocking ``redis.Redis`` client.
    - ``key``: names the budget (the HubSpot app / account id): workers with
      the same ``key`` (and ``prefix``) share one window.
    - ``limit``: requests per interval to start from, a tier name
      (``"professional"``...) or an ``int`` (default: the ``"free"`` tier, 100).
      The real limit is learned from HubSpot's headers and shared.
    - ``cap``: a limit this worker never exceeds, whatever is learned.
    - ``interval``: the window's length in seconds until one is learned (10).
    - ``margin``: seconds added after a send leaves the window before its
      place is reused (as :class:`~hubspot_batch.RollingWindow`).
    - ``on_unavailable``: ``"fallback"`` (local window at
      ``fallback_fraction`` of the budget, a warning) or ``"fail"`` (raise
      :class:`RedisUnavailableError`).
    - ``fallback_fraction``: share of the last learned limit one worker may
      use on its own while Redis is away (0.5; with N workers, 1/N stays
      within the budget even before HubSpot's answers show the others).
    - ``timeout``: seconds any Redis call may take (connect, read, overall).
    - ``retry_interval``: seconds between attempts to reach Redis again while
      falling back.
    - ``prefix``: the first part of every key.
    - ``daily_claim_ttl``: seconds a request claimed from the shared daily
      budget (``max_daily_share``) counts as under way without an answer
      before it is dropped (its worker died): 120.

    Use it as ``rate_limit=`` of :class:`~hubspot_batch.HubSpotBatch` or
    :class:`~hubspot_batch.AsyncHubSpotBatch`. Close it with :meth:`aclose`
    (clients it made itself; a client given to it is left open).
    """

    def __init__(
        self,
        redis: Any,
        *,
        key: str = "default",
        limit: int | RateTier = "free",
        cap: int | None = None,
        interval: float = 10.0,
        margin: float = 0.05,
        on_unavailable: OnUnavailable = "fallback",
        fallback_fraction: float = 0.5,
        timeout: float = 1.0,
        retry_interval: float = 30.0,
        prefix: str = "hubspot-batch",
        daily_claim_ttl: float = 120.0,
    ) -> None:
        require_redis()
        settings = check_settings(
            key=key,
            limit=limit,
            cap=cap,
            interval=interval,
            margin=margin,
            on_unavailable=on_unavailable,
            fallback_fraction=fallback_fraction,
            timeout=timeout,
            retry_interval=retry_interval,
            prefix=prefix,
            daily_claim_ttl=daily_claim_ttl,
        )
        self.key = settings.key
        self.limit = settings.limit
        self.cap = settings.cap
        self.interval = settings.interval
        self.margin = settings.margin
        self.on_unavailable: OnUnavailable = settings.on_unavailable
        self.fallback_fraction = settings.fallback_fraction
        self.timeout = settings.timeout
        self.retry_interval = settings.retry_interval
        self.daily_claim_ttl = settings.daily_claim_ttl
        self._keys = BudgetKeys(settings.prefix, settings.key)
        self._connection = RedisConnection(redis, timeout=settings.timeout)
        self.url = self._connection.url
        self._names = MemberNames()
        self._fallback = Fallback(
            on_unavailable=settings.on_unavailable,
            fraction=settings.fallback_fraction,
            retry_interval=settings.retry_interval,
            margin=settings.margin,
            cap=settings.cap,
            known_limit=settings.start_limit,
            known_interval=settings.interval,
        )

    def __repr__(self) -> str:
        return (
            f"RedisLimiter(url={self.url!r}, key={self.key!r}, limit={self.limit}, cap={self.cap}, "
            f"on_unavailable={self.on_unavailable!r})"
        )

    # ------------------------------------------------------------------ LimiterBackend

    def books_answer(self, reservation: Reservation) -> bool:
        """Whether :meth:`observe` moves this send's booking to its answer's time (then it needs no :meth:`confirm`).

        True for a send booked in Redis; one booked in the fallback window
        while Redis was away is confirmed as usual.
        """
        return isinstance(reservation, RedisReservation)

    async def reserve(self) -> Reservation:
        """Book the next send in the shared window (or the fallback window while Redis is away)."""
        if self._fallback.due(_loop_time()):
            member = self._names.booking()
            call = reserve_call(
                self._keys,
                utc_day(),
                limit=self.limit,
                interval=self.interval,
                cap=self.cap,
                margin=self.margin,
                member=member,
            )
            try:
                answer = await self._connection.run_script(call)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                self._unavailable(exc, before_send=True)
            else:
                self._available()
                booked = read_booked_slot(answer)
                self._fallback.learn_shared(booked.limit, booked.interval)
                self._fallback.remember(_loop_time(), booked.slot - booked.now)
                return RedisReservation(delay=booked.delay, slot=booked.slot, member=member)
        return await self._fallback.window().reserve()

    async def depart(self, reservation: Reservation) -> Reservation:
        """The booked send is about to leave: book it now if the shared window ending now admits it.

        A send booked for a slot may leave later than the slot (its worker
        was busy), and sends booked after it were placed as if it had left on
        time: checking the window at departure keeps every window within the
        limit whoever is late. The answer's ``delay`` is 0 to send now, or how
        long to wait before departing again. Never raises: with Redis away the
        send leaves as booked.
        """
        as_booked = attrs.evolve(reservation, delay=0.0)
        if not isinstance(reservation, RedisReservation):
            if self._fallback.local is not None:
                return await self._fallback.local.depart(reservation)
            return as_booked
        if self._fallback.down:
            return as_booked
        call = depart_call(
            self._keys,
            limit=self.limit,
            interval=self.interval,
            cap=self.cap,
            margin=self.margin,
            member=reservation.member,
            slot=reservation.slot,
        )
        answer = await self._quietly("depart", lambda: self._connection.run_script(call))
        if answer is _FAILED:
            return as_booked
        slot, now = float(answer[0]), float(answer[1])
        return RedisReservation(delay=max(slot - now, 0.0), slot=slot, member=reservation.member)

    async def confirm(self, reservation: Reservation, late: float) -> None:
        """Move the booking to when the request really left (``late`` seconds after its slot)."""
        if late <= 0:
            return
        if isinstance(reservation, RedisReservation):
            if self._fallback.down:
                return
            window, member, slot = self._keys.window, reservation.member, as_seconds(reservation.slot + late)
            await self._quietly(
                "confirm", lambda: self._connection.run(lambda c: c.zadd(window, {member: slot}, xx=True))
            )
        elif self._fallback.local is not None:
            await self._fallback.local.confirm(reservation, late)

    async def observe(self, reservation: Reservation, headers: RateLimitHeaders) -> None:
        """Book the send at the answer's time; share what its ``X-HubSpot-RateLimit-*`` headers teach.

        Absurd values (a window above 10,000 requests, an interval outside
        0.1 s to 1 h) are ignored, so a hostile header cannot flood Redis.
        """
        headers = believable(headers)
        self._fallback.learn_headers(headers)
        if isinstance(reservation, RedisReservation):
            if self._fallback.down:
                return
            call = observe_call(
                self._keys,
                headers,
                sent_at=reservation.slot,
                fill_prefix=self._names.foreign_fill(),
                default_interval=self.interval,
                member=reservation.member,
            )
            await self._quietly("observe", lambda: self._connection.run_script(call))
        elif self._fallback.local is not None:
            await self._fallback.local.observe(reservation, headers)

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: fill the shared window so every worker pauses (and honour ``Retry-After``)."""
        if self._fallback.due(_loop_time()):
            call = rate_limited_call(
                self._keys,
                limit=self.limit,
                interval=self.interval,
                cap=self.cap,
                retry_after=retry_after,
                fill_prefix=self._names.rate_limit_fill(),
            )
            if await self._quietly("on_rate_limited", lambda: self._connection.run_script(call)) is not _FAILED:
                return
        await self._fallback.window().on_rate_limited(retry_after)

    # ------------------------------------------------------------------ the shared daily budget

    def daily_budget(self, share: float) -> RedisDailyBudget:
        """A daily budget of ``share`` of the portal's daily limit, shared by every worker of this ``key``."""
        from ._redis_daily import RedisDailyBudget

        return RedisDailyBudget(share, limiter=self)

    async def claim_daily(self, share: float, adopt: DailyUsage | None) -> tuple[str, DayFigures] | None:
        """Claim one request from the shared day if it fits ``share`` (adopting ``adopt`` first).

        Returns the claim's member and the day's figures (``granted`` says
        whether the claim was made), or None when Redis is away and the policy
        is ``"fallback"`` (raises :class:`RedisUnavailableError` under ``"fail"``).
        """
        member = self._names.daily_claim()
        call = daily_claim_call(self._keys, share=share, member=member, claim_ttl=self.daily_claim_ttl, adopt=adopt)
        answer = await self._daily_script(call, before_send=True)
        return None if answer is None else (member, read_daily_claim(answer))

    async def settle_daily(self, member: str, daily: int | None, daily_remaining: int | None) -> DayFigures | None:
        """The answer to the claimed request ``member`` came with these daily headers; never raises.

        Returns the day's figures, or None when Redis did not answer (the
        claim then expires by itself).
        """
        call = daily_settle_call(
            self._keys, member=member, daily=daily, daily_remaining=daily_remaining, claim_ttl=self.daily_claim_ttl
        )
        answer = await self._daily_script(call, before_send=False)
        return None if answer is None else read_daily_settle(answer)

    async def unclaim_daily(self, member: str) -> None:
        """The claimed request ``member`` was not sent after all; never raises."""
        if self._fallback.down:
            return
        claims = self._keys.day_claims
        await self._quietly("unclaim", lambda: self._connection.run(lambda c: c.zrem(claims, member)))

    async def _daily_script(self, call: ScriptCall, *, before_send: bool) -> Any:
        """Run a daily-budget script: its answer, or None when Redis is away (see :meth:`_unavailable`)."""
        usable = self._fallback.due(_loop_time()) if before_send else not self._fallback.down
        if not usable:
            return None
        try:
            answer = await self._connection.run_script(call)
        except Exception as exc:
            if not is_unavailable(exc):
                if before_send:
                    raise
                logger.exception("Redis daily budget: %s failed", call.script.name)
                return None
            self._unavailable(exc, before_send=before_send)
            return None
        self._available()
        return answer

    # ------------------------------------------------------------------ inspection and upkeep

    async def usage(self) -> RedisUsage:
        """The shared budget now (raises :class:`RedisUnavailableError` if Redis cannot be reached)."""
        call = usage_call(self._keys, utc_day(), default_interval=self.interval)
        try:
            answer = await self._connection.run_script(call)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise unavailable_error(self.url, exc) from exc
        return read_usage(answer, start_limit=self.limit, cap=self.cap, default_interval=self.interval)

    async def reset(self) -> None:
        """Forget the shared window, what was learned, today's count and the daily budget (for tests and operators)."""
        keys = (*self._keys.all_for(utc_day()), self._keys.day, self._keys.day_claims)
        try:
            await self._connection.run(lambda c: c.delete(*keys))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise unavailable_error(self.url, exc) from exc

    def usage_blocking(self) -> RedisUsage:
        """:meth:`usage` for code without a running event loop."""
        return asyncio.run(self._connection.on_private_loop(self.usage))

    def reset_blocking(self) -> None:
        """:meth:`reset` for code without a running event loop."""
        asyncio.run(self._connection.on_private_loop(self.reset))

    @property
    def fallback_active(self) -> bool:
        """Whether Redis is considered away and the local fallback window is in use."""
        return self._fallback.down

    async def aclose(self) -> None:
        """Close the Redis client this limiter made from its URL (a client given to it stays open)."""
        await self._connection.aclose()

    # ------------------------------------------------------------------ internals

    async def _quietly(self, what: str, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Await a Redis operation whose failure must not stop a request: its answer, or :data:`_FAILED`."""
        try:
            return await operation()
        except Exception as exc:
            if not is_unavailable(exc):
                logger.exception("Redis rate limiter: %s failed", what)
                return _FAILED
            self._unavailable(exc, before_send=False)
            return _FAILED

    def _available(self) -> None:
        if self._fallback.recovered():
            logger.info("Redis rate limiter: %s is reachable again; using the shared window", self.url)

    def _unavailable(self, exc: BaseException, *, before_send: bool) -> None:
        """Redis failed: raise (policy ``"fail"``, before a send) or log, as :class:`Fallback` decides."""
        fallback = self._fallback
        step = fallback.lost(_loop_time(), before_send=before_send)
        if step == "raise":
            raise unavailable_error(self.url, exc) from exc
        if step == "warn":
            logger.warning("Redis rate limiter: %s is unreachable (%s)", self.url, describe_failure(exc))
        elif step == "fall back":
            logger.warning(
                "Redis rate limiter: %s is unreachable (%s); falling back to a local limit of %d requests "
                "per %gs (%g of %d) and retrying Redis every %gs",
                self.url,
                describe_failure(exc),
                fallback.limit,
                fallback.known_interval,
                fallback.fraction,
                fallback.known_limit,
                fallback.retry_interval,
            )
        else:
            logger.debug("Redis rate limiter: %s still unreachable (%s)", self.url, describe_failure(exc))


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
