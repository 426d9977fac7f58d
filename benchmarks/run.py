"""Benchmark hubspot-batch against the alternatives, in one run, on one sandbox.

Usage::

    bash benchmarks/setup.sh                          # once: benchmarks/.venv with the baselines
    benchmarks/.venv/bin/python benchmarks/run.py     # every scenario; appends to RESULTS.md
    python benchmarks/run.py --smoke --no-baselines   # CI: tiny sizes, project venv only
    python benchmarks/run.py --only cpu --only memory

Clients run in ``benchmarks/.venv/bin/python`` when it exists (else this
interpreter). Exits non-zero when a measurement fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import Figures, run  # noqa: E402
from _report import append, machine, tables, versions  # noqa: E402
from _scenarios import BASELINE_CLIENTS, FULL, SCENARIOS, SMOKE, UNSUPPORTED_REASON, plan  # noqa: E402


def _python() -> str:
    venv = HERE / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _baselines_missing(python: str) -> str | None:
    probe = "import hubspot, hubspot_sdk, hubspot_batch"
    proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return f"{python} cannot import the baselines ({last}); run: bash benchmarks/setup.sh"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (< 60 s); does not write RESULTS.md")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only this scenario (repeatable)")
    parser.add_argument("--no-baselines", action="store_true", help="measure hubspot-batch alone")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--setup", action="store_true", help="run benchmarks/setup.sh first")
    args = parser.parse_args(argv)

    if args.setup:
        subprocess.run(["bash", str(HERE / "setup.sh")], check=True)
    python = _python()
    baselines = not args.no_baselines
    notes: list[str] = []
    if baselines:
        missing = _baselines_missing(python)
        if missing:
            print(f"skipping baselines: {missing}")
            notes.append(f"baselines skipped: {missing}")
            baselines = False
    if not baselines:
        notes.append("baselines not measured in this run")
    else:
        notes += [f"{k} skips an endpoint: {v}" for k, v in UNSUPPORTED_REASON.items()]
        notes.append(f"baselines: {', '.join(BASELINE_CLIENTS)} (see benchmarks/_baselines.py for their settings)")

    scenarios = tuple(args.only or SCENARIOS)
    sizes = SMOKE if args.smoke else FULL
    measurements = plan(scenarios, sizes, baselines, args.smoke)
    timeout = 60.0 if args.smoke else 900.0
    figures: list[Figures] = []
    started = time.monotonic()
    for index, m in enumerate(measurements, 1):
        print(f"[{index}/{len(measurements)}] {m.label} ...", flush=True)
        f = run(m, python, timeout)
        figures.append(f)
        if f.error is None:
            print(
                f"    {f.records_per_s:,.0f} records/s, {f.requests} requests, 429 {f.share_429:.1%}, "
                f"cpu {f.cpu:.2f}s, rss {f.maxrss_mb:.0f} MB, wall {f.wall:.1f}s",
                flush=True,
            )
    text = tables(figures)
    description = machine(python, versions())
    print()
    print(f"Machine: {description}")
    print(f"Total time: {time.monotonic() - started:.0f}s")
    print()
    print(text)
    if not (args.smoke or args.no_record):
        command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        append(text, command.strip(), description, notes)
        print("appended to benchmarks/RESULTS.md")
    failed = [f for f in figures if f.error]
    for f in failed:
        print(f"FAILED: {f.m.label}: {f.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
