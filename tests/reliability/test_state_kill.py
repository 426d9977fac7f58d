"""kill -9 during `hubspot-batch run --state`: the next run sends exactly the rows whose success was not recorded.

A few rows may be sent again (HubSpot applied them, the state had not
recorded it yet), but a row the state calls unchanged has always landed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

pytestmark = pytest.mark.slow
ROWS = 3000


def _command() -> list[str]:
    return [sys.executable, "-m", "hubspot_batch.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    env["HUBSPOT_ACCESS_TOKEN"] = "kill-test-token"
    return env


@pytest.mark.parametrize("kill_after", [0.8, 1.6, 2.4])
def test_kill_9_with_state_then_rerun(tmp_path: Path, kill_after: float) -> None:
    rows = [{"id": str(i), "properties": {"hs_communication_body": f"night {i}"}} for i in range(1, ROWS + 1)]
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    state = tmp_path / "comms.state"
    with SandboxServer(config=SandboxConfig(rate_limit=None, latency=0.05)) as server:
        args = [*_command(), "run", "communications", str(source), "--base-url", server.url, "--no-progress"]
        args += ["--state", str(state), "--batch-size", "10", "--concurrency", "4"]
        first = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(kill_after)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        landed = {
            r["id"]
            for r in rows
            if (c := server.state.communication(r["id"])) is not None
            and c.properties.get("hs_communication_body") == r["properties"]["hs_communication_body"]
        }
        results = tmp_path / "results.jsonl"
        summary = tmp_path / "summary.json"
        second = subprocess.run(
            [*args, "--results", str(results), "--summary-json", str(summary)],
            env=_env(),
            capture_output=True,
            text=True,
        )
        assert second.returncode == 0, second.stderr
        outcomes = [json.loads(line) for line in results.read_text().splitlines()]
        unchanged = {rows[o["index"]]["id"] for o in outcomes if o["status"] == "unchanged"}
        totals = json.loads(summary.read_text())
        assert unchanged <= landed  # nothing skipped that did not land
        assert totals["succeeded"] + totals["unchanged"] == ROWS
        assert totals["unchanged"] == len(unchanged)
        for r in rows:  # every row is in HubSpot now
            stored = server.state.communication(r["id"])
            assert (
                stored is not None
                and stored.properties["hs_communication_body"] == r["properties"]["hs_communication_body"]
            )
    assert len(landed) - len(unchanged) <= 4 * 10 * 2  # re-sent: at most what was in flight around the kill
