"""One measurement in a fresh process: ``python _worker.py '<json spec>'``.

Imports every module the client needs first, then measures wall time, CPU
time (``time.process_time``) and peak RSS (``VmHWM``, see peak_rss_kb) of the client
process alone. The last line printed is ``RESULT <json>``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from _baselines import BASELINES, Tally
from _workload import TOKEN, Endpoint, row, rows


def _ours(spec: dict[str, Any]) -> Callable[[Iterable[dict[str, Any]]], Tally]:
    from hubspot_batch import HubSpotBatch
    from hubspot_batch._results import OutcomeStatus

    endpoint: Endpoint = spec["endpoint"]
    rate_limit: Any = False if spec.get("rate_limit") == "off" else None
    options: dict[str, Any] = {"access_token": TOKEN, "base_url": spec["url"], "rate_limit": rate_limit}

    def call(hs: HubSpotBatch, data: Iterable[dict[str, Any]], stream: bool) -> Iterable[Any]:
        if endpoint == "communications":
            return hs.communications.update_iter(data) if stream else [hs.communications.update(data)]
        if endpoint == "webhooks":
            from _workload import APP_ID

            if stream:
                return hs.webhooks.update_subscriptions_iter(APP_ID, data)
            return [hs.webhooks.update_subscriptions(APP_ID, data)]
        if endpoint == "statuses":
            return hs.subscription_statuses.write_iter(data) if stream else [hs.subscription_statuses.write(data)]
        return hs.timeline.create_events_iter(data) if stream else [hs.timeline.create_events(data)]

    def run(data: Iterable[dict[str, Any]]) -> Tally:
        tally = Tally()
        with HubSpotBatch(**options) as hs:
            expected = 0
            for part in call(hs, data, bool(spec.get("stream"))):
                ok = failed = 0
                for outcome in part:  # every input is mapped to its outcome: check each
                    if outcome.index != expected:
                        raise AssertionError(f"outcome {outcome.index} out of order, expected {expected}")
                    expected += 1
                    if outcome.status is OutcomeStatus.SUCCEEDED:
                        ok += 1
                    elif outcome.status is OutcomeStatus.FAILED:
                        failed += 1
                tally.add(ok, failed, len(part) - ok - failed, part.stats.requests, part.stats.rate_limited)
                if spec.get("stream"):
                    tally.requests = part.stats.requests
                    tally.rate_limited = part.stats.rate_limited
                del part
        return tally

    return run


def _baseline(spec: dict[str, Any]) -> Callable[[Iterable[dict[str, Any]]], Tally]:
    function = BASELINES[spec["client"]]
    deadline = time.monotonic() + float(spec.get("deadline", 600))
    if spec["client"] == "official":
        import hubspot  # noqa: F401
    if spec["client"] == "sdk":
        import hubspot_sdk  # noqa: F401

    def run(data: Iterable[dict[str, Any]]) -> Tally:
        return function(spec["endpoint"], list(data), spec["url"], deadline)

    return run


def peak_rss_kb() -> int:
    """Peak RSS of this process image: ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` survives ``execve``: a child forked from a large parent (the
    runner holds the sandbox state) reports the parent's size. ``VmHWM``
    belongs to the new address space, so it is the client's own peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    runner = _ours(spec) if spec["client"] == "ours" else _baseline(spec)
    n = int(spec["n"])
    tag = str(spec.get("tag", "bench"))
    # the memory scenario reads a generator (rows never held in memory); the others build the rows first
    data: Iterable[dict[str, Any]] = (
        rows(spec["endpoint"], n, tag) if spec.get("generate") else [row(spec["endpoint"], i, tag) for i in range(n)]
    )
    rss_before = peak_rss_kb()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    tally = runner(data)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    result = {
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "maxrss_kb": peak_rss_kb(),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_before_kb": rss_before,
        "succeeded": tally.succeeded,
        "failed": tally.failed,
        "unknown": tally.unknown,
        "client_requests": tally.requests,
        "client_rate_limited": tally.rate_limited,
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
