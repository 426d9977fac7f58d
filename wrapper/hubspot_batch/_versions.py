"""HubSpot's API versions: when each became generally available, when its support ends, what replaces it.

One table, :data:`LIFECYCLE`, with the source of every date. The pure
functions here answer the questions a job asks before it starts: which
version ``"latest"`` means today for an endpoint, and whether a version's
support ends soon enough to warn about (:func:`notice`).

HubSpot's rules (its versioning guide): a date-based version ``YYYY-MM`` is
released every March and September, is *current* for six months, then
*supported* (critical fixes only) until 18 months after its release, then
*unsupported* (it may keep working, with no fixes). The numbered versions
(v1-v4) predate that scheme and are being retired.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

__all__ = ["LIFECYCLE", "VersionInfo", "WARN_DAYS", "latest", "lifecycle", "notice"]

WARN_DAYS = 90
"""A job warns when its version's support ends within this many days (or has ended)."""

Status = Literal["current", "supported", "unsupported", "unreleased", "unknown"]


@attrs.frozen
class VersionInfo:
    """One API version's lifecycle.

    ``released``: the day HubSpot made it generally available (None: before
    date-based versions, or not known). ``support_ends``: the first day it is
    no longer supported (None: not announced). ``replacement``: the version
    to move to. ``source``: where the dates come from.
    """

    version: str
    released: _dt.date | None
    support_ends: _dt.date | None
    replacement: str | None
    source: str

    def status(self, today: _dt.date | None = None) -> Status:
        """``current``, ``supported``, ``unsupported`` or ``unreleased`` on ``today`` (default: today)."""
        today = today or _today()
        if self.support_ends is not None and today >= self.support_ends:
            return "unsupported"
        if self.released is None:
            return "supported" if self.support_ends is not None else "unknown"
        if today < self.released:
            return "unreleased"
        if _add_months(self.released, 6) > today and self.version[:1].isdigit():
            return "current"
        return "supported"


def _add_months(day: _dt.date, months: int) -> _dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


LIFECYCLE: dict[str, VersionInfo] = {
    info.version: info
    for info in (
        # HubSpot's migration guide: every numbered version (v1-v4) is unsupported from September 2027;
        # the first day of that month is taken, so that the warning comes early rather than late.
        VersionInfo("v3", None, _dt.date(2027, 9, 1), "2026-09", "HubSpot API migration guide (September 2027)"),
        # HubSpot's v4 deprecation notice for communication preferences: migrate before 30 March 2027,
        # which is earlier than the migration guide's September 2027 for every numbered version; the
        # earlier date is the one the library warns from.
        VersionInfo(
            "v4",
            None,
            _dt.date(2027, 3, 30),
            "2026-09",
            "HubSpot v4 communication preferences deprecation notice (30 March 2027); "
            "migration guide: numbered versions unsupported from September 2027",
        ),
        # Released 30 March 2026 (GA announced 14 April 2026); supported for 18 months after release.
        VersionInfo(
            "2026-03",
            _dt.date(2026, 3, 30),
            _dt.date(2027, 9, 30),
            "2026-09",
            "HubSpot developer changelog: 2026-03 released 30 March 2026; versioning guide: 18 months of support",
        ),
        # Released and generally available 8 September 2026; supported for 18 months after release.
        VersionInfo(
            "2026-09",
            _dt.date(2026, 9, 8),
            _dt.date(2028, 3, 8),
            None,
            "HubSpot developer changelog: 2026-09 released 8 September 2026; versioning guide: 18 months of support",
        ),
    )
}
"""Every API version the library knows the lifecycle of."""


def _today() -> _dt.date:
    return _dt.datetime.now(_dt.UTC).date()


def lifecycle(version: str) -> VersionInfo:
    """The lifecycle of ``version``; a version missing from the table gets an entry saying nothing is known."""
    return LIFECYCLE.get(version) or VersionInfo(version, None, None, None, "not in the library's lifecycle table")


def latest(available: Iterable[str], today: _dt.date | None = None) -> str | None:
    """The newest generally available date-based version among ``available`` (None when there is none)."""
    today = today or _today()
    released = [
        v for v in available if (info := LIFECYCLE.get(v)) is not None and info.released and info.released <= today
    ]
    return max(released, default=None)


def notice(version: str, today: _dt.date | None = None, *, days: int = WARN_DAYS) -> str | None:
    """A warning when ``version``'s support ends within ``days`` days or has ended; None otherwise."""
    today = today or _today()
    info = lifecycle(version)
    if info.support_ends is None or (info.support_ends - today).days > days:
        return None
    move = f"; move to {info.replacement}" if info.replacement else ""
    when = "ended on" if today >= info.support_ends else "ends on"
    return f"HubSpot API version {version}: support {when} {info.support_ends.isoformat()}{move} ({info.source})"


def known_versions() -> Sequence[VersionInfo]:
    """The lifecycle table, oldest first (numbered versions, then date-based ones)."""
    return sorted(LIFECYCLE.values(), key=lambda i: (i.version[:1].isdigit(), i.version))
