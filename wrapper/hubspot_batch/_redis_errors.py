"""When Redis counts as unreachable, and the error raised then under ``on_unavailable="fail"``.

Unreachable means a connection refused or dropped, a timeout or an error
answer (any ``redis.exceptions.RedisError``, ``OSError`` or
``TimeoutError``); anything else is a bug and propagates.
"""

from __future__ import annotations

from ._errors import HubSpotBatchError

__all__ = ["RedisUnavailableError", "describe_failure", "is_unavailable", "unavailable_error"]


class RedisUnavailableError(HubSpotBatchError):
    """Redis could not be reached and the limiter's policy is ``on_unavailable="fail"``.

    ``url`` is the Redis URL with any password replaced by ``***``.
    """

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis cannot be reached now (rather than a bug)."""
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError | TimeoutError)


def describe_failure(exc: BaseException) -> str:
    """``exc`` for a log line: its type and message."""
    text = str(exc) or "no details"
    return f"{type(exc).__name__}: {text}"


def unavailable_error(url: str, exc: BaseException) -> RedisUnavailableError:
    """The error that stops a job under ``on_unavailable="fail"`` (``url`` already redacted)."""
    return RedisUnavailableError(
        f"the shared rate limit in Redis at {url} is unreachable ({describe_failure(exc)}); "
        f"on_unavailable='fail' stops here (use on_unavailable='fallback' to continue with a local limit)",
        url=url,
    )
