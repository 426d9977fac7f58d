from __future__ import annotations

from typing import Any

import pytest
from sandbox_helpers import STATUSES, MakeApp, answer, post


def status(email: str = "a@example.com", sub: int = 5, state: str = "SUBSCRIBED", **extra: Any) -> dict[str, Any]:
    return {
        "subscriberIdString": email,
        "subscriptionId": sub,
        "statusState": state,
        "channel": "EMAIL",
        **extra,
    }


def test_success_result_shape(make_app: MakeApp) -> None:
    app = make_app()
    extra = {"legalBasis": "CONSENT_WITH_NOTICE", "legalBasisExplanation": "asked"}
    r = answer(post(app, STATUSES, [{**status(), **extra}]))
    assert r.status == 200
    body = r.json()
    assert "errors" not in body and "numErrors" not in body
    assert body["results"] == [
        {
            "subscriberIdString": "a@example.com",
            "subscriptionId": 5,
            "status": "SUBSCRIBED",
            "channel": "EMAIL",
            "source": "API",
            "timestamp": "2026-11-23T10:00:00.000Z",
            "legalBasis": "CONSENT_WITH_NOTICE",
            "legalBasisExplanation": "asked",
            "setStatusSuccessReason": "REQUESTED_CHANGE_OCCURRED",
            "subscriptionName": "Subscription 5",
            "businessUnitId": 0,
        }
    ]
    stored = app.state.status("A@Example.com", 5)
    assert stored is not None and stored.status == "SUBSCRIBED"


def test_no_status_change(make_app: MakeApp) -> None:
    app = make_app()
    post(app, STATUSES, [status(state="UNSUBSCRIBED")])
    body = answer(post(app, STATUSES, [status(email="A@EXAMPLE.COM", state="UNSUBSCRIBED")])).json()
    assert body["results"][0]["setStatusSuccessReason"] == "NO_STATUS_CHANGE"
    fresh = answer(post(app, STATUSES, [status(email="new@example.com", state="NOT_SPECIFIED")])).json()
    assert fresh["results"][0]["setStatusSuccessReason"] == "NO_STATUS_CHANGE"


def test_per_input_errors_inside_200(make_app: MakeApp) -> None:
    app = make_app(missing_ids={"777"})
    r = answer(post(app, STATUSES, [status(), status(email="not-an-email"), status(sub=777)]))
    assert r.status == 200
    body = r.json()
    assert len(body["results"]) == 1
    assert body["numErrors"] == 2
    invalid, missing = body["errors"]
    assert invalid == {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Invalid email address: not-an-email",
        "context": {"subscriberIdString": ["not-an-email"]},
    }
    assert missing["category"] == "OBJECT_NOT_FOUND"
    assert missing["context"] == {
        "subscriptionIds": ["777"],
        "subscriberIdString": ["a@example.com"],
    }


def test_all_failing_is_still_200(make_app: MakeApp) -> None:
    r = answer(post(make_app(), STATUSES, [status(email="x")]))
    assert r.status == 200
    assert r.json()["results"] == []


@pytest.mark.parametrize(
    "item",
    [
        status(state="MAYBE"),
        {**status(), "channel": "SMS"},
        status(legalBasis="BECAUSE"),
        {k: v for k, v in status().items() if k != "subscriptionId"},
        status(sub="5"),  # type: ignore[arg-type]
        {k: v for k, v in status().items() if k != "subscriberIdString"},
    ],
)
def test_whole_batch_400(make_app: MakeApp, item: dict[str, Any]) -> None:
    app = make_app()
    r = answer(post(app, STATUSES, [status(), item]))
    assert r.status == 400
    assert r.json()["category"] == "VALIDATION_ERROR"
    assert app.state.status("a@example.com", 5) is None
