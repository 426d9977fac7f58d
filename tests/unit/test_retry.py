"""Pure retry decisions, table-style."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from hubspot_batch import RetryPolicy
from hubspot_batch._retry import Verdict, backoff_delay, classify, parse_retry_after

POLICY = RetryPolicy()
NOW = 1_800_000_000.0


def decide(
    status: int | None, body: object = None, headers: dict[str, str] | None = None, exc: Exception | None = None
):
    content = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    return classify(status=status, headers=headers or {}, content=content, exc=exc, policy=POLICY, now_wall=NOW)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 20, UTC), usegmt=True)}, 20.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
        ({"retry-after": "-4"}, 0.0),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    result = parse_retry_after(headers, NOW)
    assert result == (pytest.approx(expected, abs=1.0) if expected is not None else None)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    rng = random.Random(1)
    delays = [[backoff_delay(a, policy, rng) for _ in range(200)] for a in range(1, 8)]
    assert all(0.5 <= d <= 8.0 for row in delays for d in row)
    assert max(delays[0]) <= 1.0 and max(delays[5]) > 4.0


@pytest.mark.parametrize(
    ("status", "body", "verdict"),
    [
        (200, {"status": "COMPLETE", "results": []}, Verdict.SUCCESS),
        (207, {"status": "COMPLETE", "results": [], "errors": []}, Verdict.SUCCESS),
        (201, {"results": []}, Verdict.SUCCESS),
        (200, b'{"status": "COMPLETE", "resu', Verdict.RETRY),
        (200, b"<html>oops</html>", Verdict.RETRY),
        (200, ["not", "a", "batch"], Verdict.RETRY),
        (429, {"policyName": "TEN_SECONDLY_ROLLING", "errorType": "RATE_LIMIT"}, Verdict.RATE_LIMITED),
        (429, {"policyName": "DAILY", "errorType": "RATE_LIMIT"}, Verdict.DAILY_LIMIT),
        (400, {"category": "VALIDATION_ERROR", "message": "bad"}, Verdict.SPLIT),
        (409, {"category": "CONFLICT", "message": "exists"}, Verdict.SPLIT),
        (401, {"category": "INVALID_AUTHENTICATION"}, Verdict.AUTH),
        (403, {"category": "MISSING_SCOPES"}, Verdict.SCOPES),
        (404, {"category": "OBJECT_NOT_FOUND"}, Verdict.REJECTED),
        (423, {"message": "locked"}, Verdict.RETRY),
        (477, {"message": "migration"}, Verdict.RETRY),
        (502, b"<html><h1>502 Bad Gateway</h1></html>", Verdict.RETRY),
        (524, None, Verdict.RETRY),
    ],
)
def test_classify_table(status: int, body: object, verdict: Verdict) -> None:
    assert decide(status, body).verdict is verdict


def test_423_waits_at_least_two_seconds() -> None:
    assert decide(423, {"message": "locked"}).delay == pytest.approx(2.0)


def test_retry_after_is_capped() -> None:
    decision = decide(503, None, {"retry-after": "3600"})
    assert decision.delay == POLICY.max_retry_after


def test_transport_errors_know_whether_the_request_may_have_landed() -> None:
    request = httpx.Request("POST", "https://api.hubapi.com/x")
    refused = decide(None, exc=httpx.ConnectError("refused", request=request))
    dropped = decide(None, exc=httpx.RemoteProtocolError("Server disconnected", request=request))
    timeout = decide(None, exc=httpx.ReadTimeout("slow", request=request))
    assert (refused.verdict, refused.maybe_landed) == (Verdict.RETRY, False)
    assert (dropped.verdict, dropped.maybe_landed) == (Verdict.RETRY, True)
    assert (timeout.verdict, timeout.maybe_landed) == (Verdict.RETRY, True)


def test_hubspot_error_fields_are_kept() -> None:
    decision = decide(
        400,
        {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Duplicate IDs",
            "correlationId": "c-1",
            "context": {"ids": ["1"]},
        },
    )
    assert decision.error is not None
    assert (decision.error.category, decision.error.correlation_id, decision.error.status_code) == (
        "VALIDATION_ERROR",
        "c-1",
        400,
    )
    assert decision.error.context == {"ids": ["1"]}
