"""Helpers of the CLI tests: run the installed ``hubspot-batch`` command as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def command() -> list[str]:
    """The installed console script, or the module when the script is not on PATH."""
    found = shutil.which("hubspot-batch") or shutil.which("hubspot-batch", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "hubspot_batch.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUBSPOT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@attrs.frozen
class Ran:
    code: int
    out: str
    err: str


def run_cli(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, stdin: str | None = None, timeout: float = 60
) -> Ran:
    proc = subprocess.run(
        [*command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else clean_env(),
        timeout=timeout,
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def token_env(token: str = "test-token", **extra: str) -> dict[str, str]:
    return clean_env(HUBSPOT_ACCESS_TOKEN=token, **extra)
