"""The worker side of a fleet: run one shard message with the portal's client, limiter and state in Redis.

:class:`ShardRunner` keeps one :class:`~hubspot_batch.HubSpotBatch` per portal
and thread (made on first use, after the worker forked), built with:

- the token the ``credentials`` callable gives for the portal (it is called
  in the worker: tokens never travel in messages);
- a :class:`~hubspot_batch.RedisLimiter` keyed ``portal:<portal>`` under the
  fleet's prefix: every worker writing to a portal shares its rolling window
  (and its daily count);
- the sync state in the same Redis, namespaced by endpoint, version and
  portal: a redelivered shard skips the rows already confirmed.

When a shard ends with rejected credentials (401), a missing scope (403) or
the day spent (a ``DAILY`` 429 or the ``max_daily_share`` budget), the
portal is marked stopped for the job in Redis; later shards of that portal
in the job are answered without a request (every row ``not_sent``,
``STOPPED``), and other portals go on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._client import HubSpotBatch
from ._errors import ConfigurationError
from ._fleet_messages import VERSION, failed_shard_report, portal_stop, shard_report, stopped_shard_report
from ._redis_limiter import RedisLimiter
from ._results import BatchResult

__all__ = ["CLIENT_OPTIONS", "Credentials", "ShardRunner"]

logger = logging.getLogger("hubspot_batch.fleet")

Credentials = Callable[[str], Any]
"""``credentials(portal)``: an access token (``str``), a token source, or a dict of client credential arguments."""

CLIENT_OPTIONS = frozenset(
    {
        "base_url",
        "timeout",
        "max_concurrency",
        "rate_limit",
        "rate_interval",
        "retry",
        "batch_size",
        "verify",
        "max_daily_share",
        "full",
    }
)
"""The client options ``register`` passes to each worker's clients."""

_REFUSED = {
    "api_version": "api_version is per job: pass it to submit()",
    "id_from": "id_from is per job: pass it to submit()",
    "on_invalid": "on_invalid is per job: pass it to submit(), which checks every row before publishing",
    "wait_for_reset": (
        "wait_for_reset does not suit a fleet: a shard sleeping until the reset outlives the broker's "
        "visibility timeout and is delivered again; a spent day stops the portal, and the next run goes on"
    ),
    "access_token": "credentials come from credentials(portal), on the worker",
    "developer_api_key": "credentials come from credentials(portal), on the worker",
    "sync_state": "the fleet's sync state is in its Redis (redis_url)",
    "portal": "the portal is per job: pass it to submit()",
}

_CREDENTIAL_KEYS = frozenset({"access_token", "developer_api_key"})


def _credential_arguments(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = set(value) - _CREDENTIAL_KEYS
        if unknown:
            raise ConfigurationError(f"credentials(portal) returned unknown keys: {', '.join(sorted(unknown))}")
        return dict(value)
    if value is None:
        raise ConfigurationError("credentials(portal) returned None")
    return {"access_token": value}


class ShardRunner:
    """Runs shard messages in a worker (see the module docstring); one per registered Celery app."""

    def __init__(
        self,
        *,
        credentials: Credentials,
        redis_url: str,
        prefix: str,
        client_options: Mapping[str, Any],
        stop_ttl: float = 86_400.0,
    ) -> None:
        unknown = sorted(set(client_options) - CLIENT_OPTIONS)
        if unknown:
            why = "; ".join(_REFUSED.get(name, f"{name} is not a fleet client option") for name in unknown)
            raise ConfigurationError(f"register(): {why}")
        if not callable(credentials):
            raise ConfigurationError("credentials must be a callable: credentials(portal) -> token")
        self._credentials = credentials
        self._redis_url = redis_url
        self._prefix = prefix
        self._options = dict(client_options)
        self._stop_ttl = int(stop_ttl)
        self._local = threading.local()
        self._redis: Any = None
        self._redis_pid = 0

    def __repr__(self) -> str:
        from ._redis_urls import redact_url

        return f"ShardRunner(redis={redact_url(self._redis_url)!r}, prefix={self._prefix!r})"

    # ---- Redis: the job's portal stops

    def _connection(self) -> Any:
        if self._redis is None or self._redis_pid != os.getpid():
            import redis

            self._redis = redis.Redis.from_url(self._redis_url, socket_timeout=10, socket_connect_timeout=10)
            self._redis_pid = os.getpid()
        return self._redis

    def stop_key(self, job: str, portal: str) -> str:
        """The Redis key saying that ``portal`` stopped in ``job`` (and why)."""
        return f"{self._prefix}:fleet:{job}:stopped:{portal}"

    def stopped(self, job: str, portal: str) -> dict[str, Any] | None:
        """Why ``portal`` stopped in ``job``, or None."""
        raw = self._connection().get(self.stop_key(job, portal))
        return None if raw is None else dict(json.loads(raw))

    def _mark_stopped(self, job: str, portal: str, stop: Mapping[str, Any]) -> None:
        self._connection().set(self.stop_key(job, portal), json.dumps(dict(stop)), nx=True, ex=self._stop_ttl)
        logger.warning("portal %s stopped in job %s: %s: %s", portal, job, stop["error_type"], stop["reason"])

    # ---- clients

    def client(self, portal: str) -> HubSpotBatch:
        """The client for ``portal`` of the calling thread (made on first use in this process)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.clients = os.getpid(), {}
        clients: dict[str, HubSpotBatch] = local.clients
        found = clients.get(portal)
        if found is None:
            options = dict(self._options)
            limiter = RedisLimiter(
                self._redis_url,
                key=f"portal:{portal}",
                limit=options.pop("rate_limit", "free"),
                interval=float(options.pop("rate_interval", 10.0)),
                prefix=self._prefix,
            )
            found = HubSpotBatch(
                **_credential_arguments(self._credentials(portal)),
                rate_limit=limiter,
                sync_state=self._redis_url,
                portal=portal,
                **options,
            )
            clients[portal] = found
        return found

    def close(self) -> None:
        """Close this thread's clients."""
        for client in getattr(self._local, "clients", {}).values():
            client.close()
        self._local.clients = {}

    # ---- one shard

    def _call(self, client: HubSpotBatch, message: Mapping[str, Any]) -> BatchResult:
        options = dict(message["options"])
        rows = message["rows"]
        name = message["endpoint"]
        common = {k: options[k] for k in ("api_version", "batch_size") if k in options}
        # The submitter checked every row: with on_invalid="raise" no invalid row was published, with "skip"
        # they travel to become failed outcomes here. Either way checking them all again first is wasted.
        common["on_invalid"] = "skip"
        if name == "communications":
            return client.communications.update(rows, **common)
        if name == "subscription_statuses":
            return client.subscription_statuses.write(rows, **common)
        if name == "webhook_subscriptions":
            return client.webhooks.update_subscriptions(int(options["app_id"]), rows, **common)
        if name == "timeline_events":
            return client.timeline.create_events(
                rows,
                existing_is_success=bool(options.get("existing_is_success", True)),
                id_from=options.get("id_from"),
                **common,
            )
        raise ConfigurationError(f"unknown endpoint {name!r} in a shard message")

    def run(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Write one shard; its report (never raises for HubSpot's answers: they are outcomes)."""
        if not isinstance(message, Mapping) or message.get("v") != VERSION:
            raise ConfigurationError(f"not a hubspot-batch shard message of layout {VERSION}")
        job, portal = str(message["job"]), str(message["portal"])
        stop = self.stopped(job, portal)
        if stop is not None:
            logger.info("shard %s of job %s: portal %s stopped earlier; not sent", message["shard"], job, portal)
            return stopped_shard_report(message, stop)
        try:
            client = self.client(portal)
        except ConfigurationError as exc:
            return failed_shard_report(message, type(exc).__name__, str(exc))
        except Exception as exc:  # the credentials callable failed: say which portal, never what it returned
            text = f"no credentials for portal {portal!r} ({type(exc).__name__})"
            return failed_shard_report(message, "ConfigurationError", text)
        try:
            result = self._call(client, message)
        except ConfigurationError as exc:
            return failed_shard_report(message, type(exc).__name__, str(exc)[:2000])
        stop = portal_stop(result)
        if stop is not None:
            self._mark_stopped(job, portal, stop)
        report = shard_report(message, result)
        logger.info(
            "shard %s of job %s (%s, %s): %s",
            message["shard"],
            job,
            portal,
            message["endpoint"],
            ", ".join(f"{n} {k}" for k, n in report["counts"].items() if n),
        )
        return report
