"""hubspot-batch: write large amounts of data into HubSpot's batch endpoints.

Chunking, concurrency, rate limiting learned from HubSpot's headers, retries,
and one outcome per input::

    from hubspot_batch import HubSpotBatch

    with HubSpotBatch(access_token="...") as hs:
        result = hs.communications.update(rows)
        result.raise_for_errors()

See the documentation site (``docs/``) for the guides and
``hubspot_batch.sandbox`` for an offline HubSpot to test against.
"""

from ._auth import AuthRefreshError, OAuthRefresher, Secret, TokenProvider
from ._client import DEFAULT_BASE_URL, AsyncHubSpotBatch, HubSpotBatch
from ._endpoints import ApiVersion, ApiVersionInfo, EndpointName, input_schema, resolve_api_version, versions
from ._errors import (
    AuthenticationError,
    BatchFailedError,
    BatchRejectedError,
    ConfigurationError,
    DailyLimitError,
    HubSpotBatchError,
    HubSpotError,
    InputIssue,
    InputValidationError,
    MissingScopesError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ._limiter import TIERS, LimiterBackend, LocalLimiter, RateLimitHeaders, RateTier, Reservation, RollingWindow
from ._plan import JobPlan
from ._redis_limiter import OnUnavailable, RedisLimiter, RedisUnavailableError, RedisUsage
from ._results import BatchResult, Outcome, OutcomeError, OutcomeStatus, Progress, Stats
from ._retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BASE_URL",
    "TIERS",
    "ApiVersion",
    "ApiVersionInfo",
    "AsyncHubSpotBatch",
    "AuthRefreshError",
    "AuthenticationError",
    "BatchFailedError",
    "BatchRejectedError",
    "BatchResult",
    "ConfigurationError",
    "DailyLimitError",
    "EndpointName",
    "HubSpotBatch",
    "HubSpotBatchError",
    "HubSpotError",
    "InputIssue",
    "InputValidationError",
    "JobPlan",
    "LimiterBackend",
    "LocalLimiter",
    "MissingScopesError",
    "OAuthRefresher",
    "OnUnavailable",
    "Outcome",
    "OutcomeError",
    "OutcomeStatus",
    "Progress",
    "RateLimitError",
    "RateLimitHeaders",
    "RateTier",
    "RedisLimiter",
    "RedisUnavailableError",
    "RedisUsage",
    "Reservation",
    "RetryPolicy",
    "RollingWindow",
    "Secret",
    "ServerError",
    "Stats",
    "TokenProvider",
    "TransportError",
    "__version__",
    "input_schema",
    "resolve_api_version",
    "versions",
]
