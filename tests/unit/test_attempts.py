"""One batch's attempts, driven by a fake exchange that returns scripted decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hubspot_batch._attempts import Attempts, Group
from hubspot_batch._auth import Credentials
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import Endpoint, endpoint
from hubspot_batch._errors import AuthenticationError, DailyLimitError
from hubspot_batch._job_state import JobState
from hubspot_batch._mapping import ALREADY_CREATED_NOTE
from hubspot_batch._results import Outcome, OutcomeError, OutcomeStatus
from hubspot_batch._retry import Decision, RetryPolicy, Verdict
from hubspot_batch._runtime import Runtime

COMMS = endpoint("communications")
TIMELINE = endpoint("timeline_events")

Step = Decision | None | Callable[[Group], Decision | None]


class Script:
    """A fake exchange: each call records the inputs sent and returns the next scripted decision."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.sent: list[list[int]] = []

    async def __call__(self, group: Group) -> Decision | None:
        self.sent.append([item.index for item in group.items])
        step = self.steps.pop(0)
        return step(group) if callable(step) else step


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    policy = RetryPolicy(max_attempts=3, max_rate_limited=2, backoff_base=0.0, backoff_max=0.0, max_split_requests=40)
    made = Runtime(
        base_url="https://api.hubapi.test", timeout=5.0, credentials=Credentials("token"), limiter=None,
        max_concurrency=2, retry=policy,
    )  # fmt: skip
    yield made
    await made.aclose()


def _items(n: int) -> list[Item]:
    return [Item(i, {"id": str(100 + i), "properties": {}}, str(100 + i), b"{}") for i in range(n)]


def _ok(group: Group) -> Decision:
    return Decision(Verdict.SUCCESS, 200, {"status": "COMPLETE", "results": [dict(i.row) for i in group.items]})


def _error(category: str, message: str = "no") -> OutcomeError:
    return OutcomeError(category=category, message=message)


def _attempts(runtime: Runtime, script: Script, ep: Endpoint = COMMS, **options: Any) -> tuple[Attempts, JobState]:
    state = JobState(ep)
    return Attempts(runtime, ep, state, script, **options), state


def _statuses(outcomes: list[Outcome]) -> list[tuple[int, OutcomeStatus]]:
    return [(o.index, o.status) for o in outcomes]


async def test_a_retry_then_a_success(runtime: Runtime) -> None:
    script = Script(Decision(Verdict.RETRY, 503, error=_error("SERVER_ERROR"), delay=0.0), _ok)
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(3))
    assert _statuses(outcomes) == [
        (0, OutcomeStatus.SUCCEEDED),
        (1, OutcomeStatus.SUCCEEDED),
        (2, OutcomeStatus.SUCCEEDED),
    ]
    assert script.sent == [[0, 1, 2], [0, 1, 2]]
    assert state.counters.retries == 1


async def test_retries_run_out_and_the_inputs_fail(runtime: Runtime) -> None:
    retry = Decision(Verdict.RETRY, error=_error("TRANSPORT_ERROR"), delay=0.0, maybe_landed=True)
    script = Script(retry, retry, retry)
    attempts, _ = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert outcomes[0].error is not None and outcomes[0].error.category == "RETRIES_EXHAUSTED"
    assert outcomes[0].note == "gave up after 3 attempts; HubSpot may have applied it"
    assert len(script.sent) == 3


async def test_rate_limited_is_retried_and_counted(runtime: Runtime) -> None:
    limited = Decision(Verdict.RATE_LIMITED, 429, error=_error("RATE_LIMITS"), delay=0.0)
    script = Script(limited, limited, _ok)
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert [o.status for o in outcomes] == [OutcomeStatus.SUCCEEDED] * 2
    assert (state.counters.rate_limited, state.counters.retries) == (2, 2)


async def test_rate_limited_on_every_retry_fails_the_batch(runtime: Runtime) -> None:
    limited = Decision(Verdict.RATE_LIMITED, 429, error=_error("RATE_LIMITS"), delay=0.0)
    script = Script(limited, limited, limited)
    attempts, _ = _attempts(runtime, script)
    outcomes = await attempts.send(_items(1))
    assert [(o.status, o.note) for o in outcomes] == [(OutcomeStatus.FAILED, "rate limited on every retry")]


async def test_a_split_isolates_the_one_bad_input(runtime: Runtime) -> None:
    def answer(group: Group) -> Decision:
        if any(item.index == 2 for item in group.items):
            return Decision(Verdict.SPLIT, 400, {"message": "bad"}, error=_error("VALIDATION_ERROR", "bad"))
        return _ok(group)

    script = Script(*[answer] * 5)
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(4))
    assert sorted(_statuses(outcomes)) == [
        (0, OutcomeStatus.SUCCEEDED),
        (1, OutcomeStatus.SUCCEEDED),
        (2, OutcomeStatus.FAILED),
        (3, OutcomeStatus.SUCCEEDED),
    ]
    assert script.sent == [[0, 1, 2, 3], [0, 1], [2, 3], [2], [3]]
    assert state.counters.splits == 2


async def test_already_exists_after_a_lost_answer_counts_as_created(runtime: Runtime) -> None:
    exists = Decision(Verdict.SPLIT, 409, {"message": "Event already exists"}, error=_error("CONFLICT", "exists"))
    script = Script(Decision(Verdict.RETRY, error=_error("TRANSPORT_ERROR"), delay=0.0, maybe_landed=True), exists)
    attempts, _ = _attempts(runtime, script, TIMELINE)
    outcomes = await attempts.send(_items(1))
    assert [(o.status, o.note) for o in outcomes] == [(OutcomeStatus.SUCCEEDED, ALREADY_CREATED_NOTE)]


async def test_already_exists_naming_some_ids_completes_those_and_resends_the_rest(runtime: Runtime) -> None:
    body = {"message": "already exists", "context": {"ids": ["101"]}}
    exists = Decision(Verdict.SPLIT, 409, body, error=_error("CONFLICT", "already exists"))
    script = Script(exists, _ok)
    attempts, _ = _attempts(runtime, script, TIMELINE, existing_is_success=True)
    outcomes = await attempts.send(_items(3))
    assert _statuses(outcomes) == [
        (1, OutcomeStatus.SUCCEEDED),
        (0, OutcomeStatus.SUCCEEDED),
        (2, OutcomeStatus.SUCCEEDED),
    ]
    assert outcomes[0].note == ALREADY_CREATED_NOTE
    assert script.sent == [[0, 1, 2], [0, 2]]


async def test_a_401_that_no_new_token_cures_halts_the_job(runtime: Runtime) -> None:
    script = Script(Decision(Verdict.AUTH, 401, error=_error("INVALID_AUTHENTICATION", "expired")))
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert state.stop is not None and isinstance(state.stop.error, AuthenticationError)
    later = await attempts.send(_items(1))  # a batch that comes after the stop is not sent
    assert [o.status for o in later] == [OutcomeStatus.NOT_SENT]
    assert len(script.sent) == 1


async def test_a_daily_limit_stops_the_job_and_leaves_the_batch_not_sent(runtime: Runtime) -> None:
    script = Script(Decision(Verdict.DAILY_LIMIT, 429, error=_error("DAILY_LIMIT", "daily")))
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert [o.status for o in outcomes] == [OutcomeStatus.NOT_SENT] * 2
    assert state.stop is not None and isinstance(state.stop.error, DailyLimitError)


async def test_a_job_that_stops_while_a_request_waits_reports_it_not_sent(runtime: Runtime) -> None:
    def stopped(group: Group) -> None:
        state.stop_with("stopped elsewhere", DailyLimitError("daily"))

    script = Script(stopped)
    attempts, state = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert [o.status for o in outcomes] == [OutcomeStatus.NOT_SENT] * 2
    assert outcomes[0].error is not None and outcomes[0].error.message == "not sent: stopped elsewhere"


async def test_inputs_the_answer_is_silent_about_are_sent_again(runtime: Runtime) -> None:
    def first_only(group: Group) -> Decision:
        return Decision(Verdict.SUCCESS, 200, {"status": "COMPLETE", "results": [dict(group.items[0].row)]})

    script = Script(first_only, _ok)
    attempts, _ = _attempts(runtime, script)
    outcomes = await attempts.send(_items(2))
    assert _statuses(outcomes) == [(0, OutcomeStatus.SUCCEEDED), (1, OutcomeStatus.SUCCEEDED)]
    assert script.sent == [[0, 1], [1]]
