"""``python -m hubspot_batch.sandbox``: serve the simulated HubSpot until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._config import SandboxConfig
from ._server import SandboxServer

__all__ = ["build_parser", "main", "parse_portal", "portals_from"]

_RATES = ("error_5xx", "drop_before", "drop_after", "truncated", "non_json", "stall")


def parse_portal(value: str) -> tuple[str, str]:
    """``NAME=TOKEN`` -> ``(name, token)``; the error never repeats the value (it holds a token)."""
    name, sep, token = value.partition("=")
    name, token = name.strip(), token.strip()
    if not sep or not name or not token:
        raise argparse.ArgumentTypeError("expected NAME=TOKEN (a portal name and a bearer token)")
    return name, token


def portals_from(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``SandboxConfig.portals`` (token -> name) from ``--portal`` pairs; a token in two portals is an error."""
    portals: dict[str, str] = {}
    for name, token in pairs:
        if portals.get(token, name) != name:
            raise ValueError(f"--portal: one token is given to two portals ({portals[token]!r} and {name!r})")
        portals[token] = name
    return portals


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (one per common config knob)."""
    parser = argparse.ArgumentParser(
        prog="python -m hubspot_batch.sandbox",
        description="Serve a simulated HubSpot (four batch endpoints) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--rate-limit", type=int, default=190, help="requests per window (0: off)")
    parser.add_argument("--interval-ms", type=int, default=10_000, help="window length")
    parser.add_argument("--daily-limit", type=int, default=1_000_000, help="per day (0: off)")
    parser.add_argument(
        "--day-starts-at",
        type=float,
        default=0.0,
        help="seconds after 00:00 UTC at which the daily limit resets (e.g. 18000 for UTC-5)",
    )
    parser.add_argument(
        "--no-daily-headers",
        dest="daily_headers",
        action="store_false",
        help="send no X-HubSpot-RateLimit-Daily* headers (as for OAuth apps)",
    )
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--latency-jitter", type=float, default=0.0, help="extra random seconds")
    parser.add_argument(
        "--arrival-jitter", type=float, default=0.0, help="random seconds before a request is counted (max)"
    )
    parser.add_argument("--stall-seconds", type=float, default=30.0, help="how long a stall lasts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault decisions")
    parser.add_argument("--max-batch-size", type=int, default=100, help="inputs per request")
    parser.add_argument("--shuffle-results", action="store_true", help="answer in random order")
    parser.add_argument("--token", action="append", default=None, help="accepted bearer token (repeatable)")
    parser.add_argument(
        "--portal",
        action="append",
        type=parse_portal,
        default=[],
        metavar="NAME=TOKEN",
        help="serve portal NAME, reached with bearer TOKEN (repeatable; repeat NAME for more tokens; not with --token)",
    )
    parser.add_argument("--missing-id", action="append", default=[], help="id that does not exist (repeatable)")
    for rate in _RATES:
        flag = rate.replace("_", "-")
        parser.add_argument(f"--{flag}-rate", type=float, default=0.0, help=f"{rate} fault rate")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, serve, print the URL; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        portals = portals_from(args.portal)
        if portals and args.token is not None:
            raise ValueError("--portal and --token are exclusive: each portal accepts the tokens --portal gives it")
        config = SandboxConfig(
            rate_limit=args.rate_limit,
            interval_ms=args.interval_ms,
            daily_limit=args.daily_limit,
            day_starts_at=args.day_starts_at,
            daily_headers=args.daily_headers,
            send_retry_after=args.retry_after,
            latency=args.latency,
            latency_jitter=args.latency_jitter,
            arrival_jitter=args.arrival_jitter,
            stall_seconds=args.stall_seconds,
            seed=args.seed,
            max_batch_size=args.max_batch_size,
            shuffle_results=args.shuffle_results,
            access_tokens=None if args.token is None else frozenset(args.token),
            missing_ids=frozenset(args.missing_id),
            error_5xx_rate=args.error_5xx_rate,
            drop_before_rate=args.drop_before_rate,
            drop_after_rate=args.drop_after_rate,
            truncated_rate=args.truncated_rate,
            non_json_rate=args.non_json_rate,
            stall_rate=args.stall_rate,
            portals=portals,
        )
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = SandboxServer(config=config, port=args.port).start()
    print(f"HubSpot sandbox listening on {server.url} (Ctrl-C to stop)", flush=True)
    if portals:
        print(f"portals: {', '.join(server.portal_names())}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
