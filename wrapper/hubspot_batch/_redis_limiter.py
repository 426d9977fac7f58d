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
- a booking moves to when its request really left (``confirm``) and, once
  answered, to when the answer came (HubSpot counted the request at the latest
  then): connection set-up and queueing in front of the server differ between
  workers, and a window booked at send times alone lets the next window start
  too early;
- what a response teaches (``X-HubSpot-RateLimit-Max``,
  ``-Interval-Milliseconds``, a ``-Remaining`` lower than the bookings
  explain: someone else spends the same budget) is written to Redis, so
  every worker knows it at its next reservation;
- a 429 fills the shared window so that every worker pauses, and a
  ``Retry-After`` pauses them all until then;
- the day's requests are counted (a key per UTC day, kept two days) and the
  last ``X-HubSpot-RateLimit-Daily-Remaining`` seen is stored: see
  :meth:`RedisLimiter.usage`. The engine stops a job on a ``DAILY`` 429.

Keys (all in one Redis Cluster hash slot): ``<prefix>:{<key>}:window``
(sorted set), ``<prefix>:{<key>}:conf`` (hash: ``max``, ``interval``,
``paused_until``, ``daily``, ``daily_remaining``) and
``<prefix>:{<key>}:daily:<YYYYMMDD>`` (counter). Use one ``key`` per HubSpot
app/account budget.

When Redis cannot be reached (connection refused or dropped, a timeout, an
error answer), ``on_unavailable`` decides:

- ``"fallback"`` (default): log one WARNING per outage and go on with an
  in-process :class:`~hubspot_batch.RollingWindow` at ``fallback_fraction`` of
  the last limit learned (HubSpot's answers still teach it foreign usage);
  try Redis again every ``retry_interval`` seconds and return to it (INFO log);
- ``"fail"``: :meth:`RedisLimiter.reserve` raises
  :class:`RedisUnavailableError`, which names the URL with any password
  replaced by ``***``.

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
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

from ._errors import ConfigurationError, HubSpotBatchError
from ._limiter import TIERS, LocalLimiter, RateLimitHeaders, RateTier, Reservation, RollingWindow

__all__ = [
    "OnUnavailable",
    "RedisLimiter",
    "RedisReservation",
    "RedisUnavailableError",
    "RedisUsage",
    "redact_url",
]

logger = logging.getLogger("hubspot_batch")

OnUnavailable = Literal["fallback", "fail"]
"""What :class:`RedisLimiter` does when Redis cannot be reached."""

T = TypeVar("T")

_MAX_SANE_LIMIT = 10_000  # HubSpot's largest window is 250 (+ increases): larger headers are not believed
_INTERVAL_MS_RANGE = (100, 3_600_000)
_DAILY_TTL = 2 * 86_400
_CONF_TTL = 7 * 86_400
_SECRET_QUERY_KEYS = frozenset({"password", "pass", "pwd", "auth", "token", "secret"})

# Lua: the one clock is the server's TIME; scores are written as "%.6f" strings
# so that what is stored is exactly what is returned.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
local function settings(conf_key, default_limit, default_interval, cap)
  local conf = redis.call('HMGET', conf_key, 'max', 'interval', 'paused_until')
  local limit = tonumber(conf[1]) or default_limit
  if cap and cap < limit then limit = cap end
  if limit < 1 then limit = 1 end
  local interval = tonumber(conf[2]) or default_interval
  return limit, interval, tonumber(conf[3])
end
-- Book `count` sends at `score` (foreign usage or a 429); returns how many were booked.
local function fill(window_key, score, count, prefix)
  if count <= 0 then return 0 end
  local args = {}
  local at = fmt(score)
  for i = 1, count do
    args[#args + 1] = at
    args[#args + 1] = prefix .. i
  end
  redis.call('ZADD', window_key, unpack(args))
  return count
end
"""

# KEYS: window, conf, daily. ARGV: default limit, default interval, cap ('' = none),
# margin, member, daily ttl, conf ttl.
_RESERVE = (
    _PRELUDE
    + """
local limit, interval, paused = settings(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local margin = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - 2 * interval))
local at = now
if paused and paused > at then at = paused end
local n = redis.call('ZCARD', KEYS[1])
if n > 0 then
  local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
  if newest > at then at = newest end
  if n >= limit then
    local oldest_needed = tonumber(redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')[2])
    local free = oldest_needed + interval + margin
    if free > at then at = free end
  end
end
local slot = fmt(at)
redis.call('ZADD', KEYS[1], slot, ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + 2 * interval) * 1000) + 60000)
local daily = redis.call('INCR', KEYS[3])
if daily == 1 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6])) end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
return {slot, fmt(now), tostring(limit), fmt(interval), daily}
"""
)

# KEYS: window, conf. ARGV: max, remaining, interval ms, sent_at, fill member prefix,
# daily, daily remaining, default interval, conf ttl, the booking's member.
_OBSERVE = (
    _PRELUDE
    + """
local hmax = tonumber(ARGV[1])
local remaining = tonumber(ARGV[2])
local interval_ms = tonumber(ARGV[3])
local sent_at = tonumber(ARGV[4])
local interval = tonumber(redis.call('HGET', KEYS[2], 'interval')) or tonumber(ARGV[8])
if interval_ms and interval_ms > 0 then
  interval = interval_ms / 1000
  redis.call('HSET', KEYS[2], 'interval', fmt(interval))
end
if hmax and hmax > 0 then redis.call('HSET', KEYS[2], 'max', tostring(hmax)) end
if tonumber(ARGV[6]) then redis.call('HSET', KEYS[2], 'daily', ARGV[6]) end
if tonumber(ARGV[7]) then redis.call('HSET', KEYS[2], 'daily_remaining', ARGV[7], 'daily_seen_at', fmt(now)) end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[9]))
-- HubSpot counted the request at the latest when it answered: book it then
local booked = redis.call('ZSCORE', KEYS[1], ARGV[10])
if booked and tonumber(booked) < now then redis.call('ZADD', KEYS[1], fmt(now), ARGV[10]) end
local missing = 0
if remaining and hmax and hmax > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - 2 * interval))
  local ours = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(sent_at - interval), fmt(now))
  if remaining < 0 then remaining = 0 end
  missing = hmax - ours - remaining
  if missing > hmax then missing = hmax end
  missing = fill(KEYS[1], sent_at, missing, ARGV[5])
end
return missing
"""
)

# KEYS: window, conf. ARGV: default limit, default interval, cap, retry_after ('' = none),
# fill member prefix.
_RATE_LIMITED = (
    _PRELUDE
    + """
local limit, interval, paused = settings(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', fmt(now - 2 * interval))
local used = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now - interval), fmt(now))
local missing = limit - used
missing = fill(KEYS[1], now, missing, ARGV[5])
local retry_after = tonumber(ARGV[4])
if retry_after then
  local until_ = now + retry_after
  if not paused or until_ > paused then redis.call('HSET', KEYS[2], 'paused_until', fmt(until_)) end
end
return missing
"""
)

# KEYS: window, conf, daily. Returns now, bookings in the window ending now, bookings
# after now, the conf hash (flat) and the day's count.
_USAGE = (
    _PRELUDE
    + """
local interval = tonumber(redis.call('HGET', KEYS[2], 'interval')) or tonumber(ARGV[1])
local used = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now - interval), fmt(now))
local ahead = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now), '+inf')
return {fmt(now), used, ahead, redis.call('HGETALL', KEYS[2]), tonumber(redis.call('GET', KEYS[3]) or '0')}
"""
)


class RedisUnavailableError(HubSpotBatchError):
    """Redis could not be reached and the limiter's policy is ``on_unavailable="fail"``.

    ``url`` is the Redis URL with any password replaced by ``***``.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


def redact_url(url: str) -> str:
    """``url`` with its password (user-info or query parameter) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        # a lone user-info (redis://secret@host) may be a password too: hide it as well
        netloc = f"{user}:***@{host}" if colon else f"***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*")
    shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop the // of unix:///path
    if query:
        shown += f"?{query}"
    if parts.fragment:
        shown += f"#{parts.fragment}"
    return shown


@attrs.frozen(slots=True)
class RedisReservation(Reservation):
    """A send booked in Redis: ``slot`` is on the Redis server's clock, ``member`` names the booking."""

    member: str = ""


@attrs.frozen(slots=True)
class RedisUsage:
    """A snapshot of a shared budget (see :meth:`RedisLimiter.usage`).

    ``used``: bookings in the window ending now (all workers, plus foreign
    usage and 429 fills); ``ahead``: bookings for later sends; ``limit`` /
    ``interval``: what the workers use now (learned ``max`` capped by this
    limiter's ``cap``); ``learned_max``: the last ``X-HubSpot-RateLimit-Max``
    seen (None before the first answer); ``daily_count``: reservations made
    today (UTC); ``daily`` / ``daily_remaining``: the last daily headers seen;
    ``paused_until``: the end of a ``Retry-After`` pause (server clock);
    ``now``: the server's clock.
    """

    now: float
    used: int
    ahead: int
    limit: int
    interval: float
    learned_max: int | None
    daily_count: int
    daily: int | None
    daily_remaining: int | None
    paused_until: float | None


def _is_unavailable(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError | TimeoutError)


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
    ) -> None:
        import redis as sync_redis
        import redis.asyncio as async_redis

        if isinstance(limit, str):
            if limit not in TIERS:
                raise ConfigurationError(f"limit tier {limit!r} is not one of {', '.join(TIERS)}")
            limit = TIERS[limit]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigurationError("limit must be a tier name or a positive number of requests per interval")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigurationError("cap must be a positive number of requests per interval")
        if on_unavailable not in ("fallback", "fail"):
            raise ConfigurationError("on_unavailable must be 'fallback' or 'fail'")
        if not 0 < fallback_fraction <= 1:
            raise ConfigurationError("fallback_fraction must be in (0, 1]")
        if not interval > 0 or margin < 0 or not timeout > 0 or retry_interval < 0:
            raise ConfigurationError("interval and timeout must be positive, margin and retry_interval not negative")
        if not isinstance(key, str) or not key:
            raise ConfigurationError("key must be a non-empty string (the HubSpot app / account id)")

        self.key = key
        self.limit = limit
        self.cap = cap
        self.interval = float(interval)
        self.margin = float(margin)
        self.on_unavailable: OnUnavailable = on_unavailable
        self.fallback_fraction = fallback_fraction
        self.timeout = float(timeout)
        self.retry_interval = float(retry_interval)
        base = f"{prefix}:{{{key}}}"
        self._window_key = f"{base}:window"
        self._conf_key = f"{base}:conf"
        self._daily_prefix = f"{base}:daily:"

        self._url: str | None = None
        self._given: Any = None
        self._sync = False
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    f"Redis URL must start with redis://, rediss:// or unix://, got {redact_url(redis)!r}"
                )
            self._url = redis
            self.url = redact_url(redis)
        elif isinstance(redis, async_redis.Redis):
            self._given = redis
            self.url = _describe_client(redis)
        elif isinstance(redis, sync_redis.Redis):
            self._given = redis
            self._sync = True
            self.url = _describe_client(redis)
        else:
            raise ConfigurationError("redis must be a URL, a redis.asyncio.Redis or a redis.Redis client")

        self._own: Any = None  # a redis.asyncio client made from the URL
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[tuple[int, str], Any] = {}
        self._instance = uuid.uuid4().hex[:12]
        self._counter = itertools.count()
        # learned so far (from Redis or from answers), for the fallback window
        self._known_limit = limit if cap is None else min(limit, cap)
        self._known_interval = self.interval
        # outage state (event loop clock)
        self._down = False
        self._retry_at = 0.0
        self._local: LocalLimiter | None = None
        # this process's recent Redis bookings on the loop clock: seed the fallback window
        self._recent: deque[float] = deque()

    def __repr__(self) -> str:
        return (
            f"RedisLimiter(url={self.url!r}, key={self.key!r}, limit={self.limit}, cap={self.cap}, "
            f"on_unavailable={self.on_unavailable!r})"
        )

    # ------------------------------------------------------------------ LimiterBackend

    async def reserve(self) -> Reservation:
        """Book the next send in the shared window (or the fallback window while Redis is away)."""
        if self._redis_due():
            member = f"{self._instance}:{next(self._counter)}"
            cap = "" if self.cap is None else str(self.cap)
            args = [self.limit, _num(self.interval), cap, _num(self.margin), member, _DAILY_TTL, _CONF_TTL]
            day = time.strftime("%Y%m%d", time.gmtime())
            keys = [self._window_key, self._conf_key, self._daily_prefix + day]
            try:
                answer = await self._script("reserve", _RESERVE, keys, args)
            except Exception as exc:
                if not _is_unavailable(exc):
                    raise
                self._unavailable(exc, raise_on_fail=True)
            else:
                self._available()
                slot, now = float(answer[0]), float(answer[1])
                self._known_limit, self._known_interval = int(answer[2]), float(answer[3])
                self._remember(slot - now)
                return RedisReservation(delay=max(slot - now, 0.0), slot=slot, member=member)
        return await self._fallback().reserve()

    async def confirm(self, reservation: Reservation, late: float) -> None:
        """Move the booking to when the request really left (``late`` seconds after its slot)."""
        if late <= 0:
            return
        if isinstance(reservation, RedisReservation):
            if self._down:
                return
            slot = _num(reservation.slot + late)
            await self._quietly("confirm", lambda c: c.zadd(self._window_key, {reservation.member: slot}, xx=True))
        elif self._local is not None:
            await self._local.confirm(reservation, late)

    async def observe(self, reservation: Reservation, headers: RateLimitHeaders) -> None:
        """Book the send at the answer's time; share what its ``X-HubSpot-RateLimit-*`` headers teach.

        Absurd values (a window above 10,000 requests, an interval outside
        0.1 s to 1 h) are ignored, so a hostile header cannot flood Redis.
        """
        headers = _sane(headers)
        if headers.max and headers.max > 0:
            self._known_limit = headers.max if self.cap is None else min(headers.max, self.cap)
        if headers.interval_ms and headers.interval_ms > 0:
            self._known_interval = headers.interval_ms / 1000.0
        if isinstance(reservation, RedisReservation):
            if self._down:
                return
            args = [
                _opt(headers.max),
                _opt(headers.remaining),
                _opt(headers.interval_ms),
                _num(reservation.slot),
                f"{self._instance}:o{next(self._counter)}:",
                _opt(headers.daily),
                _opt(headers.daily_remaining),
                _num(self.interval),
                _CONF_TTL,
                reservation.member,
            ]
            keys = [self._window_key, self._conf_key]
            await self._quietly("observe", lambda c: self._script("observe", _OBSERVE, keys, args, c))
        elif self._local is not None:
            await self._local.observe(reservation, headers)

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: fill the shared window so every worker pauses (and honour ``Retry-After``)."""
        if self._redis_due():
            cap = "" if self.cap is None else str(self.cap)
            args = [
                self.limit,
                _num(self.interval),
                cap,
                "" if retry_after is None else _num(retry_after),
                f"{self._instance}:r{next(self._counter)}:",
            ]
            keys = [self._window_key, self._conf_key]
            if await self._quietly("on_rate_limited", lambda c: self._script("limited", _RATE_LIMITED, keys, args, c)):
                return
        await self._fallback().on_rate_limited(retry_after)

    # ------------------------------------------------------------------ inspection and upkeep

    async def usage(self) -> RedisUsage:
        """The shared budget now (raises :class:`RedisUnavailableError` if Redis cannot be reached)."""
        day = time.strftime("%Y%m%d", time.gmtime())
        keys = [self._window_key, self._conf_key, self._daily_prefix + day]
        try:
            answer = await self._script("usage", _USAGE, keys, [_num(self.interval)])
        except Exception as exc:
            if not _is_unavailable(exc):
                raise
            raise self._error(exc) from exc
        flat = [_text(x) for x in answer[3]]
        conf = dict(zip(flat[::2], flat[1::2], strict=True))
        learned = _int_or_none(conf.get("max"))
        limit = learned if learned is not None else self.limit
        if self.cap is not None:
            limit = min(limit, self.cap)
        return RedisUsage(
            now=float(_text(answer[0])),
            used=int(answer[1]),
            ahead=int(answer[2]),
            limit=limit,
            interval=float(conf.get("interval", self.interval)),
            learned_max=learned,
            daily_count=int(answer[4]),
            daily=_int_or_none(conf.get("daily")),
            daily_remaining=_int_or_none(conf.get("daily_remaining")),
            paused_until=float(conf["paused_until"]) if "paused_until" in conf else None,
        )

    async def reset(self) -> None:
        """Forget the shared window, what was learned and today's count (for tests and operators)."""
        day = time.strftime("%Y%m%d", time.gmtime())
        keys = (self._window_key, self._conf_key, self._daily_prefix + day)
        try:
            await self._run(lambda c: c.delete(*keys))
        except Exception as exc:
            if not _is_unavailable(exc):
                raise
            raise self._error(exc) from exc

    def usage_blocking(self) -> RedisUsage:
        """:meth:`usage` for code without a running event loop."""
        return asyncio.run(self._once(self.usage))

    def reset_blocking(self) -> None:
        """:meth:`reset` for code without a running event loop."""
        asyncio.run(self._once(self.reset))

    @property
    def fallback_active(self) -> bool:
        """Whether Redis is considered away and the local fallback window is in use."""
        return self._down

    async def aclose(self) -> None:
        """Close the Redis client this limiter made from its URL (a client given to it stays open)."""
        own, self._own, self._own_loop = self._own, None, None
        self._scripts.clear()
        if own is not None:
            try:
                await asyncio.wait_for(own.aclose(), self.timeout)
            except Exception as exc:  # closing must not fail a job
                logger.debug("closing the Redis client failed: %s", exc)

    # ------------------------------------------------------------------ internals

    async def _once(self, call: Callable[[], Awaitable[T]]) -> T:
        # A private loop: use a private client on it and close it before the loop ends.
        own, loop, scripts = self._own, self._own_loop, dict(self._scripts)
        self._own, self._own_loop = None, None
        try:
            return await call()
        finally:
            await self.aclose()
            self._own, self._own_loop, self._scripts = own, loop, scripts

    def _client(self) -> Any:
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._own is None or self._own_loop is not loop:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            assert self._url is not None
            self._own = Redis.from_url(
                self._url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
            )
            self._own_loop = loop
        return self._own

    async def _run(self, call: Callable[[Any], Any]) -> Any:
        """One Redis operation on the right client, bounded by the deadline."""
        client = self._client()
        deadline = 2 * self.timeout + 0.5  # one connect + one read, plus one retry's connect
        if self._sync:
            return await asyncio.wait_for(asyncio.to_thread(call, client), deadline)
        return await asyncio.wait_for(call(client), deadline)

    def _script(self, name: str, lua: str, keys: Sequence[str], args: Sequence[Any], client: Any = None) -> Any:
        """Run a registered script (EVALSHA, loading it when the server lacks it)."""

        def call(c: Any) -> Any:
            cache_key = (id(c), name)
            script = self._scripts.get(cache_key)
            if script is None:
                script = self._scripts[cache_key] = c.register_script(lua)
            return script(keys=list(keys), args=list(args), client=c)

        if client is not None:
            return call(client)
        return self._run(call)

    async def _quietly(self, what: str, call: Callable[[Any], Any]) -> bool:
        """Run a call made after a request was sent: never raise; True if Redis answered."""
        try:
            await self._run(call)
        except Exception as exc:
            if not _is_unavailable(exc):
                logger.exception("Redis rate limiter: %s failed", what)
                return False
            self._unavailable(exc, raise_on_fail=False)
            return False
        return True

    def _redis_due(self) -> bool:
        """Whether to use Redis now: it is up, or it is time to try it again."""
        if not self._down:
            return True
        return asyncio.get_running_loop().time() >= self._retry_at

    def _available(self) -> None:
        if self._down:
            self._down = False
            self._local = None
            logger.info("Redis rate limiter: %s is reachable again; using the shared window", self.url)

    def _unavailable(self, exc: BaseException, *, raise_on_fail: bool) -> None:
        self._retry_at = asyncio.get_running_loop().time() + self.retry_interval
        if self.on_unavailable == "fail":
            if raise_on_fail:
                raise self._error(exc) from exc
            logger.warning("Redis rate limiter: %s is unreachable (%s)", self.url, _reason(exc))
            return
        if not self._down:
            self._down = True
            fallback = self._fallback_limit()
            logger.warning(
                "Redis rate limiter: %s is unreachable (%s); falling back to a local limit of %d requests "
                "per %gs (%g of %d) and retrying Redis every %gs",
                self.url,
                _reason(exc),
                fallback,
                self._known_interval,
                self.fallback_fraction,
                self._known_limit,
                self.retry_interval,
            )
        else:
            logger.debug("Redis rate limiter: %s still unreachable (%s)", self.url, _reason(exc))

    def _fallback_limit(self) -> int:
        return max(1, math.floor(self._known_limit * self.fallback_fraction))

    def _remember(self, delay: float) -> None:
        now = asyncio.get_running_loop().time()
        recent = self._recent
        recent.append(now + max(delay, 0.0))
        horizon = now - 2 * self._known_interval
        while recent and recent[0] <= horizon:
            recent.popleft()

    def _fallback(self) -> LocalLimiter:
        if self._local is None:
            fallback = self._fallback_limit()
            window = RollingWindow(fallback, interval=self._known_interval, cap=fallback, margin=self.margin)
            # what this process booked through Redis still counts (at the latest when it was booked for)
            for at in sorted(self._recent):
                window.reserve(at)
            self._recent.clear()
            self._local = LocalLimiter(window)
        return self._local

    def _error(self, exc: BaseException) -> RedisUnavailableError:
        return RedisUnavailableError(
            f"the shared rate limit in Redis at {self.url} is unreachable ({_reason(exc)}); "
            f"on_unavailable='fail' stops here (use on_unavailable='fallback' to continue with a local limit)",
            url=self.url,
        )


def _sane(headers: RateLimitHeaders) -> RateLimitHeaders:
    """Drop window headers no real HubSpot answer carries (they would book huge fills)."""
    low, high = _INTERVAL_MS_RANGE
    if headers.max is not None and not 0 < headers.max <= _MAX_SANE_LIMIT:
        headers = attrs.evolve(headers, max=None, remaining=None)
    if headers.remaining is not None and headers.remaining > _MAX_SANE_LIMIT:
        headers = attrs.evolve(headers, remaining=None)
    if headers.interval_ms is not None and not low <= headers.interval_ms <= high:
        headers = attrs.evolve(headers, interval_ms=None)
    return headers


def _describe_client(client: Any) -> str:
    """A redacted description of where a client connects (never its password)."""
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        return "<redis client>"
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _reason(exc: BaseException) -> str:
    text = str(exc) or "no details"
    return f"{type(exc).__name__}: {text}"


def _num(value: float) -> str:
    return f"{value:.6f}"


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
