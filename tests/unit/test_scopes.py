from __future__ import annotations

import pytest
from hubspot_batch._scopes import missing_scopes


@pytest.mark.parametrize(
    ("context", "message", "expected"),
    [
        ({"missingScopes": ["a", "b"]}, "", ("a", "b")),
        ({"requiredGranularScopes": ["crm.objects.contacts.write"]}, "", ("crm.objects.contacts.write",)),
        ("{missingScopes=[scope1, scope2]}", "", ("scope1", "scope2")),
        (None, "This app hasn't been granted all required scopes; missingScopes=[timeline]", ("timeline",)),
        ({"other": ["x"]}, "no scopes here", ()),
    ],
)
def test_missing_scopes_in_every_shape(context: object, message: str, expected: tuple[str, ...]) -> None:
    assert missing_scopes(context, message) == expected
