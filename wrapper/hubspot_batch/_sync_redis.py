"""A sync state in Redis, for several workers sharing one state.

One Redis hash per state, ``hubspot-batch:state:<endpoint>:<namespace>``,
maps each key's text to its 16-byte digest: :meth:`RedisState.digests` (and
:meth:`RedisState.lookup`) is one ``HMGET`` per block (several blocks in one
pipeline), :meth:`RedisState.record`
one ``MULTI``/``EXEC`` of ``HSET`` commands, so that a call is stored whole or
not at all. ``hubspot-batch:state-meta:<endpoint>:<namespace>`` holds the
layout's ``format``.

Workers may share a state only if they write distinct keys (or the same
payloads): the last confirmed write of a key wins.

The server is named, in every message and ``repr``, by its URL without the
password (:func:`~hubspot_batch._redis_urls.redact_url`). redis-py (the
``redis`` extra) is imported when a state is opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from ._redis_urls import SECRET_QUERY_KEYS, describe_client, is_redis_url, redact_url
from ._sync_state import StateError

if TYPE_CHECKING:
    from ._sync_state import SyncState

__all__ = ["FORMAT", "KEY_PREFIX", "LOOKUP_CHUNK", "RECORD_CHUNK", "RedisState", "connect"]

FORMAT = 1
"""The version of the layout, stored in the meta hash (a newer one is refused)."""

KEY_PREFIX = "hubspot-batch:state"
"""How the name of every state hash starts."""

LOOKUP_CHUNK = 500
"""Most fields in one ``HMGET``."""

RECORD_CHUNK = 1000
"""Most fields in one ``HSET``."""


def _redis_py() -> Any:
    """redis-py, or :class:`StateError` saying how to install it."""
    try:
        import redis
    except ImportError as exc:
        raise StateError("a sync state in Redis needs redis-py: pip install 'hubspot-batch[redis]'") from exc
    return redis


def _described(exc: BaseException, secrets: tuple[str, ...]) -> str:
    """``exc`` as a message says it, with any of ``secrets`` (a URL's password) masked."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def connect(url: str, timeout: float = 10.0) -> Any:
    """A blocking ``redis.Redis`` client for a sync state at ``url`` (not yet connected), or :class:`StateError`.

    A client to give several :class:`RedisState` in turn (the jobs of one
    ``HubSpotBatch`` share one, and so one connection pool); the message of
    an error names the server without its password.
    """
    redis_py = _redis_py()
    shown = redact_url(url)
    if not is_redis_url(url):
        raise StateError(f"Redis URL must start with redis://, rediss:// or unix://, got {shown!r}")
    try:
        return redis_py.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    except (ValueError, TypeError, redis_py.RedisError) as exc:
        raise StateError(
            f"cannot use the sync state in Redis at {shown} ({_described(exc, _secrets_of(url))})"
        ) from None


class RedisState:
    """A sync state in the Redis at ``redis`` (a URL or a blocking ``redis.Redis``) for ``endpoint`` and ``namespace``.

    From a URL (``redis://``, ``rediss://``, ``unix://``) a client is made
    with socket timeouts of ``timeout`` seconds and closed by :meth:`close`;
    a client given is used as is and left open. It must not decode
    responses. Opening checks that the server answers and that the state's
    layout is known; problems raise
    :class:`~hubspot_batch._sync_state.StateError`, as do failures of later
    calls. No message contains the URL's password.
    """

    def __init__(self, redis: Any, namespace: str, *, endpoint: str, timeout: float = 10.0) -> None:
        self.namespace = namespace
        self.endpoint = endpoint
        self.key = f"{KEY_PREFIX}:{endpoint}:{namespace}"
        self.meta_key = f"{KEY_PREFIX}-meta:{endpoint}:{namespace}"
        self._secrets: tuple[str, ...] = ()
        self._own = False
        self._client: Any = None
        self._failures: tuple[type[BaseException], ...] = (OSError,)
        if isinstance(redis, str):
            self.url = redact_url(redis)
            self._secrets = _secrets_of(redis)
        else:
            self.url = describe_client(redis)
        redis_py = _redis_py()
        self._failures = (redis_py.RedisError, OSError)  # unreachable, timed out, refused: anything else is a bug
        if isinstance(redis, str):
            self._client = connect(redis, timeout)
            self._own = True
        elif isinstance(redis, redis_py.Redis):
            self._client = redis
        else:
            raise StateError("a Redis sync state needs a Redis URL or a blocking redis.Redis client")
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"RedisState({self.url!r}, {self.namespace!r}, endpoint={self.endpoint!r})"

    def _check(self) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            pipe.hsetnx(self.meta_key, "format", str(FORMAT))
            pipe.hget(self.meta_key, "format")
            pipe.type(self.key)
            _, form, kind = pipe.execute()
        except self._failures as exc:
            raise self._error("cannot reach", exc) from None
        if isinstance(form, str):
            raise StateError(f"the Redis client for the sync state at {self.url} decodes responses: it must not")
        if kind not in (b"hash", b"none"):
            raise StateError(
                f"{self.key} in Redis at {self.url} is a {kind.decode(errors='replace')}, not a hubspot-batch "
                f"state: use another namespace"
            )
        if not form.isdigit() or int(form) > FORMAT:
            raise StateError(
                f"the sync state {self.key} in Redis at {self.url} has format {form.decode(errors='replace')!r}, "
                f"this hubspot-batch reads up to {FORMAT}: upgrade it or use another namespace"
            )

    def _error(self, doing: str, exc: BaseException) -> StateError:
        return StateError(
            f"{doing} the sync state {self.key} in Redis at {self.url} ({_described(exc, self._secrets)})"
        )

    def _connection(self) -> Any:
        if self._client is None:
            raise StateError(f"the sync state {self.key} in Redis at {self.url} is closed")
        return self._client

    def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored digests of those of ``keys`` that have one (one round trip)."""
        return {key: value for key, value in zip(keys, self.digests(keys), strict=True) if value is not None}

    def digests(self, keys: Sequence[str]) -> list[bytes | None]:
        """The stored digest of each of ``keys``, ``None`` where there is none, in the same order (``HMGET``)."""
        if not keys:
            return []
        client = self._connection()
        try:
            if len(keys) <= LOOKUP_CHUNK:
                return list(client.hmget(self.key, keys))
            pipe = client.pipeline(transaction=False)
            for start in range(0, len(keys), LOOKUP_CHUNK):
                pipe.hmget(self.key, keys[start : start + LOOKUP_CHUNK])
            return [value for chunk in pipe.execute() for value in chunk]
        except self._failures as exc:
            raise self._error("cannot read", exc) from None

    def record(self, pairs: Iterable[tuple[str, bytes]]) -> None:
        """Store (key, digest) pairs, replacing older digests, in one ``MULTI``/``EXEC``: all or none."""
        client = self._connection()
        chunks: list[dict[str, bytes]] = []
        chunk: dict[str, bytes] = {}
        for key, digest in pairs:
            chunk[key] = digest
            if len(chunk) >= RECORD_CHUNK:
                chunks.append(chunk)
                chunk = {}
        if chunk:
            chunks.append(chunk)
        if not chunks:
            return
        try:
            pipe = client.pipeline(transaction=True)
            for mapping in chunks:
                pipe.hset(self.key, mapping=mapping)
            pipe.execute()
        except self._failures as exc:
            raise self._error("cannot write", exc) from None

    def size(self) -> int:
        """How many keys have a digest (``HLEN``)."""
        client = self._connection()
        try:
            return int(client.hlen(self.key))
        except self._failures as exc:
            raise self._error("cannot read", exc) from None

    def close(self) -> None:
        """Close the client made from the URL (a client given stays open); twice is allowed."""
        client, self._client = self._client, None
        if client is not None and self._own:
            try:
                client.close()
            except Exception:  # closing never fails a job
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _secrets_of(url: str) -> tuple[str, ...]:
    """The passwords in ``url`` (user-info or query, as written and decoded), to scrub from error texts."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return ()
    userinfo = parts.netloc.rpartition("@")[0]
    found = {userinfo.partition(":")[2] or userinfo}  # redis://secret@host: a lone user-info may be a password
    found.update(value for name, value in query if name.lower() in SECRET_QUERY_KEYS)
    found |= {unquote(secret) for secret in found}
    return tuple(sorted((secret for secret in found if secret), key=len, reverse=True))


if TYPE_CHECKING:
    _IS_A_SYNC_STATE: type[SyncState] = RedisState
