"""The alternatives, each used the way its documentation (or a typical script) uses it.

- ``raw``: httpx, chunked by hand, one request after another; a 429, 5xx or
  dropped connection is retried after one second (at most 10 tries).
- ``raw-pool``: the same in a pool of 16 threads, with no rate limiter.
- ``official``: HubSpot's ``hubspot-api-client`` 12.x, sequential, with the
  ``urllib3`` ``Retry`` its README shows (both examples merged:
  ``Retry(total=5, backoff_factor=0.3, status_forcelist=(429, 500, 502, 504))``);
  an exception loses that batch (counted as unknown), as in the README's loop.
- ``sdk``: HubSpot's new ``hubspot-sdk`` (Stainless), sequential, default
  settings (2 retries on 408/409/429/5xx/connection errors).

Every function returns a :class:`Tally` of what the caller learns.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from _workload import APP_ID, DEVELOPER_KEY, PATHS, TOKEN, Endpoint, chunks

RAW_ATTEMPTS = 10
POOL_THREADS = 16


@dataclass
class Tally:
    """What one client run reports: inputs it knows succeeded / failed / has no answer for."""

    succeeded: int = 0
    failed: int = 0
    unknown: int = 0
    requests: int = 0
    rate_limited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, succeeded: int, failed: int, unknown: int, requests: int, rate_limited: int) -> None:
        with self.lock:
            self.succeeded += succeeded
            self.failed += failed
            self.unknown += unknown
            self.requests += requests
            self.rate_limited += rate_limited


def _count_errors(body: dict[str, Any], size: int) -> int:
    named = 0
    for error in body.get("errors") or ():
        context = error.get("context") or {}
        values = next((v for v in context.values() if isinstance(v, list)), None)
        named += len(values) if values else 1
    return min(named, size)


def _post_raw(client: httpx.Client, path: str, batch: list[dict[str, Any]], tally: Tally, deadline: float) -> None:
    body = json.dumps({"inputs": batch}).encode()
    requests = limited = 0
    for _ in range(RAW_ATTEMPTS):
        if time.monotonic() > deadline:
            break
        requests += 1
        try:
            response = client.post(path, content=body)
        except httpx.TransportError:
            time.sleep(1.0)
            continue
        if response.status_code == 429:
            limited += 1
            time.sleep(1.0)
            continue
        if response.status_code >= 500:
            time.sleep(1.0)
            continue
        try:
            data = response.json()
        except ValueError:  # a truncated body: the effect may have happened; try again
            time.sleep(1.0)
            continue
        if response.status_code >= 400:
            tally.add(0, len(batch), 0, requests, limited)
            return
        failed = _count_errors(data, len(batch))
        tally.add(len(batch) - failed, failed, 0, requests, limited)
        return
    tally.add(0, 0, len(batch), requests, limited)


def _raw_client(url: str, connections: int) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=30.0,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def raw(endpoint: Endpoint, items: list[dict[str, Any]], url: str, deadline: float) -> Tally:
    """Raw httpx, sequential."""
    tally = Tally()
    with _raw_client(url, 1) as client:
        for batch in chunks(items):
            _post_raw(client, PATHS[endpoint], batch, tally, deadline)
    return tally


def raw_pool(endpoint: Endpoint, items: list[dict[str, Any]], url: str, deadline: float) -> Tally:
    """Raw httpx in a thread pool, no limiter."""
    tally = Tally()
    with _raw_client(url, POOL_THREADS) as client, ThreadPoolExecutor(POOL_THREADS) as pool:
        futures = [pool.submit(_post_raw, client, PATHS[endpoint], batch, tally, deadline) for batch in chunks(items)]
        for future in futures:
            future.result()
    return tally


def _readme_retry() -> Any:
    from urllib3.util.retry import Retry

    return Retry(total=5, backoff_factor=0.3, status_forcelist=(429, 500, 502, 504))


def official(endpoint: Endpoint, items: list[dict[str, Any]], url: str, deadline: float) -> Tally:
    """``hubspot-api-client`` 12.x; it has no statuses batch write (v3 subscribe/unsubscribe only)."""
    from hubspot import HubSpot

    api = HubSpot(access_token=TOKEN, api_key=DEVELOPER_KEY, retry=_readme_retry(), host=url)
    send: Callable[[list[dict[str, Any]]], Any]
    if endpoint == "communications":
        from hubspot.crm.objects.communications import (
            BatchInputSimplePublicObjectBatchInput,
            SimplePublicObjectBatchInput,
        )

        comms = api.crm.objects.communications.batch_api

        def send(batch: list[dict[str, Any]]) -> Any:
            inputs = [SimplePublicObjectBatchInput(id=r["id"], properties=r["properties"]) for r in batch]
            return comms.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))

    elif endpoint == "webhooks":
        from hubspot.webhooks import BatchInputSubscriptionBatchUpdateRequest, SubscriptionBatchUpdateRequest

        subs = api.webhooks.subscriptions_api

        def send(batch: list[dict[str, Any]]) -> Any:
            inputs = [SubscriptionBatchUpdateRequest(id=r["id"], active=r["active"]) for r in batch]
            return subs.update_batch(APP_ID, BatchInputSubscriptionBatchUpdateRequest(inputs=inputs))

    elif endpoint == "timeline":
        from hubspot.crm.timeline import BatchInputTimelineEvent, TimelineEvent

        events = api.crm.timeline.events_api

        def send(batch: list[dict[str, Any]]) -> Any:
            inputs = [
                TimelineEvent(event_template_id=r["eventTemplateId"], id=r["id"], email=r["email"], tokens=r["tokens"])
                for r in batch
            ]
            return events.create_batch(BatchInputTimelineEvent(inputs=inputs))

    else:
        raise NotImplementedError("hubspot-api-client 12.x has no communication-preferences statuses batch write")
    return _sequential(send, items, deadline, _errors)


def sdk(endpoint: Endpoint, items: list[dict[str, Any]], url: str, deadline: float) -> Tally:
    """``hubspot-sdk``: calls the 2026-03 paths; the sandbox serves them except timeline's."""
    from hubspot_sdk import HubSpot

    client = HubSpot(access_token=TOKEN, base_url=url)
    send: Callable[[list[dict[str, Any]]], Any]
    if endpoint == "communications":

        def send(batch: list[dict[str, Any]]) -> Any:
            return client.crm.objects.communications.batch.update(inputs=batch)  # type: ignore[arg-type]

    elif endpoint == "webhooks":

        def send(batch: list[dict[str, Any]]) -> Any:
            return client.webhooks.create_batch_event_subscriptions(APP_ID, inputs=batch)  # type: ignore[arg-type]

    elif endpoint == "statuses":

        def send(batch: list[dict[str, Any]]) -> Any:
            inputs = [
                {
                    "subscriber_id_string": r["subscriberIdString"],
                    "subscription_id": r["subscriptionId"],
                    "status_state": r["statusState"],
                    "channel": r["channel"],
                    "legal_basis": r["legalBasis"],
                    "legal_basis_explanation": r["legalBasisExplanation"],
                }
                for r in batch
            ]
            return client.communication_preferences.statuses.batch.update_statuses(inputs=inputs)  # type: ignore[arg-type]

    else:
        raise NotImplementedError("hubspot-sdk calls /integrators/timeline/2026-03/events/batch (not served)")
    try:
        return _sequential(send, items, deadline, _errors)
    finally:
        client.close()


def _errors(response: Any) -> int:
    return len(getattr(response, "errors", None) or ())


def _sequential(
    send: Callable[[list[dict[str, Any]]], Any],
    items: list[dict[str, Any]],
    deadline: float,
    errors: Callable[[Any], int],
) -> Tally:
    tally = Tally()
    for batch in chunks(items):
        if time.monotonic() > deadline:
            tally.add(0, 0, len(batch), 0, 0)
            continue
        try:
            response = send(batch)
        except Exception:  # what the README's loop does: log and move on
            tally.add(0, 0, len(batch), 1, 0)
            continue
        if response is None:  # hubspot-api-client's timeline create_batch returns None: assume all landed
            tally.add(len(batch), 0, 0, 1, 0)
            continue
        failed = min(errors(response), len(batch))
        tally.add(len(batch) - failed, failed, 0, 1, 0)
    return tally


BASELINES: dict[str, Callable[[Endpoint, list[dict[str, Any]], str, float], Tally]] = {
    "raw": raw,
    "raw-pool": raw_pool,
    "official": official,
    "sdk": sdk,
}
