"""The Celery app the fleet tests' workers run: ``celery -A fleet_app worker``.

Everything comes from the environment the test gives the worker process:
``FLEET_BROKER`` (a Redis URL; also the result backend, database 1),
``FLEET_BASE_URL`` (the sandbox), ``FLEET_TOKENS`` (a JSON file portal ->
token, read on the worker: tokens never travel in messages) and
``FLEET_VISIBILITY`` (the broker's visibility timeout, seconds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from celery import Celery
from hubspot_batch.celery import configure, register


def _token(portal: str) -> str:
    tokens: dict[str, str] = json.loads(Path(os.environ["FLEET_TOKENS"]).read_text())
    return tokens[portal]


def make_app() -> Celery:
    """The fleet's app, from the environment (workers and the tests' submitter alike)."""
    broker = os.environ["FLEET_BROKER"]
    app = Celery("fleet_app", broker=f"{broker}/0", backend=f"{broker}/1")
    configure(app, visibility_timeout=float(os.environ.get("FLEET_VISIBILITY", "90")))
    app.conf.broker_connection_retry_on_startup = True
    register(
        app,
        credentials=_token,
        redis_url=f"{broker}/2",
        configure_app=False,
        base_url=os.environ["FLEET_BASE_URL"],
        max_concurrency=int(os.environ.get("FLEET_CONCURRENCY", "8")),
        rate_limit=int(os.environ.get("FLEET_RATE_LIMIT", "10")),
        rate_interval=float(os.environ.get("FLEET_RATE_INTERVAL", "1")),
    )
    return app


app = make_app()
