"""Progress on standard error: a bar redrawn in place on a terminal, plain lines otherwise.

The library calls :meth:`ProgressDisplay.update` with a
:class:`~hubspot_batch.Progress` after every batch. On a terminal one line is
redrawn (at most ten times a second): percent, a bar, inputs done / total,
inputs per second, 429s met and the time left. Elsewhere (a pipe, a log file,
CI) a plain line is printed every ``interval`` seconds.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from hubspot_batch import Progress

from ._redact import TextSink

__all__ = ["ProgressDisplay", "format_duration"]


def format_duration(seconds: float) -> str:
    """``1:05`` or ``2:03:04``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressDisplay:
    """Shows progress of a run on ``stream``.

    ``total`` is the number of inputs; ``already_done`` those finished by an
    earlier run (from the checkpoint), which count as done but not towards
    the speed.
    """

    def __init__(
        self,
        stream: TextSink,
        *,
        total: int,
        already_done: int = 0,
        tty: bool | None = None,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.already_done = already_done
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval if not self.tty else 0.1
        self._clock = clock
        self._started = clock()
        self._last_shown = -1e9
        self._drawn = False
        self._latest: Progress | None = None
        self._shown: Progress | None = None

    def update(self, progress: Progress) -> None:
        """Take a snapshot from the library; redraw if it is time to."""
        self._latest = progress
        now = self._clock()
        if now - self._last_shown >= self.interval:
            self._last_shown = now
            self._show(progress, now)

    def finish(self) -> None:
        """Draw the last state and end the line (terminal) so that the summary starts on its own line."""
        if self._latest is not None and (self.tty or self._latest is not self._shown):
            self._show(self._latest, self._clock())
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def line(self, progress: Progress, now: float) -> str:
        """The text shown for ``progress`` (without bar on non-terminals)."""
        done = self.already_done + progress.done
        elapsed = max(now - self._started, 1e-9)
        speed = progress.done / elapsed
        left = self.total - done
        eta = format_duration(left / speed) if speed > 0 and left > 0 else ("0:00" if left <= 0 else "?")
        percent = 100.0 * done / self.total if self.total else 100.0
        counts = f"{done:,}/{self.total:,}"
        tail = f"{speed:,.0f} inputs/s  429s: {progress.stats.rate_limited}  ETA {eta}"
        failed = progress.failed + progress.not_sent
        if failed:
            tail = f"{failed:,} failed  " + tail
        if not self.tty:
            return f"progress: {percent:5.1f}% {counts} inputs  {tail}"
        width = shutil.get_terminal_size((100, 24)).columns
        room = width - len(counts) - len(tail) - 16
        size = max(10, min(40, room))
        filled = int(size * min(done, self.total) / self.total) if self.total else size
        bar = "#" * filled + "." * (size - filled)
        return f"{percent:3.0f}% [{bar}] {counts}  {tail}"

    def _show(self, progress: Progress, now: float) -> None:
        self._shown = progress
        text = self.line(progress, now)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self._drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
