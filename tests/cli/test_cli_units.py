"""Small units of the CLI: progress text, masking, checkpoint rules, input reading."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hubspot_batch import Progress, Stats
from hubspot_batch.cli._checkpoint import Checkpoint, CheckpointError, Record
from hubspot_batch.cli._inputs import InputFileError, read_input
from hubspot_batch.cli._progress import ProgressDisplay
from hubspot_batch.cli._redact import RedactingStream
from hubspot_batch.cli._spec import item_spec


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_text_on_terminal_and_plain(capsys: pytest.CaptureFixture[str]) -> None:
    clock = _Clock()
    stream = io.StringIO()
    display = ProgressDisplay(stream, total=1000, already_done=100, tty=True, clock=clock)
    clock.now += 2.0
    display.update(Progress(done=400, succeeded=390, failed=10, not_sent=0, total=None, stats=Stats(rate_limited=3)))
    drawn = stream.getvalue()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # what the terminal shows (no colours or cursor moves)
    assert re.match(r" 50% \S+ 500/1,000 ", text) and "\n" not in text  # the bar, on one line, not ended yet
    assert "200 inputs/s" in text and "429s: 3" in text and "ETA 0:02" in text and "10 failed" in text
    clock.now += 0.05
    display.update(Progress(done=500, succeeded=490, failed=10, not_sent=0, total=None, stats=Stats(rate_limited=3)))
    assert stream.getvalue() == drawn  # not redrawn more than ten times a second
    clock.now += 1.0
    display.update(Progress(done=900, succeeded=890, failed=10, not_sent=0, total=None, stats=Stats(rate_limited=4)))
    display.finish()
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue()).split("\r")
    assert len(frames) >= 2 and frames[-1].startswith("100% ") and "1,000/1,000" in frames[-1]
    assert "429s: 4" in frames[-1] and "ETA 0:00" in frames[-1] and frames[-1].endswith("\n")  # the line is ended
    assert capsys.readouterr().err == ""  # drawn on the stream it was given, never on sys.stderr
    plain = io.StringIO()
    display = ProgressDisplay(plain, total=10, tty=False, clock=clock)
    display.update(Progress(done=5, succeeded=5, failed=0, not_sent=0, total=None, stats=Stats()))
    clock.now += 0.5
    display.update(Progress(done=10, succeeded=10, failed=0, not_sent=0, total=None, stats=Stats()))
    display.finish()
    assert plain.getvalue().splitlines()[0].startswith("progress:  50.0% 5/10 inputs")
    assert plain.getvalue().splitlines()[-1].startswith("progress: 100.0% 10/10 inputs")
    assert "\r" not in plain.getvalue() and "\x1b" not in plain.getvalue()


def test_progress_bar_masks_secrets_and_fits_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.hide(["429s: 1  ETA"])  # stands for a secret: whatever the bar draws goes through the masking stream
    clock = _Clock()
    display = ProgressDisplay(stream, total=100, tty=True, clock=clock)
    clock.now += 1.0
    display.update(Progress(done=10, succeeded=10, failed=0, not_sent=0, total=None, stats=Stats(rate_limited=1)))
    display.finish()
    lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sink.getvalue()).split("\r")
    assert "10 inputs/s  ***" in lines[-1] and "429s: 1" not in sink.getvalue()
    assert all(len(line.rstrip("\n")) <= 50 for line in lines)  # cut rather than wrapped: redrawn in place


def test_plain_progress_does_not_need_rich() -> None:
    script = (
        "import io, sys; sys.modules['rich'] = None\n"  # any import of rich fails
        "from hubspot_batch.cli._progress import ProgressDisplay; from hubspot_batch import Progress, Stats\n"
        "out = io.StringIO(); display = ProgressDisplay(out, total=1, tty=False)\n"
        "display.update(Progress(done=1, succeeded=1, failed=0, not_sent=0, total=None, stats=Stats()))\n"
        "display.finish(); print(out.getvalue())"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr  # imported only to draw a bar: plain lines do not pay for it
    assert ran.stdout.startswith("progress: 100.0% 1/1 inputs")


def test_redacting_stream_masks_secrets_but_not_short_values() -> None:
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.hide(["pat-na1-0123456789", None, "t"])
    stream.write("token pat-na1-0123456789 at the start\n")
    assert sink.getvalue() == "token *** at the start\n"


def test_checkpoint_rules(tmp_path: Path) -> None:
    assert Record("x", "succeeded", {"status": "succeeded"}).finished
    assert Record(None, "failed", {"error": {"category": "OBJECT_NOT_FOUND", "statusCode": 207}}).finished
    assert not Record(None, "failed", {"error": {"category": "RETRIES_EXHAUSTED"}}).finished
    assert not Record(None, "failed", {"error": {"category": "X", "statusCode": 503}}).finished
    assert not Record(None, "not_sent", {"error": {"category": "DAILY_LIMIT"}}).finished
    assert not Record("id-1", None, None).finished
    path = str(tmp_path / "cp.db")
    with Checkpoint(path, "timeline-events") as cp:
        cp.remember_ids([((3, "h"), "id-1")])
        cp.remember_ids([((3, "h"), "id-2")])  # the first id is kept
        cp.record([((3, "h"), "succeeded", {"status": "succeeded"})])
        assert cp.load() == {(3, "h"): Record("id-1", "succeeded", {"status": "succeeded"})}
    with pytest.raises(CheckpointError):
        Checkpoint(path, "communications")


def test_input_lines_and_errors(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text('id,properties.hs_communication_body\n1,"two\nlines"\n\n2,b\n')
    rows = read_input(str(src), "csv", item_spec("communications"))
    assert [(r.line, r.data["id"]) for r in rows] == [(2, "1"), (5, "2")]
    assert rows[0].data["properties"] == {"hs_communication_body": "two\nlines"}
    bad = tmp_path / "bad.csv"
    bad.write_text("id,id\n1,2\n")
    with pytest.raises(InputFileError, match="line 1: column 'id' appears twice"):
        read_input(str(bad), "csv", item_spec("communications"))
    fed_back = tmp_path / "f.jsonl"
    fed_back.write_text('{"id": "1", "properties": {}, "_line": 4, "_error": {"category": "X"}}\n')
    (row,) = read_input(str(fed_back), "jsonl", item_spec("communications"))
    assert dict(row.data) == {"id": "1", "properties": {}}
