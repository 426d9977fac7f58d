"""Where Redis is, said without secrets: URLs with their password replaced by ``***``.

Every message, log line and ``repr`` of the Redis limiter names the server
through these functions, never through the URL it was given.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["REDIS_SCHEMES", "SECRET_QUERY_KEYS", "describe_client", "is_redis_url", "redact_url"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
"""How a Redis URL starts: plain TCP, TLS, a Unix socket."""

SECRET_QUERY_KEYS = frozenset({"password", "pass", "pwd", "auth", "token", "secret"})
"""Query parameters whose value is hidden."""


def is_redis_url(url: str) -> bool:
    """Whether ``url`` has one of the schemes redis-py connects with (:data:`REDIS_SCHEMES`)."""
    return url.startswith(REDIS_SCHEMES)


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
        query = urlencode([(k, "***" if k.lower() in SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*")
    shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop the // of unix:///path
    if query:
        shown += f"?{query}"
    if parts.fragment:
        shown += f"#{parts.fragment}"
    return shown


def describe_client(client: Any) -> str:
    """Where a redis-py client connects, as a URL without its password (``<redis client>`` if unknown)."""
    try:
        kwargs = client.connection_pool.connection_kwargs
    except AttributeError:
        return "<redis client>"
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
