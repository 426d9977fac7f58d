from __future__ import annotations

import json

import pytest
from hubspot_batch.sandbox import Dropped, SandboxApp, SandboxResponse
from sandbox_helpers import COMMS, MakeApp, answer, post

ONE = [{"id": "1", "properties": {"hs_communication_body": "x"}}]


def label(outcome: SandboxResponse | Dropped) -> str:
    if isinstance(outcome, Dropped):
        return outcome.reason
    return f"{outcome.status}:{outcome.fault}"


def run(app: SandboxApp, n: int) -> list[str]:
    return [label(post(app, COMMS, [{"id": str(i + 1), "properties": {}}])) for i in range(n)]


MIXED = {
    "drop_before_rate": 0.1,
    "error_5xx_rate": 0.1,
    "drop_after_rate": 0.1,
    "truncated_rate": 0.1,
    "non_json_rate": 0.1,
    "stall_rate": 0.1,
    "rate_limit": None,
}


def test_same_seed_same_faults(make_app: MakeApp) -> None:
    a = run(make_app(seed=7, **MIXED), 200)
    b = run(make_app(seed=7, **MIXED), 200)
    c = run(make_app(seed=8, **MIXED), 200)
    assert a == b
    assert a != c
    kinds = {x.split(":")[-1] for x in a}
    assert {"drop_before", "drop_after", "truncated", "non_json", "stall", "None"} <= kinds
    assert any(x.startswith(("502", "503", "504")) for x in a)


def test_refused_requests_do_not_shift_the_sequence(make_app: MakeApp) -> None:
    plain = make_app(seed=3, **MIXED)
    noisy = make_app(seed=3, **MIXED)
    expected = run(plain, 50)
    got = []
    for i in range(50):
        post(noisy, COMMS, ONE, token=None)  # 401: no fault draw
        got.append(label(post(noisy, COMMS, [{"id": str(i + 1), "properties": {}}])))
    assert got == expected


def test_rates_are_roughly_honoured(make_app: MakeApp) -> None:
    app = make_app(seed=1, error_5xx_rate=0.3, rate_limit=None)
    out = run(app, 2000)
    share = sum(x[:1] == "5" for x in out) / len(out)
    assert 0.26 < share < 0.34
    assert app.state.stats().faults["error_5xx"] == sum(x[:1] == "5" for x in out)


def test_drop_before_applies_nothing(make_app: MakeApp) -> None:
    app = make_app(drop_before_rate=1.0, latency=0.2)
    out = post(app, COMMS, ONE)
    assert out == Dropped("drop_before", 0.2)
    assert app.state.communication("1") is None
    stats = app.state.stats()
    assert stats.dropped == 1 and stats.faults == {"drop_before": 1}
    assert stats.responses_by_status == {}


def test_5xx_is_html_and_applies_nothing(make_app: MakeApp) -> None:
    app = make_app(error_5xx_rate=1.0)
    r = answer(post(app, COMMS, ONE))
    assert r.status in (502, 503, 504)
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.body.startswith(b"<html>") and f"<h1>{r.status} ".encode() in r.body
    assert "X-HubSpot-RateLimit-Remaining" in r.headers
    assert app.state.communication("1") is None


def test_drop_after_applies_the_effect(make_app: MakeApp) -> None:
    app = make_app(drop_after_rate=1.0)
    assert post(app, COMMS, ONE) == Dropped("drop_after", 0.0)
    assert app.state.communication("1") is not None
    assert app.state.stats().effects["communications"] == 1


def test_truncated_applies_and_cuts_body(make_app: MakeApp) -> None:
    app = make_app(truncated_rate=1.0)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 200 and r.fault == "truncated"
    assert r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        r.json()
    full = answer(post(make_app(), COMMS, ONE)).body
    assert abs(len(r.body) - len(full) // 2) <= 2
    assert app.state.communication("1") is not None


def test_non_json_applies_and_answers_html(make_app: MakeApp) -> None:
    app = make_app(non_json_rate=1.0)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in r.body
    assert app.state.communication("1") is not None


def test_stall_applies_and_delays(make_app: MakeApp) -> None:
    app = make_app(stall_rate=1.0, stall_seconds=12.0, latency=0.5)
    r = answer(post(app, COMMS, ONE))
    assert r.status == 200 and r.delay == pytest.approx(12.5) and r.fault == "stall"
    assert r.json()["results"][0]["id"] == "1"
    assert app.state.communication("1") is not None


def test_post_faults_skip_non_2xx(make_app: MakeApp) -> None:
    app = make_app(drop_after_rate=1.0)
    r = answer(post(app, COMMS, [{"id": "1", "properties": {"nope": "x"}}]))
    assert r.status == 400 and r.fault is None


def test_latency_and_jitter(make_app: MakeApp) -> None:
    app = make_app(latency=0.1, latency_jitter=0.05)
    delays = [answer(post(app, COMMS, ONE)).delay for _ in range(20)]
    assert all(0.1 <= d < 0.15 for d in delays)
    assert len(set(delays)) > 1
    assert answer(post(app, COMMS, ONE, token=None)).delay >= 0.1


def test_fault_rates_validated() -> None:
    from hubspot_batch.sandbox import SandboxConfig

    with pytest.raises(ValueError):
        SandboxConfig(error_5xx_rate=1.5)
    with pytest.raises(ValueError):
        SandboxConfig(drop_after_rate=0.6, stall_rate=0.6)
    with pytest.raises(ValueError):
        SandboxConfig(drop_before_rate=0.6, error_5xx_rate=0.6)
    with pytest.raises(TypeError):
        SandboxConfig(missing_ids="123")
