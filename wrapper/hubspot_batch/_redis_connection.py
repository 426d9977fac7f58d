"""The connection to Redis: which client to use on the running event loop, every call bounded in time.

A limiter is given a URL, a ``redis.asyncio.Redis`` or a blocking
``redis.Redis``:

- from a URL, a ``redis.asyncio`` client is made for each event loop the
  limiter is used on (a client belongs to the loop it was made on), with
  socket connect and read timeouts of ``timeout`` seconds, one retry without
  back-off and a health check of idle connections; it is closed by
  :meth:`RedisConnection.aclose`;
- a ``redis.asyncio`` client is used as is (on its own loop) and left open;
- a blocking client's calls run in a worker thread, and it is left open.

Every call is bounded by an overall deadline (one connect and one read, plus
one retry's connect), so a job never hangs on Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._errors import ConfigurationError
from ._redis_scripts import ScriptCache, ScriptCall
from ._redis_urls import describe_client, is_redis_url, redact_url

__all__ = ["RedisConnection", "require_redis"]

T = TypeVar("T")

logger = logging.getLogger("hubspot_batch")


def require_redis() -> None:
    """Import redis-py (the ``[redis]`` extra): an ImportError says it is missing."""
    import redis
    import redis.asyncio  # noqa: F401


class RedisConnection:
    """The Redis client behind one limiter, and the scripts registered on it.

    ``url`` describes the server without its password. Raises
    :class:`~hubspot_batch.ConfigurationError` for anything but a Redis URL
    (``redis://``, ``rediss://``, ``unix://``) or a redis-py client.
    """

    def __init__(self, redis: Any, *, timeout: float) -> None:
        import redis as sync_redis
        import redis.asyncio as async_redis

        self.timeout = timeout
        self._url: str | None = None
        self._given: Any = None
        self._sync = False
        if isinstance(redis, str):
            if not is_redis_url(redis):
                raise ConfigurationError(
                    f"Redis URL must start with redis://, rediss:// or unix://, got {redact_url(redis)!r}"
                )
            self._url = redis
            self.url = redact_url(redis)
        elif isinstance(redis, async_redis.Redis):
            self._given = redis
            self.url = describe_client(redis)
        elif isinstance(redis, sync_redis.Redis):
            self._given = redis
            self._sync = True
            self.url = describe_client(redis)
        else:
            raise ConfigurationError("redis must be a URL, a redis.asyncio.Redis or a redis.Redis client")
        self._own: Any = None  # a redis.asyncio client made from the URL
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._scripts = ScriptCache()

    def __repr__(self) -> str:
        return f"RedisConnection(url={self.url!r})"

    @property
    def deadline(self) -> float:
        """Seconds any one call may take: one connect and one read, plus one retry's connect."""
        return 2 * self.timeout + 0.5

    def client(self) -> Any:
        """The client for the running event loop (made from the URL when there is none for it yet)."""
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

    async def run(self, call: Callable[[Any], Any]) -> Any:
        """One Redis operation ``call(client)`` on the right client, bounded by the deadline."""
        client = self.client()
        if self._sync:
            return await asyncio.wait_for(asyncio.to_thread(call, client), self.deadline)
        return await asyncio.wait_for(call(client), self.deadline)

    async def run_script(self, call: ScriptCall) -> Any:
        """Run a script (registered once per client), bounded by the deadline."""
        return await self.run(lambda client: self._scripts.run(client, call))

    async def aclose(self) -> None:
        """Close the client made from the URL (a client given stays open); closing never raises."""
        own, self._own, self._own_loop = self._own, None, None
        self._scripts.clear()
        if own is not None:
            try:
                await asyncio.wait_for(own.aclose(), self.timeout)
            except Exception as exc:  # closing must not fail a job
                logger.debug("closing the Redis client failed: %s", exc)

    async def on_private_loop(self, call: Callable[[], Awaitable[T]]) -> T:
        """Await ``call()`` on a loop of its own (``asyncio.run``) with a client of its own, closed before it ends.

        The client (and scripts) of the loop the limiter is otherwise used on
        are put back afterwards.
        """
        own, loop, scripts = self._own, self._own_loop, self._scripts.copy()
        self._own, self._own_loop = None, None
        try:
            return await call()
        finally:
            await self.aclose()
            self._own, self._own_loop, self._scripts = own, loop, scripts
