"""The Lua scripts' argument layouts and their registration per client (no Redis server)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hubspot_batch import RateLimitHeaders
from hubspot_batch._redis_keys import BudgetKeys
from hubspot_batch._redis_scripts import (
    CONF_TTL,
    DAILY_TTL,
    OBSERVE,
    RATE_LIMITED,
    RESERVE,
    USAGE,
    ScriptCache,
    ScriptCall,
    as_optional,
    as_seconds,
    observe_call,
    rate_limited_call,
    reserve_call,
    usage_call,
)

KEYS = BudgetKeys("p", "k")


def calls() -> list[ScriptCall]:
    headers = RateLimitHeaders(max=190, remaining=3, interval_ms=10_000, daily=1000, daily_remaining=7)
    return [
        reserve_call(KEYS, "20250102", limit=100, interval=10.0, cap=None, margin=0.05, member="i:0"),
        observe_call(KEYS, headers, sent_at=12.5, fill_prefix="i:o1:", default_interval=10.0, member="i:0"),
        rate_limited_call(KEYS, limit=100, interval=10.0, cap=3, retry_after=None, fill_prefix="i:r2:"),
        usage_call(KEYS, "20250102", default_interval=10.0),
    ]


def highest(name: str, lua: str) -> int:
    return max(int(n) for n in re.findall(rf"\b{name}\[(\d+)\]", lua))


@pytest.mark.parametrize("call", calls(), ids=lambda c: c.script.name)
def test_each_call_gives_its_script_every_key_and_argument_it_reads(call: ScriptCall) -> None:
    assert len(call.keys) == highest("KEYS", call.script.lua)
    assert len(call.args) == highest("ARGV", call.script.lua)


def test_every_script_starts_from_the_servers_clock() -> None:
    for script in (RESERVE, OBSERVE, RATE_LIMITED, USAGE):
        assert "redis.call('TIME')" in script.lua
    assert len({s.name for s in (RESERVE, OBSERVE, RATE_LIMITED, USAGE)}) == 4


def test_numbers_travel_as_the_scripts_write_them() -> None:
    assert as_seconds(1.5) == "1.500000" and as_seconds(0.0000004) == "0.000000"
    assert as_optional(None) == "" and as_optional(0) == "0" and as_optional(190) == "190"


def test_reserve_arguments() -> None:
    call = reserve_call(KEYS, "20250102", limit=100, interval=10.0, cap=None, margin=0.05, member="i:0")
    assert call.script is RESERVE
    assert call.keys == ("p:{k}:window", "p:{k}:conf", "p:{k}:daily:20250102")
    assert call.args == (100, "10.000000", "", "0.050000", "i:0", DAILY_TTL, CONF_TTL)
    capped = reserve_call(KEYS, "20250102", limit=100, interval=2, cap=3, margin=0, member="i:1")
    assert capped.args[:4] == (100, "2.000000", "3", "0.000000")


def test_observe_arguments_leave_absent_headers_empty() -> None:
    full = RateLimitHeaders(max=190, remaining=3, interval_ms=10_000, daily=1000, daily_remaining=7)
    call = observe_call(KEYS, full, sent_at=12.5, fill_prefix="i:o1:", default_interval=10.0, member="i:0")
    assert call.script is OBSERVE and call.keys == ("p:{k}:window", "p:{k}:conf")
    assert call.args == ("190", "3", "10000", "12.500000", "i:o1:", "1000", "7", "10.000000", CONF_TTL, "i:0")
    bare = observe_call(KEYS, RateLimitHeaders(), sent_at=1, fill_prefix="x", default_interval=2, member="m")
    assert bare.args == ("", "", "", "1.000000", "x", "", "", "2.000000", CONF_TTL, "m")


def test_rate_limited_arguments() -> None:
    call = rate_limited_call(KEYS, limit=100, interval=10.0, cap=None, retry_after=None, fill_prefix="i:r2:")
    assert call.script is RATE_LIMITED and call.keys == ("p:{k}:window", "p:{k}:conf")
    assert call.args == (100, "10.000000", "", "", "i:r2:")
    paused = rate_limited_call(KEYS, limit=100, interval=10.0, cap=5, retry_after=0.0, fill_prefix="i:r3:")
    assert paused.args == (100, "10.000000", "5", "0.000000", "i:r3:")  # Retry-After: 0 is a pause of 0, not none


def test_usage_arguments() -> None:
    call = usage_call(KEYS, "20250102", default_interval=10.0)
    assert call.script is USAGE
    assert call.keys == ("p:{k}:window", "p:{k}:conf", "p:{k}:daily:20250102")
    assert call.args == ("10.000000",)


class FakeScript:
    def __init__(self, lua: str) -> None:
        self.lua = lua
        self.runs: list[tuple[list[str], list[Any], Any]] = []

    def __call__(self, *, keys: list[str], args: list[Any], client: Any) -> str:
        self.runs.append((keys, args, client))
        return f"ran {len(self.runs)}"


class FakeClient:
    def __init__(self) -> None:
        self.registered: list[FakeScript] = []

    def register_script(self, lua: str) -> FakeScript:
        script = FakeScript(lua)
        self.registered.append(script)
        return script


def test_a_script_is_registered_once_per_client_and_run_with_its_call() -> None:
    cache, a, b = ScriptCache(), FakeClient(), FakeClient()
    call = usage_call(KEYS, "20250102", default_interval=10.0)
    assert cache.run(a, call) == "ran 1"
    assert cache.run(a, call) == "ran 2"
    assert cache.run(b, call) == "ran 1"
    assert len(a.registered) == 1 and len(b.registered) == 1 and len(cache) == 2
    assert a.registered[0].lua == USAGE.lua
    assert a.registered[0].runs[0] == (list(call.keys), list(call.args), a)
    cache.run(a, calls()[0])
    assert [s.lua for s in a.registered] == [USAGE.lua, RESERVE.lua]


def test_a_copy_keeps_its_registrations_when_the_original_is_cleared() -> None:
    cache, client = ScriptCache(), FakeClient()
    call = usage_call(KEYS, "20250102", default_interval=10.0)
    cache.run(client, call)
    twin = cache.copy()
    cache.clear()
    assert len(cache) == 0 and len(twin) == 1
    twin.run(client, call)
    assert len(client.registered) == 1  # the twin still knew the script
    cache.run(client, call)
    assert len(client.registered) == 2  # the cleared cache registers it again
