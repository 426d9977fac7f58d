"""``hubspot-batch sandbox``: the sandbox package's own command line, under this command's name."""

from __future__ import annotations

from collections.abc import Sequence

from hubspot_batch.sandbox.__main__ import main as sandbox_main

__all__ = ["serve"]


def serve(argv: Sequence[str]) -> int:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C (``--port N``, ``--rate-limit N``, ``--latency S``...)."""
    return sandbox_main(list(argv))
