"""The command line: ``hubspot-batch run ENDPOINT INPUT [options]`` and ``hubspot-batch sandbox``."""

from __future__ import annotations

import argparse

from hubspot_batch import DEFAULT_BASE_URL, __version__, versions

from ._spec import ENDPOINT_NAMES

__all__ = ["build_parser"]

DESCRIPTION = """\
Write large amounts of data into HubSpot's batch endpoints: fast, within rate
limits, one outcome per input.

  hubspot-batch run ENDPOINT INPUT [options]   send a .jsonl or .csv file
  hubspot-batch plan ENDPOINT INPUT [options]  what run would do, sending nothing
  hubspot-batch sandbox --port N               serve the offline sandbox on 127.0.0.1

Without credentials, `run` goes to a built-in sandbox (nothing leaves the machine).
"""

PLAN_DESCRIPTION = """\
Read and validate INPUT as `run` would, apply the --state, and print what the
job would take: rows, invalid rows, unchanged rows, requests, the share of the
portal's daily budget and the time at the account's rate. No batch request is
sent; with credentials, HubSpot's daily-usage endpoint is asked for the day's
figures. Exit status as for run: 0, or 2 for bad input.
"""

RUN_DESCRIPTION = """\
Send every row of INPUT to one of HubSpot's batch endpoints, in batches, with
retries and within rate limits; report one outcome per row.

endpoints:
  webhook-subscriptions   turn an app's webhook subscriptions on/off (needs --app-id)
                          rows: {"id": 12, "active": true}
  communications          update CRM communications
                          rows: {"id": "512", "properties": {"hs_communication_body": "..."}}
  subscription-statuses   write communication-preference statuses
                          rows: {"subscriberIdString": "a@b.com", "subscriptionId": 7,
                                 "statusState": "SUBSCRIBED", "channel": "EMAIL"}
  timeline-events         create timeline events
                          rows: {"eventTemplateId": "1001", "email": "a@b.com",
                                 "tokens": {"plan": "pro"}}
"""

RUN_EPILOG = """\
input:
  A .jsonl file holds one JSON object per line (blank lines are skipped).
  A .csv file has a header line naming the columns:
    name               the field `name` (id, active, email, subscriptionId, ...)
    properties.<name>  a communication property       e.g. properties.hs_communication_body
    tokens.<name>      a timeline event token         e.g. tokens.plan
    extraData.<name>   a key of the event's extraData e.g. extraData.source
    timelineIFrame.<name>  a key of the event's iframe, e.g. timelineIFrame.width
  Cells are converted to the type the endpoint's schema gives the field:
  integers (webhook `id`, `subscriptionId`, iframe `width`/`height`), booleans
  (`active`: true/false, 1/0, yes/no), JSON for object fields given as one
  column; everything else stays text. An empty cell means "absent".
  `-` reads JSONL from standard input. Line numbers in every message, result
  and failure refer to INPUT.

credentials:
  HUBSPOT_ACCESS_TOKEN        private-app or OAuth access token (bearer)
  HUBSPOT_DEVELOPER_API_KEY   developer API key (webhook subscriptions only)
  HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET, HUBSPOT_REFRESH_TOKEN
                              an OAuth app: access tokens are fetched and renewed
                              as they expire (instead of HUBSPOT_ACCESS_TOKEN)
  Without either (and without --base-url elsewhere), or with --sandbox, the run
  goes to a sandbox started in this process on 127.0.0.1.

outputs:
  --results       one JSON line per input: line, index, status, result or error
  --failures      one JSON line per input that did not succeed: the input plus
                  _error {category, message, status_code}; fix it and feed it back
  --summary-json  totals: inputs, succeeded, failed, not_sent, requests, retries,
                  rate_limited, elapsed_seconds, endpoint, sandbox

resuming:
  With --checkpoint FILE (SQLite) each input's outcome is saved as batches
  finish. Rerun the same command after a crash or Ctrl-C: inputs already
  finished are skipped (their outcomes still go to the outputs); timeline
  events are resent with the ids they were first sent with, so none is
  created twice.

exit status:
  0  every input succeeded
  1  some inputs failed or were not sent (see --failures)
  2  usage or input error (bad file; invalid rows without --skip-invalid,
     named by line and field); nothing was sent
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _field_list(text: str) -> tuple[str, ...]:
    fields = tuple(f.strip() for f in text.split(","))
    if not all(fields):
        raise argparse.ArgumentTypeError(f"expected comma-separated field names, got {text!r}")
    return fields


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be within (0, 1], got {text}")
    return value


def _batch_size(text: str) -> int:
    value = _positive(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"must be at most 100 (HubSpot's batch limit), got {value}")
    return value


def _app_id(text: str) -> int:
    value = _positive(text)
    if value >= 2**31:
        raise argparse.ArgumentTypeError(f"must be a 32-bit app id, got {value}")
    return value


def _add_job_options(job: argparse.ArgumentParser) -> None:
    """The arguments ``run`` and ``plan`` share: the endpoint, the input and every option of a job."""
    job.add_argument("endpoint", metavar="ENDPOINT", choices=ENDPOINT_NAMES, help=" | ".join(ENDPOINT_NAMES))
    job.add_argument("input", metavar="INPUT", help="a .jsonl or .csv file, or - for standard input (JSONL)")

    target = job.add_argument_group("where to send")
    target.add_argument("--app-id", type=_app_id, metavar="N", help="the app whose subscriptions to update (webhooks)")
    target.add_argument(
        "--api-version",
        metavar="VERSION",
        help="v3 (the numbered versions: v3, v4 for statuses; default), a date-based version "
        f"({', '.join(v.version for v in versions() if v.version[:1].isdigit())}) or latest "
        "(the newest generally available version of the endpoint)",
    )
    target.add_argument("--base-url", metavar="URL", help=f"HubSpot's API (default {DEFAULT_BASE_URL})")
    target.add_argument(
        "--sandbox", action="store_true", help="run against the built-in sandbox (nothing leaves this machine)"
    )
    target.add_argument(
        "--access-token", metavar="TOKEN", help="prefer HUBSPOT_ACCESS_TOKEN: command lines leak into history and ps"
    )
    target.add_argument(
        "--developer-api-key",
        metavar="KEY",
        help="prefer HUBSPOT_DEVELOPER_API_KEY: command lines leak into history and ps",
    )

    files = job.add_argument_group("input and outputs")
    files.add_argument("--format", choices=("jsonl", "csv"), help="the input format (default: from the extension)")
    files.add_argument("--results", metavar="FILE", help="JSONL: one line per input with its outcome")
    files.add_argument("--failures", metavar="FILE", help="JSONL: inputs that did not succeed, with the error")
    files.add_argument("--checkpoint", metavar="FILE", help="SQLite file to resume from: finished inputs are skipped")
    files.add_argument("--summary-json", metavar="FILE", help="machine-readable totals")

    tuning = job.add_argument_group("sending")
    tuning.add_argument("--concurrency", type=_positive, default=16, metavar="N", help="requests in flight (16)")
    tuning.add_argument(
        "--rate-limit",
        type=_positive,
        metavar="N",
        help="at most N requests per 10 s (default: learned from HubSpot's headers)",
    )
    tuning.add_argument(
        "--redis-url",
        metavar="URL",
        default=None,
        help="share one rate budget with other workers through Redis (prefer HUBSPOT_BATCH_REDIS_URL: "
        "a password on the command line leaks into history and ps)",
    )
    tuning.add_argument(
        "--redis-key", metavar="KEY", default=None, help="the budget's name in Redis: one per app/account (default)"
    )
    tuning.add_argument(
        "--redis-unavailable",
        choices=("fallback", "fail"),
        default="fallback",
        help="when Redis is unreachable: fall back to a local limit at half the budget (default) or stop",
    )
    tuning.add_argument(
        "--id-from",
        type=_field_list,
        metavar="F1,F2,...",
        help="timeline events: rows without an id get a UUID5 of these fields (e.g. objectId,eventTemplateId,"
        "timestamp), so the same input run twice creates each event once",
    )
    tuning.add_argument("--batch-size", type=_batch_size, metavar="N", help="inputs per request, 1-100 (100)")
    tuning.add_argument(
        "--skip-invalid",
        action="store_true",
        help="send the valid rows; list invalid ones in the failures file (default: send nothing)",
    )
    tuning.add_argument("--no-progress", action="store_true", help="no progress display (the summary remains)")
    tuning.add_argument("-v", "--verbose", action="store_true", help="log retries and waits")
    sync = job.add_argument_group("incremental sync and the daily budget")
    sync.add_argument(
        "--state",
        metavar="FILE|URL",
        help=(
            "state of what HubSpot accepted, a SQLite file or a redis:// URL (shared by workers): "
            "rows unchanged since are not sent (outcome unchanged)"
        ),
    )
    sync.add_argument("--full", action="store_true", help="with --state: send every row and refresh the state")
    sync.add_argument(
        "--portal",
        metavar="NAME",
        help="with --state: the portal the token writes to (one state per portal when several share a file or Redis)",
    )
    sync.add_argument(
        "--max-daily-share",
        type=_share,
        metavar="F",
        help="never take the portal's daily usage above F x its daily limit (0 < F <= 1); the rest is not sent",
    )
    sync.add_argument(
        "--wait-for-reset",
        action="store_true",
        help="with --max-daily-share: when the budget is spent, wait for the daily reset and go on",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``hubspot-batch``."""
    parser = argparse.ArgumentParser(
        prog="hubspot-batch", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="send a JSONL or CSV file to a batch endpoint",
        description=RUN_DESCRIPTION,
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_job_options(run)

    plan = commands.add_parser(
        "plan",
        help="read, validate and count a job without sending it: rows, unchanged rows, requests, daily share, time",
        description=PLAN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_job_options(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON (for machines)")

    commands.add_parser(
        "sandbox",
        help="serve the sandbox on 127.0.0.1 until Ctrl-C (options: hubspot-batch sandbox --help)",
        add_help=False,
    )
    return parser
