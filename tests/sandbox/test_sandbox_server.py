from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hubspot_batch.sandbox import SandboxConfig, SandboxServer
from sandbox_helpers import COMMS

AUTH = {"Authorization": "Bearer t"}


def body(i: int) -> dict[str, object]:
    return {"inputs": [{"id": str(i), "properties": {"hs_communication_body": f"b{i}"}}]}


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as srv:
        yield srv


def test_url_and_state(server: SandboxServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.url.endswith(str(server.port))
    with httpx.Client(base_url=server.url, headers=AUTH) as c:
        r = c.post(COMMS, json=body(1))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert server.state.communication("1") is not None
    assert server.app.state is server.state


def test_keep_alive_200_sequential_requests(server: SandboxServer) -> None:
    start = time.perf_counter()
    with httpx.Client(base_url=server.url, headers=AUTH) as c:
        for i in range(1, 201):
            assert c.post(COMMS, json=body(i)).status_code == 200
    elapsed = time.perf_counter() - start
    assert elapsed < 4.0, f"200 keep-alive requests took {elapsed:.2f}s (Nagle?)"
    assert server.state.stats().responses_by_status[200] == 200


def test_concurrent_clients(server: SandboxServer) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with httpx.Client(base_url=server.url, headers=AUTH) as c:
                for k in range(10):
                    r = c.post(COMMS, json=body(n * 100 + k + 1))
                    assert r.status_code == 200
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[:3]
    assert server.state.stats().effects["communications"] == 500
    assert time.perf_counter() - start < 15


def test_dropped_closes_without_answer() -> None:
    with SandboxServer(config=SandboxConfig(drop_before_rate=1.0)) as srv:
        with (
            httpx.Client(base_url=srv.url, headers=AUTH) as c,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            c.post(COMMS, json=body(1))
        assert srv.state.communication("1") is None
        assert srv.state.stats().dropped == 1


def test_stall_times_out_and_stop_is_prompt() -> None:
    srv = SandboxServer(config=SandboxConfig(stall_rate=1.0, stall_seconds=30.0)).start()
    try:
        with (
            httpx.Client(base_url=srv.url, headers=AUTH, timeout=httpx.Timeout(5.0, read=0.3)) as c,
            pytest.raises(httpx.ReadTimeout),
        ):
            c.post(COMMS, json=body(1))
        assert srv.state.communication("1") is not None
    finally:
        start = time.perf_counter()
        srv.stop()
        assert time.perf_counter() - start < 3
    srv.stop()  # idempotent


def test_truncated_and_html_over_http() -> None:
    with SandboxServer(config=SandboxConfig(truncated_rate=1.0)) as srv:
        with httpx.Client(base_url=srv.url, headers=AUTH) as c:
            r = c.post(COMMS, json=body(1))
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
    with SandboxServer(config=SandboxConfig(error_5xx_rate=1.0)) as srv:
        with httpx.Client(base_url=srv.url, headers=AUTH) as c:
            r = c.post(COMMS, json=body(1))
        assert r.status_code in (502, 503, 504)
        assert r.headers["content-type"].startswith("text/html")


def test_query_and_method_over_http() -> None:
    config = SandboxConfig(developer_api_keys={"k"})
    with SandboxServer(config=config) as srv, httpx.Client(base_url=srv.url) as c:
        r = c.post(
            "/webhooks/v3/1/subscriptions/batch/update?hapikey=k",
            json={"inputs": [{"id": 1, "active": True}]},
        )
        assert r.status_code == 200
        assert c.get(COMMS).status_code == 405
        assert c.post("/nope", json={}).status_code == 404


def test_loopback_only() -> None:
    with pytest.raises(ValueError):
        SandboxServer(host="0.0.0.0")


def test_cli_serves_until_interrupted() -> None:
    wrapper = Path(__file__).resolve().parents[2] / "wrapper"
    inherited = os.environ.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubspot_batch.sandbox", "--port", "0", "--rate-limit", "5"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(wrapper), inherited])},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" on ")[1].split()[0]
        r = httpx.post(url + COMMS, json=body(1), headers=AUTH)
        assert r.status_code == 200 and r.headers["x-hubspot-ratelimit-max"] == "5"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
