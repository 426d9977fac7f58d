"""Write to many portals from a Celery fleet: shards as tasks, one Redis limiter and one Redis state per portal.

Install with ``pip install 'hubspot-batch[celery]'``. On the workers::

    from celery import Celery
    from hubspot_batch.celery import register

    app = Celery("sync", broker="redis://localhost:6379/0", backend="redis://localhost:6379/1")
    register(app, credentials=lambda portal: tokens[portal])   # tokens stay on the workers

and where the work comes from::

    from hubspot_batch.celery import submit

    job = submit(app, "communications", rows, portal="portal-123", shard_size=1000, api_version="2026-09")
    summary = job.wait()            # totals per portal and in all; job.failures() lists what did not succeed

How it holds together (the guide is ``docs/fleet.md``):

- the submitter checks every row before it publishes anything (errors name
  the row's position in the whole iterable and the field), cuts shards of
  ``shard_size`` rows and publishes one task per shard. Messages carry the
  portal's name, the endpoint, the options and the rows, never a
  credential;
- each worker writes a shard with a :class:`~hubspot_batch.HubSpotBatch`
  for its portal: the token comes from ``credentials(portal)`` on the
  worker, the rolling window and the daily count from a
  :class:`~hubspot_batch.RedisLimiter` keyed by the portal, the incremental
  sync state from the same Redis;
- a task is safe to run twice: it is acknowledged late and redelivered when
  its worker dies; the state skips rows already confirmed; timeline events
  carry ids fixed before publishing (``id_from``, the row's own, or one the
  submitter drew), so HubSpot's "already exists" on a redelivery is the
  first delivery's success, and no event is created twice;
- a portal's 401, 403 or spent day stops that portal's later shards in the
  job (their rows ``not_sent``, ``STOPPED``); other portals go on. The
  summary says which portal stopped and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import ConfigurationError
from ._fleet_messages import ResultsWanted
from ._fleet_submit import TASK_NAME, FleetJob, Shard, submit_job
from ._fleet_summary import FleetSummary, PortalSummary
from ._fleet_worker import Credentials, ShardRunner
from ._redis_urls import is_redis_url

__all__ = [
    "DEFAULT_VISIBILITY_TIMEOUT",
    "RESTORE_SWEEP",
    "TASK_NAME",
    "FleetJob",
    "FleetSummary",
    "PortalSummary",
    "Shard",
    "configure",
    "register",
    "submit",
]

DEFAULT_VISIBILITY_TIMEOUT = 60
"""Seconds after which a Redis broker gives the shard of a dead worker to another worker.

Celery's Redis transport waits an hour by default, and sweeps for such
messages only every ~100 seconds (``unacked_restore_interval`` 10 s times
``unacked_restore_throttle`` 10). :func:`configure` sets 60 seconds and a
sweep every 5 seconds: a killed worker's shard is written again about a
minute after it was taken. A shard takes seconds (``shard_size`` rows at
the portal's rate), so 60 seconds stays well above a healthy shard's time;
one still running when it passes is delivered a second time (harmless, see
the module docstring, but wasted). Raise it if your shards take longer than
half a minute.
"""

RESTORE_SWEEP = 5
"""Seconds between two sweeps for unacknowledged shards whose visibility timeout passed (Redis broker)."""


def configure(app: Any, *, visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT) -> None:
    """Celery settings for shards that survive a dead worker (call it where the app is made, in every process).

    Sets late acknowledgement with one message prefetched per worker process
    (a dead worker holds back at most the shard it was writing), requeues a
    shard whose worker process was lost, serializes as JSON, and sets the
    Redis broker's ``visibility_timeout`` and sweep (see
    :data:`DEFAULT_VISIBILITY_TIMEOUT`) unless the app already set them.
    """
    conf = app.conf
    conf.task_acks_late = True
    conf.task_reject_on_worker_lost = True
    conf.worker_prefetch_multiplier = 1
    conf.task_serializer = "json"
    conf.result_serializer = "json"
    conf.accept_content = sorted({*conf.accept_content, "json"})
    options = dict(conf.broker_transport_options or {})
    options.setdefault("visibility_timeout", visibility_timeout)
    options.setdefault("unacked_restore_interval", RESTORE_SWEEP)
    options.setdefault("unacked_restore_throttle", 1)
    conf.broker_transport_options = options


def _redis_url(app: Any, redis_url: str | None) -> str:
    url = redis_url or app.conf.broker_url or ""
    if not isinstance(url, str) or not is_redis_url(url):
        raise ConfigurationError(
            "the fleet keeps its limiter and state in Redis: the broker is not Redis, so pass redis_url='redis://…'"
        )
    return url


def register(
    app: Any,
    *,
    credentials: Credentials,
    redis_url: str | None = None,
    prefix: str = "hubspot-batch",
    configure_app: bool = True,
    **client_options: Any,
) -> Any:
    """Register the shard-writing task on ``app`` (worker side); returns the task.

    - ``credentials(portal)``: the portal's access token (or a token source
      such as an OAuth refresher, or ``{"access_token": …}``), called on the
      worker the first time it writes to the portal;
    - ``redis_url``: where the limiter and the sync state live (default: the
      broker's URL, which must then be Redis);
    - ``prefix``: of every key the fleet writes in Redis;
    - ``configure_app``: apply :func:`configure` (default);
    - ``client_options``: given to each worker's client: ``base_url``,
      ``rate_limit`` and ``rate_interval`` (the window to start from, default
      100 requests per 10 seconds; the real one is learned from HubSpot's
      headers and shared), ``max_concurrency``, ``timeout``, ``retry``,
      ``batch_size``, ``verify``, ``max_daily_share``, ``full``. Not
      ``wait_for_reset``: a shard sleeping until the reset would outlive
      the visibility timeout and be delivered again; a spent day stops the
      portal instead, and the next run (the state skips what landed) goes on.
    """
    runner = ShardRunner(
        credentials=credentials, redis_url=_redis_url(app, redis_url), prefix=prefix, client_options=client_options
    )
    if configure_app:
        configure(app)
    from ._redis_errors import RedisUnavailableError
    from ._sync_state import StateError

    @app.task(  # type: ignore[untyped-decorator]
        name=TASK_NAME,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=(StateError, RedisUnavailableError),
        retry_backoff=True,
        max_retries=5,
    )
    def write_shard(message: dict[str, Any]) -> dict[str, Any]:
        """Write one shard of a fleet job (see ``hubspot_batch.celery``)."""
        return runner.run(message)

    write_shard.runner = runner
    return write_shard


def submit(
    app: Any,
    endpoint: str,
    rows: Iterable[Any],
    *,
    portal: str,
    shard_size: int = 1000,
    results: ResultsWanted = "failures",
    queue: str | None = None,
    **call_options: Any,
) -> FleetJob:
    """Check ``rows``, cut them into shards of ``shard_size`` and publish one task each; the job to wait on.

    ``endpoint``: ``"communications"``, ``"subscription_statuses"``,
    ``"timeline_events"`` or ``"webhook_subscriptions"``. ``call_options``:
    ``api_version`` (resolved here, so every shard uses the same version),
    ``batch_size``, ``on_invalid`` (``"raise"``: nothing is published when
    a row is invalid), ``id_from`` (field names; timeline events),
    ``existing_is_success`` (timeline events; default true in a fleet),
    ``app_id`` (webhook subscriptions). ``results="all"`` keeps every row's
    outcome for :meth:`FleetJob.outcomes` (default: only the failures).
    ``queue`` routes the shards (for example one queue per portal group).
    """
    return submit_job(
        app,
        endpoint,
        rows,
        portal=portal,
        shard_size=shard_size,
        results=results,
        queue=queue,
        options=call_options,
    )
