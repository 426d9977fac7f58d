"""Partial failure, invalid rows, --skip-invalid, standard input, CSV mapping (against a sandbox in this process)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import read_jsonl, run_cli, token_env, write_jsonl
from hubspot_batch.cli._csvmap import convert_record, parse_header
from hubspot_batch.cli._spec import item_spec
from hubspot_batch.sandbox import SandboxServer


def _comm(cid: str, body: str = "hello") -> dict[str, object]:
    return {"id": cid, "properties": {"hs_communication_body": body}}


def test_partial_failure_exit_1_and_failures_carry_original_input(tmp_path: Path, sandbox: SandboxServer) -> None:
    rows = [_comm("1"), _comm("404", "lost"), _comm("3"), _comm("99999", "also lost")]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    failures, results, summary = tmp_path / "f.jsonl", tmp_path / "r.jsonl", tmp_path / "s.json"
    args = ["run", "communications", str(src), "--base-url", sandbox.url]
    args += ["--failures", str(failures), "--results", str(results), "--summary-json", str(summary)]
    ran = run_cli(args, env=token_env())
    assert ran.code == 1, ran.err
    failed = read_jsonl(failures)
    assert [f["_line"] for f in failed] == [2, 4]
    for line, original in zip(failed, (rows[1], rows[3]), strict=True):
        error = line.pop("_error")
        line.pop("_line")
        assert line == original
        assert error["category"] == "OBJECT_NOT_FOUND" and error["message"] and error["status_code"] == 207
    assert [r["status"] for r in read_jsonl(results)] == ["succeeded", "failed", "succeeded", "failed"]
    totals = json.loads(summary.read_text())
    assert (totals["inputs"], totals["succeeded"], totals["failed"], totals["sandbox"]) == (4, 2, 2, False)
    assert "all listed in" in ran.err and "line 2" in ran.err

    # the failures file, once fixed, can be fed back as is (the _line/_error keys are ignored)
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(failures.read_text().replace('"404"', '"5"').replace('"99999"', '"6"'))
    again = run_cli(["run", "communications", str(fixed), "--base-url", sandbox.url], env=token_env())
    assert again.code == 0, again.err
    assert sandbox.state.communication("6") is not None


def test_invalid_row_exit_2_names_line_and_field_and_sends_nothing(tmp_path: Path, sandbox: SandboxServer) -> None:
    rows: list[dict[str, object]] = [_comm(str(i)) for i in range(1, 250)]
    rows.insert(200, {"id": 7, "properties": {"hs_communication_body": "x"}})
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps(r) for r in rows[:10]) + "\n\n" + "".join(json.dumps(r) + "\n" for r in rows[10:])
    )
    ran = run_cli(["run", "communications", str(src), "--base-url", sandbox.url], env=token_env())
    assert ran.code == 2
    assert "line 202: field 'id'" in ran.err  # 200 rows before it, plus one blank line
    assert "nothing was sent" in ran.err
    assert sandbox.state.stats().requests == 0


def test_skip_invalid_sends_the_rest(tmp_path: Path, sandbox: SandboxServer) -> None:
    rows = [_comm("1"), {"id": "2", "properties": {"hs_communication_body": 5}}, _comm("3")]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    failures = tmp_path / "f.jsonl"
    args = ["run", "communications", str(src), "--skip-invalid", "--failures", str(failures), "--base-url", sandbox.url]
    ran = run_cli(args, env=token_env())
    assert ran.code == 1
    (bad,) = read_jsonl(failures)
    assert bad["_line"] == 2 and bad["_error"]["category"] == "INVALID_INPUT"
    assert "properties.hs_communication_body" in bad["_error"]["message"]
    assert sandbox.state.communication("1") is not None and sandbox.state.communication("3") is not None
    assert sandbox.state.communication("2") is None


def test_bad_json_line_is_an_input_error(tmp_path: Path, sandbox: SandboxServer) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(_comm("1")) + "\n{not json\n")
    ran = run_cli(["run", "communications", str(src), "--base-url", sandbox.url], env=token_env())
    assert ran.code == 2 and "line 2" in ran.err
    assert sandbox.state.stats().requests == 0


def test_stdin(tmp_path: Path, sandbox: SandboxServer) -> None:
    text = "".join(json.dumps(_comm(str(i), f"from stdin {i}")) + "\n" for i in range(1, 6))
    summary = tmp_path / "s.json"
    args = ["run", "communications", "-", "--base-url", sandbox.url, "--summary-json", str(summary)]
    ran = run_cli(args, env=token_env(), stdin=text)
    assert ran.code == 0, ran.err
    assert json.loads(summary.read_text())["succeeded"] == 5
    stored = sandbox.state.communication("4")
    assert stored is not None and stored.properties["hs_communication_body"] == "from stdin 4"


def test_csv_mapping_converts_types(tmp_path: Path, sandbox: SandboxServer) -> None:
    hooks = tmp_path / "hooks.csv"
    hooks.write_text("id,active\n11,yes\n12,No\n13,1\n14,FALSE\n15,true\n")
    ran = run_cli(
        ["run", "webhook-subscriptions", str(hooks), "--app-id", "7", "--base-url", sandbox.url], env=token_env()
    )
    assert ran.code == 0, ran.err
    actives = [sandbox.state.subscription(7, i).active for i in range(11, 16)]  # type: ignore[union-attr]
    assert actives == [True, False, True, False, True]

    events = tmp_path / "events.csv"
    events.write_text(
        "eventTemplateId,email,objectId,tokens.plan,extraData.source,timelineIFrame.linkLabel,"
        "timelineIFrame.headerLabel,timelineIFrame.url,timelineIFrame.width,timelineIFrame.height\n"
        "42,a@example.com,,pro,import,Open,Header,https://x.example/1,600,400\n"
        '42,,9,"starter, yearly",,,,,,\n'
    )
    ran = run_cli(["run", "timeline-events", str(events), "--base-url", sandbox.url], env=token_env())
    assert ran.code == 0, ran.err
    stored = sorted(sandbox.state.timeline_events.values(), key=lambda e: str(e.get("email", "")))
    assert len(stored) == 2
    first, second = stored[1], stored[0]
    assert first["timelineIFrame"] == {
        "linkLabel": "Open",
        "headerLabel": "Header",
        "url": "https://x.example/1",
        "width": 600,
        "height": 400,
    }
    assert first["tokens"] == {"plan": "pro"} and first["extraData"] == {"source": "import"}
    assert "objectId" not in first  # empty cell: absent
    assert second["objectId"] == "9" and second["tokens"] == {"plan": "starter, yearly"}
    assert "timelineIFrame" not in second and "extraData" not in second and "email" not in second

    statuses = tmp_path / "statuses.csv"
    statuses.write_text("subscriberIdString,subscriptionId,statusState,channel\nz@example.com,77,SUBSCRIBED,EMAIL\n")
    ran = run_cli(["run", "subscription-statuses", str(statuses), "--base-url", sandbox.url], env=token_env())
    assert ran.code == 0, ran.err
    assert sandbox.state.status("z@example.com", 77) is not None


def test_csv_cell_that_cannot_convert_is_reported_with_line_and_field(tmp_path: Path, sandbox: SandboxServer) -> None:
    hooks = tmp_path / "hooks.csv"
    hooks.write_text("id,active\n11,yes\n12,maybe\nabc,true\n")
    ran = run_cli(
        ["run", "webhook-subscriptions", str(hooks), "--app-id", "7", "--base-url", sandbox.url], env=token_env()
    )
    assert ran.code == 2
    assert "line 3: field 'active'" in ran.err and "line 4: field 'id'" in ran.err
    assert sandbox.state.stats().requests == 0


def test_csv_mapping_unit() -> None:
    spec = item_spec("timeline-events")
    columns = parse_header(["eventTemplateId", "tokens.a", "timelineIFrame.width", "extraData.n", "objectId"])
    row = convert_record(columns, ["1", "x", " 300 ", "5", ""], spec)
    assert row == {
        "eventTemplateId": "1",
        "tokens": {"a": "x"},
        "timelineIFrame": {"width": 300},
        "extraData": {"n": "5"},
    }
    hooks = item_spec("webhook-subscriptions", "2026-03")
    assert convert_record(parse_header(["id", "active"]), ["12", "Yes"], hooks) == {"id": 12, "active": True}
    assert convert_record(parse_header(["subscriptionId"]), ["123456789012"], item_spec("subscription-statuses")) == {
        "subscriptionId": 123456789012
    }
