"""One exchange: the body and headers of the POST, the decision on the answer, a deprecation noted once, a stop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import attrs
import httpx
import pytest
from hubspot_batch import RateLimitHeaders, Reservation
from hubspot_batch._attempts import Group
from hubspot_batch._auth import Credentials
from hubspot_batch._chunks import Item
from hubspot_batch._endpoints import endpoint
from hubspot_batch._errors import HubSpotBatchError
from hubspot_batch._exchange import Exchange
from hubspot_batch._job_state import JobState
from hubspot_batch._retry import RetryPolicy, Verdict
from hubspot_batch._runtime import Runtime

COMMS = endpoint("communications")
PATH = "/crm/v3/objects/communications/batch/update"


@pytest.fixture
def requests() -> list[httpx.Request]:
    return []


@pytest.fixture
def answer() -> list[Callable[[httpx.Request], httpx.Response]]:
    return [lambda request: httpx.Response(200, json={"status": "COMPLETE", "results": []})]


@pytest.fixture
async def runtime(
    requests: list[httpx.Request], answer: list[Callable[[httpx.Request], httpx.Response]]
) -> AsyncIterator[Runtime]:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answer[0](request)

    made = Runtime(
        base_url="https://api.hubapi.test/", timeout=5.0, credentials=Credentials("secret-token"), limiter=None,
        max_concurrency=2, retry=RetryPolicy(), transport=httpx.MockTransport(handle),
    )  # fmt: skip
    yield made
    await made.aclose()


def _group() -> Group:
    return Group([Item(0, {"id": "1"}, "1", b'{"id":"1"}'), Item(1, {"id": "2"}, "2", b'{"id":"2"}')])


async def test_the_post_carries_the_inputs_and_the_token(runtime: Runtime, requests: list[httpx.Request]) -> None:
    state = JobState(COMMS)
    group = _group()
    decision = await Exchange(runtime, COMMS, PATH, state)(group)
    assert decision is not None and decision.verdict is Verdict.SUCCESS
    (request,) = requests
    assert str(request.url) == "https://api.hubapi.test" + PATH
    assert json.loads(request.content) == {"inputs": [{"id": "1"}, {"id": "2"}]}
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["Content-Type"] == "application/json"
    assert group.token == "secret-token"
    assert state.counters.requests == 1


async def test_a_429_is_rate_limited(runtime: Runtime, answer: list[Callable[[httpx.Request], httpx.Response]]) -> None:
    answer[0] = lambda request: httpx.Response(429, json={"category": "RATE_LIMITS", "message": "slow down"})
    decision = await Exchange(runtime, COMMS, PATH, JobState(COMMS))(_group())
    assert decision is not None and decision.verdict is Verdict.RATE_LIMITED


async def test_a_deprecation_header_is_noted_once(
    runtime: Runtime, answer: list[Callable[[httpx.Request], httpx.Response]], caplog: pytest.LogCaptureFixture
) -> None:
    answer[0] = lambda request: httpx.Response(
        200, json={"status": "COMPLETE", "results": []}, headers={"X-HubSpot-API-Deprecated": "true"}
    )
    state = JobState(COMMS)
    exchange = Exchange(runtime, COMMS, PATH, state)
    await exchange(_group())
    await exchange(_group())
    assert state.counters.deprecated == "true"
    assert caplog.text.count("deprecated") == 1


async def test_nothing_is_sent_once_the_job_stopped(runtime: Runtime, requests: list[httpx.Request]) -> None:
    state = JobState(COMMS)
    state.stop_with("stopped", HubSpotBatchError("stopped"))
    assert await Exchange(runtime, COMMS, PATH, state)(_group()) is None
    assert requests == []
    assert state.counters.requests == 0


class _Limiter:
    """A limiter backend that books every send 0.5 s ahead, its answer ``reserve_takes`` seconds after being asked."""

    margin = 0.05

    def __init__(self, reserve_takes: float) -> None:
        self.reserve_takes = reserve_takes
        self.calls: list[str] = []

    async def reserve(self) -> Reservation:
        await asyncio.sleep(self.reserve_takes)
        self.calls.append("reserve")
        return Reservation(delay=0.5, slot=0.5)

    async def depart(self, reservation: Reservation) -> Reservation:
        self.calls.append("depart")
        return attrs.evolve(reservation, delay=0.0)

    async def confirm(self, reservation: Reservation, late: float) -> None:
        self.calls.append("confirm")

    async def observe(self, reservation: Reservation, headers: RateLimitHeaders) -> None:
        self.calls.append("observe")

    async def on_rate_limited(self, retry_after: float | None) -> None:
        self.calls.append("limited")


@pytest.mark.looptime
@pytest.mark.parametrize(("reserve_takes", "checked"), [(0.0, False), (0.01, False), (0.2, True)])
async def test_only_a_send_leaving_late_is_checked_again_at_departure(
    reserve_takes: float, checked: bool, requests: list[httpx.Request]
) -> None:
    limiter = _Limiter(reserve_takes)
    runtime = Runtime(
        base_url="https://api.hubapi.test/", timeout=5.0, credentials=Credentials("t"), limiter=limiter,
        max_concurrency=2, retry=RetryPolicy(), transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})),
    )  # fmt: skip
    try:
        await Exchange(runtime, COMMS, PATH, JobState(COMMS))(_group())
    finally:
        await runtime.aclose()
    # the booking was answered reserve_takes after it was asked: the send leaves that late (or the loop was busy)
    assert limiter.calls == ["reserve", *(["depart"] if checked else []), "observe"]
