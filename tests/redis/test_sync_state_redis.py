"""The Redis sync state against a real redis-server: shared by workers, never showing the URL's password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
from hubspot_batch._sync_redis import FORMAT, LOOKUP_CHUNK, RECORD_CHUNK, RedisState
from hubspot_batch._sync_state import StateError, SyncState
from redis_helpers import RedisServer, free_port


def _digest(n: int) -> bytes:
    return n.to_bytes(4, "big") * 4


def test_records_and_lookups_in_a_hash_per_namespace(redis_server: RedisServer, unique_key: str) -> None:
    with RedisState(redis_server.url, unique_key, endpoint="communications") as state:
        assert isinstance(state, SyncState)
        assert state.key == f"hubspot-batch:state:communications:{unique_key}"
        assert state.size() == 0 and state.lookup([]) == {} and state.lookup(["a"]) == {}
        state.record([("a", _digest(1)), ("b", _digest(2))])
        state.record([("b", _digest(3)), ("ü€", _digest(4))])
        assert state.lookup(["a", "b", "missing", "ü€"]) == {"a": _digest(1), "b": _digest(3), "ü€": _digest(4)}
        assert state.size() == 3
        state.record([])
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.hgetall(f"hubspot-batch:state:communications:{unique_key}") == {
            b"a": _digest(1),
            b"b": _digest(3),
            "ü€".encode(): _digest(4),
        }
        assert client.hget(f"hubspot-batch:state-meta:communications:{unique_key}", "format") == str(FORMAT).encode()
    finally:
        client.close()


def test_digests_answer_each_key_in_order(redis_server: RedisServer, unique_key: str) -> None:
    with RedisState(redis_server.url, unique_key, endpoint="statuses") as state:
        assert state.digests([]) == []
        state.record([("a", _digest(1)), ("ü€", _digest(2))])
        assert state.digests(["ü€", "missing", "a"]) == [_digest(2), None, _digest(1)]
        keys = [f"k{i}" for i in range(LOOKUP_CHUNK + 3)] + ["a"]  # beyond one HMGET
        assert state.digests(keys) == [None] * (LOOKUP_CHUNK + 3) + [_digest(1)]


def test_many_keys_in_one_call(redis_server: RedisServer, unique_key: str) -> None:
    with RedisState(redis_server.url, unique_key, endpoint="statuses") as state:
        state.record((f"k{i}", _digest(i)) for i in range(0, 2 * RECORD_CHUNK + 500, 2))
        keys = [f"k{i}" for i in range(2 * LOOKUP_CHUNK + 77)]
        assert state.lookup(keys) == {f"k{i}": _digest(i) for i in range(0, len(keys), 2)}
        assert state.size() == RECORD_CHUNK + 250


def test_workers_share_one_state(redis_server: RedisServer, unique_key: str) -> None:
    first = RedisState(redis_server.url, unique_key, endpoint="communications")
    second = RedisState(redis_server.url, unique_key, endpoint="communications")
    other = RedisState(redis_server.url, unique_key, endpoint="statuses")
    try:
        first.record([("1", _digest(1))])
        second.record([("2", _digest(2))])
        assert first.lookup(["1", "2"]) == second.lookup(["1", "2"]) == {"1": _digest(1), "2": _digest(2)}
        assert other.lookup(["1", "2"]) == {}  # another endpoint, another hash
    finally:
        for state in (first, second, other):
            state.close()


def test_a_call_whose_pairs_fail_stores_nothing(redis_server: RedisServer, unique_key: str) -> None:
    def failing() -> Iterator[tuple[str, bytes]]:
        for i in range(2500):
            yield f"k{i}", _digest(i)
        raise RuntimeError("the engine failed mid-call")

    with RedisState(redis_server.url, unique_key, endpoint="communications") as state:
        with pytest.raises(RuntimeError):
            state.record(failing())
        assert state.size() == 0


def test_a_client_given_is_used_and_left_open(redis_server: RedisServer, unique_key: str) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        with RedisState(client, unique_key, endpoint="communications") as state:
            state.record([("a", _digest(1))])
            assert f"127.0.0.1:{redis_server.port}" in repr(state)
        assert client.ping()
        assert client.hlen(f"hubspot-batch:state:communications:{unique_key}") == 1
    finally:
        client.close()


def test_clients_that_cannot_serve_are_refused(redis_server: RedisServer, unique_key: str) -> None:
    decoding = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        with pytest.raises(StateError, match="decodes responses"):
            RedisState(decoding, unique_key, endpoint="communications")
    finally:
        decoding.close()
    with pytest.raises(StateError, match=r"blocking redis\.Redis"):
        RedisState(redis.asyncio.Redis.from_url(redis_server.url), unique_key, endpoint="communications")
    with pytest.raises(StateError, match=r"blocking redis\.Redis"):
        RedisState(42, unique_key, endpoint="communications")


def test_a_key_that_is_not_a_state_is_refused(redis_server: RedisServer, unique_key: str) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set(f"hubspot-batch:state:communications:{unique_key}", "something else")
        with pytest.raises(StateError, match="is a string, not a hubspot-batch state"):
            RedisState(redis_server.url, unique_key, endpoint="communications")
        client.hset(f"hubspot-batch:state-meta:statuses:{unique_key}", "format", str(FORMAT + 1))
        with pytest.raises(StateError, match=rf"has format '{FORMAT + 1}'"):
            RedisState(redis_server.url, unique_key, endpoint="statuses")
    finally:
        client.close()


def test_a_closed_state_says_so(redis_server: RedisServer, unique_key: str) -> None:
    state = RedisState(redis_server.url, unique_key, endpoint="communications")
    state.close()
    state.close()
    with pytest.raises(StateError, match="is closed"):
        state.lookup(["a"])


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret-pw@127.0.0.1:{port}/0",
        "redis://worker:s3cret-pw@127.0.0.1:{port}/0",
        "redis://s3cret-pw@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0?password=s3cret-pw",
    ],
)
def test_an_unreachable_server_is_named_without_its_password(url: str) -> None:
    url = url.format(port=free_port())
    with pytest.raises(StateError) as caught:
        RedisState(url, "ns", endpoint="communications", timeout=1)
    for text in (str(caught.value), repr(caught.value)):
        assert "s3cret" not in text
        assert "***" in text and "cannot reach the sync state" in text


def test_not_a_redis_url_is_refused_without_its_password() -> None:
    with pytest.raises(StateError) as caught:
        RedisState("http://user:s3cret-pw@example.com/", "ns", endpoint="communications")
    assert "s3cret" not in str(caught.value) and "user:***@example.com" in str(caught.value)


def test_the_password_is_not_shown_when_the_server_refuses_it(fresh_redis_server: RedisServer) -> None:
    port = fresh_redis_server.port
    admin = redis.Redis.from_url(fresh_redis_server.url)
    try:
        admin.config_set("requirepass", "right-pw")
    finally:
        admin.close()
    with pytest.raises(StateError) as caught:
        RedisState(f"redis://:s3cret-pw@127.0.0.1:{port}/0", "ns", endpoint="communications", timeout=2)
    assert "s3cret" not in str(caught.value)
    assert f"redis://:***@127.0.0.1:{port}/0" in str(caught.value)
    with RedisState(f"redis://:right-pw@127.0.0.1:{port}/0", "ns", endpoint="communications") as state:
        state.record([("a", _digest(1))])
        assert "right-pw" not in repr(state) and f"redis://:***@127.0.0.1:{port}/0" in repr(state)


def test_a_server_lost_mid_run_fails_the_call_with_a_state_error(fresh_redis_server: RedisServer) -> None:
    state = RedisState(fresh_redis_server.url, "ns", endpoint="communications", timeout=1)
    try:
        state.record([("a", _digest(1))])
        fresh_redis_server.kill()
        with pytest.raises(
            StateError, match=rf"cannot read the sync state .* at redis://127.0.0.1:{fresh_redis_server.port}"
        ):
            state.lookup(["a"])
        with pytest.raises(StateError, match="cannot write"):
            state.record([("b", _digest(2))])
    finally:
        state.close()


def test_the_jobs_of_one_client_share_one_connection_to_the_state(redis_server: RedisServer, unique_key: str) -> None:
    from hubspot_batch import HubSpotBatch, OutcomeStatus
    from hubspot_batch.sandbox import SandboxConfig, SandboxServer

    rows = [{"id": str(i), "properties": {"hs_communication_body": f"b{i}"}} for i in range(1, 6)]
    probe = redis.Redis.from_url(redis_server.url)
    try:
        with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
            before = int(probe.info("stats")["total_connections_received"])
            clients_before = int(probe.info("clients")["connected_clients"])
            with HubSpotBatch(
                access_token="t", base_url=server.url, rate_limit=False, sync_state=redis_server.url, portal=unique_key
            ) as hs:
                results = [hs.communications.update(rows, batch_size=2) for _ in range(4)]
            opened = int(probe.info("stats")["total_connections_received"]) - before
            left_open = int(probe.info("clients")["connected_clients"]) - clients_before
    finally:
        probe.close()
    assert results[0].counts["succeeded"] == 5
    assert all(o.status is OutcomeStatus.UNCHANGED for r in results[1:] for o in r)
    assert opened == 1  # one connection for four jobs (each used to open its own)
    assert left_open == 0  # closed with the client
