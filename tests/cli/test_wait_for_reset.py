"""hubspot-batch run --max-daily-share F --wait-for-reset: stop at the budget, wait for the day's reset, go on.

Waiting for a real midnight is impossible in a test, so the portal's clock is
moved instead: the sandbox's day starts (``day_starts_at``) a few seconds
from now, so HubSpot's usage endpoint reports ``resetsAt`` then and the
sandbox's daily count starts again at that moment. The command under test is
the real one (a subprocess, the real clock): it learns the reset from the
usage endpoint, sleeps until then, and continues.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
from cli_helpers import EXAMPLES, command, read_jsonl, token_env, write_jsonl
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

USAGE = "/account-info/v3/api-usage/daily/private-apps"
AHEAD = 6.0  # seconds until the portal's day ends: more than the command needs to start and spend the budget


def used_today(server: SandboxServer) -> int:
    r = httpx.get(server.url + USAGE, headers={"Authorization": "Bearer test-token"})
    return int(r.json()["results"][0]["currentUsage"])


def test_wait_for_reset_stops_at_the_budget_waits_for_the_reset_and_goes_on(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (EXAMPLES / "subscription-statuses.jsonl").read_text().splitlines()][:6]
    source = write_jsonl(tmp_path / "statuses.jsonl", rows)
    reset_at = time.time() + AHEAD
    config = SandboxConfig(rate_limit=None, daily_limit=10, day_starts_at=reset_at % 86_400)
    with SandboxServer(config=config) as server:
        # other apps spent 2 of today's 10 already: --max-daily-share 0.5 leaves room for 3 requests
        for _ in range(2):
            r = httpx.post(
                server.url + "/crm/v3/objects/communications/batch/update",
                content=b"not json",
                headers={"Authorization": "Bearer other-app"},
            )
            assert r.status_code == 400
        assert used_today(server) == 2
        summary, results = tmp_path / "summary.json", tmp_path / "results.jsonl"
        args = [*command(), "run", "subscription-statuses", str(source), "--base-url", server.url]
        args += ["--batch-size", "1", "--max-daily-share", "0.5", "--wait-for-reset"]
        args += ["--summary-json", str(summary), "--results", str(results)]
        proc = subprocess.Popen(args, env=token_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None and proc.stdout is not None
        seen: list[tuple[float, int, str]] = []  # (when, the portal's usage then, the line)

        def read_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                seen.append((time.time(), used_today(server) if "waiting for the daily reset" in line else -1, line))

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            out = proc.stdout.read()
            code = proc.wait(timeout=AHEAD + 60)
        finally:
            if proc.poll() is None:
                proc.kill()
        reader.join(10)
        err = "".join(line for _, _, line in seen)
        assert code == 0, err
        waiting = [(at, used, line) for at, used, line in seen if "waiting for the daily reset" in line]
        assert len(waiting) == 1, err
        at, used, line = waiting[0]
        assert at < reset_at, f"the command started too late to see the budget spent before the reset:\n{err}"
        assert used == 5, err  # it stopped sending at 0.5 x 10: 2 of other apps, 3 of its own
        assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset_at)) in line  # the reset HubSpot reported
        assert "subscription-statuses" in line or "subscription_statuses" in line
        totals = json.loads(summary.read_text())
        assert (totals["succeeded"], totals["not_sent"], totals["failed"]) == (6, 0, 0), err
        assert totals["stopped_by"] is None
        assert time.time() >= reset_at  # it went on only after the reset
        assert used_today(server) == 3  # the new day: the other 3 requests
        assert server.state.stats().rate_limited == {}
    assert [r["status"] for r in read_jsonl(results)] == ["succeeded"] * 6
    assert "6 succeeded" in out
