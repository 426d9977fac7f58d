"""Clock types and HubSpot's date-time format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

__all__ = ["Clock", "iso_timestamp"]

#: A function returning seconds as a float (``time.monotonic`` or ``time.time`` shaped).
Clock = Callable[[], float]


def iso_timestamp(epoch_seconds: float) -> str:
    """Format epoch seconds the way HubSpot does: ``2026-11-23T10:00:00.123Z``."""
    millis = int(epoch_seconds * 1000)
    moment = dt.datetime.fromtimestamp(millis // 1000, tz=dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"
