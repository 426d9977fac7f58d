"""A fleet worker's ShardRunner in this process: a real redis-server for its limiter and state, the sandbox in HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from hubspot_batch._fleet_messages import shard_message
from hubspot_batch._fleet_worker import ShardRunner
from hubspot_batch.sandbox import SandboxConfig, SandboxServer
from redis_helpers import RedisServer


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"id": str(i + 1), "properties": {"hs_communication_body": f"body {i + 1}"}} for i in range(n)]


def test_a_shard_with_an_invalid_row_reports_that_row_and_sends_the_others(
    redis_server: RedisServer, unique_key: str
) -> None:
    rows: list[Any] = _rows(5)
    rows[2] = {"id": "3", "properties": {"hs_communication_body": 5}}  # a message the submitter would not publish
    with SandboxServer(config=SandboxConfig(rate_limit=None)) as server:
        runner = ShardRunner(
            credentials=lambda portal: "pat-test",
            redis_url=redis_server.url,
            prefix=unique_key,
            client_options={"base_url": server.url, "rate_limit": 100},
        )
        message = shard_message(
            job=uuid.uuid4().hex,
            shard=0,
            start=1000,
            portal="p1",
            endpoint="communications",
            options={"api_version": "2026-09", "on_invalid": "raise"},
            results="failures",
            rows=rows,
        )
        try:
            report = runner.run(message)
        finally:
            runner.close()
        applied = server.state.stats().effects.get("communications", 0)
    assert report["counts"]["succeeded"] == 4 and report["counts"]["failed"] == 1
    assert [o["index"] for o in report["outcomes"]] == [1002]
    assert report["outcomes"][0]["error"]["category"] == "INVALID_INPUT"
    assert applied == 4
