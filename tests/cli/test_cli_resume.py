"""--checkpoint: a real kill -9 mid-run, then a rerun: every input once, no timeline event created twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from cli_helpers import command, read_jsonl, run_cli, token_env, write_jsonl
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

ROWS = 2000


def _finished(checkpoint: Path) -> int:
    if not checkpoint.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{checkpoint}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM inputs WHERE status IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_then_resume_accounts_for_every_input_once(tmp_path: Path) -> None:
    rows = [{"eventTemplateId": "555", "email": f"user{i}@example.com", "tokens": {"n": str(i)}} for i in range(ROWS)]
    src = write_jsonl(tmp_path / "events.jsonl", rows)
    checkpoint, results = tmp_path / "job.db", tmp_path / "results.jsonl"
    summary = tmp_path / "summary.json"
    args = ["run", "timeline-events", str(src), "--batch-size", "10", "--concurrency", "4", "--rate-limit", "100000"]
    args += ["--checkpoint", str(checkpoint), "--results", str(results), "--summary-json", str(summary)]
    with SandboxServer(config=SandboxConfig(rate_limit=None, latency=0.05)) as server:
        args += ["--base-url", server.url]
        proc = subprocess.Popen(
            [*command(), *args], env=token_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while _finished(checkpoint) < 300 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        done_before = _finished(checkpoint)
        created_before = len(server.state.timeline_events)
        assert 300 <= done_before < ROWS
        assert created_before >= done_before  # some requests were in flight: created, not yet recorded

        ran = run_cli(args, env=token_env())
        assert ran.code == 0, ran.err
        assert "resuming" in ran.err

        lines = read_jsonl(results)
        assert len(lines) == ROWS
        assert [r["line"] for r in lines] == list(range(1, ROWS + 1))
        assert all(r["status"] == "succeeded" for r in lines)
        totals = json.loads(summary.read_text())
        assert totals["inputs"] == totals["succeeded"] == ROWS
        assert totals["from_checkpoint"] == done_before

        events = server.state.timeline_events
        stats = server.state.stats()
        assert len(events) == ROWS
        assert sorted(int(e["tokens"]["n"]) for e in events.values()) == list(range(ROWS))  # each input once
        assert all(count >= 1 for count in stats.timeline_create_attempts.values())
        # every result names the event the sandbox holds for that line
        by_line = {r["line"]: r["result"]["id"] for r in lines if "result" in r}
        for (_, event_id), event in events.items():
            if int(event["tokens"]["n"]) + 1 in by_line:
                assert by_line[int(event["tokens"]["n"]) + 1] == event_id
        print(
            f"killed after {done_before} recorded ({created_before} created); "
            f"resent and found existing: {stats.timeline_duplicates_rejected}; requests {stats.requests}"
        )

        # a third run has nothing left to send
        again = run_cli(args, env=token_env())
        assert again.code == 0
        assert json.loads(summary.read_text())["requests"] == 0
        assert len(read_jsonl(results)) == ROWS
        assert len(server.state.timeline_events) == ROWS


def test_checkpoint_of_another_job_is_refused(tmp_path: Path) -> None:
    checkpoint = tmp_path / "job.db"
    src = write_jsonl(tmp_path / "c.jsonl", [{"id": "1", "properties": {"hs_communication_body": "x"}}])
    assert run_cli(["run", "communications", str(src), "--checkpoint", str(checkpoint)]).code == 0
    other = write_jsonl(tmp_path / "h.jsonl", [{"id": 1, "active": True}])
    ran = run_cli(["run", "webhook-subscriptions", str(other), "--app-id", "3", "--checkpoint", str(checkpoint)])
    assert ran.code == 2 and "another job" in ran.err


def test_failed_inputs_are_kept_and_edited_rows_resent(tmp_path: Path, sandbox: SandboxServer) -> None:
    checkpoint, failures = tmp_path / "job.db", tmp_path / "f.jsonl"
    rows = [{"id": str(i), "properties": {"hs_communication_body": "x"}} for i in (1, 404, 3)]
    src = write_jsonl(tmp_path / "c.jsonl", rows)
    args = ["run", "communications", str(src), "--base-url", sandbox.url, "--checkpoint", str(checkpoint)]
    args += ["--failures", str(failures)]
    assert run_cli(args, env=token_env()).code == 1
    requests = sandbox.state.stats().requests
    ran = run_cli(args, env=token_env())  # nothing new: the recorded failure is reported again, not resent
    assert ran.code == 1 and sandbox.state.stats().requests == requests
    assert [f["_line"] for f in read_jsonl(failures)] == [2]
    rows[1]["id"] = "2"  # the user fixes line 2: a new input, sent on the rerun
    write_jsonl(src, rows)
    assert run_cli(args, env=token_env()).code == 0
    assert sandbox.state.stats().requests == requests + 1
