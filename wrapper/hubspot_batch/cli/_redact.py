"""A text stream that masks known secrets, as a last line of defence for everything printed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = ["RedactingStream", "TextSink"]

#: Shorter values are not masked: they cannot be real tokens, and masking them would garble every message.
MIN_SECRET_LENGTH = 8


class TextSink(Protocol):
    """Where text is printed: a file object, or a :class:`RedactingStream` around one."""

    def write(self, text: str, /) -> int:
        """Write ``text``."""
        ...

    def flush(self) -> None:
        """Flush."""
        ...

    def isatty(self) -> bool:
        """Whether this is a terminal."""
        ...


class RedactingStream:
    """Writes to ``stream`` with every occurrence of a registered secret replaced by ``***``."""

    def __init__(self, stream: TextSink) -> None:
        self.stream = stream
        self._secrets: list[str] = []

    def hide(self, secrets: Iterable[str | None]) -> None:
        """Register secrets (``None`` and values too short to be real credentials are ignored)."""
        for secret in secrets:
            if secret and len(secret.strip()) >= MIN_SECRET_LENGTH and secret not in self._secrets:
                self._secrets.append(secret)
                if secret.strip() != secret:
                    self._secrets.append(secret.strip())

    def write(self, text: str) -> int:
        """Write ``text``, masked."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return self.stream.write(text)

    def flush(self) -> None:
        """Flush the underlying stream."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Whether the underlying stream is a terminal."""
        return self.stream.isatty()
