"""Where the run goes and with which credentials: HubSpot, another URL, or the built-in sandbox.

Credentials come from ``HUBSPOT_ACCESS_TOKEN`` and ``HUBSPOT_DEVELOPER_API_KEY``
(or ``--access-token`` / ``--developer-api-key``, with a warning: secrets on a
command line end up in shell history and process lists), or for OAuth apps
from ``HUBSPOT_CLIENT_ID``, ``HUBSPOT_CLIENT_SECRET`` and
``HUBSPOT_REFRESH_TOKEN`` (the library then refreshes access tokens as they
expire). They are held only
to be passed to the library and never printed. With ``--sandbox``, or with no
credentials at all and the default base URL, the run goes to a sandbox
started in this process on 127.0.0.1, with a dummy token.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from hubspot_batch import DEFAULT_BASE_URL, OAuthRefresher, TokenProvider
from hubspot_batch.sandbox import SandboxConfig, SandboxServer

from ._redact import TextSink

__all__ = ["KEY_ENV", "OAUTH_ENV", "SANDBOX_NOTICE", "TOKEN_ENV", "Target", "UsageError", "resolve_target"]

TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"
KEY_ENV = "HUBSPOT_DEVELOPER_API_KEY"
OAUTH_ENV = ("HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN")
SANDBOX_NOTICE = "no HubSpot credentials set: running against the built-in sandbox (nothing leaves this machine)"
SANDBOX_TOKEN = "sandbox-dummy-token"  # the sandbox accepts any token

#: How the built-in sandbox behaves: a Professional account's limit and a small latency.
BUILTIN_SANDBOX = SandboxConfig(rate_limit=190, latency=0.02)


class UsageError(Exception):
    """The command line cannot work as given (exit status 2)."""


@attrs.define
class Target:
    """The base URL and credentials of a run, and the sandbox behind it when there is one."""

    base_url: str
    access_token: str | TokenProvider | None = attrs.field(default=None, repr=False)
    developer_api_key: str | None = attrs.field(default=None, repr=False)
    server: SandboxServer | None = attrs.field(default=None, repr=False)

    @property
    def sandbox(self) -> bool:
        """True when the run goes to the built-in sandbox."""
        return self.server is not None

    def close(self) -> None:
        """Stop the built-in sandbox, if one was started."""
        if self.server is not None:
            self.server.stop()
            self.server = None


def _secret(flag: str | None, env: Mapping[str, str], name: str, option: str, err: TextSink) -> str | None:
    if flag is not None:
        err.write(
            f"warning: {option} puts a secret on the command line, where shell history and process lists "
            f"(ps, /proc) can read it; set {name} in the environment instead\n"
        )
        return flag or None
    return env.get(name) or None


def resolve_target(
    *,
    base_url: str | None,
    sandbox: bool,
    access_token: str | None,
    developer_api_key: str | None,
    env: Mapping[str, str],
    err: TextSink,
) -> Target:
    """Decide where to send; start the built-in sandbox when needed (and say so on ``err``)."""
    token: str | TokenProvider | None = _secret(access_token, env, TOKEN_ENV, "--access-token", err)
    key = _secret(developer_api_key, env, KEY_ENV, "--developer-api-key", err)
    oauth = [env.get(name) or None for name in OAUTH_ENV]
    if token is None and any(oauth):
        missing = [name for name, value in zip(OAUTH_ENV, oauth, strict=True) if not value]
        if missing:
            raise UsageError(f"OAuth credentials need {', '.join(OAUTH_ENV)}; missing: {', '.join(missing)}")
        client_id, client_secret, refresh_token = (str(v) for v in oauth)
        token = OAuthRefresher(client_id, client_secret, refresh_token)
    if sandbox:
        return _builtin("--sandbox: running against the built-in sandbox (nothing leaves this machine)", err)
    if token is None and key is None:
        if base_url not in (None, DEFAULT_BASE_URL, DEFAULT_BASE_URL + "/"):
            raise UsageError(f"no credentials: set {TOKEN_ENV} (or {KEY_ENV} for webhook subscriptions)")
        return _builtin(SANDBOX_NOTICE, err)
    return Target(base_url or DEFAULT_BASE_URL, token, key)


def _builtin(notice: str, err: TextSink) -> Target:
    server = SandboxServer(config=BUILTIN_SANDBOX).start()
    err.write(f"notice: {notice}\n")
    err.flush()
    return Target(server.url, SANDBOX_TOKEN, None, server)
