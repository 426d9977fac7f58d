"""What the user sees, input by input, for every endpoint, every API version and every way HubSpot answers.

Each test replays its own cassette (``tests/cassettes/<endpoint>--<scenario>.yaml``)
through the public blocking client and checks every input's outcome. The
cassettes were recorded by these same tests (``--record-mode=rewrite``)
against the sandbox or, with ``HUBSPOT_CONTRACT_TARGET=hubspot``, real HubSpot.

Endpoints are named ``<endpoint>-<API version>``. Timeline 2026-03 and 2026-09
accept a batch all or none: they have no partial failure within a 2xx, and
their ``conflict_409_isolated`` scenario (an occurrence id that already
exists) takes the place of ``partial_failure``. Webhooks 2026-09 takes OAuth
bearer tokens only: its tests run without a developer API key, so its 401 /
403 concern the bearer token.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract_support import (
    BAD_DEVELOPER_KEY,
    BAD_TOKEN,
    ENDPOINT_NAMES,
    MISSING_COMMUNICATION,
    MISSING_PREFERENCE_SUBSCRIPTION,
    MISSING_WEBHOOK_SUBSCRIPTION,
    OCCURRENCE_ENDPOINTS,
    endpoints_for,
    limited_token,
    raw_key,
    result_key,
)
from hubspot_batch import (
    AuthenticationError,
    BatchResult,
    DailyLimitError,
    MissingScopesError,
    Outcome,
    OutcomeStatus,
)

pytestmark = pytest.mark.vcr

S, F, N = OutcomeStatus.SUCCEEDED, OutcomeStatus.FAILED, OutcomeStatus.NOT_SENT

# (status code, category) HubSpot gives the input that fails on its own
PARTIAL = {
    "webhooks-v3": (207, "SUBSCRIPTION_ID_NOT_FOUND"),
    "webhooks-2026-03": (207, "SUBSCRIPTION_ID_NOT_FOUND"),
    "webhooks-2026-09": (207, "SUBSCRIPTION_ID_NOT_FOUND"),
    "communications-v3": (207, "OBJECT_NOT_FOUND"),
    "communications-2026-03": (207, "OBJECT_NOT_FOUND"),
    "communications-2026-09": (207, "OBJECT_NOT_FOUND"),
    "statuses-v4": (200, "OBJECT_NOT_FOUND"),  # status writes: errors inside a 200
    "statuses-2026-03": (200, "OBJECT_NOT_FOUND"),
    "statuses-2026-09": (200, "OBJECT_NOT_FOUND"),
    "timeline-v3": (207, "OBJECT_ALREADY_EXISTS"),
}
# the generated model each endpoint's results are parsed into
RESULT_MODEL = {
    "webhooks-v3": "SubscriptionResponse",
    "webhooks-2026-03": "Webhooks202603SubscriptionResponse",
    "webhooks-2026-09": "Webhooks202609SubscriptionResponse",
    "communications-v3": "SimplePublicObject",
    "communications-2026-03": "CrmCommunications202603SimplePublicObject",
    "communications-2026-09": "CrmCommunications202609SimplePublicObject",
    "statuses-v4": "PublicStatus",
    "statuses-2026-03": "PublicStatus",
    "statuses-2026-09": "PublicStatus",
    "timeline-v3": "TimelineEventResponse",
    "timeline-2026-03": "AppEventOccurrence",
    "timeline-2026-09": "AppEventOccurrence",
}


@pytest.fixture(params=ENDPOINT_NAMES)
def endpoint(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def statuses(result: BatchResult) -> list[OutcomeStatus]:
    return [o.status for o in result]


def check_success(endpoint: str, row: dict[str, Any], outcome: Outcome) -> None:
    """A succeeded input carries HubSpot's result for *that* input, parsed into the generated model."""
    assert outcome.status is S, outcome.describe()
    assert outcome.error is None
    assert outcome.raw is not None
    assert raw_key(endpoint, outcome.raw) == result_key(endpoint, row)
    assert outcome.result is not None  # the generated model understands the result item
    assert type(outcome.result).__name__ == RESULT_MODEL[endpoint], type(outcome.result)
    raw = outcome.raw
    if endpoint.startswith("webhooks"):
        assert raw["active"] is row["active"]
        assert raw.get("eventType") or raw.get("eventTypeName")
    elif endpoint.startswith("communications"):
        assert str(raw["id"]) == row["id"]
        assert raw["properties"]["hs_communication_body"] == row["properties"]["hs_communication_body"]
    elif endpoint.startswith("statuses"):
        assert raw["status"] == row["statusState"]
        assert raw["channel"] == "EMAIL"
    elif endpoint in OCCURRENCE_ENDPOINTS:
        assert raw["eventTypeName"] == row["eventTypeName"]
        assert str(raw["objectId"]) == row["objectId"]
        assert raw["properties"] == row["properties"]
    else:
        assert raw["eventTemplateId"] == row["eventTemplateId"]
        assert str(raw["objectId"]) == row["objectId"]


def check_indexes(result: BatchResult, rows: list[dict[str, Any]]) -> None:
    assert len(result) == len(rows)
    assert [o.index for o in result] == list(range(len(rows)))
    for row, outcome in zip(rows, result, strict=True):
        for key, value in row.items():
            assert outcome.input[key] == value


def test_full_success(contract: Any, endpoint: str) -> None:
    rows = [contract.ok(i) for i in range(3)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S, S]
    for row, outcome in zip(rows, result, strict=True):
        check_success(endpoint, row, outcome)
    assert result.ok and result.stopped_by is None
    assert result.stats.requests == 1 and result.stats.retries == 0
    assert result.raise_for_errors() is result


@pytest.mark.parametrize("endpoint", endpoints_for("partial_failure"))
def test_partial_failure(contract: Any, endpoint: str) -> None:
    if contract.live and endpoint == "timeline-v3":  # the event that "already exists"
        contract.setup_post({"inputs": [contract.failing(2)]})
    rows = [contract.ok(0), contract.ok(1), contract.failing(2), contract.ok(3)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S, F, S]
    for i in (0, 1, 3):
        check_success(endpoint, rows[i], result[i])
    failed = result[2]
    assert failed.error is not None
    code, category = PARTIAL[endpoint]
    assert (failed.error.status_code, failed.error.category) == (code, category), failed.describe()
    assert failed.error.message
    context = failed.error.context
    assert isinstance(context, dict)
    named = {
        "webhooks-v3": ("subscriptionIds", str(MISSING_WEBHOOK_SUBSCRIPTION)),
        "webhooks-2026-03": ("subscriptionIds", str(MISSING_WEBHOOK_SUBSCRIPTION)),
        "webhooks-2026-09": ("subscriptionIds", str(MISSING_WEBHOOK_SUBSCRIPTION)),
        "communications-v3": ("ids", MISSING_COMMUNICATION),
        "communications-2026-03": ("ids", MISSING_COMMUNICATION),
        "communications-2026-09": ("ids", MISSING_COMMUNICATION),
        "statuses-v4": ("subscriptionIds", str(MISSING_PREFERENCE_SUBSCRIPTION)),
        "statuses-2026-03": ("subscriptionIds", str(MISSING_PREFERENCE_SUBSCRIPTION)),
        "statuses-2026-09": ("subscriptionIds", str(MISSING_PREFERENCE_SUBSCRIPTION)),
        "timeline-v3": ("id", str(rows[2].get("id"))),
    }[endpoint]
    assert named[1] in context[named[0]]  # HubSpot's error names the input; the library tied it to it
    assert result.stats.requests == 1
    assert not result.ok and result.stopped_by is None


@pytest.mark.parametrize("endpoint", endpoints_for("conflict_409_isolated"))
def test_conflict_409_isolated(contract: Any, endpoint: str) -> None:
    """All or none: one occurrence id that already exists -> 409 for the whole batch; the engine isolates it."""
    if contract.live:  # the occurrence that "already exists"
        created = contract.setup_post({"inputs": [contract.failing(2)]})
        assert created.status_code == 200, created.text
    rows = [contract.ok(0), contract.ok(1), contract.failing(2), contract.ok(3)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S, F, S]  # the rest were created
    for i in (0, 1, 3):
        check_success(endpoint, rows[i], result[i])
    failed = result[2]
    assert failed.error is not None
    assert (failed.error.status_code, failed.error.category) == (409, "CONFLICT"), failed.describe()
    assert "already exist" in failed.error.message
    context = failed.error.context
    assert isinstance(context, dict) and rows[2]["id"] in context["ids"], failed.describe()
    # [0..3] 409 -> [0,1] ok, [2,3] 409 -> [2] 409, [3] ok: the existing occurrence alone is reported
    assert result.stats.splits == 2
    assert result.stats.requests == 5
    assert not result.ok and result.stopped_by is None
    codes = [r["status"]["code"] for r in contract.cassette.responses]
    assert codes == [409, 200, 409, 409, 200], codes


def test_batch_400_isolated(contract: Any, endpoint: str) -> None:
    rows = [contract.ok(0), contract.ok(1), contract.ok(2), contract.poison(3)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S, S, F]
    for i in range(3):
        check_success(endpoint, rows[i], result[i])
    bad = result[3].error
    assert bad is not None
    assert (bad.status_code, bad.category) == (400, "VALIDATION_ERROR"), result[3].describe()
    # [0..3] 400 -> [0,1] ok, [2,3] 400 -> [2] ok, [3] 400: the bad input alone is reported
    assert result.stats.splits == 2
    assert result.stats.requests == 5


def test_rate_limit_then_success(contract: Any, endpoint: str) -> None:
    if contract.live:
        contract.fill_rate_window()
    rows = [contract.ok(0), contract.ok(1)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S]
    for row, outcome in zip(rows, result, strict=True):
        check_success(endpoint, row, outcome)
    assert result.stats.rate_limited >= 1
    assert result.stats.requests == result.stats.rate_limited + 1
    first = contract.cassette.responses[0]
    assert first["status"]["code"] == 429
    assert b"TEN_SECONDLY_ROLLING" in _bytes(first["body"]["string"])


def test_daily_limit(contract: Any, endpoint: str) -> None:
    if contract.live:
        contract.use_daily_budget()
    rows = [contract.ok(i) for i in range(4)]
    result = contract.run(rows, batch_size=2)
    check_indexes(result, rows)
    assert statuses(result) == [N, N, N, N]  # nothing was applied: safe to send again tomorrow
    assert [o.error.category for o in result] == ["DAILY_LIMIT", "DAILY_LIMIT", "STOPPED", "STOPPED"]
    assert all("daily" in o.error.message.lower() for o in result)
    assert isinstance(result.error, DailyLimitError)
    assert result.stopped_by and "daily" in result.stopped_by
    assert result.stats.requests == 1  # a DAILY 429 is not retried within the run
    with pytest.raises(DailyLimitError):
        result.raise_for_errors()


def test_server_error_then_success(contract: Any, endpoint: str) -> None:
    rows = [contract.ok(0), contract.ok(1)]
    result = contract.run(rows)
    check_indexes(result, rows)
    assert statuses(result) == [S, S]
    for row, outcome in zip(rows, result, strict=True):
        check_success(endpoint, row, outcome)
    assert result.stats.requests == 2 and result.stats.retries == 1
    first = contract.cassette.responses[0]
    assert first["status"]["code"] >= 500
    assert b"<html" in _bytes(first["body"]["string"]).lower()  # the edge's HTML page, not JSON


def test_unauthorized_401(contract: Any, endpoint: str) -> None:
    rows = [contract.ok(i) for i in range(4)]
    result = contract.run(rows, batch_size=2, access_token=BAD_TOKEN, developer_api_key=BAD_DEVELOPER_KEY)
    check_indexes(result, rows)
    assert statuses(result) == [F, F, N, N]
    for outcome in result[0], result[1]:
        assert outcome.error is not None and outcome.error.status_code == 401, outcome.describe()
        assert outcome.error.category in {"INVALID_AUTHENTICATION", "EXPIRED_AUTHENTICATION"}
    assert [result[2].error.category, result[3].error.category] == ["STOPPED", "STOPPED"]
    assert isinstance(result.error, AuthenticationError)
    assert result.stats.requests == 1  # a 401 is never retried
    with pytest.raises(AuthenticationError) as raised:
        result.raise_for_errors()
    assert BAD_TOKEN not in str(raised.value) and BAD_DEVELOPER_KEY not in str(raised.value)


def test_forbidden_403(contract: Any, endpoint: str) -> None:
    rows = [contract.ok(i) for i in range(4)]
    result = contract.run(rows, batch_size=2, access_token=limited_token(contract.live))
    check_indexes(result, rows)
    assert statuses(result) == [F, F, N, N]
    for outcome in result[0], result[1]:
        assert outcome.error is not None, outcome.describe()
        assert (outcome.error.status_code, outcome.error.category) == (403, "MISSING_SCOPES")
    assert [result[2].error.category, result[3].error.category] == ["STOPPED", "STOPPED"]
    assert isinstance(result.error, MissingScopesError)
    assert result.error.missing_scopes  # the user is told which scope to add
    assert result.stats.requests == 1  # a 403 is never retried


def _bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)
