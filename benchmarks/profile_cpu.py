"""Profile the client side of the CPU scenario with pyinstrument (benchmarks/.venv).

The sandbox runs in its own process so that only the client is profiled::

    benchmarks/.venv/bin/python benchmarks/profile_cpu.py [--n 50000] [--client ours|raw]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from _baselines import raw  # noqa: E402
from _workload import TOKEN, row  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--client", choices=("ours", "raw"), default="ours")
    parser.add_argument("--port", type=int, default=18571)
    parser.add_argument("--all", action="store_true", help="show every frame")
    args = parser.parse_args()
    from hubspot_batch import HubSpotBatch
    from pyinstrument import Profiler

    server = subprocess.Popen(
        [sys.executable, "-m", "hubspot_batch.sandbox", "--port", str(args.port), "--rate-limit", "0"],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(50):
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        data = [row("communications", i, "profile") for i in range(args.n)]
        profiler = Profiler(interval=0.0005)
        cpu = time.process_time()
        profiler.start()
        if args.client == "ours":
            with HubSpotBatch(access_token=TOKEN, base_url=url, rate_limit=False) as hs:
                result = hs.communications.update(data)
                assert sum(1 for o in result if o.raw is not None) == args.n
        else:
            raw("communications", data, url, time.monotonic() + 300)
        profiler.stop()
        cpu = time.process_time() - cpu
        print(f"{args.client}: {cpu / args.n * 1e6:.1f} us CPU per record (profiler overhead included)")
        print(profiler.output_text(unicode=False, color=False, show_all="--all" in sys.argv))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
