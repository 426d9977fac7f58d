"""Several portals in one sandbox (SandboxConfig.portals): isolation, routing, revocation, applications, admin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubspot_batch.sandbox import ENDPOINTS, SandboxApp, SandboxConfig, SandboxRequest, SandboxServer
from hubspot_batch.sandbox.__main__ import build_parser, main, parse_portal, portals_from
from sandbox_helpers import COMMS, STATUSES, TIMELINE, WEBHOOKS_V3, FakeClock, MakeApp, answer, post

PORTALS = {"tok-a": "a", "tok-a2": "a", "tok-b": "b"}
USAGE = "/account-info/v3/api-usage/daily/private-apps"
TIMELINE_2026 = "/integrators/timeline/2026-03/events/batch"
TOKEN_PATH = "/oauth/2026-03/token"


def comm(*ids: int | str) -> list[dict[str, Any]]:
    return [{"id": str(i), "properties": {"hs_communication_body": f"b{i}"}} for i in ids]


def event(event_id: str, template: str = "tpl") -> dict[str, Any]:
    return {"eventTemplateId": template, "id": event_id, "tokens": {}, "email": "a@b.co"}


def status(email: str, subscription_id: int = 7) -> dict[str, Any]:
    return {
        "subscriberIdString": email,
        "subscriptionId": subscription_id,
        "statusState": "SUBSCRIBED",
        "channel": "EMAIL",
    }


def usage_of(app: SandboxApp, token: str) -> int:
    r = answer(app.handle(SandboxRequest("GET", USAGE, headers={"authorization": f"Bearer {token}"})))
    assert r.status == 200
    used = r.json()["results"][0]["currentUsage"]
    assert isinstance(used, int)
    return used


# ------------------------------------------------------------------ isolation


def test_each_portal_has_its_own_rolling_window(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS, rate_limit=3)
    assert app.portal_names() == ("a", "b")
    for _ in range(3):
        assert answer(post(app, COMMS, comm(1), token="tok-a")).status == 200
    r = answer(post(app, COMMS, comm(1), token="tok-a"))
    assert r.status == 429 and r.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    # the other portal still has its whole window
    for left in ("2", "1", "0"):
        r = answer(post(app, COMMS, comm(1), token="tok-b"))
        assert r.status == 200 and r.headers["X-HubSpot-RateLimit-Remaining"] == left
    assert answer(post(app, COMMS, comm(1), token="tok-b")).status == 429
    # two tokens of one portal share its window
    assert answer(post(app, COMMS, comm(1), token="tok-a2")).status == 429
    assert app.portal("a").state.stats().rate_limited == {"TEN_SECONDLY_ROLLING": 2}
    assert app.portal("b").state.stats().rate_limited == {"TEN_SECONDLY_ROLLING": 1}


def test_each_portal_has_its_own_daily_count(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS, rate_limit=None, daily_limit=2)
    for _ in range(2):
        assert answer(post(app, COMMS, comm(1), token="tok-a")).status == 200
    r = answer(post(app, COMMS, comm(1), token="tok-a2"))
    assert r.status == 429 and r.json()["policyName"] == "DAILY"
    assert usage_of(app, "tok-a") == 3
    assert usage_of(app, "tok-b") == 0
    r = answer(post(app, COMMS, comm(1), token="tok-b"))
    assert r.status == 200 and r.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
    app.portal("a").reset_day()  # one portal's new day
    assert usage_of(app, "tok-a") == 0 and usage_of(app, "tok-b") == 1
    assert answer(post(app, COMMS, comm(1), token="tok-a")).status == 200
    app.reset_day()  # every portal's
    assert usage_of(app, "tok-a") == 0 and usage_of(app, "tok-b") == 0


def test_each_portal_has_its_own_data(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS)
    a, b = app.portal("a"), app.portal("b")
    assert answer(post(app, COMMS, comm(1), token="tok-a")).status == 200
    assert a.state.communication("1") is not None and b.state.communication("1") is None
    # the same timeline event is new in another portal, a duplicate in its own
    assert answer(post(app, TIMELINE, [event("e1")], token="tok-a")).status == 201
    assert answer(post(app, TIMELINE, [event("e1")], token="tok-b")).status == 201
    r = answer(post(app, TIMELINE, [event("e1")], token="tok-a2"))
    assert r.status == 207 and r.json()["errors"][0]["category"] == "OBJECT_ALREADY_EXISTS"
    assert set(a.state.timeline_events) == {("tpl", "e1")} == set(b.state.timeline_events)
    assert a.state.stats().timeline_duplicates_rejected == 1
    assert b.state.stats().timeline_duplicates_rejected == 0
    assert a.state.stats().requests == 3 and b.state.stats().requests == 1


def test_portals_configs_keep_every_other_knob(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS, rate_limit=5, missing_ids={"404"}, missing_scopes={"tok-b": ("timeline-write",)})
    for name in ("a", "b"):
        cfg = app.portal(name).config
        assert cfg.rate_limit == 5 and cfg.missing_ids == {"404"} and cfg.portals == {}
    assert app.portal("a").config.access_tokens == frozenset({"tok-a", "tok-a2"})
    assert app.portal("b").config.access_tokens == frozenset({"tok-b"})
    assert answer(post(app, COMMS, comm(404), token="tok-a")).status == 207
    assert answer(post(app, TIMELINE, [event("e")], token="tok-b")).status == 403


# -------------------------------------------------------------------- routing


def test_unknown_or_missing_token_is_401_and_reaches_no_portal(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS, developer_api_keys=None)
    for token in ("nope", None):
        r = answer(post(app, COMMS, comm(1), token=token))
        assert r.status == 401
        assert r.json()["category"] == "INVALID_AUTHENTICATION"
        assert r.json()["message"].startswith("Authentication credentials not found")
    # a developer API key names no portal: refused too
    r = answer(post(app, WEBHOOKS_V3.format(app=1), [{"id": 1, "active": True}], token=None, query={"hapikey": "k"}))
    assert r.status == 401
    r = answer(app.handle(SandboxRequest("GET", USAGE, headers={"authorization": "Bearer nope"})))
    assert r.status == 401
    for name in app.portal_names():
        assert app.portal(name).state.stats().requests == 0
    assert app.state.stats().requests == 4 and app.state.stats().responses_by_status == {401: 4}
    assert app.state.stats().effects == {}
    # routing does not change what an unknown path answers
    assert answer(post(app, "/nope", comm(1), token="tok-a")).status == 404
    assert answer(post(app, "/nope", comm(1), token="nope")).status == 404


def test_portal_of_and_errors(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS)
    assert app.portal_of("tok-a2") == "a" and app.portal_of("tok-b") == "b" and app.portal_of("x") is None
    with pytest.raises(KeyError, match="no portal 'c'"):
        app.portal("c")
    with pytest.raises(ValueError, match="own state"):
        SandboxApp(SandboxConfig(portals=PORTALS), state=app.state)
    single = make_app()
    assert single.portal_names() == () and single.portal_of("tok") is None
    assert single.portal_summaries() == {}
    with pytest.raises(KeyError):
        single.portal("a")


def test_config_validation_and_repr_hides_tokens() -> None:
    with pytest.raises(ValueError, match="exclusive"):
        SandboxConfig(portals={"t": "a"}, access_tokens={"t"})
    with pytest.raises(ValueError, match="name"):
        SandboxConfig(portals={"t": ""})
    with pytest.raises(ValueError, match="token"):
        SandboxConfig(portals={" t": "a"})
    cfg = SandboxConfig(portals={"secret-token": "a"})
    assert "secret-token" not in repr(cfg) and "'a'" in repr(cfg)
    assert SandboxConfig().portals == {}


def test_oauth_tokens_are_issued_per_portal(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(portals={**PORTALS, "refresh-a": "a"}, oauth_clients={"cid": "sec"}, token_lifetime=60)

    def refresh(token: str, secret: str = "sec") -> Any:
        form = f"grant_type=refresh_token&client_id=cid&client_secret={secret}&refresh_token={token}".encode()
        req = SandboxRequest(
            "POST", TOKEN_PATH, headers={"content-type": "application/x-www-form-urlencoded"}, body=form
        )
        return answer(app.handle(req))

    r = refresh("refresh-a")
    assert r.status == 200
    issued = r.json()["access_token"]
    assert app.portal_of(issued) == "a"
    assert answer(post(app, COMMS, comm(5), token=issued)).status == 200
    assert app.portal("a").state.communication("5") is not None
    assert app.portal("a").state.stats().token_refreshes == 1
    assert app.portal("b").state.stats().token_refreshes == 0
    # a refresh token no portal knows, or a bad client: HubSpot's 400s
    assert refresh("refresh-x").json()["error"] == "invalid_grant"
    assert refresh("refresh-a", secret="bad").json()["error"] == "invalid_client"
    clock.advance(61)
    r = answer(post(app, COMMS, comm(5), token=issued))
    assert r.status == 401 and r.json()["category"] == "EXPIRED_AUTHENTICATION"


# --------------------------------------------------------------------- revoke


def test_revoke_makes_a_token_401(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS)
    assert answer(post(app, COMMS, comm(1), token="tok-a")).status == 200
    assert app.revoke("tok-a") is True
    r = answer(post(app, COMMS, comm(2), token="tok-a"))
    assert r.status == 401 and r.json()["category"] == "INVALID_AUTHENTICATION"
    assert app.portal("a").state.communication("2") is None
    assert answer(post(app, COMMS, comm(2), token="tok-a2")).status == 200  # the portal's other token
    assert answer(post(app, COMMS, comm(2), token="tok-b")).status == 200
    assert app.revoke("unknown") is False
    # the 401 is the revoked token's portal's
    assert app.portal("a").state.stats().responses_by_status[401] == 1


def test_revoke_with_one_portal(make_app: MakeApp) -> None:
    app = make_app()
    assert app.revoke("tok") is True
    assert answer(post(app, COMMS, comm(1), token="tok")).status == 401
    assert answer(post(app, COMMS, comm(1), token="other")).status == 200


# --------------------------------------------------------------- applications


def test_applications_count_each_key(make_app: MakeApp) -> None:
    app = make_app(missing_ids={"404", "9"})
    post(app, COMMS, comm(1, 2))
    post(app, COMMS, comm(2, 404))  # 404 does not exist: not applied
    post(app, COMMS, comm(1, 1))  # duplicate ids: whole-batch 400, nothing applied
    post(app, WEBHOOKS_V3.format(app=3), [{"id": 1, "active": True}, {"id": 9, "active": True}])
    post(app, WEBHOOKS_V3.format(app=3), [{"id": 1, "active": True}])  # no change: still applied
    post(app, WEBHOOKS_V3.format(app=4), [{"id": 1, "active": False}])
    post(app, STATUSES, [status("X@y.co"), status("bad"), status("z@y.co", 9)])
    post(app, STATUSES, [status("x@Y.co")])
    post(app, TIMELINE, [event("e1"), event("e2")])
    post(app, TIMELINE, [event("e1"), event("e3")])  # e1 exists: not applied again
    occurrence = {"eventTypeName": "tpl", "id": "e4", "properties": {}, "email": "a@b.co"}
    assert answer(post(app, TIMELINE_2026, [occurrence, {**occurrence, "id": "e1"}])).status == 409  # none
    assert answer(post(app, TIMELINE_2026, [occurrence])).status == 200

    s = app.state
    assert s.applications("communications") == {"1": 1, "2": 2}
    assert s.applications("webhooks") == {(3, 1): 2, (4, 1): 1}
    assert s.applications("statuses") == {("x@y.co", 7): 2}
    assert s.applications("timeline") == {("tpl", "e1"): 1, ("tpl", "e2"): 1, ("tpl", "e3"): 1, ("tpl", "e4"): 1}
    effects = s.stats().effects
    for endpoint in ENDPOINTS:
        assert sum(s.applications(endpoint).values()) == effects[endpoint], endpoint
    with pytest.raises(ValueError, match="unknown endpoint"):
        s.applications("contacts")


def test_applications_and_faults(make_app: MakeApp) -> None:
    before = make_app(drop_before_rate=1.0)
    post(before, COMMS, comm(1))
    assert before.state.applications("communications") == {}
    after = make_app(drop_after_rate=1.0)
    post(after, COMMS, comm(1))
    post(after, COMMS, comm(1))  # the client's retry after a lost answer: applied twice
    assert after.state.applications("communications") == {"1": 2}


def test_applications_per_portal(make_app: MakeApp) -> None:
    app = make_app(portals=PORTALS)
    post(app, COMMS, comm(1, 2), token="tok-a")
    post(app, COMMS, comm(2), token="tok-a2")
    post(app, COMMS, comm(3), token="tok-b")
    assert app.portal("a").state.applications("communications") == {"1": 1, "2": 2}
    assert app.portal("b").state.applications("communications") == {"3": 1}
    summaries = app.portal_summaries()
    assert summaries["a"]["applied"]["communications"] == 3 and summaries["a"]["distinct"]["communications"] == 2
    assert summaries["b"]["applied"] == {"webhooks": 0, "communications": 1, "statuses": 0, "timeline": 0}


# ------------------------------------------------------------------------ CLI


def test_cli_portal_option() -> None:
    args = build_parser().parse_args(["--portal", "a=t1", "--portal", "a=t2", "--portal", "b=t3"])
    assert args.portal == [("a", "t1"), ("a", "t2"), ("b", "t3")]
    assert portals_from(args.portal) == {"t1": "a", "t2": "a", "t3": "b"}
    assert build_parser().parse_args([]).portal == []
    assert parse_portal(" a = t=x ") == ("a", "t=x")
    with pytest.raises(ValueError, match="two portals"):
        portals_from([("a", "t"), ("b", "t")])
    assert portals_from([("a", "t"), ("a", "t")]) == {"t": "a"}


@pytest.mark.parametrize("value", ["secret-token", "=secret-token", "a=", "a= "])
def test_cli_bad_portal_never_shows_the_token(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--portal", value])
    err = capsys.readouterr().err
    assert "expected NAME=TOKEN" in err and "secret-token" not in err


def test_cli_portal_and_token_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--portal", "a=secret-1", "--token", "secret-2"]) == 2
    assert main(["--portal", "a=secret-1", "--portal", "b=secret-1"]) == 2
    err = capsys.readouterr().err
    assert "exclusive" in err and "secret-" not in err


def test_cli_serves_portals_and_the_admin_surface() -> None:
    wrapper = Path(__file__).resolve().parents[2] / "wrapper"
    inherited = os.environ.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "hubspot_batch.sandbox", "--rate-limit", "2"]
    command += ["--portal", "a=secret-a", "--portal", "b=secret-b", "--portal", "b=secret-b2"]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(wrapper), inherited])},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(" on ")[1].split()[0]
        assert proc.stdout.readline().strip() == "portals: a, b"
        with httpx.Client(base_url=url) as c:
            for token in ("secret-a", "secret-a", "secret-a", "secret-b2"):
                c.post(COMMS, json={"inputs": comm(1)}, headers={"Authorization": f"Bearer {token}"})
            r = c.get("/_sandbox/portals")
            assert r.status_code == 200 and "secret" not in r.text
            report = r.json()
            assert report["a"]["responses"] == {"200": 2, "429": 1} and report["b"]["responses"] == {"200": 1}
            assert c.post("/_sandbox/revoke", json={"token": "secret-b"}).json() == {"revoked": True}
            r = c.post(COMMS, json={"inputs": comm(1)}, headers={"Authorization": "Bearer secret-b"})
            assert r.status_code == 401
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------- over HTTP


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    config = SandboxConfig(portals=PORTALS, rate_limit=20, interval_ms=60_000)
    with SandboxServer(config=config) as srv:
        yield srv


def test_two_portals_each_get_their_full_limit_at_once(server: SandboxServer) -> None:
    statuses: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(token: str, start: int) -> None:
        try:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
                for k in range(6):
                    r = c.post(COMMS, json={"inputs": comm(start + k)})
                    with lock:
                        statuses[(server.app.portal_of(token) or "?", r.status_code)] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # 30 requests per portal at the same time, 20 allowed per window in each
    threads = [threading.Thread(target=worker, args=(t, 100 * (n + 1))) for n, t in enumerate(["tok-a", "tok-b"] * 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[:3]
    assert statuses == {("a", 200): 20, ("a", 429): 10, ("b", 200): 20, ("b", 429): 10}
    for name in ("a", "b"):
        apps = server.portal(name).state.applications("communications")
        assert len(apps) == 20 and set(apps.values()) == {1}


def test_admin_portals_over_http(server: SandboxServer) -> None:
    assert server.portal_names() == ("a", "b")
    with httpx.Client(base_url=server.url) as c:
        c.post(COMMS, json={"inputs": comm(1, 2)}, headers={"Authorization": "Bearer tok-a"})
        c.post(COMMS, json={"inputs": comm(2)}, headers={"Authorization": "Bearer tok-a2"})
        c.post(TIMELINE, json={"inputs": [event("e")]}, headers={"Authorization": "Bearer tok-b"})
        c.post(TIMELINE, json={"inputs": [event("e")]}, headers={"Authorization": "Bearer tok-b"})
        c.post(COMMS, json={"inputs": comm(3)}, headers={"Authorization": "Bearer nobody"})
        r = c.get("/_sandbox/portals")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "tok-" not in r.text
    report = r.json()
    assert set(report) == {"a", "b"}
    a, b = report["a"], report["b"]
    assert a["requests"] == 2 and a["responses"] == {"200": 2} and a["rate_limited"] == {}
    assert a["applied"] == {"webhooks": 0, "communications": 3, "statuses": 0, "timeline": 0}
    assert a["distinct"] == {"webhooks": 0, "communications": 2, "statuses": 0, "timeline": 0}
    assert a["timeline_duplicates"] == 0
    assert b["responses"] == {"201": 1, "207": 1}
    assert b["applied"]["timeline"] == 1 and b["distinct"]["timeline"] == 1 and b["timeline_duplicates"] == 1
    assert set(a) >= {"requests", "responses", "rate_limited", "applied", "distinct", "timeline_duplicates"}
    # admin requests are not HubSpot requests: counted nowhere
    assert server.portal("a").state.stats().requests == 2
    assert server.state.stats().requests == 1  # the unknown token


def test_admin_revoke_over_http(server: SandboxServer) -> None:
    with httpx.Client(base_url=server.url) as c:
        auth = {"Authorization": "Bearer tok-b"}
        assert c.post(COMMS, json={"inputs": comm(1)}, headers=auth).status_code == 200
        r = c.post("/_sandbox/revoke", json={"token": "tok-b"})
        assert r.status_code == 200 and r.json() == {"revoked": True} and "tok-b" not in r.text
        r = c.post(COMMS, json={"inputs": comm(2)}, headers=auth)
        assert r.status_code == 401 and r.json()["category"] == "INVALID_AUTHENTICATION"
        assert c.post(COMMS, json={"inputs": comm(2)}, headers={"Authorization": "Bearer tok-a"}).status_code == 200
        assert c.post("/_sandbox/revoke", json={"token": "tok-zzz"}).json() == {"revoked": False}
        for bad in (b"{}", b"not json", b'{"token": ""}', b'{"token": 5}', b"[]"):
            r = c.post("/_sandbox/revoke", content=bad)
            assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
        r = c.get("/_sandbox/revoke")
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        r = c.post("/_sandbox/portals")
        assert r.status_code == 405 and r.headers["allow"] == "GET"
        assert c.get("/_sandbox/nothing").status_code == 404
    assert server.portal("b").state.communication("2") is None
    assert server.portal("b").state.stats().responses_by_status == {200: 1, 401: 1}


def test_admin_on_a_single_portal_server() -> None:
    with SandboxServer(config=SandboxConfig()) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/_sandbox/portals").json() == {}
        assert c.post("/_sandbox/revoke", json={"token": "t"}).json() == {"revoked": True}
        assert c.post(COMMS, json={"inputs": comm(1)}, headers={"Authorization": "Bearer t"}).status_code == 401
        assert c.post(COMMS, json={"inputs": comm(1)}, headers={"Authorization": "Bearer u"}).status_code == 200
        assert srv.state.stats().requests == 2


def test_transport_serves_no_admin_surface() -> None:
    from hubspot_batch.sandbox import SandboxTransport

    transport = SandboxTransport(SandboxConfig(portals=PORTALS), sleep=lambda s: None)
    with httpx.Client(transport=transport, base_url="https://api.hubapi.com") as c:
        assert c.get("/_sandbox/portals", headers={"Authorization": "Bearer tok-a"}).status_code == 404
        r = c.post(COMMS, json={"inputs": comm(1)}, headers={"Authorization": "Bearer tok-b"})
        assert r.status_code == 200
    assert transport.app.portal("b").state.communication("1") is not None
    assert json.loads(json.dumps(transport.app.portal_summaries()))["b"]["applied"]["communications"] == 1
