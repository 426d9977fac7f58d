"""POST /communication-preferences/v4/statuses/batch/write."""

from __future__ import annotations

import re
from typing import Any

from ._batch import INT64, EndpointContext, EndpointResult, opt_str, req_int, req_str
from ._errors import validation_error
from ._state import StatusWrite

__all__ = ["CHANNELS", "LEGAL_BASES", "STATUS_STATES", "write_statuses"]

STATUS_STATES = frozenset({"NOT_SPECIFIED", "SUBSCRIBED", "UNSUBSCRIBED"})
CHANNELS = frozenset({"EMAIL"})
LEGAL_BASES = frozenset(
    {
        "CONSENT_WITH_NOTICE",
        "LEGITIMATE_INTEREST_CLIENT",
        "LEGITIMATE_INTEREST_OTHER",
        "LEGITIMATE_INTEREST_PQL",
        "NON_GDPR",
        "PERFORMANCE_OF_CONTRACT",
        "PROCESS_AND_STORE",
    }
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _enum(item: dict[str, Any], key: str, index: int, allowed: frozenset[str]) -> str:
    value = item.get(key)
    if value not in allowed:
        raise validation_error(f"Invalid input: inputs[{index}].{key} must be one of {sorted(allowed)}, got {value!r}")
    assert isinstance(value, str)
    return value


def write_statuses(ctx: EndpointContext, inputs: list[dict[str, Any]]) -> EndpointResult:
    """Always 200; invalid emails and unknown subscriptions become entries in ``errors``."""
    writes: list[StatusWrite] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        subscriber = req_str(item, "subscriberIdString", index)
        subscription_id = req_int(item, "subscriptionId", index, INT64)
        state = _enum(item, "statusState", index, STATUS_STATES)
        channel = _enum(item, "channel", index, CHANNELS)
        legal_basis = item.get("legalBasis")
        if legal_basis is not None:
            legal_basis = _enum(item, "legalBasis", index, LEGAL_BASES)
        explanation = opt_str(item, "legalBasisExplanation", index)
        if not _EMAIL.match(subscriber):
            errors.append(
                {
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": f"Invalid email address: {subscriber}",
                    "context": {"subscriberIdString": [subscriber]},
                }
            )
        elif subscription_id <= 0 or str(subscription_id) in ctx.config.missing_ids:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Subscription {subscription_id} does not exist",
                    "context": {
                        "subscriptionIds": [str(subscription_id)],
                        "subscriberIdString": [subscriber],
                    },
                }
            )
        else:
            writes.append(StatusWrite(subscriber, subscription_id, state, channel, legal_basis, explanation))
    results: list[dict[str, Any]] = []
    for rec, changed in ctx.state.write_statuses(writes, ctx.now):
        result: dict[str, Any] = {
            "subscriberIdString": rec.subscriber_id,
            "subscriptionId": rec.subscription_id,
            "status": rec.status,
            "channel": rec.channel,
            "source": "API",
            "timestamp": rec.timestamp,
        }
        if rec.legal_basis is not None:
            result["legalBasis"] = rec.legal_basis
        if rec.legal_basis_explanation is not None:
            result["legalBasisExplanation"] = rec.legal_basis_explanation
        result["setStatusSuccessReason"] = "REQUESTED_CHANGE_OCCURRED" if changed else "NO_STATUS_CHANGE"
        result["subscriptionName"] = f"Subscription {rec.subscription_id}"
        result["businessUnitId"] = 0
        results.append(result)
    return EndpointResult(200, results, errors)
