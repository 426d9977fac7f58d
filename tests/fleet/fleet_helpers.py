"""Real processes for the fleet tests: a ``redis-server`` and ``celery worker`` processes running ``fleet_app``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "redis"))

from redis_helpers import RedisServer, find_redis_server, free_port  # noqa: E402

__all__ = ["HERE", "Fleet", "RedisServer", "find_redis_server", "free_port", "redis_values", "rows_for"]


@attrs.define
class Fleet:
    """``celery worker`` processes (solo pool: one process, one shard at a time) sharing one broker."""

    env: dict[str, str]
    logs: Path
    queues: str = "celery"
    workers: dict[int, subprocess.Popen[bytes]] = attrs.field(factory=dict)
    paths: dict[int, Path] = attrs.field(factory=dict)
    starts: int = 0

    def log_path(self, index: int) -> Path:
        """The log file of worker ``index``'s current process."""
        return self.paths[index]

    def start(self, index: int) -> None:
        self.starts += 1
        log = self.paths[index] = self.logs / f"worker-{index}-{self.starts}.log"
        command = [sys.executable, "-m", "celery", "-A", "fleet_app", "worker", "--pool=solo", "--loglevel=INFO"]
        command += ["-n", f"w{index}-{self.starts}@fleet", "-Q", self.queues, "--logfile", str(log)]
        command += ["--without-gossip", "--without-mingle"]
        self.workers[index] = subprocess.Popen(
            command, cwd=HERE, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    def start_all(self, count: int, timeout: float = 60.0) -> None:
        for index in range(count):
            self.start(index)
        self.wait_ready(count, timeout)

    def wait_ready(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = sum(1 for log in self.logs.glob("worker-*.log") if " ready." in log.read_text(errors="replace"))
            if ready >= count:
                return
            for index, process in self.workers.items():
                if process.poll() is not None:
                    raise RuntimeError(f"worker {index} exited at start: {self.log_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{count} workers not ready after {timeout}s: {self.log_text()[-3000:]}")

    def kill(self, index: int) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing handed back to the broker."""
        process = self.workers.pop(index)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.workers.clear()

    def log_text(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in sorted(self.logs.glob("worker-*.log")))


def fleet_env(broker: str, base_url: str, tokens_file: Path, **extra: str) -> dict[str, str]:
    """The workers' environment: the broker, the sandbox and where tokens are (never the tokens themselves)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "FLEET_"))}
    env.update(FLEET_BROKER=broker, FLEET_BASE_URL=base_url, FLEET_TOKENS=str(tokens_file), **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def redis_values(url: str, databases: range = range(3)) -> Iterator[bytes]:
    """Every key and value in these databases (strings, hashes, lists, sets, sorted sets): for secret scans."""
    import redis

    for db in databases:
        client = redis.Redis.from_url(f"{url}/{db}")
        for key in client.scan_iter(count=1000):
            yield key
            kind = client.type(key)
            if kind == b"string":
                yield client.get(key) or b""
            elif kind == b"hash":
                for field, value in client.hgetall(key).items():
                    yield field + b"=" + value
            elif kind == b"list":
                yield from client.lrange(key, 0, -1)
            elif kind == b"set":
                yield from client.smembers(key)
            elif kind == b"zset":
                yield from (member for member, _ in client.zrange(key, 0, -1, withscores=True))
        client.close()


def rows_for(portal: str, communications: int, events: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Communication updates and timeline events for one portal (ids unique within it)."""
    comms = [
        {"id": str(100_000 + i), "properties": {"hs_communication_body": f"{portal} call {i}"}}
        for i in range(communications)
    ]
    timeline = [
        {"eventTemplateId": "1001234", "objectId": str(500_000 + i), "tokens": {"plan": portal}}
        | {"timestamp": f"2026-11-{1 + i % 28:02d}T12:00:00.000Z"}
        for i in range(events)
    ]
    return comms, timeline


def write_tokens(path: Path, tokens: Mapping[str, str]) -> Path:
    path.write_text(json.dumps(dict(tokens)))
    return path
