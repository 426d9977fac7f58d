"""Shared pieces of the reliability tests: row factories, a 429-storm / body-stripping transport, checks.

Named ``reliability_support`` (not ``conftest``) so that test modules can import it by name
without clashing with the other test directories' helpers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from hubspot_batch.sandbox import SandboxApp, SandboxConfig, SandboxTransport

REPORT_PREFIX = "reliability"


def loop_clock() -> float:
    return asyncio.get_running_loop().time()


def loop_sandbox(**config: Any) -> SandboxTransport:
    """An in-process sandbox whose rate window and delays follow the running loop's (virtual) clock."""
    app = SandboxApp(SandboxConfig(**config), clock=loop_clock, wall_clock=time.time)
    return SandboxTransport(app, sleep=lambda s: None, async_sleep=asyncio.sleep)


# --------------------------------------------------------------------------- rows


def comm_row(object_id: int | str, value: str) -> dict[str, Any]:
    return {"id": str(object_id), "properties": {"hs_communication_body": value}}


def hook_row(sub_id: int, active: bool) -> dict[str, Any]:
    return {"id": sub_id, "active": active}


def status_row(email: str, sub: int, state: str) -> dict[str, Any]:
    return {"subscriberIdString": email, "subscriptionId": sub, "statusState": state, "channel": "EMAIL"}


def event_row(template: str, n: int) -> dict[str, Any]:
    return {"eventTemplateId": template, "tokens": {"n": str(n)}, "objectId": str(n + 1)}


def occurrence_row(type_name: str, n: int) -> dict[str, Any]:
    return {"eventTypeName": type_name, "properties": {"n": str(n)}, "email": f"o{n}@example.com"}


# --------------------------------------------------------------------------- hostile middle


RATE_LIMIT_BODY = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "policyName": "TEN_SECONDLY_ROLLING",
}

#: The fields HubSpot's spec calls required in a batch response envelope.
ENVELOPE_FIELDS = ("status", "startedAt", "completedAt")
#: For each endpoint path fragment, the field each result item is matched on.
RESULT_KEYS = {
    "communications": ("objectWriteTraceId", "id"),
    "subscriptions": ("id",),
    "statuses": ("subscriberIdString", "subscriptionId"),
    "timeline": ("id",),
}


class StormAndStrip(httpx.AsyncBaseTransport):
    """Sits between the client and a sandbox transport and makes HubSpot's answers worse.

    - 429 storms: with probability ``storm_rate`` per request a storm of ``storm_length`` requests starts;
      during a storm every request is answered 429 ``TEN_SECONDLY_ROLLING`` (sometimes with ``Retry-After``)
      without reaching the sandbox.
    - 2xx bodies missing fields the spec calls required: with probability ``strip_rate`` a 2xx JSON answer
      (already applied by the sandbox) loses, at random, an envelope field (``status``...), the whole
      ``results`` list, some ``results`` items, or the matching key of some result items.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        seed: int,
        storm_rate: float = 0.0,
        storm_length: tuple[int, int] = (5, 15),
        strip_rate: float = 0.0,
    ) -> None:
        self.inner = inner
        self.rng = random.Random(seed)
        self.storm_rate = storm_rate
        self.storm_length = storm_length
        self.strip_rate = strip_rate
        self.storm_left = 0
        self.requests = 0
        self.counts: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.storm_left == 0 and self.rng.random() < self.storm_rate:
            self.storm_left = self.rng.randint(*self.storm_length)
            self.counts["storms"] += 1
        if self.storm_left > 0:
            self.storm_left -= 1
            self.counts["storm_429"] += 1
            headers = {"Content-Type": "application/json"}
            if self.rng.random() < 0.3:
                headers["Retry-After"] = str(self.rng.randint(1, 3))
            await request.aread()
            return httpx.Response(429, headers=headers, content=json.dumps(RATE_LIMIT_BODY).encode(), request=request)
        response = await self.inner.handle_async_request(request)
        if 200 <= response.status_code < 300 and self.rng.random() < self.strip_rate:
            body = await response.aread()
            try:
                data = json.loads(body)
            except ValueError:
                return response  # already broken by the sandbox (truncated / not JSON)
            kind = self._strip(data, request.url.path)
            self.counts[f"strip_{kind}"] += 1
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            return httpx.Response(response.status_code, headers=headers, content=json.dumps(data).encode())
        return response

    def _strip(self, data: dict[str, Any], path: str) -> str:
        rng = self.rng
        choice = rng.random()
        results = data.get("results")
        if choice < 0.3:
            field = rng.choice(ENVELOPE_FIELDS)
            data.pop(field, None)
            return "envelope"
        if choice < 0.5 or not results:
            data.pop("results", None)
            return "results"
        if choice < 0.75:
            keep = [r for r in results if rng.random() < 0.5]
            data["results"] = keep
            return "result_items"
        keys = next(v for k, v in RESULT_KEYS.items() if k in path)
        for item in results:
            if rng.random() < 0.5:
                for key in keys:
                    item.pop(key, None)
        return "result_keys"


# --------------------------------------------------------------------------- reporting


def report(record_property: Callable[[str, object], None], title: str, figures: Mapping[str, object]) -> None:
    """Print figures (shown by ``pytest -s``) and attach them to the test report (junit XML properties)."""
    lines = [f"{title}:"] + [f"  {key}: {value}" for key, value in figures.items()]
    print("\n" + "\n".join(lines))
    for key, value in figures.items():
        record_property(f"{REPORT_PREFIX}.{key}", value)
