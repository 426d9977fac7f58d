"""Which Redis client a limiter uses, and the deadline on every call (no Redis server: nothing connects)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import redis
import redis.asyncio
from hubspot_batch import ConfigurationError
from hubspot_batch._redis_connection import RedisConnection
from hubspot_batch._redis_keys import BudgetKeys
from hubspot_batch._redis_scripts import usage_call

URL = "redis://:s3cret@127.0.0.1:1/0"


async def current_client(connection: RedisConnection) -> Any:
    return connection.client()


def test_a_url_is_shown_without_its_password() -> None:
    connection = RedisConnection(URL, timeout=1.0)
    assert connection.url == "redis://:***@127.0.0.1:1/0"
    assert "s3cret" not in repr(connection)


@pytest.mark.parametrize("given", ["http://:pw@localhost", "localhost:6379", 6379, None])
def test_anything_but_a_redis_url_or_client_is_refused(given: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisConnection(given, timeout=1.0)
    assert "pw" not in str(caught.value)


def test_a_client_is_made_from_the_url_for_each_event_loop() -> None:
    connection = RedisConnection(URL, timeout=0.25)
    loop = asyncio.new_event_loop()
    try:
        first = loop.run_until_complete(current_client(connection))
        assert isinstance(first, redis.asyncio.Redis)
        assert loop.run_until_complete(current_client(connection)) is first
        kwargs = first.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == 0.25 and kwargs["socket_connect_timeout"] == 0.25
        other = asyncio.run(current_client(connection))
        assert other is not first
    finally:
        loop.run_until_complete(connection.aclose())
        loop.close()


def test_a_private_loop_gets_a_client_of_its_own_and_gives_the_old_one_back() -> None:
    connection = RedisConnection(URL, timeout=1.0)
    loop = asyncio.new_event_loop()
    try:
        mine = loop.run_until_complete(current_client(connection))
        private = asyncio.run(connection.on_private_loop(lambda: current_client(connection)))
        assert private is not mine
        assert loop.run_until_complete(current_client(connection)) is mine
    finally:
        loop.run_until_complete(connection.aclose())
        loop.close()


async def test_a_given_async_client_is_used_as_is_and_left_open() -> None:
    given = redis.asyncio.Redis(host="cache", port=6380, db=1, password="s3cret")
    connection = RedisConnection(given, timeout=1.0)
    assert connection.url == "redis://cache:6380/1"
    assert connection.client() is given
    assert await connection.run(lambda c: asyncio.sleep(0, result=c)) is given
    await connection.aclose()
    assert connection.client() is given
    await given.aclose()


class RecordingRedis(redis.Redis):
    """A blocking client whose scripts run here and say on which thread (it never connects)."""

    registered = 0

    def register_script(self, script: Any) -> Any:
        RecordingRedis.registered += 1

        def run(*, keys: list[str], args: list[Any], client: Any) -> tuple[int, list[str], list[Any]]:
            assert client is self
            return threading.get_ident(), keys, args

        return run


async def test_a_blocking_clients_calls_run_in_a_worker_thread() -> None:
    given = RecordingRedis(host="cache")
    connection = RedisConnection(given, timeout=1.0)
    assert await connection.run(lambda c: threading.get_ident()) != threading.get_ident()
    call = usage_call(BudgetKeys("p", "k"), "20250102", default_interval=10.0)
    RecordingRedis.registered = 0
    thread, keys, args = await connection.run_script(call)
    await connection.run_script(call)
    assert thread != threading.get_ident()
    assert (keys, args) == (list(call.keys), list(call.args))
    assert RecordingRedis.registered == 1  # once per client
    given.close()


@pytest.mark.looptime
async def test_a_call_that_never_answers_ends_at_the_deadline() -> None:
    given = redis.asyncio.Redis(host="cache")
    connection = RedisConnection(given, timeout=0.5)
    assert connection.deadline == 1.5  # one connect and one read, plus one retry's connect
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await connection.run(lambda c: asyncio.sleep(3600))
    assert loop.time() - started == pytest.approx(1.5)
    await given.aclose()
