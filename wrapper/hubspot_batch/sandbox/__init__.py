"""An offline HubSpot for tests, benchmarks and demos: four batch endpoints, simulated.

``hubspot_batch.sandbox`` answers like HubSpot where a batch client cares:
batch envelopes, partial failures (207), whole-batch 400s, rate limits and
their headers, authentication and scopes, and injected network faults. It
needs only ``httpx`` and ``attrs`` and imports nothing else from
``hubspot_batch``.

Two ways in
===========

In-process, no sockets (fast, deterministic)::

    import httpx
    from hubspot_batch.sandbox import SandboxConfig, SandboxTransport

    transport = SandboxTransport(SandboxConfig(rate_limit=10, missing_ids={"404"}))
    with httpx.Client(transport=transport, base_url="https://api.hubapi.com",
                      headers={"Authorization": "Bearer test"}) as client:
        body = {"inputs": [{"id": "1", "properties": {"hs_communication_body": "hi"}}]}
        r = client.post("/crm/v3/objects/communications/batch/update", json=body)
    assert transport.state.communication("1").properties["hs_communication_body"] == "hi"

``SandboxTransport`` is both an ``httpx.BaseTransport`` and an
``httpx.AsyncBaseTransport`` (use it with ``httpx.AsyncClient`` too). It waits
each response's ``delay`` with ``sleep`` / ``async_sleep``: pass no-op
functions (``sleep=lambda s: None``) to skip real waiting. A dropped
connection raises ``httpx.RemoteProtocolError("Server disconnected without
sending a response.")``; a delay longer than the request's read timeout waits
the read timeout, then raises ``httpx.ReadTimeout``.

A real HTTP/1.1 keep-alive server on 127.0.0.1 (for CLIs and benchmarks)::

    from hubspot_batch.sandbox import SandboxConfig, SandboxServer

    with SandboxServer(config=SandboxConfig(latency=0.05)) as server:
        httpx.post(server.url + "/crm/v3/objects/communications/batch/update", ...)
        print(server.state.stats())

``SandboxServer(config=None, app=None, host="127.0.0.1", port=0)`` runs a
``ThreadingHTTPServer`` (Nagle disabled, one daemon thread per connection) in a
background thread; ``start()`` / ``stop()`` or ``with``; ``url``, ``port``,
``app``, ``state``. It binds IPv4 loopback only. ``python -m
hubspot_batch.sandbox --port 8000 [--rate-limit N] [--latency S] [--seed N]
[--day-starts-at S] [--no-daily-headers] [--error-5xx-rate R] [--drop-before-rate R] [--drop-after-rate R]
[--truncated-rate R] [--non-json-rate R] [--stall-rate R] [--token T]
[--portal NAME=TOKEN] [--missing-id ID] ...`` serves until Ctrl-C and prints
the URL (and, with ``--portal``, a line ``portals: a, b``). ``--portal
NAME=TOKEN`` is repeatable (repeat ``NAME`` to give a portal several tokens)
and excludes ``--token``; a malformed value is refused without repeating it.

The core is ``SandboxApp(config=None, state=None, clock=time.monotonic,
wall_clock=time.time)``: ``app.handle(SandboxRequest) -> SandboxResponse |
Dropped``. It never sleeps and never does I/O; ``SandboxResponse.delay``
says how long the transport/server waits before answering. Inject ``clock``
(monotonic seconds; drives the rate window) and ``wall_clock`` (epoch
seconds; dates in bodies and the daily-limit day) to test without sleeping:
moving ``wall_clock`` past the daily reset (``day_starts_at``) starts a new
day, and ``app.reset_day()`` starts one at once.
Several transports/servers may share one app (and so one state and one
rate limit).

Several portals
===============

``SandboxConfig(portals={token: portal_name, ...})`` makes the app serve
several HubSpot accounts at once (default empty: one portal, as above). Each
portal is a ``SandboxApp`` of its own, built from the config with
``access_tokens`` = that portal's tokens: its own rolling window and daily
count (each with the config's ``rate_limit`` / ``interval_ms`` /
``daily_limit``), its own fault generator (same ``seed``) and its own
``SandboxState`` (data, stats, timeline events). Every other knob applies to
every portal. A request goes to the portal of its bearer token, so a token
reaches only its own portal; a request with no token or one in no portal
answers 401 ``INVALID_AUTHENTICATION`` and is counted in ``app.state``
only (which, with portals, holds nothing else). Developer API keys
(``hapikey``) name no portal and are refused. ``portals`` excludes
``access_tokens`` (ValueError); a config's ``repr`` shows the portal names,
never the tokens.

- ``app.portal_names() -> tuple[str, ...]`` (sorted; ``()`` for one portal),
  ``app.portal(name) -> SandboxApp`` (``KeyError`` if unknown: use its
  ``.state.stats()``, ``.state.applications(...)``, ``.state.timeline_events``,
  ``.reset_day()``), ``app.portal_of(token) -> str | None``;
  ``app.reset_day()`` starts a new day in every portal.
- ``app.revoke(token) -> bool``: from then on the token answers 401
  ``INVALID_AUTHENTICATION`` ("Authentication credentials not found", as
  for a deleted or rotated token), counted by its portal; False (nothing
  done) when no portal knows it. With one portal it revokes in ``state``
  and returns True. (``state.expire_token`` gives ``EXPIRED_AUTHENTICATION``.)
- the usage endpoint answers the daily count of the token's portal.
- the OAuth token endpoint: a token request goes to the portal whose
  ``portals`` entry names its ``refresh_token`` (so list refresh tokens in
  ``portals`` too; such a token is then also a bearer token of that
  portal); the access token issued there reaches that portal. A refresh
  token no portal knows: 400 ``invalid_grant`` (after the client check).
- ``app.portal_summaries() -> dict[str, dict]``: every portal's counters as
  JSON, the body of ``GET /_sandbox/portals`` below.

``SandboxServer`` has ``portal_names()``, ``portal(name)`` and
``revoke(token)`` too, and (the server only, not the app or the transport)
an admin surface for tests out of process, off HubSpot's paths; admin
requests are neither counted, limited nor faulted, and no answer contains a
token:

- ``GET /_sandbox/portals`` -> 200 ``{name: {"requests": n, "responses":
  {"200": n, ...}, "rate_limited": {"TEN_SECONDLY_ROLLING": n, ...},
  "applied": {endpoint: inputs applied}, "distinct": {endpoint: distinct
  keys applied}, "timeline_duplicates": n, "dropped": n, "faults": {kind:
  n}, "token_refreshes": n}}`` (every endpoint of ``ENDPOINTS`` in
  ``applied``/``distinct``; ``{}`` for a one-portal app). ``applied ==
  distinct`` means no key was applied twice.
- ``POST /_sandbox/revoke`` with ``{"token": "..."}`` -> 200 ``{"revoked":
  true | false}`` (``app.revoke``); another body: 400 ``VALIDATION_ERROR``.
- a wrong method: 405 with ``Allow``; another ``/_sandbox/`` path: 404.

Paths (all ``POST`` but the usage endpoint; 405 otherwise; unknown paths 404)
=============================================================================

Every batch operation the vendored specs describe is served (the routes are
read from the specs' ``x-hubspot-batch`` marks), with the scope the spec names:

============================================================  ================
path                                                          endpoint name
============================================================  ================
/webhooks/v3/{appId}/subscriptions/batch/update               webhooks
/webhooks/2026-03/{appId}/subscriptions/batch/update          webhooks
/app-webhooks/2026-09/{appId}/subscriptions/batch/update      webhooks
/crm/v3/objects/communications/batch/update                   communications
/crm/objects/2026-03/communications/batch/update              communications
/crm/objects/2026-09/communications/batch/update              communications
/communication-preferences/v4/statuses/batch/write            statuses
/communication-preferences/2026-03/statuses/batch/write       statuses
/communication-preferences/2026-09/statuses/batch/write       statuses
/integrators/timeline/v3/events/batch/create                  timeline
/integrators/timeline/2026-03/events/batch                    timeline
/integrators/timeline/2026-09/events/batch                    timeline
============================================================  ================

A wrong method answers 405 ``METHOD_NOT_ALLOWED`` with ``Allow: POST``. Besides
the batch paths (and the OAuth token endpoint below):

``GET /account-info/v3/api-usage/daily/private-apps`` (HubSpot's daily-usage
endpoint; other methods: 405 with ``Allow: GET``) answers 200::

    {"results": [{"name": "private-apps-api-calls-daily",
                  "usageLimit": <daily_limit>,
                  "currentUsage": <requests counted today>,
                  "collectedAt": "2026-11-23T10:00:00.000Z",
                  "fetchStatus": "SUCCESS",
                  "resetsAt": "2026-11-24T00:00:00Z"}]}

(field names, ``name`` and the ``resetsAt`` format as in HubSpot's account-info
v3 spec; ``collectedAt`` is now, ``resetsAt`` the next daily reset, see
``day_starts_at``; ``"results": []`` when the daily limit is off). It needs a
bearer token like the batch endpoints (401 without; 403 if ``missing_scopes``
takes the spec's ``oauth`` scope; no ``hapikey``). Unlike HubSpot, where it is
undocumented, here it is neither limited by nor counted in the ten-second
window and does not count towards the daily usage; it meets no injected
faults (``latency`` applies) and draws nothing from the fault generator. It
carries the current rate-limit headers.

Order of checks
===============

1. route: 404 (unknown path), 405 (not POST);
2. auth: 401 / 403 (not counted by the rate limit);
3. rate limit: 429 (counted, see ``count_rejected_requests``);
4. faults before the effect: ``drop_before`` (connection closed, nothing
   applied) or ``error_5xx`` (502/503/504, HTML page, nothing applied);
5. body: invalid JSON, no/empty ``inputs``, an input that is not an object,
   more than the batch size, a bad ``appId`` (not an int32): 400
   ``VALIDATION_ERROR``;
6. endpoint logic (whole-batch 400s, or the effect and a 2xx);
7. faults after the effect, only on 2xx: ``drop_after`` (applied, connection
   closed, no answer), ``stall`` (applied, answer held ``stall_seconds``),
   ``truncated`` (applied, body cut in half; ``Content-Length`` matches the
   cut body, so the client sees invalid JSON), ``non_json`` (applied, 2xx with
   an HTML page, ``Content-Type: text/html``);
8. latency: every answer and every drop waits ``latency`` (+ jitter).

Every answer carries ``X-HubSpot-Correlation-Id`` and the rate-limit headers
``X-HubSpot-RateLimit-Max``, ``-Remaining``, ``-Interval-Milliseconds`` (absent
when the window limit is off) and ``X-HubSpot-RateLimit-Daily``,
``-Daily-Remaining`` (absent when the daily limit is off or ``daily_headers``
is False, as for OAuth apps). ``-Daily-Remaining`` counts down with every
request counted today (401/403/404/405 are not counted) and is back at
``daily_limit`` after the daily reset.
Every JSON error carries ``correlationId``.

Configuration: ``SandboxConfig`` (frozen attrs, keyword-only)
==============================================================

- ``rate_limit=190`` requests per ``interval_ms=10_000`` rolling window on
  ``clock``; 0 or None disables it.
- ``daily_limit=1_000_000`` requests per day of ``wall_clock``; 0 or None
  disables it (set it small to provoke a ``DAILY`` 429).
- ``day_starts_at=0.0`` seconds after 00:00 UTC, in [0, 86400): when the
  portal's day (and so the daily count) resets, e.g. ``5 * 3600`` for a
  portal at UTC-5. Used by the daily counter, the ``DAILY`` 429's
  ``Retry-After`` and the usage endpoint's ``resetsAt``.
- ``daily_headers=True``: False sends no ``X-HubSpot-RateLimit-Daily`` /
  ``-Daily-Remaining`` headers (as for OAuth apps) while the daily limit is
  still enforced and reported by the usage endpoint.
- ``count_rejected_requests=True``: 429s also use up window/daily capacity.
- ``send_retry_after=False``: add ``Retry-After`` (whole seconds, >= 1) to
  429s: when the window falls below the limit, or the next daily reset.
- ``latency=0.0`` seconds per request, plus ``latency_jitter=0.0`` times a
  uniform [0, 1) draw.
- ``arrival_jitter=0.0`` seconds: each request reaching the rate limit is
  counted by the rolling window at ``clock() + U(0, arrival_jitter)``, as if
  the network delayed its arrival (so requests may be counted out of send
  order), and its answer waits that extra delay too (own generator).
- fault rates in [0, 1]: ``error_5xx_rate``, ``drop_before_rate`` (these two
  are exclusive; sum <= 1), ``drop_after_rate``, ``stall_rate``,
  ``truncated_rate``, ``non_json_rate`` (these four are exclusive; sum <= 1);
  ``stall_seconds=30.0``. ``seed=0``: every request that passes auth and the
  rate limit draws exactly three numbers from ``random.Random(seed)``, so
  the same sequence of requests meets the same faults (jitter and shuffling
  use their own generators).
- ``deprecated_versions=()``: API versions whose answers carry
  ``X-HubSpot-API-Deprecated: true``, as HubSpot flags a deprecated endpoint.
- ``shuffle_results=False``: answer ``results``/``errors`` in random order
  (HubSpot does not promise input order).
- ``access_tokens=None``: None accepts any non-empty bearer token, else only
  these; ``expired_tokens`` (and ``state.expire_token(t)``) answer 401
  ``EXPIRED_AUTHENTICATION``.
- ``developer_api_keys=None``: the endpoints whose spec accepts a developer
  API key (webhooks v3 and 2026-03; not 2026-09) also accept ``?hapikey=``
  (None: any non-empty key); a valid key skips the scope check. Other
  endpoints accept bearer tokens only.
- ``missing_scopes={token: (scope, ...)}``: a token lacking a scope that an
  endpoint requires (``REQUIRED_SCOPES``: webhooks ``developers-write``,
  communications ``crm.objects.contacts.write``, statuses
  ``communication_preferences.statuses.batch.write``, timeline
  ``timeline-write``; where a version's spec does not list that scope, the
  first scope it lists) gets 403 ``MISSING_SCOPES`` there.
- ``known_properties`` (``DEFAULT_KNOWN_PROPERTIES``:
  hs_communication_channel_type, hs_communication_logged_from,
  hs_communication_body, hs_timestamp, hubspot_owner_id) and
  ``known_property_prefixes=("custom_",)``: the communication properties that
  exist.
- ``missing_ids``: ids that do not exist (communication ids, webhook
  subscription ids and preference subscription ids, as strings).
- ``max_batch_size=100`` inputs per request, ``max_batch_sizes={endpoint:
  n}`` per endpoint; more is a whole-batch 400.
- ``oauth_clients={client_id: client_secret}``, ``refresh_tokens`` (None:
  any) and ``token_lifetime=1800`` seconds: the OAuth token endpoint
  ``POST /oauth/2026-03/token`` (and the legacy ``/oauth/v1/token``) takes a
  form body ``grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…``
  and issues an access token valid for ``token_lifetime`` seconds on the
  app's clock, then answered with 401 ``EXPIRED_AUTHENTICATION``;
  ``state.stats().token_refreshes`` counts the tokens issued. Bad client or
  refresh token: 400 ``{"error": "invalid_client" | "invalid_grant", ...}``.
- ``portals={}``: ``{bearer token: portal name}``; several portals, see
  "Several portals" above.

Which ids exist
===============

- communications: a numeric id > 0 (ASCII digits) not in ``missing_ids``; its
  record is created at first touch (``createdAt`` fixed then, properties
  ``hs_object_id`` and ``hs_createdate``; ``hs_lastmodifieddate`` follows
  each update). Other ids never exist. ``idProperty`` other than
  ``hs_object_id`` is refused with a 400 (a sandbox limitation).
- webhook subscriptions: an id > 0 not in ``missing_ids`` exists for any
  ``appId``; its ``eventType`` is stable: ``EVENT_TYPES[id % 6]``.
- preference subscriptions: an id > 0 not in ``missing_ids``.
- timeline events: exist once created; unique per ``(eventTemplateId, id)``
  at v3 and ``(eventTypeName, id)`` at 2026-03/2026-09, in one store for
  every version. The sandbox has no registry of event templates, so it takes
  an ``eventTemplateId`` and an ``eventTypeName`` that are the same string
  for the same event type: an event created at any version "already exists"
  at every version (v3: 207 ``OBJECT_ALREADY_EXISTS``; 2026-03/2026-09:
  409 ``CONFLICT``), and the same ``id`` under another template or type
  name is a different event.

Bodies
======

Success envelope: ``{"status": "COMPLETE", "results": [...], "startedAt",
"completedAt"}`` plus ``"numErrors"`` and ``"errors"`` when there are errors.
Dates look like ``2026-11-23T10:00:00.123Z``. Per-input errors are
``{"status": "error", "category", "message", "context"}`` and, like HubSpot's
own examples, have no ``errors`` or ``links``.

communications (200 / 207)
    Each input needs ``id`` (string) and ``properties`` (object of strings).
    Whole-batch 400 ``VALIDATION_ERROR``: duplicate ids (``"Duplicate IDs
    found in batch input: [1, 2]. IDs must be unique"``, ``context.ids``);
    unknown properties (``"Property values were not valid: [{...
    "error":"PROPERTY_DOESNT_EXIST","name":"foo"}]"``) or read-only ones
    (``READ_ONLY_VALUE``: hs_object_id, hs_createdate, hs_lastmodifieddate,
    createdate). Otherwise existing ids are updated; results carry ``id``,
    all stored ``properties``, ``createdAt``, ``updatedAt``, ``archived:
    false``, and ``objectWriteTraceId`` when given. Missing ids give 207 with
    one grouped error: category ``OBJECT_NOT_FOUND``, ``context.ids`` and,
    when the inputs had them, ``context.objectWriteTraceId``.
webhooks (200 / 207)
    Inputs ``{"id": int32, "active": bool}``; duplicates: whole-batch 400 as
    above. Results ``id`` (string), ``active``, ``createdAt``, ``updatedAt``
    (changes when ``active`` changes), ``eventType``, ``propertyName`` (for
    ``*.propertyChange``), and on ``2026-03`` also ``eventTypeName`` and
    ``objectTypeId`` (``0-1`` contact, ``0-2`` company, ``0-3`` deal). Unknown
    ids: 207, one error ``SUBSCRIPTION_ID_NOT_FOUND`` with
    ``context.subscriptionIds``.
statuses (always 200 unless the whole batch is malformed)
    Inputs ``subscriberIdString``, ``subscriptionId`` (int64),
    ``statusState`` (``NOT_SPECIFIED``/``SUBSCRIBED``/``UNSUBSCRIBED``),
    ``channel`` (``EMAIL``), optional ``legalBasis`` (enum) and
    ``legalBasisExplanation``; a bad enum or a missing field is a whole-batch
    400. Per input, inside the 200's ``errors``: an invalid email ->
    ``VALIDATION_ERROR`` ``"Invalid email address: x"``, ``context:
    {"subscriberIdString": [x]}``; an unknown subscription ->
    ``OBJECT_NOT_FOUND``, ``context: {"subscriptionIds": ["123"],
    "subscriberIdString": [x]}``. Results: ``subscriberIdString``,
    ``subscriptionId``, ``status``, ``channel``, ``source: "API"``,
    ``timestamp``, ``legalBasis``/``legalBasisExplanation`` when given,
    ``setStatusSuccessReason`` (``REQUESTED_CHANGE_OCCURRED``, or
    ``NO_STATUS_CHANGE`` when the status was already that; a never-written
    status counts as ``NOT_SPECIFIED``), ``subscriptionName: "Subscription
    <id>"``, ``businessUnitId: 0``. Emails are matched case-insensitively.
timeline (201 / 207)
    Inputs ``eventTemplateId``, ``id`` (strings), ``tokens`` (object) and
    optional ``objectId``/``email``/``utk``, ``domain``,
    ``customObjectTypeId``, ``extraData``, ``timestamp``, ``timelineIFrame``.
    The same ``(eventTemplateId, id)`` twice in one batch: whole-batch 400 as
    above. Per input (207): no ``objectId``/``email``/``utk`` ->
    ``VALIDATION_ERROR``; an event that already exists (created at any
    version) -> ``OBJECT_ALREADY_EXISTS``
    ``"Event with id '<id>' already exists for template '<tpl>'"`` (not
    stored again; counted in ``timeline_duplicates_rejected``); both with
    ``context: {"id": [<id>]}``. Results echo the input plus ``objectType:
    "CONTACT"``, ``createdAt`` and ``timestamp`` (now when not given).
timeline 2026-03 and 2026-09 (200, all or none)
    Inputs are occurrences: ``eventTypeName``, ``id``, ``properties``
    (object) and one of ``objectId``/``email``/``utk`` (plus the optional
    fields of v3 and ``objectTypeFullyQualifiedName``). A missing field or
    object reference: whole-batch 400 ``VALIDATION_ERROR`` ("none were
    accepted"); any ``(eventTypeName, id)`` that already exists (created at
    any version): whole-batch 409 ``CONFLICT``, ``"Events with these ids
    already exist: [e1, e2]; none were accepted"``, ``context.ids`` naming
    every such id, and nothing stored. Otherwise 200
    with every occurrence echoed (``createdAt``, ``timestamp``).

Top-level errors
================

- 401 ``{"status": "error", "message": "Authentication credentials not
  found. ...", "correlationId", "category": "INVALID_AUTHENTICATION"}``
  (``EXPIRED_AUTHENTICATION`` for expired tokens; revoked tokens and, with
  portals, tokens of no portal get ``INVALID_AUTHENTICATION``).
- 403 ``{"status": "error", "message": "This app hasn't been granted all
  required scopes ...", "correlationId", "context": {"requiredGranularScopes":
  [...]}, "errors": [{"message": "One or more of the following scopes are
  required.", "context": "{missingScopes=[a, b]}"}], "links": {...},
  "category": "MISSING_SCOPES"}``.
- 429 ``{"status": "error", "message": "You have reached your
  ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "correlationId",
  "policyName": "TEN_SECONDLY_ROLLING", "requestId"}`` (``daily`` /
  ``DAILY`` for the daily limit).
- 400 ``{"status": "error", "message", "correlationId", ["context"],
  "category": "VALIDATION_ERROR"}``; 404 ``NOT_FOUND``; 405
  ``METHOD_NOT_ALLOWED``; 502/503/504 faults are HTML pages.

Inspecting
==========

``state.communication(id)``, ``state.subscription(app_id, id)``,
``state.status(email, subscription_id)``, ``state.timeline_event(tpl, id)``
(``tpl``: the template id or the event type name), ``state.timeline_events``
and ``state.stats()`` (a frozen ``SandboxStats``:
requests, responses_by_status, dropped, faults, rate_limited, effects,
batches_applied, timeline_create_attempts, timeline_duplicates_rejected).
Records are created only when touched, so ``communication(id)`` is None for
an existing but untouched id.

``state.applications(endpoint) -> Mapping[key, int]``: how many
times each key was applied at ``endpoint`` (one of ``ENDPOINTS``; a copy).
Keys: communications the id (``"12"``); webhooks ``(app_id,
subscription_id)``; statuses ``(email lower-cased, subscription_id)``;
timeline ``(eventTemplateId or eventTypeName, id)``. Every applied input
counts (a status written again with the same value too); refused ones do
not (missing ids, an event that already exists, a whole-batch 400/409, a
fault before the effect; a ``drop_after`` did apply). The values sum to
``stats().effects[endpoint]``, and "every row applied exactly once" reads
``set(apps) == expected and set(apps.values()) == {1}``.
"""

from ._app import SandboxApp
from ._config import (
    DEFAULT_KNOWN_PROPERTIES,
    DEFAULT_KNOWN_PROPERTY_PREFIXES,
    ENDPOINTS,
    REQUIRED_SCOPES,
    SandboxConfig,
)
from ._messages import Dropped, SandboxRequest, SandboxResponse
from ._server import SandboxServer
from ._state import (
    SandboxState,
    SandboxStats,
    StoredCommunication,
    StoredStatus,
    StoredSubscription,
)
from ._transport import SandboxTransport
from ._webhooks import EVENT_TYPES

__all__ = [
    "DEFAULT_KNOWN_PROPERTIES",
    "DEFAULT_KNOWN_PROPERTY_PREFIXES",
    "ENDPOINTS",
    "EVENT_TYPES",
    "REQUIRED_SCOPES",
    "Dropped",
    "SandboxApp",
    "SandboxConfig",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "SandboxState",
    "SandboxStats",
    "SandboxTransport",
    "StoredCommunication",
    "StoredStatus",
    "StoredSubscription",
]
