"""Property tests: for any inputs and any fault schedule, every input gets exactly one outcome.

Each example runs the real engine against the in-process sandbox on a
looptime event loop (virtual time), with a transport wrapper that records
every request body the engine sends.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import looptime
from hubspot_batch import AsyncHubSpotBatch, OutcomeStatus, RetryPolicy
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, inner: SandboxTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return await self.inner.handle_async_request(request)


faults = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "error_5xx_rate": st.sampled_from([0.0, 0.05, 0.2]),
        "drop_before_rate": st.sampled_from([0.0, 0.05]),
        "drop_after_rate": st.sampled_from([0.0, 0.05, 0.15]),
        "truncated_rate": st.sampled_from([0.0, 0.05]),
        "rate_limit": st.sampled_from([None, 5, 50]),
        "latency": st.sampled_from([0.0, 0.1]),
    }
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLICY = RetryPolicy(max_attempts=30, backoff_base=0.05, backoff_max=1.0, max_rate_limited=200)


def run(coro_factory: Any) -> Any:
    loop = looptime.new_event_loop()
    try:
        return loop.run_until_complete(coro_factory())
    finally:
        loop.close()


def sandbox(fault: dict[str, Any], **extra: Any) -> tuple[SandboxApp, Recording]:
    holder: dict[str, Any] = {}
    app = SandboxApp(SandboxConfig(**fault, **extra), clock=lambda: holder["loop"].time(), wall_clock=time.time)
    transport = SandboxTransport(app, sleep=lambda s: None)
    return app, Recording(transport), holder  # type: ignore[return-value]


@SETTINGS
@given(
    keys=st.lists(st.integers(1, 40), min_size=0, max_size=400),
    missing=st.sets(st.integers(1, 40), max_size=5),
    batch_size=st.integers(1, 100),
    fault=faults,
)
def test_communications_every_input_one_outcome(
    keys: list[int], missing: set[int], batch_size: int, fault: dict[str, Any]
) -> None:
    app, recording, holder = sandbox(fault, missing_ids=frozenset(str(m) for m in missing))
    rows = [{"id": str(k), "properties": {"hs_communication_body": f"v{i}"}} for i, k in enumerate(keys)]

    async def go() -> Any:
        import asyncio

        holder["loop"] = asyncio.get_running_loop()
        async with AsyncHubSpotBatch(access_token="t", transport=recording, retry=POLICY, batch_size=batch_size) as hs:
            return await hs.communications.update(rows)

    result = run(go)
    assert [o.index for o in result] == list(range(len(rows)))
    for outcome in result:
        expected = OutcomeStatus.FAILED if int(outcome.input["id"]) in missing else OutcomeStatus.SUCCEEDED
        assert outcome.status is expected, outcome.describe()
    for body in recording.bodies:
        ids = [row["id"] for row in body["inputs"]]
        assert 1 <= len(ids) <= batch_size
        assert len(set(ids)) == len(ids)
    # last write wins for every id that exists
    for key in set(keys) - missing:
        last = max(i for i, k in enumerate(keys) if k == key)
        assert app.state.communication(str(key)).properties["hs_communication_body"] == f"v{last}"


@SETTINGS
@given(
    n=st.integers(0, 300),
    given_ids=st.booleans(),
    batch_size=st.integers(1, 100),
    fault=faults,
)
def test_timeline_every_event_exactly_once(n: int, given_ids: bool, batch_size: int, fault: dict[str, Any]) -> None:
    app, recording, holder = sandbox(fault)
    rows = [
        {
            "eventTemplateId": "77",
            "tokens": {"i": str(i)},
            "email": f"p{i}@example.com",
            **({"id": f"e{i}"} if given_ids else {}),
        }
        for i in range(n)
    ]

    async def go() -> Any:
        import asyncio

        holder["loop"] = asyncio.get_running_loop()
        async with AsyncHubSpotBatch(access_token="t", transport=recording, retry=POLICY, batch_size=batch_size) as hs:
            return await hs.timeline.create_events(rows)

    result = run(go)
    assert [o.index for o in result] == list(range(n))
    assert result.ok, result.summary()
    ids = {o.input["id"] for o in result}
    assert len(ids) == n
    assert len(app.state.timeline_events) == n
    for body in recording.bodies:
        assert len(body["inputs"]) <= batch_size
