"""Read the scopes a 403 says are missing, in whichever shape HubSpot sends them.

HubSpot puts them in the error's ``context``: sometimes an object
(``{"missingScopes": ["a", "b"]}`` or ``{"requiredGranularScopes": [...]}``),
sometimes a string such as ``"{missingScopes=[a, b]}"``, and sometimes only in
the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["missing_scopes"]

_KEYS = ("missingScopes", "requiredGranularScopes", "requiredScopes", "scopes")
_IN_TEXT = re.compile(r"(?:missingScopes|requiredGranularScopes|requiredScopes)\s*[=:]\s*\[([^\]]*)\]", re.IGNORECASE)


def _from_text(text: str) -> list[str]:
    found: list[str] = []
    for group in _IN_TEXT.findall(text):
        found += [s.strip().strip("\"'") for s in group.split(",") if s.strip().strip("\"'")]
    return found


def missing_scopes(context: Any, message: str = "") -> tuple[str, ...]:
    """The scope names a 403 error names, in order, without duplicates."""
    found: list[str] = []
    if isinstance(context, Mapping):
        for key in _KEYS:
            value = context.get(key)
            if isinstance(value, list):
                found += [str(v) for v in value]
            elif isinstance(value, str):
                found += _from_text(f"{key}={value}") or [value]
    elif isinstance(context, str):
        found += _from_text(context)
    if not found and message:
        found += _from_text(message)
    return tuple(dict.fromkeys(s for s in found if s))
