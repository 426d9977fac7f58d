"""The daily-usage endpoint, daily headers, the movable daily reset (issue #17, item 5)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxRequest, SandboxServer, SandboxTransport
from hubspot_batch.sandbox.__main__ import build_parser
from sandbox_helpers import COMMS, WALL_START, FakeClock, MakeApp, answer, post

USAGE = "/account-info/v3/api-usage/daily/private-apps"
ONE = [{"id": "1", "properties": {"hs_communication_body": "x"}}]
DAILY = "X-HubSpot-RateLimit-Daily"
DAILY_LEFT = "X-HubSpot-RateLimit-Daily-Remaining"


def usage(app: SandboxApp, token: str | None = "tok", method: str = "GET") -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    r = answer(app.handle(SandboxRequest(method, USAGE, headers=headers)))
    return httpx.Response(r.status, headers=dict(r.headers), content=r.body)


def test_usage_endpoint_answers_hubspots_shape(make_app: MakeApp) -> None:
    app = make_app(daily_limit=500_000)
    for _ in range(3):
        post(app, COMMS, ONE)
    r = usage(app)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "results": [
            {
                "name": "private-apps-api-calls-daily",
                "usageLimit": 500_000,
                "currentUsage": 3,
                "collectedAt": "2026-11-23T10:00:00.000Z",
                "fetchStatus": "SUCCESS",
                "resetsAt": "2026-11-24T00:00:00Z",
            }
        ]
    }
    assert r.headers[DAILY_LEFT] == str(500_000 - 3)


def test_usage_endpoint_is_neither_counted_nor_limited(make_app: MakeApp) -> None:
    app = make_app(rate_limit=2, daily_limit=5)
    post(app, COMMS, ONE)
    for _ in range(20):
        r = usage(app)
        assert r.status_code == 200
        assert r.json()["results"][0]["currentUsage"] == 1
    assert r.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert r.headers[DAILY_LEFT] == "4"
    assert answer(post(app, COMMS, ONE)).headers[DAILY_LEFT] == "3"
    stats = app.state.stats()
    assert stats.rate_limited == {}
    assert stats.responses_by_status[200] == 22
    assert sum(stats.faults.values()) == 0


def test_usage_endpoint_draws_no_faults() -> None:
    def faults(with_usage: bool) -> list[int]:
        app = SandboxApp(SandboxConfig(error_5xx_rate=0.5, rate_limit=None, seed=3))
        out = []
        for _ in range(20):
            if with_usage:
                assert usage(app).status_code == 200
            out.append(answer(post(app, COMMS, ONE)).status)
        return out

    assert faults(True) == faults(False)


def test_usage_endpoint_needs_a_bearer_token(make_app: MakeApp) -> None:
    app = make_app(access_tokens={"good"}, missing_scopes={"narrow": ("oauth",)})
    r = usage(app, token=None)
    assert r.status_code == 401 and r.json()["category"] == "INVALID_AUTHENTICATION"
    assert usage(app, token="bad").status_code == 401
    assert usage(app, token="good").status_code == 200
    hapikey = app.handle(SandboxRequest("GET", USAGE, query={"hapikey": "k"}))
    assert answer(hapikey).status == 401
    app = make_app(missing_scopes={"narrow": ("oauth",)})
    r = usage(app, token="narrow")
    assert r.status_code == 403 and r.json()["category"] == "MISSING_SCOPES"


def test_only_the_usage_path_allows_get(make_app: MakeApp) -> None:
    app = make_app()
    r = usage(app, method="POST")
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    assert r.json()["category"] == "METHOD_NOT_ALLOWED"
    r2 = answer(app.handle(SandboxRequest("GET", COMMS, headers={"authorization": "Bearer t"})))
    assert r2.status == 405 and r2.headers["Allow"] == "POST"
    assert answer(app.handle(SandboxRequest("GET", USAGE + "/x"))).status == 404


def test_usage_with_the_daily_limit_off(make_app: MakeApp) -> None:
    r = usage(make_app(daily_limit=None))
    assert r.status_code == 200 and r.json() == {"results": []}
    assert DAILY not in r.headers


def test_daily_headers_count_down_on_every_counted_answer(make_app: MakeApp) -> None:
    app = make_app(rate_limit=None, daily_limit=10)
    seen = []
    for _ in range(3):
        r = answer(post(app, COMMS, ONE))
        assert r.headers[DAILY] == "10"
        seen.append(int(r.headers[DAILY_LEFT]))
    bad = answer(post(app, COMMS, b"nope"))
    assert bad.status == 400
    seen.append(int(bad.headers[DAILY_LEFT]))
    assert seen == [9, 8, 7, 6]
    unauth = answer(post(app, COMMS, ONE, token=None))
    assert unauth.status == 401 and unauth.headers[DAILY_LEFT] == "6"


def test_no_daily_headers_knob(make_app: MakeApp) -> None:
    app = make_app(rate_limit=5, daily_limit=2, daily_headers=False)
    for _ in range(2):
        r = answer(post(app, COMMS, ONE))
        assert r.status == 200
        assert DAILY not in r.headers and DAILY_LEFT not in r.headers
        assert r.headers["X-HubSpot-RateLimit-Max"] == "5"
    r = answer(post(app, COMMS, ONE))
    assert r.status == 429 and r.json()["policyName"] == "DAILY"
    assert DAILY not in r.headers
    u = usage(app)
    assert u.status_code == 200 and DAILY not in u.headers
    assert u.json()["results"][0]["currentUsage"] == 3
    assert u.json()["results"][0]["usageLimit"] == 2


def test_crossing_the_utc_reset_refills_daily_remaining(make_app: MakeApp, wall: FakeClock) -> None:
    app = make_app(rate_limit=None, daily_limit=5)
    for _ in range(3):
        post(app, COMMS, ONE)
    wall.advance(14 * 3600 - 0.001)  # 23:59:59.999 UTC
    assert answer(post(app, COMMS, ONE)).headers[DAILY_LEFT] == "1"
    wall.advance(0.001)  # midnight UTC
    assert usage(app).json()["results"][0]["currentUsage"] == 0
    assert answer(post(app, COMMS, ONE)).headers[DAILY_LEFT] == "4"


def test_day_starts_at_moves_the_reset(make_app: MakeApp, wall: FakeClock) -> None:
    # a portal at UTC-5: its day starts at 05:00 UTC; now is 10:00 UTC
    app = make_app(rate_limit=None, daily_limit=2, day_starts_at=5 * 3600, send_retry_after=True)
    r = usage(app).json()["results"][0]
    assert r["resetsAt"] == "2026-11-24T05:00:00Z"
    post(app, COMMS, ONE)
    post(app, COMMS, ONE)
    r429 = answer(post(app, COMMS, ONE))
    assert r429.status == 429 and r429.json()["policyName"] == "DAILY"
    assert r429.headers["Retry-After"] == str(19 * 3600)
    wall.advance(14 * 3600)  # midnight UTC: not the portal's reset
    assert answer(post(app, COMMS, ONE)).status == 429
    wall.advance(5 * 3600 - 1)  # 04:59:59 UTC
    assert answer(post(app, COMMS, ONE)).status == 429
    wall.advance(1)  # 05:00 UTC: the reset
    ok = answer(post(app, COMMS, ONE))
    assert ok.status == 200 and ok.headers[DAILY_LEFT] == "1"
    after = usage(app).json()["results"][0]
    assert after["currentUsage"] == 1
    assert after["resetsAt"] == "2026-11-25T05:00:00Z"
    assert after["collectedAt"] == "2026-11-24T05:00:00.000Z"
    assert app.state.stats().rate_limited == {"DAILY": 3}


def test_day_starts_at_before_the_reset_time_of_day(make_app: MakeApp, wall: FakeClock) -> None:
    # now 10:00 UTC, reset at 12:00 UTC: the day ends today
    app = make_app(day_starts_at=12 * 3600)
    assert usage(app).json()["results"][0]["resetsAt"] == "2026-11-23T12:00:00Z"
    wall.advance(2 * 3600)
    assert usage(app).json()["results"][0]["resetsAt"] == "2026-11-24T12:00:00Z"


def test_resets_at_keeps_fractions_of_a_second(make_app: MakeApp) -> None:
    app = make_app(day_starts_at=0.25)
    assert usage(app).json()["results"][0]["resetsAt"] == "2026-11-24T00:00:00.250Z"


def test_resets_at_is_an_iso_time_after_collected_at(make_app: MakeApp) -> None:
    item = usage(make_app(day_starts_at=3 * 3600 + 1800)).json()["results"][0]
    collected = dt.datetime.fromisoformat(item["collectedAt"])
    resets = dt.datetime.fromisoformat(item["resetsAt"])
    assert dt.timedelta(0) < resets - collected <= dt.timedelta(days=1)
    assert collected.timestamp() == WALL_START


def test_reset_day_starts_a_new_day_at_once(make_app: MakeApp) -> None:
    app = make_app(rate_limit=None, daily_limit=1)
    post(app, COMMS, ONE)
    assert answer(post(app, COMMS, ONE)).status == 429
    app.reset_day()
    r = answer(post(app, COMMS, ONE))
    assert r.status == 200 and r.headers[DAILY_LEFT] == "0"


@pytest.mark.parametrize("bad", [-1.0, 86_400.0, 100_000.0])
def test_day_starts_at_is_a_time_of_day(bad: float) -> None:
    with pytest.raises(ValueError, match="day_starts_at"):
        SandboxConfig(day_starts_at=bad)


def test_the_command_line_sets_the_daily_knobs() -> None:
    args = build_parser().parse_args(["--day-starts-at", "18000", "--no-daily-headers"])
    assert args.day_starts_at == 18000.0 and args.daily_headers is False
    defaults = build_parser().parse_args([])
    assert defaults.day_starts_at == 0.0 and defaults.daily_headers is True


def test_usage_through_httpx_and_the_server() -> None:
    clock = FakeClock(0.0)
    wall = FakeClock(WALL_START)
    app = SandboxApp(SandboxConfig(daily_limit=7), clock=clock, wall_clock=wall)
    transport = SandboxTransport(app, sleep=lambda s: None)
    with httpx.Client(
        transport=transport, base_url="https://api.hubapi.com", headers={"Authorization": "Bearer t"}
    ) as c:
        c.post(COMMS, json={"inputs": ONE})
        r = c.get(USAGE)
    assert r.status_code == 200 and r.json()["results"][0]["currentUsage"] == 1
    with SandboxServer(app=app) as server:
        r = httpx.get(server.url + USAGE, headers={"Authorization": "Bearer t"})
    assert r.status_code == 200 and r.json()["results"][0]["usageLimit"] == 7
