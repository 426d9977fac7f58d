"""The Lua scripts that keep the shared window, the arguments each takes, and their registration.

Each script is one atomic step on the Redis server (see :mod:`._redis_limiter`
for the rules they keep). The server's ``TIME`` is the one clock of every
worker. A script is called through a :class:`ScriptCall` (its keys and
arguments in the order the Lua reads them, built by the ``*_call`` functions
next to it) and run by a :class:`ScriptCache`, which registers each script
once per client: redis-py sends ``EVALSHA`` and loads the script when the
server lacks it (after a restart or a ``SCRIPT FLUSH``).

Numbers of seconds travel as ``"%.6f"`` strings (:func:`as_seconds`), absent
values as ``""`` (:func:`as_optional`), which the Lua reads as ``nil``.

The daily budget's scripts (:data:`DAILY_CLAIM`, :data:`DAILY_SETTLE`) keep
the portal's day in the ``day`` hash and the requests under way in the
``day:claims`` sorted set (see :mod:`._redis_daily` for the rules).
"""

from __future__ import annotations

from typing import Any

import attrs

from ._daily import NEW_DAY_DROP, DailyUsage
from ._limiter import RateLimitHeaders
from ._redis_keys import BudgetKeys

__all__ = [
    "CONF_TTL",
    "DAILY_CLAIM",
    "DAILY_SETTLE",
    "DAILY_TTL",
    "DEPART",
    "OBSERVE",
    "RATE_LIMITED",
    "RESERVE",
    "USAGE",
    "Script",
    "ScriptCache",
    "ScriptCall",
    "as_optional",
    "as_seconds",
    "daily_claim_call",
    "daily_settle_call",
    "depart_call",
    "observe_call",
    "rate_limited_call",
    "reserve_call",
    "usage_call",
]

DAILY_TTL = 2 * 86_400
"""Seconds a day's counter is kept."""

CONF_TTL = 7 * 86_400
"""Seconds what was learned is kept after its last use."""

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
_RESERVE_LUA = (
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

# KEYS: window, conf. ARGV: default limit, default interval, cap, margin, member, the booked slot.
# At send time: the booking moves to now (the send leaves now, not at its slot)
# if the window ending now still admits it with every send already gone;
# otherwise it moves to when the window frees and the caller waits until then.
_DEPART_LUA = (
    _PRELUDE
    + """
local limit, interval, paused = settings(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
local margin = tonumber(ARGV[4])
local slot = tonumber(ARGV[6])
local at = now
if paused and paused > at then at = paused end
if slot > at then at = slot end
if at > now then
  redis.call('ZADD', KEYS[1], fmt(at), ARGV[5])
  return {fmt(at), fmt(now)}
end
redis.call('ZADD', KEYS[1], fmt(now), ARGV[5])
local lo = '(' .. fmt(now - interval - margin)
local n = redis.call('ZCOUNT', KEYS[1], lo, fmt(now))
if n <= limit then return {fmt(now), fmt(now)} end
local leaving = redis.call('ZRANGEBYSCORE', KEYS[1], lo, fmt(now), 'WITHSCORES', 'LIMIT', n - limit - 1, 1)
local free = tonumber(leaving[2]) + interval + margin
if free <= now then free = now end
redis.call('ZADD', KEYS[1], fmt(free), ARGV[5])
return {fmt(free), fmt(now)}
"""
)

# KEYS: window, conf. ARGV: max, remaining, interval ms, sent_at, fill member prefix,
# daily, daily remaining, default interval, conf ttl, the booking's member.
_OBSERVE_LUA = (
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
_RATE_LIMITED_LUA = (
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
_USAGE_LUA = (
    _PRELUDE
    + """
local interval = tonumber(redis.call('HGET', KEYS[2], 'interval')) or tonumber(ARGV[1])
local used = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now - interval), fmt(now))
local ahead = redis.call('ZCOUNT', KEYS[1], '(' .. fmt(now), '+inf')
return {fmt(now), used, ahead, redis.call('HGETALL', KEYS[2]), tonumber(redis.call('GET', KEYS[3]) or '0')}
"""
)


# The daily budget. The portal's day: HMGET of the day hash; a day that ended at
# resets_at gives way to the next (whole days later): nothing used until HubSpot
# says otherwise. Integers travel as "%.0f" strings, absent values as ''.
_DAY_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local DAY = 86400
local function fmt(x) return string.format('%.6f', x) end
local function int(x) if x == nil then return '' end return string.format('%.0f', x) end
local function secs(x) if x == nil then return '' end return fmt(x) end
local function the_day(key)
  local d = redis.call('HMGET', key, 'limit', 'used', 'used_at', 'resets_at')
  local limit, used, used_at, resets = tonumber(d[1]), tonumber(d[2]), tonumber(d[3]), tonumber(d[4])
  if resets and now >= resets then
    resets = resets + (math.floor((now - resets) / DAY) + 1) * DAY
    redis.call('HSET', key, 'resets_at', fmt(resets))
    if used then
      used, used_at = 0, now
      redis.call('HSET', key, 'used', '0', 'used_at', fmt(now))
    end
  end
  return limit, used, used_at, resets
end
-- figures learned without resetsAt: their day ends at the next midnight UTC
local function guess_reset(key, limit, resets)
  if limit and not resets then
    resets = now - (now % DAY) + DAY
    redis.call('HSET', key, 'resets_at', fmt(resets))
  end
  return resets
end
-- drop the claims of workers that died (older than ttl); count those left
local function under_way(claims_key, ttl)
  redis.call('ZREMRANGEBYSCORE', claims_key, '-inf', '(' .. fmt(now - ttl))
  return redis.call('ZCARD', claims_key)
end
"""

# KEYS: day, claims. ARGV: share, member, claim ttl, day ttl, then the usage endpoint's
# figures to adopt first ('' = none): limit, used, resets at, collected at.
_DAILY_CLAIM_LUA = (
    _DAY_PRELUDE
    + """
local limit, used, used_at, resets = the_day(KEYS[1])
local a_limit, a_used = tonumber(ARGV[5]), tonumber(ARGV[6])
local a_resets, a_collected = tonumber(ARGV[7]), tonumber(ARGV[8])
if a_limit and a_used and not (a_resets and a_resets <= now) then
  -- taken as they are when collected after every answer counted, or of a later day;
  -- else usage does not go back
  local fresh = used == nil or (a_collected ~= nil and (used_at == nil or a_collected >= used_at))
    or (a_resets ~= nil and resets ~= nil and a_resets > resets + 3600)
  if fresh or a_used > used then
    used, used_at = a_used, now
    redis.call('HSET', KEYS[1], 'used', int(used), 'used_at', fmt(now))
  end
  limit = a_limit
  redis.call('HSET', KEYS[1], 'limit', int(limit))
  if a_resets then
    resets = a_resets
    redis.call('HSET', KEYS[1], 'resets_at', fmt(resets))
  end
end
resets = guess_reset(KEYS[1], limit, resets)
local ttl = tonumber(ARGV[3])
local pending = under_way(KEYS[2], ttl)
local granted = 1
if limit and used and used + pending + 1 > math.floor(tonumber(ARGV[1]) * limit) then granted = 0 end
if granted == 1 then
  redis.call('ZADD', KEYS[2], fmt(now), ARGV[2])
  pending = pending + 1
  redis.call('PEXPIRE', KEYS[2], math.ceil(ttl * 1000) + 1000)
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4])) end
return {granted, int(limit), int(used), pending, secs(resets)}
"""
)

# KEYS: day, claims. ARGV: the claim's member, daily, daily remaining ('' = absent),
# claim ttl, day ttl, the drop that means a new day.
_DAILY_SETTLE_LUA = (
    _DAY_PRELUDE
    + """
redis.call('ZREM', KEYS[2], ARGV[1])
local limit, used, used_at, resets = the_day(KEYS[1])
local daily, remaining = tonumber(ARGV[2]), tonumber(ARGV[3])
if daily and daily > 0 and remaining then
  local reported = daily - remaining
  if reported < 0 then reported = 0 end
  -- the largest usage reported today (answers come out of order), unless it went back by
  -- more than reordering explains: the day was reset
  if used == nil or reported > used or reported + tonumber(ARGV[6]) < used then
    used = reported
    redis.call('HSET', KEYS[1], 'used', int(used), 'used_at', fmt(now))
  end
  limit = daily
  redis.call('HSET', KEYS[1], 'limit', int(limit))
  resets = guess_reset(KEYS[1], limit, resets)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
end
local pending = under_way(KEYS[2], tonumber(ARGV[4]))
return {int(limit), int(used), pending, secs(resets)}
"""
)


@attrs.frozen(slots=True)
class Script:
    """One Lua script: ``name`` (its cache key per client) and its source."""

    name: str
    lua: str = attrs.field(repr=False)


RESERVE = Script("reserve", _RESERVE_LUA)
"""Drop old bookings, book the earliest slot allowed, count the day: ``[slot, now, limit, interval, daily]``."""

DEPART = Script("depart", _DEPART_LUA)
"""At send time: move the booking to now if the window ending now admits it, else to when it frees: ``[slot, now]``."""

OBSERVE = Script("observe", _OBSERVE_LUA)
"""Store what an answer's headers teach, move the booking to the answer's time, book foreign usage."""

RATE_LIMITED = Script("limited", _RATE_LIMITED_LUA)
"""A 429: fill the window ending now and store a ``Retry-After`` pause."""

USAGE = Script("usage", _USAGE_LUA)
"""Read the budget: ``[now, used, ahead, conf hash (flat), daily count]``."""

DAILY_CLAIM = Script("daily-claim", _DAILY_CLAIM_LUA)
"""Adopt the usage endpoint's figures if given, then claim one request if it fits the share:
``[granted (1/0), limit, used, under way, resets at]``."""

DAILY_SETTLE = Script("daily-settle", _DAILY_SETTLE_LUA)
"""An answer to a claimed request: drop the claim, learn its daily headers: ``[limit, used, under way, resets at]``."""


@attrs.frozen(slots=True)
class ScriptCall:
    """A script with its ``KEYS`` and ``ARGV``, ready to run."""

    script: Script
    keys: tuple[str, ...]
    args: tuple[str | int, ...]


def as_seconds(value: float) -> str:
    """A number of seconds as the scripts read and write it (``"%.6f"``)."""
    return f"{value:.6f}"


def as_optional(value: int | None) -> str:
    """An optional number as a script argument: ``""`` (``nil`` in Lua) when absent."""
    return "" if value is None else str(value)


def reserve_call(
    keys: BudgetKeys, day: str, *, limit: int, interval: float, cap: int | None, margin: float, member: str
) -> ScriptCall:
    """Book the next send as ``member`` (``limit`` and ``interval`` until others are learned; ``cap`` bounds them)."""
    args = (limit, as_seconds(interval), as_optional(cap), as_seconds(margin), member, DAILY_TTL, CONF_TTL)
    return ScriptCall(RESERVE, (keys.window, keys.conf, keys.daily(day)), args)


def depart_call(
    keys: BudgetKeys, *, limit: int, interval: float, cap: int | None, margin: float, member: str, slot: float
) -> ScriptCall:
    """The send booked as ``member`` at ``slot`` is about to leave: check the window ending now (see :data:`DEPART`)."""
    args = (limit, as_seconds(interval), as_optional(cap), as_seconds(margin), member, as_seconds(slot))
    return ScriptCall(DEPART, (keys.window, keys.conf), args)


def observe_call(
    keys: BudgetKeys,
    headers: RateLimitHeaders,
    *,
    sent_at: float,
    fill_prefix: str,
    default_interval: float,
    member: str,
) -> ScriptCall:
    """Share what ``headers`` teach about the send booked as ``member`` at ``sent_at`` (server clock)."""
    args = (
        as_optional(headers.max),
        as_optional(headers.remaining),
        as_optional(headers.interval_ms),
        as_seconds(sent_at),
        fill_prefix,
        as_optional(headers.daily),
        as_optional(headers.daily_remaining),
        as_seconds(default_interval),
        CONF_TTL,
        member,
    )
    return ScriptCall(OBSERVE, (keys.window, keys.conf), args)


def rate_limited_call(
    keys: BudgetKeys,
    *,
    limit: int,
    interval: float,
    cap: int | None,
    retry_after: float | None,
    fill_prefix: str,
) -> ScriptCall:
    """Fill the window after a 429 (members named from ``fill_prefix``) and pause until ``retry_after``."""
    pause = "" if retry_after is None else as_seconds(retry_after)
    args = (limit, as_seconds(interval), as_optional(cap), pause, fill_prefix)
    return ScriptCall(RATE_LIMITED, (keys.window, keys.conf), args)


def usage_call(keys: BudgetKeys, day: str, *, default_interval: float) -> ScriptCall:
    """Read the budget and ``day``'s count (``default_interval`` until one is learned)."""
    return ScriptCall(USAGE, (keys.window, keys.conf, keys.daily(day)), (as_seconds(default_interval),))


def daily_claim_call(
    keys: BudgetKeys,
    *,
    share: float,
    member: str,
    claim_ttl: float,
    adopt: DailyUsage | None = None,
) -> ScriptCall:
    """Claim one request as ``member`` if it keeps the day within ``share``; adopt ``adopt`` first."""
    figures: tuple[str, ...] = ("", "", "", "")
    if adopt is not None:
        figures = (
            str(adopt.limit),
            str(adopt.used),
            "" if adopt.resets_at is None else as_seconds(adopt.resets_at),
            "" if adopt.collected_at is None else as_seconds(adopt.collected_at),
        )
    args: tuple[str | int, ...] = (repr(float(share)), member, as_seconds(claim_ttl), DAILY_TTL, *figures)
    return ScriptCall(DAILY_CLAIM, (keys.day, keys.day_claims), args)


def daily_settle_call(
    keys: BudgetKeys, *, member: str, daily: int | None, daily_remaining: int | None, claim_ttl: float
) -> ScriptCall:
    """Settle the claim ``member``: its answer's daily headers (None when absent)."""
    args = (member, as_optional(daily), as_optional(daily_remaining), as_seconds(claim_ttl), DAILY_TTL, NEW_DAY_DROP)
    return ScriptCall(DAILY_SETTLE, (keys.day, keys.day_claims), args)


class ScriptCache:
    """The scripts registered on each client, so that each is registered (hashed) once per client.

    :meth:`run` returns what the client's call returns: the answer for a
    blocking client, an awaitable for a ``redis.asyncio`` one.
    """

    def __init__(self) -> None:
        self._registered: dict[tuple[int, str], Any] = {}

    def __len__(self) -> int:
        return len(self._registered)

    def run(self, client: Any, call: ScriptCall) -> Any:
        """Run ``call`` on ``client`` (``EVALSHA``, loading the script when the server lacks it)."""
        cache_key = (id(client), call.script.name)
        script = self._registered.get(cache_key)
        if script is None:
            script = self._registered[cache_key] = client.register_script(call.script.lua)
        return script(keys=list(call.keys), args=list(call.args), client=client)

    def clear(self) -> None:
        """Forget every registration (the clients are gone)."""
        self._registered.clear()

    def copy(self) -> ScriptCache:
        """A cache with the same registrations, independent of this one."""
        twin = ScriptCache()
        twin._registered = dict(self._registered)
        return twin
