"""``hubspot-batch run``: read, check, resume, send, and report one outcome per input."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs

from hubspot_batch import (
    BatchResult,
    ConfigurationError,
    EndpointName,
    HubSpotBatch,
    HubSpotBatchError,
    InputIssue,
    InputValidationError,
    JobPlan,
    Stats,
    resolve_api_version,
)

from ._calls import Call, OnInvalid, check_rows, stream
from ._checkpoint import Checkpoint, CheckpointError, Record
from ._inputs import InputFileError, InputRow, detect_format, read_input
from ._outputs import OutputWriter, write_summary
from ._progress import ProgressDisplay, format_duration
from ._redact import RedactingStream, TextSink
from ._spec import item_spec
from ._target import KEY_ENV, OAUTH_ENV, TOKEN_ENV, Target, UsageError, resolve_target

__all__ = ["plan_command", "run_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SHOWN_ISSUES = 20
SHOWN_FAILURES = 5


@attrs.define
class _Plan:
    """The inputs of a run split into those finished earlier and those to send now."""

    rows: list[InputRow]
    finished: dict[int, Record]
    to_send: list[InputRow]
    payloads: list[dict[str, Any]]
    existing_is_success: bool = False


def _limiter(args: argparse.Namespace, env: Mapping[str, str]) -> Any:
    """The rate limit: a shared Redis budget when a Redis URL is given, else ``--rate-limit`` (or learned)."""
    url = args.redis_url or env.get("HUBSPOT_BATCH_REDIS_URL")
    if not url:
        return args.rate_limit
    from hubspot_batch import RedisLimiter

    key = args.redis_key or env.get("HUBSPOT_BATCH_REDIS_KEY") or "default"
    return RedisLimiter(
        url, key=key, limit=args.rate_limit or "free", cap=args.rate_limit, on_unavailable=args.redis_unavailable
    )


def _library_name(call: Call) -> EndpointName:
    return cast(EndpointName, call.endpoint.replace("-", "_"))


def _call(args: argparse.Namespace) -> Call:
    version = args.api_version or "v3"
    if version == "latest":
        version = resolve_api_version(cast(EndpointName, args.endpoint.replace("-", "_")), version)
    if args.endpoint == "webhook-subscriptions":
        if args.app_id is None:
            raise UsageError("webhook-subscriptions needs --app-id N (the app whose subscriptions to update)")
        return Call(args.endpoint, args.app_id, version)
    if args.app_id is not None:
        raise UsageError("--app-id applies to webhook-subscriptions only")
    if args.id_from and args.endpoint != "timeline-events":
        raise UsageError("--id-from applies to timeline-events only")
    return Call(args.endpoint, None, version, args.id_from)


def _plan(call: Call, rows: list[InputRow], checkpoint: Checkpoint | None) -> _Plan:
    records = checkpoint.load() if checkpoint is not None else {}
    plan = _Plan(rows, {}, [], [])
    new_ids: list[tuple[tuple[int, str], str]] = []
    for row in rows:
        record = records.get((row.line, row.digest))
        if record is not None and record.finished:
            plan.finished[row.position] = record
            continue
        payload = dict(row.data)
        if call.endpoint == "timeline-events" and checkpoint is not None:
            if record is not None and record.event_id:
                plan.existing_is_success = True  # it may have been sent before: "already exists" means it landed
                payload.setdefault("id", record.event_id)
            elif not call.id_from:  # with --id-from the library derives the same id on every run
                payload.setdefault("id", str(uuid.uuid4()))
                new_ids.append(((row.line, row.digest), str(payload["id"])))
        plan.to_send.append(row)
        plan.payloads.append(payload)
    if checkpoint is not None and new_ids:
        checkpoint.remember_ids(new_ids)  # committed before anything is sent
    return plan


def _describe_issues(path: str, rows: Sequence[InputRow], issues: Sequence[InputIssue]) -> str:
    lines = [f"error: {len(issues)} problem(s) in {path}; nothing was sent:"]
    for issue in issues[:SHOWN_ISSUES]:
        line = rows[issue.index].line if 0 <= issue.index < len(rows) else "?"
        where = f"field {issue.field!r}" if issue.field else "the row"
        lines.append(f"  line {line}: {where}: {issue.message}")
    if len(issues) > SHOWN_ISSUES:
        lines.append(f"  ... and {len(issues) - SHOWN_ISSUES} more")
    lines.append("(fix them, or use --skip-invalid to send the valid rows and list these as failures)")
    return "\n".join(lines) + "\n"


class _Report:
    """Merges this run's outcomes with those from the checkpoint, in input order, into the outputs."""

    def __init__(
        self, plan: _Plan, writer: OutputWriter, checkpoint: Checkpoint | None, endpoint: str, api_version: str
    ) -> None:
        self.plan = plan
        self.api_version = api_version
        self.writer = writer
        self.checkpoint = checkpoint
        self.timeline = endpoint == "timeline-events"
        self.next_position = 0
        self.stats = Stats()
        self.stopped_by: str | None = None
        self.problems: dict[str, tuple[int, int]] = {}

    def _write(self, row: InputRow, outcome: Mapping[str, Any], event_id: str | None) -> None:
        self.writer.write(row, outcome, event_id)
        if outcome.get("status") not in ("succeeded", "unchanged"):
            error = outcome.get("error") or {}
            code = f" {error['statusCode']}" if error.get("statusCode") else ""
            kind = f"{outcome.get('status')}{code} {error.get('category')}: {error.get('message')}"
            count, first = self.problems.get(kind, (0, row.line))
            self.problems[kind] = (count + 1, first)

    def catch_up(self, position: int) -> None:
        """Write the outcomes of inputs before ``position`` that were finished by an earlier run."""
        while self.next_position < position:
            row = self.plan.rows[self.next_position]
            record = self.plan.finished.get(row.position)
            if record is not None and record.outcome is not None:
                self._write(row, record.outcome, record.event_id)
            else:
                missing = {"category": "NO_OUTCOME", "message": "the run ended before this input was sent"}
                self._write(row, {"status": "not_sent", "error": missing}, None)
            self.next_position += 1

    def add(self, part: BatchResult) -> None:
        """Record one part from the library: checkpoint first (one transaction), then the files."""
        entries: list[tuple[InputRow, dict[str, Any], str | None]] = []
        for outcome in part:
            row = self.plan.to_send[outcome.index]
            data = outcome.to_dict()
            data.pop("index", None)
            sent_id = outcome.input.get("id") if self.timeline else None
            entries.append((row, data, str(sent_id) if sent_id else None))
        if self.checkpoint is not None:
            self.checkpoint.record(((row.line, row.digest), data["status"], data) for row, data, _ in entries)
        for row, data, event_id in entries:
            self.catch_up(row.position)
            self._write(row, data, event_id)
            self.next_position = row.position + 1
        self.writer.flush()
        self.stats = part.stats
        self.stopped_by = self.stopped_by or part.stopped_by


def _send(args: argparse.Namespace, call: Call, plan: _Plan, target: Target, report: _Report, err: TextSink) -> None:
    display = None if args.no_progress else ProgressDisplay(err, total=len(plan.rows), already_done=len(plan.finished))
    on_invalid: OnInvalid = "skip" if args.skip_invalid else "raise"
    try:
        if plan.to_send:
            with HubSpotBatch(
                access_token=target.access_token,
                developer_api_key=target.developer_api_key,
                base_url=target.base_url,
                max_concurrency=args.concurrency,
                rate_limit=_limiter(args, os.environ),
                batch_size=args.batch_size,
                on_invalid=on_invalid,
                progress=display.update if display is not None else None,
                sync_state=args.state,
                full=args.full,
                portal=args.portal,
                max_daily_share=args.max_daily_share,
                wait_for_reset=args.wait_for_reset,
            ) as hs:
                for part in stream(
                    hs, call, plan.payloads, on_invalid=on_invalid, existing_is_success=plan.existing_is_success
                ):
                    report.add(part)
        report.catch_up(len(plan.rows))
    finally:
        if display is not None:
            display.finish()


def _summary(args: argparse.Namespace, plan: _Plan, report: _Report, target: Target, elapsed: float) -> dict[str, Any]:
    counts = report.writer.counts
    return {
        "endpoint": args.endpoint,
        "inputs": len(plan.rows),
        "succeeded": counts.get("succeeded", 0),
        "unchanged": counts.get("unchanged", 0),
        "failed": counts.get("failed", 0),
        "not_sent": counts.get("not_sent", 0),
        "from_checkpoint": len(plan.finished),
        "requests": report.stats.requests,
        "retries": report.stats.retries,
        "rate_limited": report.stats.rate_limited,
        "elapsed_seconds": round(elapsed, 3),
        "sandbox": target.sandbox,
        "stopped_by": report.stopped_by,
        "api_version": report.api_version,
        "deprecated": report.stats.deprecated,
    }


def _print_summary(
    summary: Mapping[str, Any], args: argparse.Namespace, report: _Report, out: TextSink, err: TextSink
) -> None:
    bad = summary["failed"] + summary["not_sent"]
    if bad:
        err.write("inputs that did not succeed:\n")
        ranked = sorted(report.problems.items(), key=lambda item: (-item[1][0], item[1][1]))
        for kind, (count, first) in ranked[:SHOWN_FAILURES]:
            err.write(f"  {count:,} x {kind} (first: line {first})\n")
        if len(ranked) > SHOWN_FAILURES:
            err.write(f"  ... and {len(ranked) - SHOWN_FAILURES} other kinds of error\n")
        where = f"all listed in {args.failures}" if args.failures else "use --failures FILE to list them all"
        err.write(f"{bad:,} input(s) did not succeed: {where}\n")
    if summary["stopped_by"]:
        err.write(f"stopped early: {summary['stopped_by']}\n")
    resumed = f" ({summary['from_checkpoint']:,} from the checkpoint)" if summary["from_checkpoint"] else ""
    out.write(
        f"{summary['endpoint']}: {summary['inputs']:,} inputs{resumed}: {summary['succeeded']:,} succeeded, "
        + (f"{summary['unchanged']:,} unchanged, " if summary["unchanged"] else "")
        + f"{summary['failed']:,} failed, {summary['not_sent']:,} not sent; {summary['requests']:,} requests, "
        f"{summary['retries']:,} retries, {summary['rate_limited']:,} rate-limited (429); "
        f"{format_duration(summary['elapsed_seconds'])} ({summary['elapsed_seconds']:.1f}s)"
        + f"; API version {summary['api_version']}"
        + (" [sandbox]" if summary["sandbox"] else "")
        + "\n"
    )
    out.flush()


class _Formatter(logging.Formatter):
    """The library's lines as ``hubspot-batch: LEVEL: ...``; its API-version warnings as ``notice: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "hubspot_batch.versions":
            return f"notice: {record.getMessage()}"
        return super().format(record)


def _logging(verbose: bool, err: RedactingStream) -> None:
    logger = logging.getLogger("hubspot_batch")
    handler = logging.StreamHandler(err)
    handler.setFormatter(_Formatter("hubspot-batch: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def run_command(args: argparse.Namespace, *, env: Mapping[str, str], out: RedactingStream, err: RedactingStream) -> int:
    """Run ``hubspot-batch run`` with parsed ``args``; returns the exit status."""
    started = time.monotonic()
    secrets = [args.access_token, args.developer_api_key, env.get(TOKEN_ENV), env.get(KEY_ENV)]
    secrets += [env.get(name) for name in OAUTH_ENV[1:]]  # the client secret and the refresh token
    err.hide(secrets)
    out.hide(secrets)
    _logging(args.verbose, err)
    target: Target | None = None
    checkpoint: Checkpoint | None = None
    try:
        call = _call(args)
        fmt = detect_format(args.input, args.format)
        rows = read_input(args.input, fmt, item_spec(call.endpoint, call.api_version))
        target = resolve_target(
            base_url=args.base_url,
            sandbox=args.sandbox,
            access_token=args.access_token,
            developer_api_key=args.developer_api_key,
            env=env,
            err=err,
        )
        if not args.skip_invalid:
            issues = check_rows(call, [dict(r.data) for r in rows])
            if issues:
                err.write(_describe_issues(args.input, rows, issues))
                return EXIT_USAGE
        if args.checkpoint:
            checkpoint = Checkpoint(args.checkpoint, call.job)
        plan = _plan(call, rows, checkpoint)
        if plan.finished:
            err.write(
                f"resuming: {len(plan.finished):,} of {len(rows):,} inputs already finished ({args.checkpoint})\n"
            )
        with OutputWriter(args.results, args.failures) as writer:
            report = _Report(
                plan, writer, checkpoint, call.endpoint, resolve_api_version(_library_name(call), call.api_version)
            )
            _send(args, call, plan, target, report, err)
        summary = _summary(args, plan, report, target, time.monotonic() - started)
        if args.summary_json:
            write_summary(args.summary_json, summary)
        _print_summary(summary, args, report, out, err)
        return EXIT_OK if summary["failed"] + summary["not_sent"] == 0 else EXIT_FAILED
    except (UsageError, InputFileError, CheckpointError, ConfigurationError, InputValidationError) as exc:
        # InputValidationError: only if the library finds more than the up-front check did
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except (OSError, sqlite3.Error) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except HubSpotBatchError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        again = (
            " rerun the same command to resume" if args.checkpoint else " use --checkpoint FILE to be able to resume"
        )
        err.write(f"\ninterrupted;{again}\n")
        return EXIT_INTERRUPTED
    finally:
        if checkpoint is not None:
            checkpoint.close()
        if target is not None:
            target.close()


def _plan_lines(plan: JobPlan, share: float | None) -> str:
    daily = "unknown (no daily figures: OAuth apps have none; private apps: give credentials)"
    if plan.daily_share is not None and plan.daily_limit:
        used = f"; {plan.daily_used:,} used today" if plan.daily_used is not None else ""
        daily = f"{plan.daily_share:.4%} of the portal's {plan.daily_limit:,} requests a day{used}"
        if share is not None and plan.daily_used is not None:
            room = max(0, int(share * plan.daily_limit) - plan.daily_used)
            daily += f"; --max-daily-share {share:g} leaves room for {room:,}"
    when = "unknown" if plan.seconds is None else f"{format_duration(plan.seconds)} at {plan.rate} requests per 10 s"
    return (
        f"{plan.endpoint} ({plan.api_version}): {plan.rows:,} rows: {plan.invalid:,} invalid, "
        f"{plan.unchanged:,} unchanged, {plan.to_send:,} to send\n"
        f"requests: {plan.requests:,} (batches of {plan.batch_size})\n"
        f"daily budget: {daily}\n"
        f"time: {when}\n"
    )


def plan_command(
    args: argparse.Namespace, *, env: Mapping[str, str], out: RedactingStream, err: RedactingStream
) -> int:
    """Run ``hubspot-batch plan`` with parsed ``args``: count what ``run`` would send, send no batch request."""
    secrets = [args.access_token, args.developer_api_key, env.get(TOKEN_ENV), env.get(KEY_ENV)]
    secrets += [env.get(name) for name in OAUTH_ENV[1:]]
    err.hide(secrets)
    out.hide(secrets)
    _logging(args.verbose, err)
    target: Target | None = None
    try:
        call = _call(args)
        fmt = detect_format(args.input, args.format)
        rows = read_input(args.input, fmt, item_spec(call.endpoint, call.api_version))
        if not args.skip_invalid:
            issues = check_rows(call, [dict(r.data) for r in rows])
            if issues:
                err.write(_describe_issues(args.input, rows, issues))
                return EXIT_USAGE
        target = resolve_target(
            base_url=args.base_url,
            sandbox=args.sandbox,
            access_token=args.access_token,
            developer_api_key=args.developer_api_key,
            env=env,
            err=err,
        )
        with HubSpotBatch(
            access_token=target.access_token,
            developer_api_key=target.developer_api_key,
            base_url=target.base_url,
            rate_limit=_limiter(args, os.environ),
            sync_state=args.state,
            full=args.full,
            portal=args.portal,
        ) as hs:
            namespace: Any = {
                "webhook-subscriptions": hs.webhooks,
                "communications": hs.communications,
                "subscription-statuses": hs.subscription_statuses,
                "timeline-events": hs.timeline,
            }[call.endpoint]
            plan: JobPlan = namespace.plan(
                [dict(r.data) for r in rows],
                api_version=call.api_version,
                batch_size=args.batch_size,
                app_id=call.app_id,
                **({"id_from": call.id_from} if call.id_from else {}),
            )
        if args.json:
            out.write(json.dumps({**plan.to_dict(), "sandbox": target.sandbox}, indent=2) + "\n")
        else:
            out.write(_plan_lines(plan, args.max_daily_share))
        out.flush()
        return EXIT_OK
    except (UsageError, InputFileError, ConfigurationError, InputValidationError, OSError, sqlite3.Error) as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except HubSpotBatchError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAILED
    finally:
        if target is not None:
            target.close()
