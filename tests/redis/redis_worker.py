"""One worker process of the multi-process tests: update communications against a sandbox server.

Run as ``python redis_worker.py '<json settings>'``. Settings: ``base_url``,
``first_id``, ``count``, ``batch_size``, ``start_at`` (epoch seconds: every
worker starts then), ``redis_url`` (None: a local limiter at the
``professional`` tier), ``key``, ``on_unavailable``, ``retry_interval``,
``fallback_fraction``, ``concurrency`` (16), ``limit`` and ``interval`` (what the Redis limiter
starts from), ``out`` (where the JSON summary is written).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(settings: dict[str, Any]) -> None:
    from hubspot_batch import HubSpotBatch
    from hubspot_batch._redis_limiter import RedisLimiter

    warnings = _Warnings()
    logging.getLogger("hubspot_batch").addHandler(warnings)
    limiter: Any = "professional"
    if settings.get("redis_url"):
        limiter = RedisLimiter(
            settings["redis_url"],
            key=settings["key"],
            limit=settings.get("limit", "professional"),
            interval=settings.get("interval", 10.0),
            on_unavailable=settings.get("on_unavailable", "fallback"),
            retry_interval=settings.get("retry_interval", 30.0),
            fallback_fraction=settings.get("fallback_fraction", 0.5),
            timeout=0.5,
        )
    first, count = settings["first_id"], settings["count"]
    rows = [{"id": str(i), "properties": {"hs_communication_body": f"update {i}"}} for i in range(first, first + count)]
    pause = settings["start_at"] - time.time()
    if pause > 0:
        time.sleep(pause)
    started = time.time()
    with HubSpotBatch(
        access_token="test-token",
        base_url=settings["base_url"],
        rate_limit=limiter,
        batch_size=settings["batch_size"],
        max_concurrency=settings.get("concurrency", 16),
    ) as hs:
        result = hs.communications.update(rows)
    finished = time.time()
    failed = [{"index": o.index, "error": str(o.error.message if o.error else "")} for o in result.failed]
    summary = {
        "started": started,
        "finished": finished,
        "succeeded": len(result.succeeded),
        "failed": len(result.failed),
        "not_sent": len(result.not_sent),
        "failures": failed[:5],
        "stopped_by": result.stopped_by,
        "stop_error": repr(result.error) if result.error else "",
        "requests": result.stats.requests,
        "rate_limited": result.stats.rate_limited,
        "warnings": warnings.messages,
        "fallback_active": bool(getattr(limiter, "fallback_active", False)),
    }
    Path(settings["out"]).write_text(json.dumps(summary))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
