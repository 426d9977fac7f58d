from __future__ import annotations

from hubspot_batch.sandbox import SandboxRequest
from sandbox_helpers import COMMS, STATUSES, TIMELINE, WEBHOOKS_V3, MakeApp, answer, post

ONE = [{"id": "1", "properties": {"hs_communication_body": "x"}}]
HOOK = [{"id": 1, "active": True}]


def test_missing_token_is_401(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, COMMS, ONE, token=None))
    assert r.status == 401
    body = r.json()
    assert body["status"] == "error"
    assert body["message"].startswith("Authentication credentials not found")
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert app.state.communication("1") is None


def test_non_bearer_and_empty_are_401(make_app: MakeApp) -> None:
    app = make_app()
    for header in ("Basic abc", "Bearer ", "Bearer"):
        req = SandboxRequest("POST", COMMS, headers={"Authorization": header}, body=b'{"inputs":[]}')
        assert answer(app.handle(req)).status == 401, header


def test_access_tokens_list(make_app: MakeApp) -> None:
    app = make_app(access_tokens={"good"})
    assert answer(post(app, COMMS, ONE, token="good")).status == 200
    assert answer(post(app, COMMS, ONE, token="bad")).status == 401


def test_expired_tokens(make_app: MakeApp) -> None:
    app = make_app(expired_tokens={"old"})
    r = answer(post(app, COMMS, ONE, token="old"))
    assert r.status == 401 and r.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert answer(post(app, COMMS, ONE, token="fresh")).status == 200
    app.state.expire_token("fresh")
    assert answer(post(app, COMMS, ONE, token="fresh")).status == 401


def test_missing_scopes_403(make_app: MakeApp) -> None:
    app = make_app(missing_scopes={"tok": ("crm.objects.contacts.write", "other")})
    r = answer(post(app, COMMS, ONE, token="tok"))
    assert r.status == 403
    body = r.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["context"] == {"requiredGranularScopes": ["crm.objects.contacts.write"]}
    assert body["errors"][0]["context"] == "{missingScopes=[crm.objects.contacts.write]}"
    assert body["correlationId"]
    # the same token may still use endpoints whose scope it has
    assert (
        answer(
            post(
                app,
                TIMELINE,
                [{"eventTemplateId": "1", "id": "e", "tokens": {}, "utk": "u"}],
                token="tok",
            )
        ).status
        == 201
    )


def test_auth_before_rate_limit(make_app: MakeApp) -> None:
    app = make_app(rate_limit=1)
    for _ in range(3):
        assert answer(post(app, COMMS, ONE, token=None)).status == 401
    assert answer(post(app, COMMS, ONE)).status == 200


def test_hapikey_on_webhooks_only(make_app: MakeApp) -> None:
    app = make_app(developer_api_keys={"devkey"}, access_tokens={"good"})
    path = WEBHOOKS_V3.format(app=7)
    assert answer(post(app, path, HOOK, token=None, query={"hapikey": "devkey"})).status == 200
    assert answer(post(app, path, HOOK, token="good")).status == 200
    r = answer(post(app, path, HOOK, token=None, query={"hapikey": "wrong"}))
    assert r.status == 401 and "devkey" not in r.body.decode()
    assert answer(post(app, path, HOOK, token="good", query={"hapikey": "wrong"})).status == 200
    assert answer(post(app, COMMS, ONE, token=None, query={"hapikey": "devkey"})).status == 401
    assert answer(post(app, STATUSES, [], token=None, query={"hapikey": "devkey"})).status == 401


def test_any_hapikey_when_not_configured(make_app: MakeApp) -> None:
    app = make_app(missing_scopes={"t": ("developers-write",)})
    path = WEBHOOKS_V3.format(app=7)
    assert answer(post(app, path, HOOK, token=None, query={"hapikey": "anything"})).status == 200
    assert answer(post(app, path, HOOK, token="t")).status == 403
    assert answer(post(app, path, HOOK, token="t", query={"hapikey": "k"})).status == 200


def test_404_and_405(make_app: MakeApp) -> None:
    app = make_app()
    r = answer(post(app, "/crm/v3/objects/contacts/batch/update", ONE))
    assert r.status == 404 and r.json()["correlationId"]
    r = answer(app.handle(SandboxRequest("GET", COMMS, headers={"authorization": "Bearer t"})))
    assert r.status == 405 and r.headers["Allow"] == "POST"
    assert "X-HubSpot-RateLimit-Max" in r.headers
