"""What the parts of a job share: the first stop wins, halts build the right errors, outcomes are counted."""

from __future__ import annotations

import asyncio

import pytest
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import endpoint
from hubspot_batch._errors import AuthenticationError, DailyLimitError, HubSpotBatchError, MissingScopesError
from hubspot_batch._job_state import JobState, failed, not_sent
from hubspot_batch._results import Outcome, OutcomeError, OutcomeStatus, Progress
from hubspot_batch._retry import Verdict

COMMS = endpoint("communications")


def _items(n: int) -> list[Item]:
    return [Item(i, {"id": str(i)}, str(i), b"{}") for i in range(n)]


def test_the_first_stop_wins() -> None:
    state = JobState(COMMS)
    error = OutcomeError(category="DAILY_LIMIT", message="daily", status_code=429)
    state.halt("the daily limit", DailyLimitError, error)
    state.stop_with("later", HubSpotBatchError("later"))
    state.halt_auth(Verdict.AUTH, OutcomeError(category="UNAUTHORIZED", message="no"))
    assert state.stop is not None
    assert state.stop.reason == "the daily limit"
    assert isinstance(state.stop.error, DailyLimitError)
    assert state.stop.error.status_code == 429
    assert str(state.stop.error).startswith("the daily limit: daily")


def test_a_401_halts_with_an_authentication_error() -> None:
    state = JobState(COMMS)
    state.halt_auth(Verdict.AUTH, OutcomeError(category="INVALID_AUTHENTICATION", message="bad token", status_code=401))
    assert state.stop is not None
    assert isinstance(state.stop.error, AuthenticationError)
    assert state.stop.reason == "HubSpot rejected the credentials (401)"


def test_a_403_halts_naming_the_scope_the_endpoint_needs() -> None:
    state = JobState(COMMS)
    state.halt_auth(Verdict.SCOPES, OutcomeError(category="MISSING_SCOPES", message="forbidden", status_code=403))
    assert state.stop is not None
    assert isinstance(state.stop.error, MissingScopesError)
    assert state.stop.error.required_scope == COMMS.required_scope
    assert COMMS.scope in state.stop.reason


def test_failed_and_not_sent_outcomes_carry_their_error() -> None:
    items = _items(2)
    outcomes = failed(items, None, "")
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED] * 2
    assert outcomes[0].error is not None and outcomes[0].error.category == "UNKNOWN"
    assert outcomes[0].note is None
    held = not_sent(items, "STOPPED", "not sent: stop")
    assert [(o.index, o.status) for o in held] == [(0, OutcomeStatus.NOT_SENT), (1, OutcomeStatus.NOT_SENT)]
    assert held[1].error is not None and held[1].error.message == "not sent: stop"


async def test_progress_reports_what_was_counted_and_survives_a_raising_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Progress] = []

    def callback(progress: Progress) -> None:
        seen.append(progress)
        raise ValueError("the caller's bug")

    state = JobState(COMMS, progress=callback, total=5)
    state.started = asyncio.get_running_loop().time()
    state.counters.requests = 3
    state.count(
        [
            Outcome(0, OutcomeStatus.SUCCEEDED, {}),
            Outcome(1, OutcomeStatus.FAILED, {}),
            Outcome(2, OutcomeStatus.NOT_SENT, {}),
            Outcome(3, OutcomeStatus.SUCCEEDED, {}),
        ]
    )
    state.report_progress()
    (progress,) = seen
    assert (progress.done, progress.succeeded, progress.failed, progress.not_sent, progress.total) == (4, 2, 1, 1, 5)
    assert progress.stats.requests == 3
    assert "the progress callback raised" in caplog.text
