"""Namespaces that read like the API: ``hs.communications.update(rows)`` and friends.

Each endpoint has a blocking and an asyncio namespace. Both are thin: they
name the endpoint and its options and hand the rows to the client's core.
Rows may be dicts or the generated input models, from any iterable (the
asyncio face also takes async iterables).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ._endpoints import ApiVersion, EndpointName
from ._engine import OnInvalid
from ._errors import InputIssue
from ._ids import IdFrom
from ._plan import JobPlan
from ._results import BatchResult

if TYPE_CHECKING:
    from ._client import _Core

__all__ = [
    "AsyncCommunications",
    "AsyncSubscriptionStatuses",
    "AsyncTimelineEvents",
    "AsyncWebhookSubscriptions",
    "Communications",
    "SubscriptionStatuses",
    "TimelineEvents",
    "WebhookSubscriptions",
]

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, Any]], Any]
Iterate = Callable[[AsyncGenerator[BatchResult, None]], Iterator[BatchResult]]


class _Checks:
    _core: _Core
    _name: EndpointName

    def validate(
        self, rows: Iterable[Any], *, api_version: ApiVersion | None = None, id_from: IdFrom | None = None
    ) -> tuple[InputIssue, ...]:
        """Check rows against the endpoint's schema without sending anything.

        Returns every problem found (each names the row's index and the
        field); an empty tuple means every row would be sent as it is.
        ``id_from`` (timeline events): also check that every row has the
        fields its id is derived from.
        """
        return self._core.validate(self._name, rows, api_version, id_from)


class _Sync(_Checks):
    def __init__(self, core: _Core, run: Runner, iterate: Iterate) -> None:
        self._core = core
        self._run = run
        self._iterate = iterate

    def _call(self, name: EndpointName, rows: Iterable[Any], on_invalid: OnInvalid | None, **job: Any) -> BatchResult:
        result: BatchResult = self._run(self._core.collect(self._core.job(name, **job), rows, on_invalid))
        return result

    def _call_iter(
        self, name: EndpointName, rows: Iterable[Any], on_invalid: OnInvalid | None, **job: Any
    ) -> Iterator[BatchResult]:
        return self._iterate(self._core.stream(self._core.job(name, **job), rows, on_invalid))

    def plan(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        app_id: int | None = None,
        id_from: IdFrom | None = None,
    ) -> JobPlan:
        """What sending ``rows`` would take — rows, invalid, unchanged, requests, daily share, time — sending nothing.

        Only HubSpot's daily-usage endpoint is asked (with a private-app token), for the day's figures.
        ``app_id``: the app, for webhook subscriptions.
        """
        plan: JobPlan = self._run(self._core.plan(self._name, rows, api_version, batch_size, app_id, id_from))
        return plan


class _Async(_Checks):
    def __init__(self, core: _Core) -> None:
        self._core = core

    async def _call(
        self, name: EndpointName, rows: Iterable[Any] | AsyncIterable[Any], on_invalid: OnInvalid | None, **job: Any
    ) -> BatchResult:
        return await self._core.collect(self._core.job(name, **job), rows, on_invalid)

    def _call_iter(
        self, name: EndpointName, rows: Iterable[Any] | AsyncIterable[Any], on_invalid: OnInvalid | None, **job: Any
    ) -> AsyncIterator[BatchResult]:
        return self._core.stream(self._core.job(name, **job), rows, on_invalid)

    async def plan(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        app_id: int | None = None,
        id_from: IdFrom | None = None,
    ) -> JobPlan:
        """What sending ``rows`` would take, sending nothing; see the blocking namespaces' ``plan``."""
        return await self._core.plan(self._name, rows, api_version, batch_size, app_id, id_from)


class Communications(_Sync):
    """CRM communications: ``POST /crm/v3/objects/communications/batch/update``."""

    _name: EndpointName = "communications"

    def update(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Update communications (``id``, ``properties``, optional ``idProperty``, ``objectWriteTraceId``).

        Every row is checked first; nothing is sent if one is invalid (unless
        ``on_invalid="skip"``). Returns one outcome per row, in input order.
        """
        return self._call("communications", rows, on_invalid, api_version=api_version, batch_size=batch_size)

    def update_iter(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> Iterator[BatchResult]:
        """Like :meth:`update`, streaming: yields results part by part as batches finish, in input order."""
        return self._call_iter("communications", rows, on_invalid, api_version=api_version, batch_size=batch_size)


class AsyncCommunications(_Async):
    """CRM communications: ``POST /crm/v3/objects/communications/batch/update``."""

    _name: EndpointName = "communications"

    async def update(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Update communications; see :meth:`Communications.update`."""
        return await self._call("communications", rows, on_invalid, api_version=api_version, batch_size=batch_size)

    def update_iter(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> AsyncIterator[BatchResult]:
        """Stream results part by part; see :meth:`Communications.update_iter`."""
        return self._call_iter("communications", rows, on_invalid, api_version=api_version, batch_size=batch_size)


class WebhookSubscriptions(_Sync):
    """Webhook subscriptions of an app: ``POST /webhooks/{v3|2026-03}/{appId}/subscriptions/batch/update``."""

    _name: EndpointName = "webhook_subscriptions"

    def update_subscriptions(
        self,
        app_id: int,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Turn subscriptions on or off (rows: ``id`` int, ``active`` bool) for app ``app_id``."""
        params = {"appId": _app_id(app_id)}
        return self._call(
            "webhook_subscriptions",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            path_params=params,
        )

    def update_subscriptions_iter(
        self,
        app_id: int,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> Iterator[BatchResult]:
        """Like :meth:`update_subscriptions`, streaming."""
        params = {"appId": _app_id(app_id)}
        return self._call_iter(
            "webhook_subscriptions",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            path_params=params,
        )


class AsyncWebhookSubscriptions(_Async):
    """Webhook subscriptions of an app: ``POST /webhooks/{v3|2026-03}/{appId}/subscriptions/batch/update``."""

    _name: EndpointName = "webhook_subscriptions"

    async def update_subscriptions(
        self,
        app_id: int,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Turn subscriptions on or off; see :meth:`WebhookSubscriptions.update_subscriptions`."""
        params = {"appId": _app_id(app_id)}
        return await self._call(
            "webhook_subscriptions",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            path_params=params,
        )

    def update_subscriptions_iter(
        self,
        app_id: int,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> AsyncIterator[BatchResult]:
        """Stream results part by part."""
        params = {"appId": _app_id(app_id)}
        return self._call_iter(
            "webhook_subscriptions",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            path_params=params,
        )


class SubscriptionStatuses(_Sync):
    """Communication preferences: ``POST /communication-preferences/v4/statuses/batch/write``."""

    _name: EndpointName = "subscription_statuses"

    def write(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Write subscription statuses (``subscriberIdString`` email, ``subscriptionId``, ``statusState``, ``channel``).

        HubSpot reports per-row failures inside a 200; each becomes that row's failed outcome.
        """
        return self._call("subscription_statuses", rows, on_invalid, api_version=api_version, batch_size=batch_size)

    def write_iter(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> Iterator[BatchResult]:
        """Like :meth:`write`, streaming."""
        return self._call_iter(
            "subscription_statuses", rows, on_invalid, api_version=api_version, batch_size=batch_size
        )


class AsyncSubscriptionStatuses(_Async):
    """Communication preferences: ``POST /communication-preferences/v4/statuses/batch/write``."""

    _name: EndpointName = "subscription_statuses"

    async def write(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> BatchResult:
        """Write subscription statuses; see :meth:`SubscriptionStatuses.write`."""
        return await self._call(
            "subscription_statuses", rows, on_invalid, api_version=api_version, batch_size=batch_size
        )

    def write_iter(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
    ) -> AsyncIterator[BatchResult]:
        """Stream results part by part."""
        return self._call_iter(
            "subscription_statuses", rows, on_invalid, api_version=api_version, batch_size=batch_size
        )


class TimelineEvents(_Sync):
    """Timeline events: ``POST /integrators/timeline/v3/events/batch/create``."""

    _name: EndpointName = "timeline_events"

    def create_events(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
        existing_is_success: bool = False,
        id_from: IdFrom | None = None,
    ) -> BatchResult:
        """Create timeline events (``eventTemplateId``, ``tokens``, one of ``objectId``/``email``/``utk``...).

        Each row without an ``id`` gets a UUID before the first attempt, so a
        retry after a lost answer never creates an event twice. "Already
        exists" for an id an earlier attempt of this call sent counts as
        success; pass ``existing_is_success=True`` to count it as success for
        every id (for example when resuming a job whose ids you kept).

        ``id_from``: field names (``["objectId", "eventTemplateId",
        "timestamp"]``) or a callable returning a string: rows without an
        ``id`` get a UUID5 of those values (namespaced by the endpoint and the
        template or event type), so the same input run twice creates each
        event once; the second run reports them succeeded (already existed).
        A row missing a named field is an input error naming it.
        """
        return self._call(
            "timeline_events",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            existing_is_success=existing_is_success,
            id_from=id_from,
        )

    def create_events_iter(
        self,
        rows: Iterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
        existing_is_success: bool = False,
        id_from: IdFrom | None = None,
    ) -> Iterator[BatchResult]:
        """Like :meth:`create_events`, streaming."""
        return self._call_iter(
            "timeline_events",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            existing_is_success=existing_is_success,
            id_from=id_from,
        )


class AsyncTimelineEvents(_Async):
    """Timeline events: ``POST /integrators/timeline/v3/events/batch/create``."""

    _name: EndpointName = "timeline_events"

    async def create_events(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
        existing_is_success: bool = False,
        id_from: IdFrom | None = None,
    ) -> BatchResult:
        """Create timeline events; see :meth:`TimelineEvents.create_events`."""
        return await self._call(
            "timeline_events",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            existing_is_success=existing_is_success,
            id_from=id_from,
        )

    def create_events_iter(
        self,
        rows: Iterable[Any] | AsyncIterable[Any],
        *,
        api_version: ApiVersion | None = None,
        batch_size: int | None = None,
        on_invalid: OnInvalid | None = None,
        existing_is_success: bool = False,
        id_from: IdFrom | None = None,
    ) -> AsyncIterator[BatchResult]:
        """Stream results part by part."""
        return self._call_iter(
            "timeline_events",
            rows,
            on_invalid,
            api_version=api_version,
            batch_size=batch_size,
            existing_is_success=existing_is_success,
            id_from=id_from,
        )


def _app_id(app_id: Any) -> int:
    from ._errors import ConfigurationError

    if isinstance(app_id, bool) or not isinstance(app_id, int) or not 0 < app_id < 2**31:
        raise ConfigurationError(f"app_id must be a positive 32-bit integer, got {app_id!r}")
    return app_id
