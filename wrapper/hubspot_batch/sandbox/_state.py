"""SandboxState: the thread-safe store behind the simulated endpoints, and its counters."""

from __future__ import annotations

import threading
import types
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._config import ENDPOINTS

__all__ = [
    "ApplicationKey",
    "SandboxState",
    "SandboxStats",
    "StatusWrite",
    "StoredCommunication",
    "StoredStatus",
    "StoredSubscription",
]


#: What ``SandboxState.applications`` counts by: a communication id (``"12"``), a webhook
#: subscription ``(app_id, id)``, a status ``(email lower-cased, subscription_id)``, or a
#: timeline event ``(eventTemplateId or eventTypeName, id)``.
ApplicationKey = str | tuple[int, int] | tuple[str, int] | tuple[str, str]


def _ro(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class StoredCommunication:
    """A communication as stored (a copy)."""

    id: str
    properties: Mapping[str, str] = attrs.field(converter=_ro, hash=False)
    created_at: str
    updated_at: str
    archived: bool = False


@attrs.frozen
class StoredSubscription:
    """A webhook subscription of one app as stored (a copy)."""

    app_id: int
    id: int
    active: bool
    created_at: str
    updated_at: str


@attrs.frozen
class StoredStatus:
    """A subscription status of one subscriber as stored (a copy)."""

    subscriber_id: str
    subscription_id: int
    status: str
    channel: str
    timestamp: str
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None


@attrs.frozen
class StatusWrite:
    """One status-write input, already validated."""

    subscriber_id: str
    subscription_id: int
    status: str
    channel: str
    legal_basis: str | None
    legal_basis_explanation: str | None


@attrs.frozen
class SandboxStats:
    """A frozen snapshot of the sandbox counters.

    - ``requests``: every request handed to the app.
    - ``responses_by_status``: answers actually produced, by HTTP status.
    - ``dropped``: connections closed without an answer (both drop kinds).
    - ``faults``: injected faults by kind (``drop_before``, ``error_5xx``,
      ``drop_after``, ``truncated``, ``non_json``, ``stall``).
    - ``rate_limited``: 429s by policy (``TEN_SECONDLY_ROLLING``, ``DAILY``).
    - ``effects``: inputs applied per endpoint (``webhooks``, ``communications``,
      ``statuses``, ``timeline``); ``batches_applied``: batches that applied >= 1 input.
    - ``timeline_create_attempts``: create attempts per ``(eventTemplateId, id)``;
      ``timeline_duplicates_rejected``: attempts refused because the event existed.
    - ``token_refreshes``: access tokens issued by the OAuth token endpoint.
    """

    requests: int
    responses_by_status: Mapping[int, int] = attrs.field(converter=_ro, hash=False)
    dropped: int
    faults: Mapping[str, int] = attrs.field(converter=_ro, hash=False)
    rate_limited: Mapping[str, int] = attrs.field(converter=_ro, hash=False)
    effects: Mapping[str, int] = attrs.field(converter=_ro, hash=False)
    batches_applied: Mapping[str, int] = attrs.field(converter=_ro, hash=False)
    timeline_create_attempts: Mapping[tuple[str, str], int] = attrs.field(converter=_ro, hash=False)
    timeline_duplicates_rejected: int
    token_refreshes: int = 0


@attrs.define
class _Communication:
    properties: dict[str, str]
    created_at: str
    updated_at: str


@attrs.define
class _Subscription:
    active: bool
    created_at: str
    updated_at: str


class SandboxState:
    """Everything the sandbox remembers, guarded by one lock.

    Read methods return copies. The mutating methods are called by the app,
    one call per batch, so each batch is applied atomically.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        self._communications: dict[str, _Communication] = {}
        self._subscriptions: dict[tuple[int, int], _Subscription] = {}
        self._statuses: dict[tuple[str, int], StoredStatus] = {}
        self._timeline: dict[tuple[str, str], dict[str, Any]] = {}
        self._expired_tokens: set[str] = set()
        self._issued_tokens: dict[str, float] = {}
        self._token_refreshes = 0
        self._requests = 0
        self._responses: Counter[int] = Counter()
        self._dropped = 0
        self._faults: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._effects: Counter[str] = Counter()
        self._batches: Counter[str] = Counter()
        self._timeline_attempts: Counter[tuple[str, str]] = Counter()
        self._timeline_duplicates = 0
        self._revoked_tokens: set[str] = set()
        self._applications: dict[str, Counter[ApplicationKey]] = {name: Counter() for name in ENDPOINTS}

    # ------------------------------------------------------------------ reads

    def communication(self, object_id: str) -> StoredCommunication | None:
        """The stored communication, or None if it was never touched."""
        with self._lock:
            rec = self._communications.get(str(object_id))
            if rec is None:
                return None
            return StoredCommunication(str(object_id), rec.properties, rec.created_at, rec.updated_at)

    def subscription(self, app_id: int, subscription_id: int) -> StoredSubscription | None:
        """The stored webhook subscription, or None if it was never touched."""
        with self._lock:
            rec = self._subscriptions.get((app_id, subscription_id))
            if rec is None:
                return None
            return StoredSubscription(app_id, subscription_id, rec.active, rec.created_at, rec.updated_at)

    def status(self, subscriber_id: str, subscription_id: int) -> StoredStatus | None:
        """The stored status for a subscriber (case-insensitive) and subscription."""
        with self._lock:
            return self._statuses.get((subscriber_id.lower(), subscription_id))

    def timeline_event(self, event_template_id: str, event_id: str) -> Mapping[str, Any] | None:
        """The stored timeline event (as answered at creation), or None."""
        with self._lock:
            event = self._timeline.get((event_template_id, event_id))
            return None if event is None else types.MappingProxyType(dict(event))

    @property
    def timeline_events(self) -> Mapping[tuple[str, str], Mapping[str, Any]]:
        """All stored timeline events keyed by ``(eventTemplateId, id)``."""
        with self._lock:
            return types.MappingProxyType({k: types.MappingProxyType(dict(v)) for k, v in self._timeline.items()})

    def stats(self) -> SandboxStats:
        """A frozen snapshot of every counter."""
        with self._lock:
            return SandboxStats(
                requests=self._requests,
                responses_by_status=self._responses,
                dropped=self._dropped,
                faults=self._faults,
                rate_limited=self._rate_limited,
                effects=self._effects,
                batches_applied=self._batches,
                timeline_create_attempts=self._timeline_attempts,
                timeline_duplicates_rejected=self._timeline_duplicates,
                token_refreshes=self._token_refreshes,
            )

    def applications(self, endpoint: str) -> Mapping[ApplicationKey, int]:
        """How many times each key was applied at ``endpoint`` (a copy; keys never applied are absent).

        ``endpoint`` is one of ``ENDPOINTS``. Keys: communications the id
        (``"12"``); webhooks ``(app_id, subscription_id)``; statuses
        ``(email lower-cased, subscription_id)``; timeline ``(eventTemplateId
        or eventTypeName, id)``. Every input the endpoint applied counts once
        (a status written again with the same value, a subscription set to
        the ``active`` it had, too); inputs refused (missing ids, a timeline
        event that already exists, a batch rejected or faulted before the
        effect) do not. The values sum to ``stats().effects[endpoint]``;
        "every row applied exactly once" is ``set(apps) == expected_keys and
        set(apps.values()) == {1}``.
        """
        if endpoint not in self._applications:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {list(ENDPOINTS)}")
        with self._lock:
            return types.MappingProxyType(dict(self._applications[endpoint]))

    # ----------------------------------------------------------------- tokens

    def revoke_token(self, token: str) -> None:
        """Make ``token`` answer 401 ``INVALID_AUTHENTICATION`` from now on (as a deleted or rotated token)."""
        with self._lock:
            self._revoked_tokens.add(token)

    def is_token_revoked(self, token: str) -> bool:
        """Whether ``revoke_token`` was called for ``token``."""
        with self._lock:
            return token in self._revoked_tokens

    def expire_token(self, token: str) -> None:
        """Make ``token`` answer 401 ``EXPIRED_AUTHENTICATION`` from now on."""
        with self._lock:
            self._expired_tokens.add(token)

    def issue_token(self, token: str, expires_at: float) -> None:
        """Record an access token issued by the OAuth token endpoint (valid until ``expires_at``)."""
        with self._lock:
            self._issued_tokens[token] = expires_at
            self._token_refreshes += 1

    def expire_issued_tokens(self) -> int:
        """Expire every access token the token endpoint issued so far (they answer 401 from now on)."""
        with self._lock:
            self._expired_tokens.update(self._issued_tokens)
            return len(self._issued_tokens)

    def issued_token_expiry(self, token: str) -> float | None:
        """When an issued token expires (clock seconds), or None if the token endpoint did not issue it."""
        with self._lock:
            return self._issued_tokens.get(token)

    def is_token_expired(self, token: str) -> bool:
        """Whether ``expire_token`` was called for ``token``."""
        with self._lock:
            return token in self._expired_tokens

    # --------------------------------------------------------------- counters

    def record_request(self) -> None:
        """Count one request handed to the app."""
        with self._lock:
            self._requests += 1

    def record_response(self, status: int) -> None:
        """Count one answer sent with ``status``."""
        with self._lock:
            self._responses[status] += 1

    def record_dropped(self) -> None:
        """Count one connection closed without an answer."""
        with self._lock:
            self._dropped += 1

    def record_fault(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        with self._lock:
            self._faults[kind] += 1

    def record_rate_limited(self, policy: str) -> None:
        """Count one 429 for ``policy``."""
        with self._lock:
            self._rate_limited[policy] += 1

    def _applied(self, endpoint: str, keys: Sequence[ApplicationKey]) -> None:
        # Called under the lock, once per batch, with the key of every input applied.
        self._effects[endpoint] += len(keys)
        if keys:
            self._batches[endpoint] += 1
            self._applications[endpoint].update(keys)

    # --------------------------------------------------------------- mutation

    def update_communications(
        self, updates: Sequence[tuple[str, Mapping[str, str]]], now: str
    ) -> list[StoredCommunication]:
        """Apply property updates to (existing) communications, creating records lazily."""
        out: list[StoredCommunication] = []
        with self._lock:
            for object_id, props in updates:
                rec = self._communications.get(object_id)
                if rec is None:
                    rec = _Communication({"hs_object_id": object_id, "hs_createdate": now}, now, now)
                    self._communications[object_id] = rec
                rec.properties.update(props)
                rec.properties["hs_lastmodifieddate"] = now
                rec.updated_at = now
                out.append(StoredCommunication(object_id, rec.properties, rec.created_at, now))
            self._applied("communications", [object_id for object_id, _ in updates])
        return out

    def update_subscriptions(
        self, app_id: int, updates: Sequence[tuple[int, bool]], now: str
    ) -> list[StoredSubscription]:
        """Set ``active`` on (existing) subscriptions of ``app_id``, creating records lazily."""
        out: list[StoredSubscription] = []
        with self._lock:
            for sub_id, active in updates:
                rec = self._subscriptions.get((app_id, sub_id))
                if rec is None:
                    rec = _Subscription(not active, now, now)
                    self._subscriptions[(app_id, sub_id)] = rec
                if rec.active != active:
                    rec.active = active
                    rec.updated_at = now
                out.append(StoredSubscription(app_id, sub_id, rec.active, rec.created_at, rec.updated_at))
            self._applied("webhooks", [(app_id, sub_id) for sub_id, _ in updates])
        return out

    def write_statuses(self, writes: Iterable[StatusWrite], now: str) -> list[tuple[StoredStatus, bool]]:
        """Store statuses in order; each result says whether the status changed."""
        out: list[tuple[StoredStatus, bool]] = []
        keys: list[ApplicationKey] = []
        with self._lock:
            for w in writes:
                key = (w.subscriber_id.lower(), w.subscription_id)
                prev = self._statuses.get(key)
                previous_status = "NOT_SPECIFIED" if prev is None else prev.status
                changed = previous_status != w.status
                stored = StoredStatus(
                    subscriber_id=w.subscriber_id,
                    subscription_id=w.subscription_id,
                    status=w.status,
                    channel=w.channel,
                    timestamp=now if changed or prev is None else prev.timestamp,
                    legal_basis=w.legal_basis,
                    legal_basis_explanation=w.legal_basis_explanation,
                )
                self._statuses[key] = stored
                out.append((stored, changed))
                keys.append(key)
            self._applied("statuses", keys)
        return out

    def create_timeline_events_atomically(
        self, events: Sequence[tuple[tuple[str, str], dict[str, Any]]]
    ) -> list[tuple[str, str]]:
        """Store every event, or none when any already exists; return the keys that existed."""
        with self._lock:
            existing = [key for key, _ in events if key in self._timeline]
            for key, _ in events:
                self._timeline_attempts[key] += 1
            if existing:
                self._timeline_duplicates += len(existing)
                return existing
            for key, event in events:
                self._timeline[key] = event
            self._applied("timeline", [key for key, _ in events])
        return []

    def create_timeline_events(self, events: Sequence[tuple[tuple[str, str], dict[str, Any]]]) -> list[bool]:
        """Store new events; for each, True if created, False if it already existed."""
        created: list[bool] = []
        applied: list[ApplicationKey] = []
        with self._lock:
            for key, event in events:
                self._timeline_attempts[key] += 1
                if key in self._timeline:
                    self._timeline_duplicates += 1
                    created.append(False)
                else:
                    self._timeline[key] = event
                    created.append(True)
                    applied.append(key)
            self._applied("timeline", applied)
        return created
