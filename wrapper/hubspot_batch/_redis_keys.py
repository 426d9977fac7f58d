"""Names in Redis: the keys of one shared budget and the members booked in its window.

Keys, all in one Redis Cluster hash slot (the ``{<key>}`` part):

- ``<prefix>:{<key>}:window``: a sorted set, one member per booked send, scored
  by its send time on the server's clock;
- ``<prefix>:{<key>}:conf``: a hash of what was learned (``max``,
  ``interval``, ``paused_until``, ``daily``, ``daily_remaining``,
  ``daily_seen_at``);
- ``<prefix>:{<key>}:daily:<YYYYMMDD>``: the UTC day's count of reservations;
- ``<prefix>:{<key>}:day``: a hash of the portal's day for the shared daily
  budget (``limit``, ``used``, ``used_at``, ``resets_at``);
- ``<prefix>:{<key>}:day:claims``: a sorted set, one member per request a
  worker claimed from the daily budget and has not settled, scored by the
  claim's time (server clock).

Members of the window: ``<instance>:<n>`` for a reservation,
``<instance>:o<n>:<i>`` for foreign usage an answer revealed and
``<instance>:r<n>:<i>`` for a 429's fill (the scripts append ``<i>``).
``<instance>`` is random per limiter, ``<n>`` counts within it, so that no two
bookings of any worker share a member. Claims of the daily budget are
``<instance>:d<n>``.
"""

from __future__ import annotations

import itertools
import time
import uuid

import attrs

__all__ = ["BudgetKeys", "MemberNames", "utc_day"]


@attrs.frozen(slots=True)
class BudgetKeys:
    """The Redis keys of the budget named ``key`` under ``prefix``."""

    prefix: str
    key: str

    @property
    def window(self) -> str:
        """The sorted set of bookings."""
        return f"{self._base}:window"

    @property
    def conf(self) -> str:
        """The hash of what was learned (limit, interval, pause, daily headers)."""
        return f"{self._base}:conf"

    def daily(self, day: str) -> str:
        """The counter of reservations made on ``day`` (``YYYYMMDD``, UTC)."""
        return f"{self._base}:daily:{day}"

    @property
    def day(self) -> str:
        """The hash of the portal's day (the shared daily budget's figures)."""
        return f"{self._base}:day"

    @property
    def day_claims(self) -> str:
        """The sorted set of requests claimed from the daily budget and not settled yet."""
        return f"{self._base}:day:claims"

    def all_for(self, day: str) -> tuple[str, str, str]:
        """Every key of the budget on ``day``: window, conf and that day's counter."""
        return (self.window, self.conf, self.daily(day))

    @property
    def _base(self) -> str:
        return f"{self.prefix}:{{{self.key}}}"


def utc_day(epoch: float | None = None) -> str:
    """The UTC day (``YYYYMMDD``) of ``epoch`` seconds, or of now (this machine's clock)."""
    return time.strftime("%Y%m%d", time.gmtime(epoch))


class MemberNames:
    """Hands out the window members of one limiter (unique across workers: a random instance id and a counter)."""

    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance if instance is not None else uuid.uuid4().hex[:12]
        self._counter = itertools.count()

    def __repr__(self) -> str:
        return f"MemberNames(instance={self.instance!r})"

    def booking(self) -> str:
        """The member of a new reservation."""
        return f"{self.instance}:{next(self._counter)}"

    def foreign_fill(self) -> str:
        """The prefix of the members booked for foreign usage an answer revealed."""
        return f"{self.instance}:o{next(self._counter)}:"

    def daily_claim(self) -> str:
        """The member of a claim on the daily budget."""
        return f"{self.instance}:d{next(self._counter)}"

    def rate_limit_fill(self) -> str:
        """The prefix of the members that fill the window after a 429."""
        return f"{self.instance}:r{next(self._counter)}:"
