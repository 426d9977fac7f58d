"""The ``hubspot-batch`` command: send a JSONL or CSV file to one of HubSpot's batch endpoints.

::

    hubspot-batch run communications updates.csv --failures failed.jsonl --checkpoint job.db
    hubspot-batch sandbox --port 8000

See ``hubspot-batch run --help`` for every option, the CSV column mapping and
the exit statuses. The command uses only the public API of ``hubspot_batch``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ._parser import build_parser
from ._redact import RedactingStream
from ._run import plan_command, run_command
from ._serve import serve

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hubspot-batch`` with ``argv`` (default: the process's arguments); returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        return serve(args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    out, err = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    command = plan_command if args.command == "plan" else run_command
    return command(args, env=os.environ, out=out, err=err)
