"""A plan before sending: what a job would take, counted without one batch request.

:func:`make_plan` reads and checks every row as the job would, applies the
sync state (unchanged rows are not sent), chunks the rest exactly as the
engine does (batch size, duplicate keys in a later batch) and counts the
requests. With the day's figures (``X-HubSpot-RateLimit-Daily`` or the
usage endpoint) it adds the share of the portal's daily budget those
requests would use; with a rate it adds the time they would take.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Iterable
from typing import Any

import attrs

from ._chunks import Chunker, Item
from ._daily import DailyUsage
from ._endpoints import Endpoint
from ._prepare import prepared_source
from ._results import Outcome, OutcomeStatus
from ._sync import UnchangedFilter
from ._sync_state import SyncState

__all__ = ["JobPlan", "make_plan"]


@attrs.frozen
class JobPlan:
    """What a job would take.

    ``rows``: inputs read; ``invalid``: rows that fail validation (their
    problems in ``issues`` when ``on_invalid="skip"``); ``unchanged``: rows the
    sync state says HubSpot already has; ``to_send``: rows that would be sent;
    ``requests``: batch requests needed (no retries counted). ``daily_limit``,
    ``daily_used``: the portal's day when known; ``daily_share``: the share of
    the daily limit the requests would use; ``rate`` requests per
    ``interval`` seconds, and ``seconds``: the time the requests would take at
    that rate.
    """

    endpoint: str
    api_version: str
    rows: int
    invalid: int
    unchanged: int
    to_send: int
    requests: int
    batch_size: int
    rate: int | None = None
    interval: float = 10.0
    daily_limit: int | None = None
    daily_used: int | None = None

    @property
    def daily_share(self) -> float | None:
        """The share of the portal's daily limit the requests would use (None: the limit is not known)."""
        return None if not self.daily_limit else self.requests / self.daily_limit

    @property
    def seconds(self) -> float | None:
        """How long the requests would take at the rate (None: no rate)."""
        if not self.rate:
            return None
        windows = max(0, math.ceil(self.requests / self.rate) - 1)
        return windows * self.interval

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values."""
        data = attrs.asdict(self)
        data["daily_share"] = self.daily_share
        data["seconds"] = self.seconds
        return data


async def make_plan(
    endpoint: Endpoint,
    rows: Iterable[Any] | AsyncIterable[Any],
    *,
    batch_size: int,
    state: SyncState | None = None,
    full: bool = False,
    rate: int | None = None,
    interval: float = 10.0,
    usage: DailyUsage | None = None,
) -> JobPlan:
    """Count what sending ``rows`` to ``endpoint`` would take; invalid rows are counted, never raised."""
    sync = UnchangedFilter(state, endpoint, full=full, remember=False) if state is not None else None
    source = prepared_source(endpoint, rows, "plan", "skip", sync)
    chunker = Chunker(batch_size)
    read = invalid = unchanged = to_send = requests = 0
    async for block in source:
        for entry in block:
            read += 1
            if isinstance(entry, Outcome):
                if entry.status is OutcomeStatus.UNCHANGED:
                    unchanged += 1
                else:
                    invalid += 1
                continue
            assert isinstance(entry, Item)
            to_send += 1
            requests += len(chunker.add(entry))
    requests += sum(1 for _ in chunker.flush())
    return JobPlan(
        endpoint=endpoint.name,
        api_version=endpoint.version,
        rows=read,
        invalid=invalid,
        unchanged=unchanged,
        to_send=to_send,
        requests=requests,
        batch_size=batch_size,
        rate=rate,
        interval=interval,
        daily_limit=usage.limit if usage else None,
        daily_used=usage.used if usage else None,
    )
