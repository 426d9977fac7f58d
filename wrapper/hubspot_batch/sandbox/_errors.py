"""HubSpot-shaped error bodies and the whole-batch rejection exception."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "BatchRejected",
    "dump_json",
    "duplicate_ids_error",
    "error_body",
    "html_error_page",
    "java_list",
    "new_correlation_id",
    "validation_error",
]


def new_correlation_id() -> str:
    """A fresh correlation id (a random UUID, as HubSpot uses)."""
    return str(uuid.uuid4())


def dump_json(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def java_list(items: Iterable[object]) -> str:
    """Format like Java's ``List.toString``: ``[a, b]``."""
    return "[" + ", ".join(str(i) for i in items) + "]"


def error_body(
    message: str,
    category: str,
    *,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A top-level HubSpot error: ``status``, ``message``, ``correlationId``, ``category``."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": new_correlation_id(),
    }
    if context is not None:
        body["context"] = context
    body.update(extra)
    body["category"] = category
    return body


def html_error_page(status: int, reason: str) -> bytes:
    """The HTML page an edge proxy answers with for a 5xx."""
    return (
        f"<html><head><title>{status} {reason}</title></head>"
        f"<body><h1>{status} {reason}</h1><p>The server encountered a temporary error "
        f"and could not complete your request.</p></body></html>"
    ).encode()


class BatchRejected(Exception):
    """Raised by endpoint logic to reject the whole batch with ``status`` and ``body``."""

    def __init__(self, body: dict[str, Any], status: int = 400) -> None:
        """Keep the error body and status for the app to answer with."""
        super().__init__(body.get("message", ""))
        self.body = body
        self.status = status


def validation_error(message: str, *, context: dict[str, Any] | None = None) -> BatchRejected:
    """A whole-batch 400 ``VALIDATION_ERROR``."""
    return BatchRejected(error_body(message, "VALIDATION_ERROR", context=context))


def duplicate_ids_error(duplicates: Sequence[str]) -> BatchRejected:
    """HubSpot's whole-batch 400 for ids repeated inside one batch."""
    return validation_error(
        f"Duplicate IDs found in batch input: {java_list(duplicates)}. IDs must be unique",
        context={"ids": list(duplicates)},
    )
