"""Incremental sync state: payload digests, key texts, and the SQLite store (locks, damage, kill -9)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hubspot_batch import ConfigurationError, HubSpotBatchError, _sync_hash
from hubspot_batch._sync_hash import DIGEST_SIZE, canonical_json, payload_hash, state_key
from hubspot_batch._sync_sqlite import FORMAT, LOOKUP_CHUNK, SqliteState
from hubspot_batch._sync_state import StateError, SyncState
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------------------------- strategies

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.integers()  # beyond 64 bits too: orjson refuses those, the json module writes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=16,
)
_ROWS = st.dictionaries(st.text(max_size=8), _VALUES, max_size=6)


def _reordered(value: Any, rnd: random.Random) -> Any:
    """``value`` with the items of every dict in another order."""
    if isinstance(value, dict):
        items = [(k, _reordered(v, rnd)) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [_reordered(v, rnd) for v in value]
    return value


def _floats_swapped(value: Any, rnd: random.Random) -> Any:
    """``value`` with some ints written as floats and some integral floats as ints (the same numbers)."""
    if isinstance(value, dict):
        return {k: _floats_swapped(v, rnd) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_swapped(v, rnd) for v in value]
    if type(value) is int and abs(value) <= 2**53 and rnd.random() < 0.7:
        return float(value)
    if type(value) is float and value.is_integer() and rnd.random() < 0.7:
        return int(value)
    return value


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every value inside ``value`` (containers and leaves, at any depth)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replaced(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replaced(v, rest, new) if i == head else v) for i, v in enumerate(value)]


def _canonical_value(value: Any) -> bytes:
    return canonical_json({"v": value})


# --------------------------------------------------------------------------------------------- payload_hash

STATUS = {
    "subscriberIdString": "a@example.com",
    "subscriptionId": 123,
    "statusState": "SUBSCRIBED",
    "channel": "EMAIL",
    "legalBasis": "CONSENT_WITH_NOTICE",
    "legalBasisExplanation": "The contact agreed on the signup form.",
}


def test_the_digest_is_16_bytes_of_xxh3_128_over_the_canonical_json() -> None:
    import xxhash

    assert DIGEST_SIZE == 16
    digest = payload_hash(STATUS)
    assert isinstance(digest, bytes) and len(digest) == 16
    assert digest == xxhash.xxh3_128_digest(canonical_json(STATUS))
    # a stored digest must keep its meaning across releases (else every state goes stale): pinned
    assert digest.hex() == "7f4b3705ed6863b5d8ceeae514a52f11"


def test_the_canonical_json_sorts_keys_at_every_depth_and_writes_integral_floats_as_ints() -> None:
    row = {"b": 1.0, "a": [2.0, 2.5, {"d": None, "c": True}], "é": "ü", "n": -0.0, "t": ("x", 1e-05)}
    assert canonical_json(row) == '{"a":[2,2.5,{"c":true,"d":null}],"b":1,"n":0,"t":["x",1e-05],"é":"ü"}'.encode()
    assert (
        canonical_json({"big": 1e20, "huge": 2**70}) == b'{"big":100000000000000000000,"huge":1180591620717411303424}'
    )


def test_rows_hubspot_reads_alike_hash_alike_and_others_do_not() -> None:
    assert payload_hash({"a": 1, "b": "x"}) == payload_hash({"b": "x", "a": 1.0})
    assert payload_hash(MappingProxyType({"a": [1, 2]})) == payload_hash({"a": (1.0, 2)})
    distinct = [{"a": 1}, {"a": "1"}, {"a": True}, {"a": None}, {"a": "null"}, {"a": [1]}, {"a": 1.5}, {"a": {}}, {}]
    assert len({payload_hash(r) for r in distinct}) == len(distinct)


def test_what_is_not_json_is_refused() -> None:
    for bad in ({"a": float("nan")}, {"a": float("inf")}, {"a": [float("-inf")]}):
        with pytest.raises(ValueError):
            payload_hash(bad)
    for bad in ({"a": object()}, {"a": [1, {2}]}, {"a": {1: "x", "b": "y"}}):
        with pytest.raises(TypeError):
            payload_hash(bad)  # type: ignore[arg-type]


def test_the_common_path_is_one_orjson_call_and_a_row_with_a_float_skips_it(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _sync_hash._fast_dumps
    assert fast is not None, "orjson is a dependency on CPython"
    calls: list[Any] = []

    def counting(value: Any) -> bytes:
        calls.append(value)
        return fast(value)

    monkeypatch.setattr(_sync_hash, "_fast_dumps", counting)
    communication = {"id": "1", "properties": {f"p{i}": f"v{i}" for i in range(8)}, "tags": ["a", None, 3]}
    payload_hash(STATUS)
    payload_hash(communication)
    assert calls == [STATUS, communication]
    payload_hash({"a": 1, "b": {"c": [1.5]}})
    assert len(calls) == 2


@given(_ROWS, st.randoms(use_true_random=False))
def test_key_order_at_any_depth_does_not_change_the_digest(row: dict[str, Any], rnd: random.Random) -> None:
    assert payload_hash(_reordered(row, rnd)) == payload_hash(row)


@given(_ROWS, st.randoms(use_true_random=False))
def test_one_and_one_point_zero_hash_alike(row: dict[str, Any], rnd: random.Random) -> None:
    assert payload_hash(_floats_swapped(row, rnd)) == payload_hash(row)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.dictionaries(st.text(max_size=8), _VALUES, min_size=1, max_size=6), st.data())
def test_changing_any_value_at_any_depth_changes_the_digest(row: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(_paths(row))), label="path")
    old = _get(row, path)
    new = data.draw(_VALUES.filter(lambda v: _canonical_value(v) != _canonical_value(old)), label="new value")
    assert payload_hash(_replaced(row, path, new)) != payload_hash(row)


@given(st.dictionaries(st.text(max_size=8), _VALUES, min_size=1, max_size=6), st.data())
def test_adding_or_removing_a_key_changes_the_digest(row: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(row)))
    smaller = {k: v for k, v in row.items() if k != key}
    assert payload_hash(smaller) != payload_hash(row)


@given(_ROWS)
def test_without_orjson_the_json_module_gives_the_same_bytes(row: dict[str, Any]) -> None:
    with_orjson = canonical_json(row), payload_hash(row)
    saved = _sync_hash._fast_dumps
    _sync_hash._fast_dumps = None
    try:
        without = canonical_json(row), payload_hash(row)
    finally:
        _sync_hash._fast_dumps = saved
    assert without == with_orjson
    assert json.loads(with_orjson[0]) == json.loads(json.dumps(row))  # the same data (1.0 read back as 1)


_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)


@given(st.dictionaries(st.text(max_size=8), _PLAIN, max_size=6))
def test_orjson_writes_float_free_rows_exactly_as_the_json_module(row: dict[str, Any]) -> None:
    import orjson

    expected = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert orjson.dumps(row, option=orjson.OPT_SORT_KEYS) == expected == canonical_json(row)


# --------------------------------------------------------------------------------------------- state_key


def test_state_keys_are_the_string_or_the_json_array_of_the_tuple() -> None:
    assert state_key("12345") == "12345"
    assert state_key(("a@example.com", "123", "EMAIL")) == '["a@example.com","123","EMAIL"]'
    assert state_key(("idProperty", "value")) == '["idProperty","value"]'
    assert state_key(("é", None)) == '["é",null]'
    assert state_key((1, 2.5, True)) == "[1,2.5,true]"
    with pytest.raises(TypeError, match="str or a tuple"):
        state_key(123)


@given(st.tuples(st.text(), st.none() | st.text(), st.text()) | st.tuples(st.text(), st.text()))
def test_state_keys_are_stable_and_tell_keys_apart(key: tuple[str | None, ...]) -> None:
    text = state_key(key)
    assert json.loads(text) == list(key)  # injective: the key can be read back
    saved = _sync_hash._fast_dumps
    _sync_hash._fast_dumps = None
    try:
        assert state_key(key) == text
    finally:
        _sync_hash._fast_dumps = saved


# --------------------------------------------------------------------------------------------- SqliteState


def _digest(n: int) -> bytes:
    return n.to_bytes(4, "big") * 4


def _open(path: Path, namespace: str = "portal-1", endpoint: str = "communications", **kw: Any) -> SqliteState:
    return SqliteState(path, namespace, endpoint=endpoint, **kw)


def test_state_errors_are_configuration_errors() -> None:
    assert issubclass(StateError, ConfigurationError)
    assert issubclass(StateError, HubSpotBatchError)


def test_a_new_state_records_looks_up_and_keeps_its_digests(tmp_path: Path) -> None:
    path = tmp_path / "nightly.state"
    with _open(path) as state:
        assert isinstance(state, SyncState)
        assert state.namespace == "portal-1" and state.size() == 0
        assert state.lookup([]) == {}
        assert state.lookup(["a"]) == {}
        state.record([("a", _digest(1)), ("b", _digest(2))])
        state.record([("b", _digest(3)), ("ü€", _digest(4))])  # an upsert
        assert state.lookup(["a", "b", "missing", "ü€", "a"]) == {"a": _digest(1), "b": _digest(3), "ü€": _digest(4)}
        assert state.size() == 3
        assert "nightly.state" in repr(state)
    with _open(path) as state:
        assert state.lookup(["a", "b", "ü€"]) == {"a": _digest(1), "b": _digest(3), "ü€": _digest(4)}
    assert not Path(f"{path}-wal").exists()  # closing folds the WAL back into the file


def test_the_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    _open(path, "ns", "statuses").close()
    db = sqlite3.connect(path)
    try:
        sql = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
        assert sql["state"] == "CREATE TABLE state(key TEXT PRIMARY KEY, hash BLOB) WITHOUT ROWID"
        assert dict(db.execute("SELECT name, value FROM meta").fetchall()) == {
            "format": str(FORMAT),
            "endpoint": "statuses",
            "namespace": "ns",
        }
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        db.close()


def test_digests_answer_each_key_in_order_with_none_where_nothing_is_stored(tmp_path: Path) -> None:
    odd = ['a"b', "back\\slash", "new\nline", "ü€", "[1, 2]", "", "tab\t\u0001"]
    with _open(tmp_path / "s.state") as state:
        assert state.digests([]) == []
        state.record([(key, _digest(i)) for i, key in enumerate(odd)])
        asked = ["missing", *reversed(odd), odd[0]]
        expected = [None, *[_digest(i) for i in reversed(range(len(odd)))], _digest(0)]
        assert state.digests(asked) == expected
        assert [state.lookup(asked).get(key) for key in asked] == expected


def test_digests_without_sqlites_json_functions_fall_back_to_lookup(tmp_path: Path) -> None:
    with _open(tmp_path / "s.state") as state:
        state.record([("a", _digest(1))])
        state._json_each = False  # as on a SQLite built without JSON
        assert state.digests(["b", "a"]) == [None, _digest(1)]
        state._json_each = True
        with pytest.raises(UnicodeEncodeError):  # a lone surrogate: no JSON array; lookup() refuses it as SQLite does
            state.digests(["\ud800", "a"])


def test_stored_digests_asks_lookup_of_a_state_without_digests() -> None:
    from hubspot_batch._sync_state import stored_digests

    class Plain:
        def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
            return {key: b"d" * 16 for key in keys if key.startswith("k")}

    assert stored_digests(Plain(), ["k1", "x", "k2"]) == [b"d" * 16, None, b"d" * 16]  # type: ignore[arg-type]


def test_lookups_beyond_one_chunk(tmp_path: Path) -> None:
    with _open(tmp_path / "s.state") as state:
        state.record((f"k{i}", _digest(i)) for i in range(0, 3000, 2))
        keys = [f"k{i}" for i in range(2 * LOOKUP_CHUNK + 234)]
        assert state.lookup(keys) == {f"k{i}": _digest(i) for i in range(0, len(keys), 2)}
        assert state.lookup(tuple(keys[:7])) == {"k0": _digest(0), "k2": _digest(2), "k4": _digest(4), "k6": _digest(6)}


def test_a_record_call_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    def failing() -> Iterator[tuple[str, bytes]]:
        for i in range(50):
            yield f"new{i}", _digest(i)
        raise RuntimeError("the engine failed mid-call")

    with _open(tmp_path / "s.state") as state:
        state.record([("old", _digest(0))])
        with pytest.raises(RuntimeError, match="mid-call"):
            state.record(failing())
        assert state.size() == 1
        with pytest.raises(StateError, match=r"s\.state"):
            state.record([("bad", _digest(1)), ("bad", _digest(2)), (None, b"")])  # type: ignore[list-item]
        assert state.size() == 1 and state.lookup(["bad"]) == {}
        state.record([("after", _digest(5))])
        assert state.size() == 2


def test_threads_may_share_a_state(tmp_path: Path) -> None:
    with _open(tmp_path / "s.state") as state:

        def work(n: int) -> None:
            for block in range(20):
                pairs = [(f"t{n}-{block}-{i}", _digest(i)) for i in range(50)]
                state.record(pairs)
                assert state.lookup([k for k, _ in pairs]) == dict(pairs)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert state.size() == 4 * 20 * 50


def test_a_closed_state_says_so(tmp_path: Path) -> None:
    state = _open(tmp_path / "s.state")
    state.close()
    state.close()
    for call in (lambda: state.lookup(["a"]), lambda: state.record([]), state.size):
        with pytest.raises(StateError, match="is closed"):
            call()


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "random.state"
    content = random.Random(7).randbytes(3 * 4096)
    path.write_bytes(content)
    with pytest.raises(StateError) as caught:
        _open(path)
    assert str(caught.value).startswith(f"{path} is not a hubspot-batch state file (or is damaged): ")
    assert path.read_bytes() == content
    assert not Path(f"{path}-wal").exists()
    # the lock was released: a second attempt fails the same way, not as "in use"
    with pytest.raises(StateError, match="is not a hubspot-batch state file"):
        _open(path)


def test_a_damaged_state_file_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "damaged.state"
    with _open(path) as state:
        state.record((f"key-{i:06d}", _digest(i)) for i in range(20_000))
    size = path.stat().st_size
    assert size > 20 * 4096
    with path.open("r+b") as f:  # garbage over pages in the middle of the b-tree
        f.seek(8 * 4096)
        f.write(random.Random(3).randbytes(6 * 4096))
    damaged = path.read_bytes()
    with pytest.raises(StateError, match=r"damaged\.state is not a hubspot-batch state file \(or is damaged\)"):
        _open(path)
    assert path.read_bytes() == damaged


def test_some_other_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT)")
    db.execute("INSERT INTO users(email) VALUES ('a@example.com')")
    db.commit()
    db.close()
    content = path.read_bytes()
    with pytest.raises(StateError, match=r"app\.db is not a hubspot-batch state file .*other tables \(users\)"):
        _open(path)
    assert path.read_bytes() == content


def test_another_endpoints_or_namespaces_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    _open(path, "portal-1", "communications").close()
    with pytest.raises(StateError) as caught:
        _open(path, "portal-1", "statuses")
    assert str(caught.value) == (
        f"state file {path} belongs to communications 'portal-1', not statuses 'portal-1': use another --state file"
    )
    with pytest.raises(StateError, match="belongs to communications 'portal-1', not communications 'portal-2'"):
        _open(path, "portal-2", "communications")
    _open(path, "portal-1", "communications").close()  # and the rightful owner still opens it


def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    _open(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE name = 'format'", (str(FORMAT + 1),))
    db.commit()
    db.close()
    with pytest.raises(StateError, match=rf"newer hubspot-batch \(format {FORMAT + 1}"):
        _open(path)


def test_a_state_in_a_missing_directory_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "s.state"
    with pytest.raises(StateError, match=r"missing/s\.state"):
        _open(path)


def test_a_second_state_on_the_same_file_in_this_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    with _open(path) as first:
        first.record([("a", _digest(1))])
        for _ in range(2):  # the refused attempt must not release the first one's lock
            with pytest.raises(StateError) as caught:
                _open(path)
            assert str(caught.value).startswith(
                f"state file {path} is in use by another running job (pid {os.getpid()})"
            )
        assert first.lookup(["a"]) == {"a": _digest(1)}
    with _open(path) as again:  # released on close
        assert again.size() == 1
    assert Path(f"{path}.lock").read_text().strip() == str(os.getpid())


def test_a_state_dropped_without_close_releases_its_lock(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "s.state"
    state = _open(path)
    state.record([("a", _digest(1))])
    del state
    gc.collect()
    with _open(path) as again:
        assert again.lookup(["a"]) == {"a": _digest(1)}


_HOLDER = """
import sys
from hubspot_batch._sync_sqlite import SqliteState
state = SqliteState(sys.argv[1], "portal-1", endpoint="communications")
print("ready", flush=True)
sys.stdin.read()
state.close()
"""


def test_a_state_held_by_another_process_is_refused_with_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StateError, match=rf"is in use by another running job \(pid {holder.pid}\)"):
            _open(path)
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0
    _open(path).close()


_WRITER = """
import sys
from hubspot_batch._sync_sqlite import SqliteState
state = SqliteState(sys.argv[1], "portal-1", endpoint="communications")
block = state.size() // 100
while True:
    state.record((f"b{block}-{i}", block.to_bytes(4, "big") * 4) for i in range(100))
    print(block, flush=True)
    block += 1
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_a_job_killed_by_sigkill_loses_at_most_the_call_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "killed.state"
    rnd = random.Random(11)
    confirmed = -1
    for _ in range(3):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        stop_after = confirmed + rnd.randint(20, 120)
        for line in writer.stdout:
            confirmed = int(line)
            if confirmed >= stop_after:
                break
        os.kill(writer.pid, signal.SIGKILL)  # possibly in the middle of the next record()
        writer.wait(30)
        writer.stdout.close()
        assert writer.returncode == -signal.SIGKILL
        with _open(path) as state:  # opens (quick_check passes, the lock is free)
            size = state.size()
            assert size % 100 == 0, "a call is stored whole or not at all"
            blocks = size // 100
            assert blocks >= confirmed + 1, "every confirmed call is there"
            for block in range(blocks):
                keys = [f"b{block}-{i}" for i in range(100)]
                assert state.lookup(keys) == dict.fromkeys(keys, _digest(block))
        confirmed = blocks - 1


def test_the_stores_are_imported_on_first_use() -> None:
    from hubspot_batch import _sync_state

    assert _sync_state.SqliteState is SqliteState
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _sync_state.Nope  # noqa: B018
