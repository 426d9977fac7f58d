"""The one engine behind both faces: rows in, one outcome per row out.

Data flows one way::

    rows -> prepare (validate, assign ids, encode) -> Chunker -> chunk tasks
         -> [semaphore -> limiter -> POST -> classify] -> retry / split / stop
         -> outcomes -> reorder by index -> BatchResult parts

:class:`Runtime` is per client (HTTP connection pool, rate limiter,
concurrency limit, credentials); :class:`Job` is one call. Everything is
asyncio; the synchronous face runs the same coroutines on a private event
loop. Decisions (what a response means, how long to wait, which inputs an
error names) are pure functions in ``_retry``, ``_limiter`` and ``_mapping``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import httpx
from hubspot_batch_api import Client as GeneratedClient

from . import _json
from ._auth import AuthRefreshError, Credentials, install_log_redaction
from ._chunks import Chunk, Chunker, Item
from ._endpoints import Endpoint
from ._errors import (
    AuthenticationError,
    DailyLimitError,
    HubSpotBatchError,
    InputIssue,
    InputValidationError,
    MissingScopesError,
)
from ._http import AiohttpPoster, Answer, Trace, httpx_patched, tls_context
from ._json import encode_strict
from ._limiter import LimiterBackend, RateLimitHeaders, Reservation
from ._mapping import ALREADY_CREATED_NOTE, map_response
from ._results import BatchResult, Outcome, OutcomeError, OutcomeStatus, Progress, Stats
from ._retry import Decision, RetryPolicy, Verdict, backoff_delay, classify
from ._scopes import missing_scopes
from ._versions import lifecycle

__all__ = ["Job", "OnInvalid", "RowPreparer", "Runtime", "check_all", "prepare_row", "prepared_source", "row_preparer"]

logger = logging.getLogger("hubspot_batch")
_DEPRECATED = "x-hubspot-api-deprecated"
_httpx_logger = logging.getLogger("httpx")
OnInvalid = Literal["raise", "skip"]
USER_AGENT = "hubspot-batch/0.1 (+python)"


# --------------------------------------------------------------------------- prepare


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


RowPreparer = Callable[[int, Any], "Item | list[InputIssue]"]
"""``prepare(index, row)``: an :class:`Item` ready to send, or the problems found in the row."""


def row_preparer(endpoint: Endpoint, job_id: str) -> RowPreparer:
    """The :func:`prepare_row` of one endpoint and job, with what it looks up bound once.

    A dict row that the endpoint's compiled schema passes (``checker().passes``,
    see :mod:`._validate`) is copied, completed, encoded and done; any other
    row, and any row with a problem, takes the full way, which names every
    problem. Both ways give the same :class:`Item` for the same row.
    """
    passes = endpoint.checker().passes
    encode = _json.encode_plain
    complete = endpoint.prepare
    extra_check = endpoint.extra_check
    duplicate_key = endpoint.duplicate_key

    def prepare(index: int, row: Any) -> Item | list[InputIssue]:
        if type(row) is dict and passes(row):
            data = row.copy()
            complete(data, job_id, index)
            body = _plain_json(data, extra_check, encode)
            if body is not None:
                return Item(index, data, duplicate_key(data), body)
        return prepare_row(endpoint, index, row, job_id)

    return prepare


def _plain_json(
    data: dict[str, Any],
    extra_check: Callable[[Mapping[str, Any], list[tuple[str, str]]], None] | None,
    encode: Callable[[Any], bytes],
) -> bytes | None:
    """The JSON of a row the schema passed, or None when the full way must look (a rule, a lone surrogate)."""
    if extra_check is not None:
        problems: list[tuple[str, str]] = []
        extra_check(data, problems)
        if problems:
            return None
    try:
        return encode(data)
    except (TypeError, ValueError, RecursionError):
        return None


def prepare_row(endpoint: Endpoint, index: int, row: Any, job_id: str) -> Item | list[InputIssue]:
    """One caller row -> an :class:`Item` ready to send, or the problems found in it.

    Accepts a mapping or a generated input model. ``None`` values of
    top-level fields are dropped and ``datetime`` values become ISO 8601
    strings. Ids the client adds (timeline event ids, trace ids) are filled
    in first. The row is encoded here, once (by orjson when the schema passes
    it, as in :func:`row_preparer`): a value JSON cannot carry (NaN, a lone
    surrogate, an object of an unknown type) is a problem of this row.
    """
    if type(row) is dict or isinstance(row, Mapping):
        data = {key: value for key, value in row.items() if value is not None}
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = _iso(value)
    elif isinstance(row, endpoint.input_model):
        data = row.to_dict()  # type: ignore[attr-defined]
    else:
        kind = type(row).__name__
        return [InputIssue(index, "", f"must be a dict or a {endpoint.input_model.__name__}, got {kind}")]
    endpoint.prepare(data, job_id, index)
    checker = endpoint.checker()
    body = _plain_json(data, endpoint.extra_check, _json.encode_plain) if checker.passes(data) else None
    if body is None:
        problems = checker.problems(data)
        if endpoint.extra_check is not None:
            endpoint.extra_check(data, problems)
        if problems:
            return [InputIssue(index, path, message) for path, message in problems]
        try:
            body = encode_strict(data)
        except (TypeError, ValueError, RecursionError) as exc:  # what the checker could not see (a deep stack)
            return [InputIssue(index, "", f"cannot be sent as JSON: {exc}")]
    return Item(index, data, endpoint.duplicate_key(data), body)


def invalid_outcome(index: int, row: Any, issues: list[InputIssue]) -> Outcome:
    """The outcome of a row skipped for failing validation."""
    message = "; ".join(f"{i.field or 'row'}: {i.message}" for i in issues)
    error = OutcomeError(category="INVALID_INPUT", message=message, context={"fields": [i.field for i in issues]})
    shown = dict(row) if isinstance(row, Mapping) else {"value": repr(row)}
    return Outcome(index, OutcomeStatus.FAILED, shown, error=error)


# --------------------------------------------------------------------------- runtime


async def _read(response: httpx.Response, request: httpx.Request | None = None) -> Answer:
    """Read and close ``response`` (decoding its content encoding) into an :class:`Answer`."""
    if request is not None:
        response.request = request
    try:
        await response.aread()
    finally:
        await response.aclose()
    return Answer(response.status_code, response.headers, response.content, response.reason_phrase)


@attrs.define
class Runtime:
    """Per-client machinery shared by every call: HTTP pools, limiter, concurrency, credentials.

    Batch POSTs go through an :class:`AiohttpPoster` (see :mod:`._http`),
    unless the client was given an httpx ``transport`` or a test tool has
    patched httpx: then through httpx, as every other request (OAuth token
    refresh) always does.
    """

    base_url: str
    timeout: float
    credentials: Credentials
    limiter: LimiterBackend | None
    max_concurrency: int
    retry: RetryPolicy
    transport: httpx.AsyncBaseTransport | None = None
    verify: ssl.SSLContext | str | bool = True
    rng: random.Random = attrs.field(factory=random.Random)
    _client: GeneratedClient | None = attrs.field(default=None, init=False)
    _poster: AiohttpPoster | None = attrs.field(default=None, init=False)
    _semaphore: asyncio.Semaphore | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        install_log_redaction()

    def __repr__(self) -> str:
        return (
            f"Runtime(base_url={self.base_url!r}, max_concurrency={self.max_concurrency}, "
            f"credentials={self.credentials!r})"
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """The pooled httpx client (created on first use, inside the running loop)."""
        if self._client is None:
            limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
            args: dict[str, Any] = {"limits": limits}
            if self.transport is not None:
                args["transport"] = self.transport
            self._client = GeneratedClient(
                base_url=self.base_url,
                timeout=httpx.Timeout(self.timeout),
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                verify_ssl=tls_context(self.verify) if isinstance(self.verify, str) else self.verify,
                httpx_args=args,
            )
        return self._client.get_async_httpx_client()

    async def post(
        self,
        url: httpx.URL,
        *,
        content: bytes,
        headers: dict[str, str],
        params: dict[str, str],
        trace: Trace,
    ) -> Answer:
        """POST and return the answer, body read (on aiohttp, or through httpx; see the class)."""
        if self.transport is None and not httpx_patched():
            if self._poster is None:
                self._poster = AiohttpPoster(
                    max_connections=self.max_concurrency,
                    timeout=httpx.Timeout(self.timeout),
                    verify=self.verify,
                    user_agent=USER_AGENT,
                )
            target = str(url.copy_merge_params(params) if params else url)
            return await self._poster.post(target, content=content, headers=headers, trace=trace)
        response = await self.http.post(
            url, content=content, headers=headers, params=params, extensions={"trace": trace}
        )
        return Answer(response.status_code, response.headers, response.content, response.reason_phrase)

    @property
    def semaphore(self) -> asyncio.Semaphore:
        """The client-wide bound on requests in flight."""
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    async def aclose(self) -> None:
        """Close the HTTP pool (and a limiter backend that holds connections)."""
        close = getattr(self.limiter, "aclose", None)
        if close is not None:
            await close()
        if self._client is not None:
            await self._client.get_async_httpx_client().aclose()
            self._client = None
        if self._poster is not None:
            await self._poster.aclose()
            self._poster = None
        self._semaphore = None


@attrs.define
class _Counters:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    splits: int = 0
    succeeded: int = 0
    failed: int = 0
    not_sent: int = 0
    deprecated: str | None = None


@attrs.define
class _Group:
    """Inputs of one chunk that travel together in one request."""

    items: list[Item]
    attempts: int = 0
    rate_limited: int = 0
    maybe_landed: bool = False
    token: str | None = None  # the access token of the last attempt
    renewed: bool = False  # a 401 already led to a new token once


@attrs.define
class _Stop:
    reason: str
    error: HubSpotBatchError


def _follows(outcomes: list[Outcome], start: int) -> bool:
    """Whether ``outcomes`` are those of inputs ``start``, ``start + 1``... in that order."""
    for expected, outcome in enumerate(outcomes, start):
        if outcome.index != expected:
            return False
    return bool(outcomes)


class _End:
    __slots__ = ("read",)

    def __init__(self, read: int) -> None:
        self.read = read


# --------------------------------------------------------------------------- job


@attrs.define
class Job:
    """One call: stream rows through chunks and requests, yield results in input order."""

    runtime: Runtime
    endpoint: Endpoint
    path: str
    batch_size: int
    existing_is_success: bool = False
    progress: Callable[[Progress], None] | None = None
    total: int | None = None
    job_id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:12])
    _counters: _Counters = attrs.field(factory=_Counters, init=False)
    _stop: _Stop | None = attrs.field(default=None, init=False)
    _source_error: BaseException | None = attrs.field(default=None, init=False)
    _key_owner: dict[Any, asyncio.Event] = attrs.field(factory=dict, init=False)
    _in_flight: int = attrs.field(default=0, init=False)
    _buffered: int = attrs.field(default=0, init=False)
    _started: float | None = attrs.field(default=None, init=False)
    _absolute_url: httpx.URL | None = attrs.field(default=None, init=False)

    # ---- public

    async def run(self, source: AsyncIterator[list[Item | Outcome]]) -> AsyncIterator[BatchResult]:
        """Yield :class:`BatchResult` parts covering consecutive inputs, in input order.

        ``source`` yields blocks of prepared items (or outcomes of rows already
        decided, such as skipped invalid rows), in input order. If it raises, reading stops, requests
        already under way finish, rows held back are reported as not sent,
        and the exception is raised after the last part.
        """
        async for outcomes in self.runs(source):
            yield self.result(outcomes)

    async def runs(self, source: AsyncIterator[list[Item | Outcome]]) -> AsyncIterator[list[Outcome]]:
        """Like :meth:`run`, but yield the outcomes of each part as a plain list (no part built)."""
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        max_in_flight = self.runtime.max_concurrency + 2
        condition = asyncio.Condition()
        queue: asyncio.Queue[list[Outcome] | _End] = asyncio.Queue()
        producer = asyncio.create_task(self._produce(source, queue, condition, max_in_flight))
        waiting: dict[int, Outcome] = {}
        next_index = 0
        read: int | None = None
        try:
            while read is None or next_index < read:
                message = await queue.get()
                run: list[Outcome] = []
                if isinstance(message, _End):
                    read = message.read
                elif not waiting and _follows(message, next_index):  # the usual case: the next inputs, in order
                    run = message
                    next_index += len(message)
                else:
                    for outcome in message:
                        waiting[outcome.index] = outcome
                while next_index in waiting:
                    run.append(waiting.pop(next_index))
                    next_index += 1
                if run:
                    async with condition:
                        self._buffered -= len(run)
                        condition.notify_all()
                    yield run
                if read is not None and next_index < read and queue.empty():
                    # Every outcome is queued before the end marker: a gap here is a bug.
                    await producer  # re-raises an internal error of the producer
                    raise RuntimeError(f"internal error: inputs {next_index}..{read - 1} got no outcome")
            await producer
        finally:
            if not producer.done():
                producer.cancel()
                await asyncio.gather(producer, return_exceptions=True)
        if self._source_error is not None:
            raise self._source_error

    def stats(self) -> Stats:
        """Counters of this call so far."""
        c = self._counters
        elapsed = asyncio.get_running_loop().time() - self._started if self._started is not None else 0.0
        return Stats(
            requests=c.requests,
            retries=c.retries,
            rate_limited=c.rate_limited,
            splits=c.splits,
            elapsed=elapsed,
            deprecated=c.deprecated,
        )

    # ---- producing chunks

    async def _produce(
        self,
        source: AsyncIterator[list[Item | Outcome]],
        queue: asyncio.Queue[list[Outcome] | _End],
        condition: asyncio.Condition,
        max_in_flight: int,
    ) -> None:
        chunker = Chunker(self.batch_size)
        tasks: set[asyncio.Task[None]] = set()
        read = 0
        max_buffered = max_in_flight * self.batch_size

        async def launch(chunk: Chunk) -> None:
            async with condition:
                await condition.wait_for(
                    lambda: self._in_flight < max_in_flight and (self._buffered < max_buffered or self._in_flight == 0)
                )
                self._in_flight += 1
                self._buffered += len(chunk.items)
            keys = chunk.keys
            owners = self._key_owner
            deps = {id(e): e for k in keys if (e := owners.get(k)) is not None} if owners else {}
            done = asyncio.Event()
            owners.update(dict.fromkeys(keys, done))
            task = asyncio.create_task(self._process(chunk, keys, list(deps.values()), done, queue, condition))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        try:
            try:
                async for block in source:
                    decided: list[Outcome] = []
                    for entry in block:
                        read += 1
                        if isinstance(entry, Outcome):
                            decided.append(entry)
                            continue
                        for chunk in chunker.add(entry):
                            await launch(chunk)
                    if decided:
                        async with condition:
                            self._buffered += len(decided)
                        if self.progress is not None:
                            self._count(decided)
                        await queue.put(decided)
                for chunk in chunker.flush():
                    await launch(chunk)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # the caller's iterable failed: report held rows, re-raise later
                self._source_error = exc
                held = [item for chunk in chunker.flush() for item in chunk.items]
                if held:
                    reason = f"not sent: reading the input failed at input {read} ({type(exc).__name__})"
                    outcomes = self._not_sent(held, "INPUT_ERROR", reason)
                    async with condition:
                        self._buffered += len(outcomes)
                    await queue.put(outcomes)
            if tasks:
                await asyncio.gather(*tasks)
        except BaseException:
            # Cancelled (the caller stopped iterating) or an internal error:
            # stop every batch still under way rather than let it run unseen.
            for task in tasks:
                task.cancel()
            raise
        finally:
            # Always tell the consumer how many rows were read, so it never waits forever.
            queue.put_nowait(_End(read))

    async def _process(
        self,
        chunk: Chunk,
        keys: frozenset[Hashable],
        deps: list[asyncio.Event],
        done: asyncio.Event,
        queue: asyncio.Queue[list[Outcome] | _End],
        condition: asyncio.Condition,
    ) -> None:
        outcomes: list[Outcome] = []
        try:
            for dep in deps:
                await dep.wait()
            outcomes = await self._send_chunk(list(chunk.items))
        except Exception as exc:  # a bug must not lose inputs: report them and log loudly
            logger.exception("internal error while sending a batch; its inputs are reported as failed")
            decided = {o.index for o in outcomes}
            error = OutcomeError(category="INTERNAL_ERROR", message=f"{type(exc).__name__}: {exc}")
            outcomes += [
                Outcome(i.index, OutcomeStatus.FAILED, i.row, error=error)
                for i in chunk.items
                if i.index not in decided
            ]
        finally:
            done.set()
            owners = self._key_owner
            for key in keys:
                if owners.get(key) is done:
                    del owners[key]
            async with condition:
                self._in_flight -= 1
                condition.notify_all()
        await queue.put(outcomes)
        if self.progress is not None:  # the counters are what progress reports
            self._count(outcomes)
            self._report_progress()

    # ---- one chunk

    async def _send_chunk(self, items: list[Item]) -> list[Outcome]:
        policy = self.runtime.retry
        outcomes: list[Outcome] = []
        groups: deque[_Group] = deque([_Group(items)])
        split_budget = policy.max_split_requests
        while groups:
            group = groups.popleft()
            if self._stop is not None:
                outcomes += self._not_sent(group.items, "STOPPED", f"not sent: {self._stop.reason}")
                continue
            decision = await self._exchange(group)
            if decision is None:  # the job stopped while this request waited for its turn
                groups.appendleft(group)
                continue
            verdict = decision.verdict
            if verdict is Verdict.SUCCESS:
                decided, silent = map_response(
                    self.endpoint,
                    group.items,
                    decision.body,
                    status_code=decision.status_code or 200,
                    maybe_landed=group.maybe_landed,
                    existing_is_success=self.existing_is_success,
                )
                outcomes += decided
                if silent:
                    group = _Group(silent, group.attempts, group.rate_limited, True)
                    missing = OutcomeError(
                        category="MISSING_RESULT",
                        message="HubSpot's answer had neither a result nor an error for this input",
                    )
                    outcomes += await self._retry_or_fail(group, Decision(Verdict.RETRY, error=missing), groups)
            elif verdict is Verdict.RETRY:
                group.maybe_landed = group.maybe_landed or decision.maybe_landed
                outcomes += await self._retry_or_fail(group, decision, groups)
            elif verdict is Verdict.RATE_LIMITED:
                self._counters.rate_limited += 1
                group.rate_limited += 1
                if self.runtime.limiter is not None:
                    await self.runtime.limiter.on_rate_limited(decision.delay)
                else:  # no limiter to pause the senders: back off this batch
                    delay = decision.delay
                    if delay is None:
                        delay = backoff_delay(group.rate_limited, policy, self.runtime.rng)
                    await asyncio.sleep(delay)
                if group.rate_limited > policy.max_rate_limited:
                    outcomes += self._failed(group.items, decision.error, "rate limited on every retry")
                else:
                    self._counters.retries += 1
                    groups.appendleft(group)
            elif verdict is Verdict.DAILY_LIMIT:
                error = decision.error or OutcomeError(category="DAILY_LIMIT", message="daily limit reached")
                self._halt("the account's daily request limit is reached", DailyLimitError, error)
                outcomes += self._not_sent(
                    group.items, "DAILY_LIMIT", f"not sent: daily request limit reached ({error.message})"
                )
            elif verdict in (Verdict.AUTH, Verdict.SCOPES):
                assert decision.error is not None
                if verdict is Verdict.AUTH and not group.renewed:
                    if await self._renew(group.token):
                        group.renewed = True
                        self._counters.retries += 1
                        groups.appendleft(group)
                        continue
                    if self._stop is not None:  # the refresh itself failed: nothing of this batch landed
                        groups.appendleft(group)
                        continue
                self._halt_auth(verdict, decision.error)
                outcomes += self._failed(group.items, decision.error, "")
            elif verdict is Verdict.SPLIT:
                assert decision.error is not None
                existing = self._named_as_existing(group, decision)
                if existing:
                    # "Already exists" for ids an earlier attempt of ours may have created:
                    # those are done; send the rest again as one batch (no split needed).
                    outcomes += self._created_earlier(i for i in group.items if i.index in existing)
                    rest = [i for i in group.items if i.index not in existing]
                    if rest:
                        groups.appendleft(_Group(rest, group.attempts, group.rate_limited, group.maybe_landed))
                elif len(group.items) == 1:
                    outcomes += self._single_rejection(group, decision)
                elif split_budget >= 2:
                    split_budget -= 2
                    self._counters.splits += 1
                    half = len(group.items) // 2
                    groups.appendleft(_Group(group.items[half:], 0, group.rate_limited, group.maybe_landed))
                    groups.appendleft(_Group(group.items[:half], 0, group.rate_limited, group.maybe_landed))
                else:
                    outcomes += self._failed(
                        group.items, decision.error, "rejected with its whole batch (not isolated)"
                    )
            else:
                assert decision.error is not None
                outcomes += self._failed(group.items, decision.error, "")
        return outcomes

    def _named_as_existing(self, group: _Group, decision: Decision) -> set[int]:
        """Indexes of the group's items a whole-batch "already exists" names, when that means success."""
        if not self.endpoint.creates or not (group.maybe_landed or self.existing_is_success):
            return set()
        body = decision.body if isinstance(decision.body, Mapping) else {}
        assert decision.error is not None
        if not self.endpoint.is_already_exists(
            {**body, "category": decision.error.category, "message": decision.error.message}
        ):
            return set()
        context = body.get("context")
        ids = context.get("ids") if isinstance(context, Mapping) else None
        if not isinstance(ids, list):
            return set()
        named = {str(i) for i in ids}
        return {i.index for i in group.items if str(i.row.get("id")) in named}

    def _single_rejection(self, group: _Group, decision: Decision) -> list[Outcome]:
        assert decision.error is not None
        body = decision.body if isinstance(decision.body, Mapping) else {}
        item = group.items[0]
        if (
            self.endpoint.creates
            and self.endpoint.is_already_exists(
                {**body, "category": decision.error.category, "message": decision.error.message}
            )
            and (group.maybe_landed or self.existing_is_success)
        ):
            return self._created_earlier([item])
        return self._failed(group.items, decision.error, "")

    def _created_earlier(self, items: Iterable[Item]) -> list[Outcome]:
        """Successes for creates that an earlier, unanswered attempt of this job made."""
        parse = self.endpoint.parse_result
        return [Outcome(i.index, OutcomeStatus.SUCCEEDED, i.row, note=ALREADY_CREATED_NOTE, parse=parse) for i in items]

    async def _retry_or_fail(self, group: _Group, decision: Decision, groups: deque[_Group]) -> list[Outcome]:
        policy = self.runtime.retry
        group.attempts += 1
        if group.attempts >= policy.max_attempts:
            assert decision.error is not None
            note = f"gave up after {group.attempts} attempts"
            if group.maybe_landed:
                note += "; HubSpot may have applied it"
            return self._failed(
                group.items,
                attrs.evolve(
                    decision.error,
                    category="RETRIES_EXHAUSTED"
                    if decision.error.category in ("TRANSPORT_ERROR", "INVALID_RESPONSE")
                    else decision.error.category,
                ),
                note,
            )
        delay = (
            decision.delay if decision.delay is not None else backoff_delay(group.attempts, policy, self.runtime.rng)
        )
        self._counters.retries += 1
        reason = decision.error.message if decision.error else "retry"
        logger.info(
            "retrying %d %s input(s) in %.2fs (attempt %d): %s",
            len(group.items),
            self.endpoint.name,
            delay,
            group.attempts + 1,
            reason,
        )
        await asyncio.sleep(delay)
        groups.appendleft(group)
        return []

    async def _renew(self, rejected: str | None) -> bool:
        """After a 401: get a new token (single-flight in the provider); stop the job if that fails."""
        try:
            return await self.runtime.credentials.renew(self.runtime.http, rejected)
        except AuthRefreshError as error:
            self._stop_with(str(error), error)
            return False

    async def _exchange(self, group: _Group) -> Decision | None:
        runtime = self.runtime
        body = b'{"inputs":[' + b",".join([item.body for item in group.items]) + b"]}"
        loop = asyncio.get_running_loop()
        async with runtime.semaphore:
            reservation: Reservation | None = None
            if runtime.limiter is not None:
                try:
                    reservation = await runtime.limiter.reserve()
                except HubSpotBatchError as error:  # a shared limiter that is unreachable, with policy "fail"
                    self._stop_with(f"the rate limiter is unavailable: {error}", error)
                    return None
                if reservation.delay > 0:
                    await asyncio.sleep(reservation.delay)
            ready = loop.time()
            if self._stop is not None:
                return None
            try:
                headers, params, group.token = await runtime.credentials.for_request(
                    runtime.http, developer_key_allowed=self.endpoint.developer_key
                )
            except AuthRefreshError as error:
                self._stop_with(str(error), error)
                return None
            headers["Content-Type"] = "application/json"
            self._counters.requests += 1
            status: int | None = None
            response_headers: Mapping[str, str] = {}
            content = b""
            exc: Exception | None = None
            written: list[float] = []

            async def trace(event: str, info: Mapping[str, Any]) -> None:
                # httpcore reports when the request really starts going out
                # (after any connect / TLS handshake): book the send then.
                if not written and event.endswith("send_request_headers.started"):
                    written.append(loop.time())

            try:
                answer = await runtime.post(self._url(), content=body, headers=headers, params=params, trace=trace)
                status, response_headers, content = answer.status, answer.headers, answer.content
            except httpx.RequestError as error:
                exc = error
        if self._counters.deprecated is None and _DEPRECATED in response_headers:
            self._deprecated(response_headers[_DEPRECATED])
        if runtime.limiter is not None and reservation is not None:
            if written and written[0] > ready:
                await runtime.limiter.confirm(reservation, written[0] - ready)
            if status is not None:
                await runtime.limiter.observe(reservation, RateLimitHeaders.parse(response_headers))
        decision = classify(
            status=status,
            headers=response_headers,
            content=content,
            exc=exc,
            policy=runtime.retry,
            now_wall=time.time(),
        )
        if decision.error is not None and decision.verdict is not Verdict.SUCCESS:
            logger.debug(
                "POST %s -> %s (%d inputs): %s",
                self.path,
                status or type(exc).__name__,
                len(group.items),
                decision.error.message,
            )
        return decision

    def _deprecated(self, value: str) -> None:
        """HubSpot flagged this endpoint as deprecated: say so once per job, and keep it in the stats."""
        self._counters.deprecated = value or "true"
        info = lifecycle(self.endpoint.version)
        move = f"; move to API version {info.replacement}" if info.replacement else ""
        logging.getLogger("hubspot_batch.versions").warning(
            "%s %s: HubSpot answers that this API version is deprecated (X-HubSpot-API-Deprecated: %s)%s",
            self.endpoint.name,
            self.endpoint.version,
            value,
            move,
        )

    def _url(self) -> httpx.URL:
        """The absolute URL of this job's endpoint (joined once: httpx would parse it on every request)."""
        url = self._absolute_url
        if url is None:
            base = self.runtime.http.base_url
            url = self._absolute_url = base.copy_with(
                raw_path=base.raw_path + httpx.URL(self.path).raw_path.lstrip(b"/")
            )
        return url

    # ---- stopping and outcomes

    def _halt(self, reason: str, kind: type[HubSpotBatchError], error: OutcomeError) -> None:
        if self._stop is None:
            exc = kind(  # type: ignore[call-arg]
                f"{reason}: {error.message}",
                status_code=error.status_code,
                category=error.category,
                correlation_id=error.correlation_id,
                context=error.context,
            )
            self._stop = _Stop(reason, exc)
            logger.error("stopping %s job: %s", self.endpoint.name, reason)

    def _stop_with(self, reason: str, error: HubSpotBatchError) -> None:
        if self._stop is None:
            self._stop = _Stop(reason, error)
            logger.error("stopping %s job: %s", self.endpoint.name, reason)

    def _halt_auth(self, verdict: Verdict, error: OutcomeError) -> None:
        if self._stop is not None:
            return
        common: dict[str, Any] = {
            "status_code": error.status_code,
            "category": error.category,
            "correlation_id": error.correlation_id,
            "context": error.context,
        }
        exc: HubSpotBatchError
        if verdict is Verdict.AUTH:
            reason = "HubSpot rejected the credentials (401)"
            exc = AuthenticationError(f"{reason}: {error.message}", **common)
        else:
            scopes = missing_scopes(error.context, error.message)
            named = f"; missing scopes: {', '.join(scopes)}" if scopes else ""
            reason = f"the token lacks a scope this endpoint needs ({self.endpoint.scope}){named}"
            exc = MissingScopesError(
                f"403: {reason}: {error.message}",
                missing_scopes=scopes,
                required_scope=self.endpoint.required_scope,
                **common,
            )
        self._stop = _Stop(reason, exc)
        logger.error("stopping %s job: %s", self.endpoint.name, reason)

    def _failed(self, items: Iterable[Item], error: OutcomeError | None, note: str) -> list[Outcome]:
        error = error or OutcomeError(category="UNKNOWN", message="failed")
        return [Outcome(i.index, OutcomeStatus.FAILED, i.row, error=error, note=note or None) for i in items]

    def _not_sent(self, items: Iterable[Item], category: str, reason: str) -> list[Outcome]:
        error = OutcomeError(category=category, message=reason)
        return [Outcome(i.index, OutcomeStatus.NOT_SENT, i.row, error=error) for i in items]

    def _count(self, outcomes: Iterable[Outcome]) -> None:
        c = self._counters
        for outcome in outcomes:
            if outcome.status is OutcomeStatus.SUCCEEDED:
                c.succeeded += 1
            elif outcome.status is OutcomeStatus.FAILED:
                c.failed += 1
            else:
                c.not_sent += 1

    def _report_progress(self) -> None:
        assert self.progress is not None
        c = self._counters
        snapshot = Progress(
            done=c.succeeded + c.failed + c.not_sent,
            succeeded=c.succeeded,
            failed=c.failed,
            not_sent=c.not_sent,
            total=self.total,
            stats=self.stats(),
        )
        try:
            self.progress(snapshot)
        except Exception:
            logger.exception("the progress callback raised; ignoring it")

    def result(self, outcomes: list[Outcome]) -> BatchResult:
        """A :class:`BatchResult` of these outcomes, with this job's statistics and stop reason so far."""
        stop = self._stop
        return BatchResult(
            tuple(outcomes),
            stats=self.stats(),
            stopped_by=stop.reason if stop else None,
            error=stop.error if stop else None,
            api_version=self.endpoint.version,
        )


# --------------------------------------------------------------------------- sources


BLOCK = 100
"""Rows prepared per step of the source (one await per block, not per row)."""


async def prepared_source(
    endpoint: Endpoint, rows: Iterable[Any] | AsyncIterable[Any], job_id: str, on_invalid: OnInvalid
) -> AsyncIterator[list[Item | Outcome]]:
    """Prepare rows lazily from a sync or async iterable, in blocks of :data:`BLOCK`.

    An invalid row raises :class:`InputValidationError` (``on_invalid="raise"``)
    or becomes a failed outcome (``"skip"``). When reading or checking fails,
    the rows prepared before it are yielded first, then the error is raised.
    """
    block: list[Item | Outcome] = []
    index = 0
    prepare = row_preparer(endpoint, job_id)
    try:
        if isinstance(rows, AsyncIterable):
            async for row in rows:
                prepared = prepare(index, row)
                block.append(prepared if isinstance(prepared, Item) else _invalid(index, row, prepared, on_invalid))
                index += 1
                if len(block) >= BLOCK:
                    yield block
                    block = []
        else:
            for row in rows:
                prepared = prepare(index, row)
                block.append(prepared if isinstance(prepared, Item) else _invalid(index, row, prepared, on_invalid))
                index += 1
                if len(block) >= BLOCK:
                    yield block
                    block = []
    except Exception:
        if block:
            yield block
        raise
    if block:
        yield block


def _invalid(index: int, row: Any, issues: list[InputIssue], on_invalid: OnInvalid) -> Outcome:
    """An invalid row: raise its issues, or make them its failed outcome (``on_invalid="skip"``)."""
    if on_invalid == "raise":
        raise InputValidationError(issues)
    return invalid_outcome(index, row, issues)


def check_all(endpoint: Endpoint, rows: Iterable[Any], job_id: str) -> list[InputIssue]:
    """Every problem in ``rows``, found as :func:`row_preparer` would find them, keeping nothing.

    A row the endpoint's compiled schema passes is only encoded (a lone
    surrogate is the one problem left to find; ids the client fills in
    cannot add one); any other row takes the full way. What passes here
    passes again when the rows are prepared to be sent.
    """
    passes = endpoint.checker().passes
    encode = _json.encode_plain
    extra_check = endpoint.extra_check
    issues: list[InputIssue] = []
    for index, row in enumerate(rows):
        if type(row) is dict and passes(row) and _plain_json(row, extra_check, encode) is not None:
            continue
        prepared = prepare_row(endpoint, index, row, job_id)
        if not isinstance(prepared, Item):
            issues.extend(prepared)
    return issues
