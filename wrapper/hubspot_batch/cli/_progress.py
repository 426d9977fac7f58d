"""Progress on standard error: a bar redrawn in place on a terminal (drawn by rich), plain lines otherwise.

The library calls :meth:`ProgressDisplay.update` with a
:class:`~hubspot_batch.Progress` after every batch. On a terminal one line is
redrawn (at most ten times a second): percent, a bar, inputs done / total,
inputs per second, 429s met and the time left. Elsewhere (a pipe, a log file,
CI, a dumb terminal) a plain line is printed every ``interval`` seconds.
Everything goes to ``stream`` (the CLI's secret-masking stderr), never to
``sys.stderr`` directly; rich is imported only when a bar is drawn.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, cast

from hubspot_batch import Progress

from ._redact import TextSink

if TYPE_CHECKING:
    import rich.progress

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
        dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")  # cannot redraw in place
        self.tty = (stream.isatty() and not dumb) if tty is None else tty
        self.interval = interval if not self.tty else 0.1
        self._clock = clock
        self._started = clock()
        self._last_shown = -1e9
        self._bar: rich.progress.Progress | None = None
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
            self._show(self._latest, self._clock(), last=True)
        if self._bar is not None:
            self._bar.stop()  # the last frame stays; the line is ended and the cursor shown again
            self._bar = None

    def line(self, progress: Progress, now: float) -> str:
        """The text shown for ``progress``: the whole line elsewhere, what follows the bar on a terminal."""
        done = self.already_done + progress.done
        elapsed = max(now - self._started, 1e-9)
        speed = progress.done / elapsed
        left = self.total - done
        eta = format_duration(left / speed) if speed > 0 and left > 0 else ("0:00" if left <= 0 else "?")
        counts = f"{done:,}/{self.total:,}"
        tail = f"{speed:,.0f} inputs/s  429s: {progress.stats.rate_limited}  ETA {eta}"
        failed = progress.failed + progress.not_sent
        if failed:
            tail = f"{failed:,} failed  " + tail
        if self.tty:
            return f"{counts}  {tail}"
        return f"progress: {self._percent(done):5.1f}% {counts} inputs  {tail}"

    def _percent(self, done: int) -> float:
        return 100.0 * done / self.total if self.total else 100.0

    def _show(self, progress: Progress, now: float, *, last: bool = False) -> None:
        self._shown = progress
        text = self.line(progress, now)
        if not self.tty:
            self.stream.write(text + "\n")
            self.stream.flush()
            return
        starting = self._bar is None
        bar = self._bar = self._bar or self._new_bar()
        done = self.already_done + progress.done
        # the bar runs over max(total, 1): an empty run is a full bar rather than a division by zero
        completed = min(done, self.total) if self.total else 1
        bar.update(bar.task_ids[0], completed=completed, percent=f"{self._percent(done):3.0f}%", text=text)
        if starting:
            bar.start()  # draws the first frame
        elif not last:  # the last frame is drawn by finish() stopping the bar
            bar.refresh()

    def _new_bar(self) -> rich.progress.Progress:
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn
        from rich.progress import Progress as Bar
        from rich.table import Column

        console = Console(file=cast(IO[str], self.stream), force_terminal=True, highlight=False)
        bar = Bar(  # on a narrow terminal the bar shrinks first, then the text is cut (never wrapped)
            TextColumn("{task.fields[percent]}", markup=False, table_column=Column(no_wrap=True)),
            BarColumn(bar_width=40),
            TextColumn("{task.fields[text]}", markup=False, table_column=Column(no_wrap=True)),
            console=console,
            auto_refresh=False,  # no drawing thread: redrawn from update(), at most every `interval`
            redirect_stdout=False,
            redirect_stderr=False,
            get_time=self._clock,
        )
        bar.add_task("", total=max(self.total, 1), percent="", text="")
        return bar
