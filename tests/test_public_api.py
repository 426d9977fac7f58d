"""The public surface is what the README promises; the README's setup is what CI runs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import hubspot_batch
from hubspot_batch import sandbox

ROOT = Path(__file__).resolve().parents[1]

PROMISED = {
    "HubSpotBatch",
    "AsyncHubSpotBatch",
    "BatchResult",
    "Outcome",
    "OutcomeError",
    "OutcomeStatus",
    "Progress",
    "Stats",
    "RetryPolicy",
    "RollingWindow",
    "LimiterBackend",
    "LocalLimiter",
    "OAuthRefresher",
    "TokenProvider",
    "HubSpotBatchError",
    "ConfigurationError",
    "InputValidationError",
    "InputIssue",
    "TransportError",
    "HubSpotError",
    "AuthenticationError",
    "AuthRefreshError",
    "MissingScopesError",
    "RateLimitError",
    "DailyLimitError",
    "BatchRejectedError",
    "ServerError",
    "BatchFailedError",
}


def test_exported_names() -> None:
    assert set(hubspot_batch.__all__) >= PROMISED
    for name in hubspot_batch.__all__:
        assert hasattr(hubspot_batch, name), name


def test_every_public_name_has_a_docstring() -> None:
    for module in (hubspot_batch, sandbox):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert (value.__doc__ or "").strip(), f"{module.__name__}.{name} has no docstring"


def test_namespaces_read_like_the_api() -> None:
    hs = hubspot_batch.HubSpotBatch(access_token="t")
    try:
        for attribute in ("update", "update_iter"):
            assert callable(getattr(hs.communications, attribute))
        assert callable(hs.webhooks.update_subscriptions) and callable(hs.webhooks.update_subscriptions_iter)
        assert callable(hs.subscription_statuses.write) and callable(hs.subscription_statuses.write_iter)
        assert callable(hs.timeline.create_events) and callable(hs.timeline.create_events_iter)
    finally:
        hs.close()


def test_packages_are_typed() -> None:
    assert (Path(hubspot_batch.__file__).parent / "py.typed").exists()
    import hubspot_batch_api

    assert (Path(hubspot_batch_api.__file__).parent / "py.typed").exists()


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Setup: two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.S)


def test_readme_has_two_setup_commands_and_ci_runs_them() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    install_and_run, run_tests = commands
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for part in install_and_run.split(" && "):
        assert part in ci, f".ci/run does not run the README's {part!r}"
    assert run_tests in ci
    example = install_and_run.split()[-1]
    assert (ROOT / example).exists(), f"the README's first command reads {example}, which is missing"
