"""The fleet's pure parts: submitting (checks, shards, messages), shard reports, and the summary across shards."""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs
import pytest
from hubspot_batch import AuthenticationError, ConfigurationError, InputValidationError
from hubspot_batch._fleet_messages import (
    check_options,
    endpoint_name,
    failed_shard_report,
    portal_stop,
    shard_report,
    stopped_shard_report,
)
from hubspot_batch._fleet_submit import Shard
from hubspot_batch._fleet_summary import FleetSummary
from hubspot_batch._results import BatchResult, Outcome, OutcomeError, OutcomeStatus
from hubspot_batch.celery import TASK_NAME, FleetJob, submit


@attrs.define
class _Sent:
    id: str


class _Result:
    def __init__(self, value: Any, ok: bool = True) -> None:
        self.value = value
        self.ok = ok

    def get(self, **_: Any) -> Any:
        return self.value

    def successful(self) -> bool:
        return self.ok

    def ready(self) -> bool:
        return True


class FakeApp:
    """Records published tasks; answers AsyncResult from reports a test sets."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.reports: dict[str, _Result] = {}

    def send_task(self, name: str, args: list[Any], queue: str | None = None) -> _Sent:
        assert name == TASK_NAME
        json.dumps(args)  # what Celery's json serializer must carry
        self.sent.append(args[0])
        return _Sent(f"task-{len(self.sent) - 1}")

    def AsyncResult(self, task_id: str) -> _Result:
        return self.reports[task_id]


def _communications(n: int) -> list[dict[str, Any]]:
    return [{"id": str(1000 + i), "properties": {"hs_communication_body": f"call {i}"}} for i in range(n)]


def test_submit_cuts_shards_that_cover_every_row_once_and_carry_no_credential() -> None:
    app = FakeApp()
    job = submit(app, "communications", iter(_communications(2500)), portal="portal-1", shard_size=1000)
    assert [(m["start"], len(m["rows"])) for m in app.sent] == [(0, 1000), (1000, 1000), (2000, 500)]
    assert [r["id"] for m in app.sent for r in m["rows"]] == [str(1000 + i) for i in range(2500)]
    assert {m["portal"] for m in app.sent} == {"portal-1"} and {m["job"] for m in app.sent} == {job.id}
    assert all(m["options"]["api_version"] == "v3" for m in app.sent)
    assert job.rows == 2500 and len(job.shards) == 3
    text = json.dumps(app.sent)
    assert "token" not in text.lower() and "authorization" not in text.lower()


def test_an_invalid_row_is_named_by_its_position_in_the_whole_input_and_nothing_is_published() -> None:
    app = FakeApp()
    rows = _communications(2500)
    rows[1503] = {"id": "1503", "properties": {"hs_communication_body": 5}}
    with pytest.raises(InputValidationError) as caught:
        submit(app, "communications", rows, portal="p", shard_size=1000)
    assert [issue.index for issue in caught.value.issues] == [1503]
    assert "hs_communication_body" in caught.value.issues[0].field
    assert app.sent == []


def test_with_on_invalid_skip_the_invalid_rows_travel_and_the_worker_reports_them() -> None:
    app = FakeApp()
    rows = _communications(3)
    rows[1] = {"id": "x", "properties": {"hs_communication_body": 5}}
    submit(app, "communications", rows, portal="p", on_invalid="skip")
    assert len(app.sent[0]["rows"]) == 3 and app.sent[0]["options"]["on_invalid"] == "skip"


def test_timeline_rows_get_their_id_before_publishing_so_a_redelivery_sends_the_same_ids() -> None:
    app = FakeApp()
    rows = [{"eventTemplateId": "1001", "objectId": str(i), "tokens": {}} for i in range(3)]
    rows[2]["id"] = "mine"
    submit(app, "timeline_events", rows, portal="p")
    ids = [r["id"] for r in app.sent[0]["rows"]]
    assert ids[2] == "mine" and all(uuid.UUID(i) for i in ids[:2])
    with_fields = FakeApp()
    submit(with_fields, "timeline-events", rows[:2], portal="p", id_from="objectId,eventTemplateId")
    assert all("id" not in r for r in with_fields.sent[0]["rows"])
    assert with_fields.sent[0]["options"]["id_from"] == ["objectId", "eventTemplateId"]


def test_a_row_missing_an_id_from_field_is_an_input_error_before_anything_is_published() -> None:
    app = FakeApp()
    rows = [{"eventTemplateId": "1001", "objectId": "1", "tokens": {}}, {"eventTemplateId": "1001", "tokens": {}}]
    with pytest.raises(InputValidationError) as caught:
        submit(app, "timeline_events", rows, portal="p", id_from=["objectId", "eventTemplateId"])
    assert caught.value.issues[0].index == 1 and "objectId" in str(caught.value.issues[0])
    assert app.sent == []


@pytest.mark.parametrize(
    ("endpoint", "options", "says"),
    [
        ("timeline_events", {"id_from": lambda row: "x"}, "callable cannot travel"),
        ("communications", {"id_from": ["a"]}, "timeline_events only"),
        ("webhook_subscriptions", {}, "needs app_id"),
        ("communications", {"app_id": 5}, "webhook_subscriptions only"),
        ("communications", {"sync_state": "x"}, "unknown option"),
        ("contacts", {}, "unknown endpoint"),
    ],
)
def test_options_that_cannot_work_in_a_fleet_are_refused(endpoint: str, options: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        check_options(endpoint_name(endpoint), options)


def test_latest_is_resolved_once_at_submit_so_every_shard_uses_the_same_version() -> None:
    app = FakeApp()
    submit(app, "subscription_statuses", [], portal="p", api_version="latest")
    submit(app, "subscription_statuses", [_status()], portal="p", api_version="latest")
    assert app.sent[0]["options"]["api_version"] not in ("latest", None)


def _status() -> dict[str, Any]:
    return {
        "subscriberIdString": "a@example.com",
        "subscriptionId": 1,
        "statusState": "SUBSCRIBED",
        "channel": "EMAIL",
    }


def _message(rows: int, start: int = 100) -> dict[str, Any]:
    return {"v": 1, "job": "j", "shard": 1, "start": start, "portal": "p", "endpoint": "communications"} | {
        "options": {},
        "results": "failures",
        "rows": [{"id": str(i)} for i in range(rows)],
    }


def _result(error: Any = None) -> BatchResult:
    failure = OutcomeError("VALIDATION_ERROR", "bad", status_code=400)
    outcomes = (
        Outcome(0, OutcomeStatus.SUCCEEDED, {"id": "0"}, raw={"id": "0"}),
        Outcome(1, OutcomeStatus.FAILED, {"id": "1"}, error=failure),
        Outcome(2, OutcomeStatus.UNCHANGED, {"id": "2"}),
    )
    return BatchResult(outcomes, stopped_by="rejected" if error else None, error=error)


def test_a_shard_report_counts_every_row_and_lists_the_failures_at_their_global_position() -> None:
    report = shard_report(_message(3), _result())
    assert report["counts"] == {"succeeded": 1, "failed": 1, "not_sent": 0, "unchanged": 1}
    assert [(o["index"], o["status"]) for o in report["outcomes"]] == [(101, "failed")]
    assert report["outcomes"][0]["input"] == {"id": "1"}
    every = shard_report({**_message(3), "results": "all"}, _result())
    assert [o["index"] for o in every["outcomes"]] == [100, 101, 102]
    json.dumps(every)


def test_rejected_credentials_stop_the_portal_and_its_later_shards_send_nothing() -> None:
    stop = portal_stop(_result(AuthenticationError("HubSpot rejected the credentials (401)", status_code=401)))
    assert stop is not None and stop["error_type"] == "AuthenticationError"
    assert portal_stop(_result()) is None
    later = stopped_shard_report(_message(4), stop)
    assert later["counts"]["not_sent"] == 4 and later["error_type"] == "AuthenticationError"
    assert {o["error"]["category"] for o in later["outcomes"]} == {"STOPPED"}
    assert [o["index"] for o in later["outcomes"]] == [100, 101, 102, 103]


def test_the_summary_gives_one_outcome_per_row_per_portal_and_names_stopped_portals() -> None:
    app = FakeApp()
    shards = (Shard("a", "p1", 0, 3), Shard("b", "p2", 0, 4), Shard("c", "p2", 4, 2))
    app.reports["a"] = _Result(shard_report({**_message(3, 0), "portal": "p1"}, _result()))
    stop = {"reason": "401", "error_type": "AuthenticationError"}
    auth = stopped_shard_report({**_message(4, 0), "portal": "p2"}, stop)
    app.reports["b"] = _Result(auth)
    app.reports["c"] = _Result(RuntimeError("worker raised"), ok=False)
    job = FleetJob(app, "j", shards)
    summary = job.wait()
    assert summary.done and not summary.ok
    assert summary.portals["p1"].counts == {"succeeded": 1, "failed": 1, "not_sent": 0, "unchanged": 1}
    assert summary.portals["p2"].counts["not_sent"] == 4 and summary.portals["p2"].counts["failed"] == 2
    assert sum(summary.counts.values()) == summary.rows == 9
    assert summary.stopped["p2"].startswith("AuthenticationError")
    failures = list(job.failures())
    assert [(f["index"], f["status"]) for f in failures[-2:]] == [(4, "failed"), (5, "failed")]
    assert failures[-1]["error"]["category"] == "SHARD_FAILED"


def test_a_summary_before_the_end_counts_pending_shards() -> None:
    summary = FleetSummary()
    summary.expect("p", 10)
    summary.pending = 1
    assert not summary.done and summary.rows == 10 and summary.counts["succeeded"] == 0


def test_a_failed_shard_report_gives_each_row_an_outcome() -> None:
    report = failed_shard_report(_message(2), "ConfigurationError", "no credentials for portal 'p' (KeyError)")
    assert report["counts"]["failed"] == 2 and len(report["outcomes"]) == 2


def test_register_configures_redelivery_within_about_a_minute_and_keeps_the_apps_own_timeout() -> None:
    from celery import Celery
    from hubspot_batch.celery import register

    app = Celery("t", broker="redis://127.0.0.1:1/0")
    task = register(app, credentials=lambda portal: "t")
    conf = app.conf
    assert task.name == TASK_NAME and task.acks_late and task.reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1 and conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.broker_transport_options["visibility_timeout"] == 60
    assert conf.broker_transport_options["unacked_restore_interval"] == 5
    own = Celery("t", broker="redis://127.0.0.1:1/0")
    own.conf.broker_transport_options = {"visibility_timeout": 300}
    register(own, credentials=lambda portal: "t")
    assert own.conf.broker_transport_options["visibility_timeout"] == 300


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"wait_for_reset": True}, "visibility timeout"),
        ({"access_token": "pat-secret"}, "credentials come from credentials"),
        ({"api_version": "2026-09"}, "pass it to submit"),
        ({"on_invalid": "skip"}, "checks every row before publishing"),
        ({"colour": "red"}, "not a fleet client option"),
    ],
)
def test_register_refuses_options_that_do_not_suit_a_fleet(options: dict[str, Any], says: str) -> None:
    from celery import Celery
    from hubspot_batch.celery import register

    with pytest.raises(ConfigurationError, match=says) as caught:
        register(Celery("t", broker="redis://127.0.0.1:1/0"), credentials=lambda portal: "t", **options)
    assert "pat-secret" not in str(caught.value)


def test_a_broker_that_is_not_redis_needs_a_redis_url() -> None:
    from celery import Celery
    from hubspot_batch.celery import register

    with pytest.raises(ConfigurationError, match="redis_url"):
        register(Celery("t", broker="amqp://guest@localhost//"), credentials=lambda portal: "t")
    register(Celery("t", broker="amqp://guest@localhost//"), credentials=lambda p: "t", redis_url="redis://h:1/0")
