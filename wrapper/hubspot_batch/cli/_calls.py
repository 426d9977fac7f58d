"""The library call behind each endpoint name, and a check of every row before anything is sent.

The library's streaming methods (``*_iter``) check rows as they read them,
so an invalid row late in a file would be found after earlier batches were
sent. :func:`check_rows` runs the library's ``validate`` on every row first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs

from hubspot_batch import BatchResult, HubSpotBatch, InputIssue

__all__ = ["Call", "check_rows", "stream"]

OnInvalid = Literal["raise", "skip"]


@attrs.frozen
class Call:
    """What to call: the endpoint name, for webhooks the app id, and the API version (``"latest"`` resolved)."""

    endpoint: str
    app_id: int | None = None
    api_version: str = "v3"
    id_from: tuple[str, ...] | None = None

    @property
    def job(self) -> str:
        """A name for the job, stored in the checkpoint (a checkpoint belongs to one job)."""
        if self.endpoint == "webhook-subscriptions":
            return f"{self.endpoint} app {self.app_id} {self.api_version}"
        return self.endpoint if self.api_version == "v3" else f"{self.endpoint} {self.api_version}"


def stream(
    hs: HubSpotBatch,
    call: Call,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_invalid: OnInvalid,
    existing_is_success: bool = False,
) -> Iterator[BatchResult]:
    """Send ``rows``; yield the library's result parts in input order."""
    if call.endpoint == "webhook-subscriptions":
        assert call.app_id is not None
        return hs.webhooks.update_subscriptions_iter(
            call.app_id, rows, api_version=call.api_version, on_invalid=on_invalid
        )
    version = call.api_version
    if call.endpoint == "communications":
        return hs.communications.update_iter(rows, api_version=version, on_invalid=on_invalid)
    if call.endpoint == "subscription-statuses":
        return hs.subscription_statuses.write_iter(rows, api_version=version, on_invalid=on_invalid)
    if call.endpoint == "timeline-events":
        return hs.timeline.create_events_iter(
            rows,
            api_version=version,
            on_invalid=on_invalid,
            existing_is_success=existing_is_success,
            id_from=call.id_from,
        )
    raise ValueError(f"unknown endpoint {call.endpoint!r}")


def check_rows(call: Call, rows: Sequence[Mapping[str, Any]]) -> tuple[InputIssue, ...]:
    """Every problem the library finds in ``rows`` (empty when all are valid); never sends anything."""
    with HubSpotBatch(access_token="validation-only", rate_limit=False) as hs:
        namespace: Any = {
            "webhook-subscriptions": hs.webhooks,
            "communications": hs.communications,
            "subscription-statuses": hs.subscription_statuses,
            "timeline-events": hs.timeline,
        }[call.endpoint]
        return tuple(namespace.validate(rows, api_version=call.api_version, id_from=call.id_from))
