"""Naming Redis without secrets, and when it counts as unreachable (no Redis server)."""

from __future__ import annotations

import types

import pytest
import redis
import redis.exceptions
from hubspot_batch import HubSpotBatchError, RedisUnavailableError
from hubspot_batch._redis_errors import describe_failure, is_unavailable, unavailable_error
from hubspot_batch._redis_urls import describe_client, is_redis_url, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("rediss://pw@host/1", "rediss://***@host/1"),
        ("redis://u:p@ss@host/0", "redis://u:***@host/0"),  # an @ in the password
        ("redis://host:6379/0?password=pw&db=2", "redis://host:6379/0?password=***&db=2"),
        (
            "redis://host/0?PassWord=pw&token=t&ssl_cert_reqs=none",
            "redis://host/0?PassWord=***&token=***&ssl_cert_reqs=none",
        ),
        ("unix:///run/redis.sock?password=pw", "unix:///run/redis.sock?password=***"),
        ("redis://host:6379", "redis://host:6379"),
        ("redis://host/0#frag", "redis://host/0#frag"),
        ("redis://[::1", "<unparsable URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redis_urls_are_recognised_by_scheme() -> None:
    assert all(is_redis_url(u) for u in ("redis://h", "rediss://h", "unix:///s"))
    assert not any(is_redis_url(u) for u in ("http://h", "h:6379", "REDIS://h", ""))


def test_a_client_is_described_by_where_it_connects_never_its_password() -> None:
    tcp = redis.Redis(host="cache", port=6380, db=2, password="s3cret")
    assert describe_client(tcp) == "redis://cache:6380/2"
    sock = redis.Redis(unix_socket_path="/run/redis.sock", password="s3cret")
    assert describe_client(sock) == "unix:///run/redis.sock"
    bare = types.SimpleNamespace(connection_pool=types.SimpleNamespace(connection_kwargs={}))
    assert describe_client(bare) == "redis://localhost:6379/0"
    assert describe_client(object()) == "<redis client>"


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (redis.exceptions.ConnectionError("refused"), True),
        (redis.exceptions.TimeoutError("slow"), True),
        (redis.exceptions.ResponseError("NOSCRIPT"), True),  # an error answer
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (ValueError("a bug"), False),
        (KeyError("a bug"), False),
    ],
)
def test_what_counts_as_unreachable(exc: BaseException, unavailable: bool) -> None:
    assert is_unavailable(exc) is unavailable


def test_a_failure_is_described_by_type_and_message() -> None:
    assert describe_failure(redis.exceptions.ConnectionError("refused")) == "ConnectionError: refused"
    assert describe_failure(TimeoutError()) == "TimeoutError: no details"


def test_the_fail_error_names_the_redacted_url_and_the_way_out() -> None:
    error = unavailable_error("redis://:***@h:6379/0", TimeoutError())
    assert isinstance(error, RedisUnavailableError) and isinstance(error, HubSpotBatchError)
    assert error.url == "redis://:***@h:6379/0"
    text = str(error)
    assert "redis://:***@h:6379/0 is unreachable (TimeoutError: no details)" in text
    assert "on_unavailable='fail'" in text and "on_unavailable='fallback'" in text
