from __future__ import annotations

import httpx
import pytest
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport
from sandbox_helpers import COMMS, WEBHOOKS_V3, FakeClock

BASE = "https://api.hubapi.com"
ONE = {"inputs": [{"id": "1", "properties": {"hs_communication_body": "x"}}]}


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(transport: SandboxTransport, timeout: httpx.Timeout | None = None) -> httpx.Client:
    return httpx.Client(
        transport=transport,
        base_url=BASE,
        headers={"Authorization": "Bearer t"},
        timeout=timeout or httpx.Timeout(5.0),
    )


def test_sync_round_trip() -> None:
    transport = SandboxTransport(SandboxConfig(rate_limit=10))
    with client(transport) as c:
        r = c.post(COMMS, json=ONE)
    assert r.status_code == 200
    assert r.json()["results"][0]["id"] == "1"
    assert r.headers["x-hubspot-ratelimit-remaining"] == "9"
    assert transport.state.communication("1") is not None


@pytest.mark.asyncio
async def test_async_round_trip_and_async_sleep() -> None:
    sleeps = Sleeps()
    transport = SandboxTransport(SandboxConfig(latency=0.25), async_sleep=sleeps.asleep)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={"Authorization": "Bearer t"}) as c:
        r = await c.post(COMMS, json=ONE)
    assert r.status_code == 200
    assert sleeps.calls == [0.25]


def test_latency_uses_injected_sleep() -> None:
    sleeps = Sleeps()
    transport = SandboxTransport(SandboxConfig(latency=0.5), sleep=sleeps)
    with client(transport) as c:
        c.post(COMMS, json=ONE)
    assert sleeps.calls == [0.5]


def test_dropped_raises_remote_protocol_error() -> None:
    transport = SandboxTransport(SandboxConfig(drop_after_rate=1.0))
    with (
        client(transport) as c,
        pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"),
    ):
        c.post(COMMS, json=ONE)
    assert transport.state.communication("1") is not None


@pytest.mark.asyncio
async def test_async_dropped_before() -> None:
    transport = SandboxTransport(SandboxConfig(drop_before_rate=1.0))
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={"Authorization": "Bearer t"}) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(COMMS, json=ONE)
    assert transport.state.communication("1") is None


def test_stall_beyond_read_timeout_raises_read_timeout() -> None:
    sleeps = Sleeps()
    transport = SandboxTransport(SandboxConfig(stall_rate=1.0, stall_seconds=30.0), sleep=sleeps)
    with (
        client(transport, timeout=httpx.Timeout(5.0, read=2.0)) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.post(COMMS, json=ONE)
    assert sleeps.calls == [2.0]
    assert transport.state.communication("1") is not None


def test_stall_within_timeout_answers_late() -> None:
    sleeps = Sleeps()
    transport = SandboxTransport(SandboxConfig(stall_rate=1.0, stall_seconds=3.0), sleep=sleeps)
    with client(transport, timeout=httpx.Timeout(10.0)) as c:
        assert c.post(COMMS, json=ONE).status_code == 200
    assert sleeps.calls == [3.0]


def test_shared_app_and_fake_clock() -> None:
    clock = FakeClock(0.0)
    app = SandboxApp(SandboxConfig(rate_limit=1), clock=clock)
    t1, t2 = SandboxTransport(app), SandboxTransport(app)
    with client(t1) as c1, client(t2) as c2:
        assert c1.post(COMMS, json=ONE).status_code == 200
        assert c2.post(COMMS, json=ONE).status_code == 429
        clock.advance(10.0)
        assert c2.post(COMMS, json=ONE).status_code == 200
    assert t1.state is t2.state


def test_hapikey_query_param_reaches_the_app() -> None:
    transport = SandboxTransport(SandboxConfig(developer_api_keys={"k"}))
    with httpx.Client(transport=transport, base_url=BASE) as c:
        r = c.post(
            WEBHOOKS_V3.format(app=3),
            params={"hapikey": "k"},
            json={"inputs": [{"id": 1, "active": True}]},
        )
    assert r.status_code == 200
