"""One batch's attempts: send a chunk until every input has an outcome, or the job stops.

:class:`Attempts` keeps the inputs still to send as groups (one request
each) and acts on the :class:`Decision` on each exchange: success (mapped to
per-input outcomes; inputs the answer is silent about are retried), retry
with backoff, rate limited (pause through the limiter), daily limit and
rejected credentials or scopes (stop the job), a whole batch rejected for
one input (split it in halves to isolate it), and "already exists" for a
create that an earlier, unanswered attempt of this job made (a success).
The exchange itself is given (see :mod:`._exchange`), so this state machine
can be driven by scripted decisions.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping

import attrs

from ._auth import AuthRefreshError
from ._chunks import Item
from ._endpoints import Endpoint
from ._errors import DailyLimitError
from ._job_state import JobState, failed, not_sent
from ._mapping import ALREADY_CREATED_NOTE, map_response
from ._results import Outcome, OutcomeError, OutcomeStatus
from ._retry import Decision, Verdict, backoff_delay
from ._runtime import Runtime

__all__ = ["Attempts", "ExchangeFn", "Group"]

logger = logging.getLogger("hubspot_batch")


@attrs.define
class Group:
    """Inputs of one chunk that travel together in one request."""

    items: list[Item]
    attempts: int = 0
    rate_limited: int = 0
    maybe_landed: bool = False
    token: str | None = None  # the access token of the last attempt
    renewed: bool = False  # a 401 already led to a new token once


ExchangeFn = Callable[[Group], Awaitable[Decision | None]]
"""Send one group as one request: the :class:`Decision` on the answer, or None if the job stopped first."""


@attrs.define
class Attempts:
    """The attempts of the batches of one job: :meth:`send` one chunk's items, get one outcome per item."""

    runtime: Runtime
    endpoint: Endpoint
    state: JobState
    exchange: ExchangeFn
    existing_is_success: bool = False

    async def send(self, items: list[Item]) -> list[Outcome]:
        """Send ``items`` (retrying, splitting, stopping as the answers say): one outcome per item."""
        policy = self.runtime.retry
        state = self.state
        outcomes: list[Outcome] = []
        groups: deque[Group] = deque([Group(items)])
        split_budget = policy.max_split_requests
        while groups:
            group = groups.popleft()
            if state.stop is not None:
                outcomes += not_sent(group.items, state.stop.category, f"not sent: {state.stop.reason}")
                continue
            decision = await self.exchange(group)
            if decision is None:  # the job stopped while this request waited for its turn
                groups.appendleft(group)
                continue
            verdict = decision.verdict
            if verdict is Verdict.SUCCESS:
                decided, silent = map_response(
                    self.endpoint,
                    group.items,
                    decision.body,
                    status_code=decision.status_code or 200,
                    maybe_landed=group.maybe_landed,
                    existing_is_success=self.existing_is_success,
                )
                outcomes += decided
                if silent:
                    group = Group(silent, group.attempts, group.rate_limited, True)
                    missing = OutcomeError(
                        category="MISSING_RESULT",
                        message="HubSpot's answer had neither a result nor an error for this input",
                    )
                    outcomes += await self._retry_or_fail(group, Decision(Verdict.RETRY, error=missing), groups)
            elif verdict is Verdict.RETRY:
                group.maybe_landed = group.maybe_landed or decision.maybe_landed
                outcomes += await self._retry_or_fail(group, decision, groups)
            elif verdict is Verdict.RATE_LIMITED:
                state.counters.rate_limited += 1
                group.rate_limited += 1
                if self.runtime.limiter is not None:
                    await self.runtime.limiter.on_rate_limited(decision.delay)
                else:  # no limiter to pause the senders: back off this batch
                    delay = decision.delay
                    if delay is None:
                        delay = backoff_delay(group.rate_limited, policy, self.runtime.rng)
                    await asyncio.sleep(delay)
                if group.rate_limited > policy.max_rate_limited:
                    outcomes += failed(group.items, decision.error, "rate limited on every retry")
                else:
                    state.counters.retries += 1
                    groups.appendleft(group)
            elif verdict is Verdict.DAILY_LIMIT:
                error = decision.error or OutcomeError(category="DAILY_LIMIT", message="daily limit reached")
                state.halt("the account's daily request limit is reached", DailyLimitError, error)
                outcomes += not_sent(
                    group.items, "DAILY_LIMIT", f"not sent: daily request limit reached ({error.message})"
                )
            elif verdict in (Verdict.AUTH, Verdict.SCOPES):
                assert decision.error is not None
                if verdict is Verdict.AUTH and not group.renewed:
                    if await self._renew(group.token):
                        group.renewed = True
                        state.counters.retries += 1
                        groups.appendleft(group)
                        continue
                    if state.stop is not None:  # the refresh itself failed: nothing of this batch landed
                        groups.appendleft(group)
                        continue
                state.halt_auth(verdict, decision.error)
                outcomes += failed(group.items, decision.error, "")
            elif verdict is Verdict.SPLIT:
                assert decision.error is not None
                existing = self._named_as_existing(group, decision)
                if existing:
                    # "Already exists" for ids an earlier attempt of ours may have created:
                    # those are done; send the rest again as one batch (no split needed).
                    outcomes += self._created_earlier(i for i in group.items if i.index in existing)
                    rest = [i for i in group.items if i.index not in existing]
                    if rest:
                        groups.appendleft(Group(rest, group.attempts, group.rate_limited, group.maybe_landed))
                elif len(group.items) == 1:
                    outcomes += self._single_rejection(group, decision)
                elif split_budget >= 2:
                    split_budget -= 2
                    state.counters.splits += 1
                    half = len(group.items) // 2
                    groups.appendleft(Group(group.items[half:], 0, group.rate_limited, group.maybe_landed))
                    groups.appendleft(Group(group.items[:half], 0, group.rate_limited, group.maybe_landed))
                else:
                    outcomes += failed(group.items, decision.error, "rejected with its whole batch (not isolated)")
            else:
                assert decision.error is not None
                outcomes += failed(group.items, decision.error, "")
        return outcomes

    def _named_as_existing(self, group: Group, decision: Decision) -> set[int]:
        """Indexes of the group's items a whole-batch "already exists" names, when that means success."""
        if not self.endpoint.creates or not (group.maybe_landed or self.existing_is_success):
            return set()
        body = decision.body if isinstance(decision.body, Mapping) else {}
        assert decision.error is not None
        if not self.endpoint.is_already_exists(
            {**body, "category": decision.error.category, "message": decision.error.message}
        ):
            return set()
        context = body.get("context")
        ids = context.get("ids") if isinstance(context, Mapping) else None
        if not isinstance(ids, list):
            return set()
        named = {str(i) for i in ids}
        return {i.index for i in group.items if str(i.row.get("id")) in named}

    def _single_rejection(self, group: Group, decision: Decision) -> list[Outcome]:
        """The outcome of one input rejected alone: a success if it is "already exists" for our create."""
        assert decision.error is not None
        body = decision.body if isinstance(decision.body, Mapping) else {}
        item = group.items[0]
        if (
            self.endpoint.creates
            and self.endpoint.is_already_exists(
                {**body, "category": decision.error.category, "message": decision.error.message}
            )
            and (group.maybe_landed or self.existing_is_success)
        ):
            return self._created_earlier([item])
        return failed(group.items, decision.error, "")

    def _created_earlier(self, items: Iterable[Item]) -> list[Outcome]:
        """Successes for creates that an earlier, unanswered attempt of this job made."""
        parse = self.endpoint.parse_result
        return [Outcome(i.index, OutcomeStatus.SUCCEEDED, i.row, note=ALREADY_CREATED_NOTE, parse=parse) for i in items]

    async def _retry_or_fail(self, group: Group, decision: Decision, groups: deque[Group]) -> list[Outcome]:
        """Put the group back to send again after a backoff, or fail it once it used all its attempts."""
        policy = self.runtime.retry
        group.attempts += 1
        if group.attempts >= policy.max_attempts:
            assert decision.error is not None
            note = f"gave up after {group.attempts} attempts"
            if group.maybe_landed:
                note += "; HubSpot may have applied it"
            return failed(
                group.items,
                attrs.evolve(
                    decision.error,
                    category="RETRIES_EXHAUSTED"
                    if decision.error.category in ("TRANSPORT_ERROR", "INVALID_RESPONSE")
                    else decision.error.category,
                ),
                note,
            )
        delay = (
            decision.delay if decision.delay is not None else backoff_delay(group.attempts, policy, self.runtime.rng)
        )
        self.state.counters.retries += 1
        reason = decision.error.message if decision.error else "retry"
        logger.info(
            "retrying %d %s input(s) in %.2fs (attempt %d): %s",
            len(group.items),
            self.endpoint.name,
            delay,
            group.attempts + 1,
            reason,
        )
        await asyncio.sleep(delay)
        groups.appendleft(group)
        return []

    async def _renew(self, rejected: str | None) -> bool:
        """After a 401: get a new token (single-flight in the provider); stop the job if that fails."""
        try:
            return await self.runtime.credentials.renew(self.runtime.http, rejected)
        except AuthRefreshError as error:
            self.state.stop_with(str(error), error)
            return False
