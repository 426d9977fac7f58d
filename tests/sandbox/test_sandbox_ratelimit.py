from __future__ import annotations

from typing import Any

import pytest
from hubspot_batch.sandbox import Dropped, SandboxApp, SandboxConfig
from hubspot_batch.sandbox.__main__ import build_parser
from hubspot_batch.sandbox._ratelimit import TEN_SECONDLY_ROLLING, RateLimiter
from sandbox_helpers import COMMS, FakeClock, MakeApp, answer, post

ONE = [{"id": "1", "properties": {"hs_communication_body": "x"}}]


def test_headers_on_every_response(make_app: MakeApp) -> None:
    app = make_app(rate_limit=5, interval_ms=10_000, daily_limit=100)
    r = answer(post(app, COMMS, ONE))
    assert r.headers["X-HubSpot-RateLimit-Max"] == "5"
    assert r.headers["X-HubSpot-RateLimit-Remaining"] == "4"
    assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert r.headers["X-HubSpot-RateLimit-Daily"] == "100"
    assert r.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "99"
    bad = answer(post(app, COMMS, b"nope"))
    assert bad.status == 400 and bad.headers["X-HubSpot-RateLimit-Remaining"] == "3"
    unauth = answer(post(app, COMMS, ONE, token=None))
    assert unauth.status == 401 and unauth.headers["X-HubSpot-RateLimit-Remaining"] == "3"
    assert "Retry-After" not in r.headers


def test_rolling_window_429_then_frees(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(rate_limit=3, interval_ms=10_000)
    for _ in range(3):
        assert answer(post(app, COMMS, ONE)).status == 200
        clock.advance(1)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 429
    assert r.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in r.headers
    body = r.json()
    assert body["status"] == "error"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["correlationId"] and body["requestId"]
    # t=1003; first request (t=1000) leaves the window at t=1010, the 429 (t=1003) at 1013
    clock.advance(6.9)
    assert answer(post(app, COMMS, ONE)).status == 429
    clock.advance(10.0)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 200
    stats = app.state.stats()
    assert stats.rate_limited == {"TEN_SECONDLY_ROLLING": 2}
    assert stats.responses_by_status[429] == 2


def test_rejected_requests_can_be_free(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(rate_limit=1, count_rejected_requests=False)
    assert answer(post(app, COMMS, ONE)).status == 200
    for _ in range(5):
        assert answer(post(app, COMMS, ONE)).status == 429
    clock.advance(10.0)
    assert answer(post(app, COMMS, ONE)).status == 200


def test_retry_after_when_asked(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(rate_limit=2, send_retry_after=True, count_rejected_requests=False)
    post(app, COMMS, ONE)
    clock.advance(2.5)
    post(app, COMMS, ONE)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 429 and r.headers["Retry-After"] == "8"


def test_daily_limit(make_app: MakeApp, clock: FakeClock, wall: FakeClock) -> None:
    app = make_app(rate_limit=None, daily_limit=2, send_retry_after=True)
    assert answer(post(app, COMMS, ONE)).status == 200
    r = answer(post(app, COMMS, ONE))
    assert r.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert "X-HubSpot-RateLimit-Max" not in r.headers
    r = answer(post(app, COMMS, ONE))
    assert r.status == 429
    body = r.json()
    assert body["policyName"] == "DAILY"
    assert body["message"] == "You have reached your daily limit."
    assert r.headers["Retry-After"] == str(14 * 3600)  # 10:00 UTC -> midnight
    clock.advance(3600)
    assert answer(post(app, COMMS, ONE)).status == 429
    wall.advance(14 * 3600)
    assert answer(post(app, COMMS, ONE)).status == 200
    assert app.state.stats().rate_limited == {"DAILY": 2}


def test_limits_disabled(make_app: MakeApp) -> None:
    app = make_app(rate_limit=0, daily_limit=None)
    for _ in range(300):
        r = answer(post(app, COMMS, ONE))
        assert r.status == 200
    assert not any(k.startswith("X-HubSpot-RateLimit") for k in r.headers)


# ---- arrival jitter: requests counted when the network delivers them, not in send order


def _limiter(clock: FakeClock, wall: FakeClock, **config: Any) -> RateLimiter:
    return RateLimiter(SandboxConfig(**config), clock, wall)


def test_window_counts_by_arrival_even_out_of_send_order(clock: FakeClock, wall: FakeClock) -> None:
    limiter = _limiter(clock, wall, rate_limit=2, count_rejected_requests=False, send_retry_after=True)
    slow = limiter.admit(0.04)  # sent at 1000.00, arrives 1000.04
    clock.advance(0.01)
    fast = limiter.admit(0.0)  # sent later, arrives first: 1000.01
    assert slow.policy is None and fast.policy is None
    assert slow.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    # at 1000.01 only the fast one has arrived: the slow one is not in its window yet
    assert fast.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    clock.now = 1010.02  # (1000.02, 1010.02] holds the slow one only: the fast one has left
    assert limiter.admit(0.0).policy is None
    clock.now = 1010.03  # (1000.03, 1010.03] holds the slow one and the last one
    over = limiter.admit(0.0)
    assert over.policy == TEN_SECONDLY_ROLLING
    assert over.headers["Retry-After"] == "1"  # the slow one leaves at 1010.04
    assert limiter.admit(0.02).policy is None  # arrives 1010.05: the slow one has left
    clock.now = 1010.045  # the slow one has left, the one arriving at 1010.05 is not there yet
    assert limiter.peek()["X-HubSpot-RateLimit-Remaining"] == "1"


@pytest.mark.parametrize(
    ("first_delay", "now", "delay", "policy"),
    [
        (0.05, 1010.00, 0.00, TEN_SECONDLY_ROLLING),  # the first arrived at 1000.05: still in (1000.00, 1010.00]
        (0.05, 1010.00, 0.06, None),  # arrives 1010.06: the first (1000.05) has left
        (0.00, 1010.00, 0.00, None),  # (1000, 1010] excludes the first, which arrived at 1000
        (0.00, 1009.99, 0.02, None),  # sent 10 ms too early, but it arrives at 1010.01
        (0.03, 1009.99, 0.02, TEN_SECONDLY_ROLLING),  # arrives 1010.01, the first arrived at 1000.03
    ],
)
def test_admission_follows_the_arrival_window(
    clock: FakeClock, wall: FakeClock, first_delay: float, now: float, delay: float, policy: str | None
) -> None:
    limiter = _limiter(clock, wall, rate_limit=1, count_rejected_requests=False)
    assert limiter.admit(first_delay).policy is None  # sent at 1000
    clock.now = now
    assert limiter.admit(delay).policy == policy


def test_arrival_jitter_delays_the_count_and_the_answer(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(rate_limit=1, count_rejected_requests=False, latency=0.1, arrival_jitter=0.05, seed=3)
    first = answer(post(app, COMMS, ONE))
    late = first.delay - 0.1  # the answer waits the arrival delay on top of the latency
    assert first.status == 200 and 0.0 <= late < 0.05
    arrived = 1000.0 + late
    clock.now = arrived + 10.0 - 0.051  # whatever this one's delay (< 0.05), it arrives before the first leaves
    refused = answer(post(app, COMMS, ONE))
    assert refused.status == 429 and 0.1 <= refused.delay < 0.15
    clock.now = arrived + 10.0  # it cannot arrive before now: the first has left
    assert answer(post(app, COMMS, ONE)).status == 200
    delays = {answer(post(app, COMMS, ONE)).delay for _ in range(20)}  # 429s, each with its own draw
    assert len(delays) > 1 and all(0.1 <= d < 0.15 for d in delays)


def test_arrival_jitter_leaves_the_fault_sequence_of_the_seed_alone(clock: FakeClock, wall: FakeClock) -> None:
    def outcomes(jitter: float) -> list[object]:
        config = SandboxConfig(rate_limit=None, seed=11, error_5xx_rate=0.3, drop_after_rate=0.2, arrival_jitter=jitter)
        app = SandboxApp(config, clock=clock, wall_clock=wall)
        results = [post(app, COMMS, ONE) for _ in range(60)]
        return [r.reason if isinstance(r, Dropped) else r.status for r in results]

    assert outcomes(0.05) == outcomes(0.0)


def test_arrival_jitter_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="arrival_jitter"):
        SandboxConfig(arrival_jitter=-0.01)
    assert SandboxConfig().arrival_jitter == 0.0


def test_the_command_line_sets_the_arrival_jitter() -> None:
    assert build_parser().parse_args(["--arrival-jitter", "0.05"]).arrival_jitter == 0.05
