"""The progress bar on a pseudo-terminal, plain progress lines elsewhere, and the sandbox subcommand."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
from cli_helpers import command, token_env, write_jsonl
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

#: Escape sequences a terminal interprets (colours, erase line, cursor shown / hidden): not seen as text.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_on_a_terminal(args: list[str]) -> tuple[int, str, bytes]:
    """Run the command with standard error on a pseudo-terminal: (exit code, what the terminal got, stdout)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*command(), *args],
        env=token_env(COLUMNS="120", TERM="xterm-256color"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, shown.decode(), out


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    rows = [{"id": str(i), "properties": {"hs_communication_body": f"b{i}"}} for i in range(1, 301)]
    src = write_jsonl(tmp_path / "c.jsonl", rows)
    with SandboxServer(config=SandboxConfig(rate_limit=None, latency=0.05)) as server:
        args = ["run", "communications", str(src), "--base-url", server.url, "--batch-size", "10", "--concurrency", "2"]
        code, screen, out = _run_on_a_terminal(args)
    assert code == 0
    # redrawn in place: each frame starts at the beginning of the line, the line is ended once at the end
    frames = [f for f in ESCAPES.sub("", screen).split("\r") if f.strip()]
    assert len(frames) >= 3  # redrawn in place, not one line per update
    assert screen.count("\n") == 1 and screen.rstrip("\r\n").endswith("\x1b[?25h")  # then the cursor is back
    assert re.match(r"\s*\d+% \S+ \d+/300 ", frames[0])  # percent, the bar, done / total
    assert re.match(r"100% \S+ 300/300 ", frames[-1])
    assert "inputs/s" in frames[-1] and "429s: 0" in frames[-1] and "ETA" in frames[-1]
    percents = [int(m.group(1)) for f in frames if (m := re.match(r"\s*(\d+)%", f))]
    assert percents == sorted(percents) and percents[0] < 100
    assert b"300 succeeded" in out


def test_no_progress_on_a_terminal_with_no_progress(tmp_path: Path) -> None:
    rows = [{"id": str(i), "properties": {"hs_communication_body": "b"}} for i in range(1, 21)]
    src = write_jsonl(tmp_path / "c.jsonl", rows)
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        code, screen, out = _run_on_a_terminal(
            ["run", "communications", str(src), "--base-url", server.url, "--batch-size", "5", "--no-progress"]
        )
    assert code == 0
    assert screen == "" and b"20 succeeded" in out


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    rows = [{"id": str(i), "properties": {"hs_communication_body": "b"}} for i in range(1, 21)]
    src = write_jsonl(tmp_path / "c.jsonl", rows)
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        proc = subprocess.run(
            [*command(), "run", "communications", str(src), "--base-url", server.url, "--batch-size", "5"],
            env=token_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 0
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr
    assert "progress: 100.0% 20/20 inputs" in proc.stderr
    assert "20 succeeded" in proc.stdout


def test_sandbox_subcommand_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [*command(), "sandbox", "--port", "0", "--latency", "0.01"],
        env=token_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        body = {"inputs": [{"id": "5", "properties": {"hs_communication_body": "hi"}}]}
        answer = httpx.post(
            url.group(0) + "/crm/v3/objects/communications/batch/update",
            json=body,
            headers={"Authorization": "Bearer x"},
            timeout=10,
        )
        assert answer.status_code == 200 and json.loads(answer.text)["results"][0]["id"] == "5"
    finally:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
