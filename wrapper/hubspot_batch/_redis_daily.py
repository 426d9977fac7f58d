"""The daily budget shared by every worker of a Redis key: ``max_daily_share`` with a RedisLimiter.

Each process's :class:`~hubspot_batch._daily.DailyBudget` counts only its own
requests under way: N workers with ``max_daily_share=0.5`` would each think
they may spend half the day. With a :class:`~hubspot_batch.RedisLimiter` as
``rate_limit=``, the client's budget is a :class:`RedisDailyBudget`, which
keeps the day in Redis (one hash slot with the limiter's keys):

- ``<prefix>:{<key>}:day`` (hash): the portal's day as HubSpot said it,
  ``limit``, ``used`` (the largest usage reported, and ``used_at``, when it
  was last set, on the server's clock) and ``resets_at``;
- ``<prefix>:{<key>}:day:claims`` (sorted set): one member per request a
  worker claimed and has not settled, scored by the claim's time; a claim
  older than ``daily_claim_ttl`` (120 s) is dropped, so a worker that died
  with requests under way does not hold the budget for ever.

One Lua script claims a request: only if ``used`` + the claims under way + 1
stays within ``floor(share * limit)``, atomically for every worker. Another
settles a claim with its answer's ``X-HubSpot-RateLimit-Daily`` headers. The
rules of the day are those of :mod:`._daily`: usage does not go back within
a day (unless by more than :data:`~hubspot_batch._daily.NEW_DAY_DROP`: a
reset); the day ends at ``resets_at`` (from the usage endpoint, else the next
midnight UTC), and then ``used`` is 0 until HubSpot says otherwise. The
usage endpoint's figures (fetched by each client at its first job, and while
waiting for the reset) are taken as they are when HubSpot collected them
after the last answer counted (or they are of a later day); otherwise usage
only goes up.

When Redis is unreachable, the limiter's ``on_unavailable`` decides:
``"fallback"`` warns once per outage and keeps the budget in this process
(the last shared figures, HubSpot's headers still counting every worker's
usage, but not the requests other workers have under way); ``"fail"`` raises
:class:`~hubspot_batch.RedisUnavailableError`, which stops the job before
sending.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import attrs

from ._daily import Claim, DailyBudget, DailyUsage
from ._redis_answers import DayFigures

if TYPE_CHECKING:
    from ._redis_limiter import RedisLimiter

__all__ = ["RedisDailyBudget"]

logger = logging.getLogger("hubspot_batch")


@attrs.define(eq=False)
class RedisDailyBudget(DailyBudget):
    """A :class:`~hubspot_batch._daily.DailyBudget` whose day and claims live in Redis, shared by every worker.

    The inherited fields mirror the shared day as Redis last said it
    (``under_way``: every worker's claims then); while Redis is away they are
    the in-process budget this worker falls back to. ``adopt`` (sync, as the
    client calls it) is sent to Redis with the next claim.
    """

    limiter: RedisLimiter = attrs.field(kw_only=True, repr=False)
    under_way: int = attrs.field(default=0, kw_only=True)
    _adoption: DailyUsage | None = attrs.field(default=None, init=False, repr=False)
    _alone: bool = attrs.field(default=False, init=False, repr=False)
    _claimed: int = attrs.field(default=0, init=False, repr=False)  # this worker's shared claims not settled

    def in_flight(self) -> int:
        """The claims of this worker not settled yet (shared or, while Redis is away, its own budget's)."""
        return self.pending + self._claimed

    def adopt(self, usage: DailyUsage) -> None:
        """The usage endpoint's figures: kept here, and shared at the next claim."""
        super().adopt(usage)
        self._adoption = usage

    async def claim(self, now: float) -> Claim | None:
        """Claim one request from the shared day (``now`` is used only while Redis is away)."""
        answer = await self.limiter.claim_daily(self.share, self._adoption)
        if answer is None:
            self._fall_back()
            return await super().claim(now)
        member, figures = answer
        self._adoption = None
        self._shared_again()
        self._mirror(figures)
        if not figures.granted:
            return None
        self._claimed += 1
        return Claim(member)

    async def settle(self, claim: Claim, daily: int | None, daily_remaining: int | None) -> None:
        """The answer to a claimed request: settle its claim in Redis (or here, if it was claimed here)."""
        if not claim.member:
            self.observe(daily, daily_remaining)
            return
        self._claimed = max(0, self._claimed - 1)
        self.learn(daily, daily_remaining)
        figures = await self.limiter.settle_daily(claim.member, daily, daily_remaining)
        if figures is not None:
            self._mirror(figures)

    async def unclaim(self, claim: Claim) -> None:
        """A claimed request was not sent after all: give its claim back."""
        if not claim.member:
            self.release()
            return
        self._claimed = max(0, self._claimed - 1)
        await self.limiter.unclaim_daily(claim.member)

    async def renew(self, usage: DailyUsage | None) -> None:
        """While waiting: HubSpot's figures are shared at the next claim; at the reset Redis starts the day itself."""
        if usage is not None:
            self.adopt(usage)
        else:
            self.reset()

    def _mirror(self, figures: DayFigures) -> None:
        self.limit, self.used, self.resets_at = figures.limit, figures.used, figures.resets_at
        self.under_way = figures.under_way

    def _fall_back(self) -> None:
        if not self._alone:
            self._alone = True
            logger.warning(
                "Redis daily budget: %s is unreachable; this worker keeps the daily budget on its own "
                "(%g of the last known daily limit, other workers' requests under way not counted) until it is back",
                self.limiter.url,
                self.share,
            )

    def _shared_again(self) -> None:
        if self._alone:
            self._alone = False
            logger.info("Redis daily budget: %s is reachable again; the daily budget is shared", self.limiter.url)
