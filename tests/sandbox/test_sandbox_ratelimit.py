from __future__ import annotations

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
