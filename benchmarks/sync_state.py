"""Incremental sync state (issue #17): what the unchanged path costs, and how big a state gets.

Prints, for the main venv (no sandbox needed)::

    .venv/bin/python benchmarks/sync_state.py [--keys 1000000] [--redis-keys 100000] [--no-redis]

- ``payload_hash`` (and ``state_key``): CPU µs per row for a status write, a
  communication with 8 string properties, and a row holding a float;
- SQLite, ``--keys`` keys: build time (``record`` in blocks of 1,000), file
  size per 1,000,000 keys, open time (with its integrity check); then, in a
  fresh process per key order, every row through the engine's unchanged
  path in blocks of 100 (``UnchangedFilter.before``: the endpoint's key,
  ``state_key``, ``payload_hash``, one ``lookup`` per block, the compare and
  the ``unchanged`` outcome): CPU µs per row, the same steps timed apart,
  and the process's peak RSS (``VmHWM``). "key order"
  is the order the state was written in (a nightly export in the same order);
  "random order" visits the keys by a multiplicative permutation;
- Redis, ``--redis-keys`` keys on a ``redis-server`` of its own (no
  persistence): build time, CPU and wall µs per row of the same path, and
  ``MEMORY USAGE`` of the hash per 1,000,000 keys.

CPU is ``time.process_time()`` (user + system) of the measured section only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hubspot_batch._sync_hash import payload_hash, state_key
from hubspot_batch._sync_sqlite import SqliteState

BLOCK = 100
RECORD_BLOCK = 1000
ENDPOINT = "statuses"
NAMESPACE = "benchmark"


def status_row(index: int) -> dict[str, Any]:
    return {
        "subscriberIdString": f"user{index}@example.com",
        "subscriptionId": 1000 + index % 7,
        "statusState": "SUBSCRIBED",
        "channel": "EMAIL",
        "legalBasis": "CONSENT_WITH_NOTICE",
        "legalBasisExplanation": "The contact agreed to receive marketing email on the signup form.",
    }


def status_key(index: int) -> tuple[str, str, str]:
    return (f"user{index}@example.com", str(1000 + index % 7), "EMAIL")


def communication_row(index: int) -> dict[str, Any]:
    names = ("body", "channel_type", "logged_from", "direction", "status", "subject", "owner", "source")
    return {"id": str(index), "properties": {f"hs_communication_{n}": f"{n} value {index}" for n in names}}


def float_row(index: int) -> dict[str, Any]:
    return {"id": str(index), "properties": {"amount": index + 0.25, "count": 3.0, "name": f"deal {index}"}}


def vm_hwm_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def order(n: int, kind: str) -> Iterator[int]:
    """0..n-1 in key order, or scattered by a multiplicative permutation (no list of n indices in memory)."""
    if kind == "key":
        yield from range(n)
        return
    step = 2_654_435_761 % n or 1
    while _gcd(step, n) != 1:
        step += 1
    for i in range(n):
        yield (i * step) % n


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def cpu_per_row(make: Callable[[int], dict[str, Any]], n: int = 200_000) -> float:
    rows = [make(i) for i in range(n)]
    start = time.process_time()
    for r in rows:
        payload_hash(r)
    return (time.process_time() - start) / n * 1e6


def unchanged_path(state: Any, n: int, kind: str) -> dict[str, float]:
    """Every row through the engine's unchanged path, in blocks of BLOCK: ``UnchangedFilter.before``.

    That is, per row: the endpoint's key, ``state_key``, ``payload_hash``, the
    block's one ``lookup``, the compare and the ``unchanged`` outcome. Timed
    apart as well: key + ``state_key`` + ``payload_hash`` on their own, and
    the lookups on their own (the same blocks again, in a second pass).
    """
    from hubspot_batch._endpoints import endpoint
    from hubspot_batch._sync import UnchangedFilter

    statuses = endpoint("subscription_statuses", "v3")
    check = UnchangedFilter(state, statuses)
    key_of = statuses.duplicate_key
    path = hashing = looking = 0.0
    unchanged = 0
    wall = time.perf_counter()
    for kind_pass in ("path", "parts"):
        indices = order(n, kind)
        start = 0
        while True:
            block = [i for _, i in zip(range(BLOCK), indices, strict=False)]
            if not block:
                break
            rows = [status_row(i) for i in block]  # the engine has the rows already: not timed
            if kind_pass == "path":
                t0 = time.process_time()
                decided, _ = check.before(start, rows)
                path += time.process_time() - t0
                unchanged += len(decided)
            else:
                t0 = time.process_time()
                keys = [state_key(key_of(r)) for r in rows]
                for r in rows:
                    payload_hash(r)
                t1 = time.process_time()
                state.lookup(keys)
                t2 = time.process_time()
                hashing += t1 - t0
                looking += t2 - t1
            start += len(block)
        if kind_pass == "path":
            wall = time.perf_counter() - wall
    return {
        "path_us": path / n * 1e6,
        "hash_us": hashing / n * 1e6,
        "lookup_us": looking / n * 1e6,
        "unchanged": unchanged,
        "wall_s": wall,
    }


def lookup_child(path: str, n: int, kind: str) -> None:
    """In a fresh process: open the state, run the unchanged path over n keys, print figures as JSON."""
    before = vm_hwm_mb()
    t = time.perf_counter()
    with SqliteState(path, NAMESPACE, endpoint=ENDPOINT) as state:
        opened = time.perf_counter() - t
        after_open = vm_hwm_mb()
        figures = unchanged_path(state, n, kind)
    print(json.dumps({**figures, "open_s": opened, "rss_start_mb": before, "rss_open_mb": after_open,
                      "rss_peak_mb": vm_hwm_mb()}))  # fmt: skip


def build(state: Any, n: int) -> tuple[float, float]:
    """Record n keys in blocks of RECORD_BLOCK: (seconds in record(), seconds in all)."""
    recording = 0.0
    start = time.perf_counter()
    for first in range(0, n, RECORD_BLOCK):
        pairs = [
            (state_key(status_key(i)), payload_hash(status_row(i))) for i in range(first, min(n, first + RECORD_BLOCK))
        ]
        t = time.perf_counter()
        state.record(pairs)
        recording += time.perf_counter() - t
    return recording, time.perf_counter() - start


def sqlite_figures(n: int, directory: Path) -> None:
    path = directory / "bench.state"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")):
        leftover.unlink(missing_ok=True)
    with SqliteState(path, NAMESPACE, endpoint=ENDPOINT) as state:
        recording, total = build(state, n)
    size = path.stat().st_size
    per_million = size / n * 1_000_000 / 1e6
    print(f"SQLite, {n:,} keys ({path}):")
    print(f"  build: {recording:.1f} s in record() (blocks of {RECORD_BLOCK:,}), {total:.1f} s with hashing")
    print(f"  file: {size / 1e6:.1f} MB = {per_million:.1f} MB per 1,000,000 keys")
    for kind in ("key", "random"):
        out = subprocess.run(
            [sys.executable, __file__, "--lookup-child", str(path), str(n), kind],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        f = json.loads(out.stdout)
        assert f["unchanged"] == n, f
        print(
            f"  unchanged path, {kind} order: {f['path_us']:.2f} us CPU/row "
            f"(apart: key + state_key + payload_hash {f['hash_us']:.2f}, lookup {f['lookup_us']:.2f}); "
            f"wall {f['wall_s']:.1f} s incl. building the rows; open {f['open_s']:.2f} s; "
            f"peak RSS {f['rss_peak_mb']:.0f} MB (after imports {f['rss_start_mb']:.0f}, "
            f"after open {f['rss_open_mb']:.0f})"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_figures(n: int, directory: Path) -> None:
    import redis
    from hubspot_batch._sync_redis import RedisState

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(binary, os.X_OK):
        print("Redis: redis-server not found, skipped")
        return
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        with RedisState(url, NAMESPACE, endpoint=ENDPOINT) as state:
            recording, total = build(state, n)
            memory = int(client.memory_usage(state.key, samples=0) or 0)
            figures = {kind: unchanged_path(state, n, kind) for kind in ("key", "random")}
        client.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"Redis, {n:,} keys (redis-server on 127.0.0.1, same host):")
    print(f"  build: {recording:.1f} s in record() (blocks of {RECORD_BLOCK:,}), {total:.1f} s with hashing")
    print(f"  hash: {memory / 1e6:.1f} MB = {memory / n * 1_000_000 / 1e6:.0f} MB per 1,000,000 keys (MEMORY USAGE)")
    for kind, f in figures.items():
        assert f["unchanged"] == n, f
        print(
            f"  unchanged path, {kind} order: {f['path_us']:.2f} us CPU/row "
            f"(apart: key + state_key + payload_hash {f['hash_us']:.2f}, lookup {f['lookup_us']:.2f}); "
            f"wall {f['wall_s'] / n * 1e6:.1f} us/row incl. building the rows"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--redis-keys", type=int, default=100_000)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the state (a temporary directory)")
    parser.add_argument("--lookup-child", nargs=3, metavar=("PATH", "N", "ORDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lookup_child:
        path, n, kind = args.lookup_child
        lookup_child(path, int(n), kind)
        return
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("payload_hash, CPU us/row:")
    for name, make in (("status write", status_row), ("communication, 8 properties", communication_row),
                       ("row with floats", float_row)):  # fmt: skip
        print(f"  {name}: {cpu_per_row(make):.2f}")
    keys = [status_key(i) for i in range(200_000)]
    start = time.process_time()
    for k in keys:
        state_key(k)
    print(f"state_key of a 3-part tuple: {(time.process_time() - start) / len(keys) * 1e6:.2f} us")
    with tempfile.TemporaryDirectory(prefix="sync-state-bench-", dir=args.dir) as directory:
        sqlite_figures(args.keys, Path(directory))
        if not args.no_redis:
            redis_figures(args.redis_keys, Path(directory))


if __name__ == "__main__":
    main()
