"""One exchange with HubSpot: wait for a turn, POST one batch, and say what the answer means.

An :class:`Exchange` takes the client-wide concurrency slot, reserves a send
from the rate limiter (waiting as it says), gets the credentials, POSTs the
batch, tells the limiter when the request really went out and what the
rate-limit headers said, notes a deprecation header once per job, and
classifies the answer into a :class:`Decision` (see :mod:`._retry`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from ._attempts import Group
from ._auth import AuthRefreshError
from ._daily import DAILY_POLL_INTERVAL, SETTLE_POLL, Claim, DailyBudget, next_utc_midnight
from ._endpoints import Endpoint
from ._errors import DailyLimitError, HubSpotBatchError
from ._job_state import JobState, Stop
from ._limiter import RateLimitHeaders, Reservation, depart
from ._retry import Decision, Verdict, classify
from ._runtime import Runtime
from ._versions import lifecycle

__all__ = ["DEPRECATED_HEADER", "Exchange"]

logger = logging.getLogger("hubspot_batch")
DEPRECATED_HEADER = "x-hubspot-api-deprecated"
"""The response header by which HubSpot flags an API version as deprecated."""


@attrs.define
class Exchange:
    """The exchanges of one job's endpoint: ``await exchange(group)`` sends one group's items as one request."""

    runtime: Runtime
    endpoint: Endpoint
    path: str
    state: JobState
    _absolute_url: httpx.URL | None = attrs.field(default=None, init=False)

    async def __call__(self, group: Group) -> Decision | None:
        """POST the group's items; the :class:`Decision` on the answer, or None if the job stopped first.

        None means nothing was sent: the job stopped while the request waited
        for its turn, or stops now (the rate limiter is unavailable, getting
        a token failed). ``group.token`` becomes the access token used.
        """
        runtime = self.runtime
        state = self.state
        body = b'{"inputs":[' + b",".join([item.body for item in group.items]) + b"]}"
        loop = asyncio.get_running_loop()
        budget = runtime.daily
        claim: Claim | None = None
        async with runtime.semaphore:
            if budget is not None:
                claim = await self._daily_turn(budget)
                if claim is None:
                    return None
            reservation: Reservation | None = None
            if runtime.limiter is not None:
                asked = loop.time()
                try:
                    reservation = await runtime.limiter.reserve()
                except HubSpotBatchError as error:  # a shared limiter that is unreachable, with policy "fail"
                    state.stop_with(f"the rate limiter is unavailable: {error}", error)
                    if budget is not None and claim is not None:
                        await budget.unclaim(claim)
                    return None
                due = asked + reservation.delay  # the slot on our clock, at the latest
                if reservation.delay > 0:
                    await asyncio.sleep(reservation.delay)
                reservation = await depart(runtime.limiter, reservation, late=loop.time() - due)
            ready = loop.time()
            # a request the daily budget made room for still fits it when the job stopped for that budget
            if state.stop is not None and not (claim is not None and state.stop.category == "DAILY_BUDGET"):
                if budget is not None and claim is not None:
                    await budget.unclaim(claim)
                return None
            try:
                headers, params, group.token = await runtime.credentials.for_request(
                    runtime.http, developer_key_allowed=self.endpoint.developer_key
                )
            except AuthRefreshError as error:
                state.stop_with(str(error), error)
                if budget is not None and claim is not None:
                    await budget.unclaim(claim)
                return None
            headers["Content-Type"] = "application/json"
            state.counters.requests += 1
            status: int | None = None
            response_headers: Mapping[str, str] = {}
            content = b""
            exc: Exception | None = None
            written: list[float] = []

            async def trace(event: str, info: Mapping[str, Any]) -> None:
                # httpcore reports when the request really starts going out
                # (after any connect / TLS handshake): book the send then.
                if not written and event.endswith("send_request_headers.started"):
                    written.append(loop.time())

            try:
                answer = await runtime.post(self._url(), content=body, headers=headers, params=params, trace=trace)
                status, response_headers, content = answer.status, answer.headers, answer.content
            except httpx.RequestError as error:
                exc = error
        if budget is not None and claim is not None:
            parsed = RateLimitHeaders.parse(response_headers)
            await budget.settle(claim, parsed.daily, parsed.daily_remaining)
        if state.counters.deprecated is None and DEPRECATED_HEADER in response_headers:
            self._deprecated(response_headers[DEPRECATED_HEADER])
        if runtime.limiter is not None and reservation is not None:
            # a send the backend books at its answer's time (observe) needs no confirm once answered
            books_answer = getattr(runtime.limiter, "books_answer", None)
            rebooked = status is not None and books_answer is not None and books_answer(reservation)
            if written and written[0] > ready and not rebooked:
                await runtime.limiter.confirm(reservation, written[0] - ready)
            if status is not None:
                await runtime.limiter.observe(reservation, RateLimitHeaders.parse(response_headers))
        decision = classify(
            status=status,
            headers=response_headers,
            content=content,
            exc=exc,
            policy=runtime.retry,
            now_wall=time.time(),
        )
        if decision.error is not None and decision.verdict is not Verdict.SUCCESS:
            logger.debug(
                "POST %s -> %s (%d inputs): %s",
                self.path,
                status or type(exc).__name__,
                len(group.items),
                decision.error.message,
            )
        return decision

    async def _daily_turn(self, budget: DailyBudget) -> Claim | None:
        """A claim on the daily budget for one request; waits for the reset when asked, else stops the job (None)."""
        runtime, state = self.runtime, self.state
        loop = asyncio.get_running_loop()
        settling_since: float | None = None
        while True:
            if state.stop is not None and state.stop.category != "DAILY_BUDGET":
                return None
            try:
                claim = await budget.claim(time.time())
            except HubSpotBatchError as unavailable:  # a shared budget in Redis, unreachable, policy "fail"
                state.stop_with(f"the daily budget is unavailable: {unavailable}", unavailable)
                return None
            if claim is not None:
                if state.waiting_until is not None:
                    state.waiting_until = None
                    logger.info("%s: the daily budget has room again; going on", self.endpoint.name)
                return claim
            if state.stop is not None:
                return None
            if budget.in_flight() > 0:  # their answers may show that usage counted some of them twice
                # each is answered or timed out within the request timeout: a claim left over past it is lost
                settling_since = loop.time() if settling_since is None else settling_since
                if loop.time() - settling_since < runtime.timeout + SETTLE_POLL:
                    await asyncio.sleep(SETTLE_POLL)
                    continue
            if not runtime.wait_for_reset:
                limit = f"{budget.limit:,}" if budget.limit is not None else "?"
                used = f"{budget.used:,}" if budget.used is not None else "?"
                error = DailyLimitError(
                    f"the daily budget is spent: {budget.share:g} of the portal's {limit} requests a day "
                    f"(max_daily_share); {used} used",
                    category="DAILY_BUDGET",
                )
                if state.stop is None:
                    state.stop = Stop(
                        f"daily budget reached ({budget.share:g} of the daily limit)", error, "DAILY_BUDGET"
                    )
                    logger.warning("stopping %s job: %s", self.endpoint.name, state.stop.reason)
                return None
            await self._wait_for_reset(budget)

    async def _wait_for_reset(self, budget: DailyBudget) -> None:
        """Sleep towards the daily reset, looking at the usage endpoint now and then: it may come early.

        At the reset HubSpot's figures are taken (``used`` 0 if it does not
        answer); before it, every :data:`DAILY_POLL_INTERVAL` seconds, one
        waiter of the budget asks the usage endpoint, whose figures end the
        wait if the day was reset early.
        """
        runtime, state = self.runtime, self.state
        until = budget.resets_at or next_utc_midnight(time.time())
        if state.waiting_until != until:
            state.waiting_until = until
            logger.warning(
                "%s: the daily budget is spent (%g of the daily limit); waiting for the daily reset at %s UTC",
                self.endpoint.name,
                budget.share,
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(until)),
            )
            if state.progress is not None:
                state.report_progress()
        await asyncio.sleep(min(max(0.0, until - time.time()) + 1.0, DAILY_POLL_INTERVAL))
        if state.stop is not None:
            return
        now = time.time()
        # one waiter of the budget asks (the others' next claim sees what it learned, or the day roll over)
        if budget.poll_due(now, 1.0 if now >= until else DAILY_POLL_INTERVAL):
            usage = await runtime.fetch_daily_usage()
            if usage is not None or now >= until:
                await budget.renew(usage)

    def _deprecated(self, value: str) -> None:
        """HubSpot flagged this endpoint as deprecated: say so once per job, and keep it in the stats."""
        self.state.counters.deprecated = value or "true"
        info = lifecycle(self.endpoint.version)
        move = f"; move to API version {info.replacement}" if info.replacement else ""
        logging.getLogger("hubspot_batch.versions").warning(
            "%s %s: HubSpot answers that this API version is deprecated (X-HubSpot-API-Deprecated: %s)%s",
            self.endpoint.name,
            self.endpoint.version,
            value,
            move,
        )

    def _url(self) -> httpx.URL:
        """The absolute URL of this job's endpoint (joined once: httpx would parse it on every request)."""
        url = self._absolute_url
        if url is None:
            base = self.runtime.http.base_url
            url = self._absolute_url = base.copy_with(
                raw_path=base.raw_path + httpx.URL(self.path).raw_path.lstrip(b"/")
            )
        return url
