"""Put outcomes back in input order: batches finish in any order, results are reported in the order rows came.

A :class:`Reorderer` is fed messages as they arrive (a list of outcomes, or
the :class:`End` marker saying how many rows were read) and hands back the
outcomes that are next in input order, holding the others until the inputs
before them are done.
"""

from __future__ import annotations

from ._results import Outcome

__all__ = ["End", "Message", "Reorderer", "follows"]


class End:
    """The last message of a job: ``read`` rows were read, so inputs ``0..read - 1`` each get one outcome."""

    __slots__ = ("read",)

    def __init__(self, read: int) -> None:
        self.read = read


Message = list[Outcome] | End
"""What the parts of a job hand the reorderer: outcomes of some inputs, or the end marker."""


def follows(outcomes: list[Outcome], start: int) -> bool:
    """Whether ``outcomes`` are those of inputs ``start``, ``start + 1``... in that order."""
    for expected, outcome in enumerate(outcomes, start):
        if outcome.index != expected:
            return False
    return bool(outcomes)


class Reorderer:
    """Outcomes in, outcomes out in input order: :meth:`add` each message, report what it returns."""

    __slots__ = ("next_index", "read", "waiting")

    def __init__(self) -> None:
        self.next_index = 0
        """The index of the next input to report."""
        self.read: int | None = None
        """How many rows were read, once the end marker came."""
        self.waiting: dict[int, Outcome] = {}
        """Outcomes that came before those of inputs ahead of them, by index."""

    def add(self, message: Message) -> list[Outcome]:
        """Take one message; the outcomes now next in input order (often ``message`` itself), maybe none."""
        waiting = self.waiting
        run: list[Outcome] = []
        if isinstance(message, End):
            self.read = message.read
        elif not waiting and follows(message, self.next_index):  # the usual case: the next inputs, in order
            run = message
            self.next_index += len(message)
        else:
            for outcome in message:
                waiting[outcome.index] = outcome
        next_index = self.next_index
        while next_index in waiting:
            run.append(waiting.pop(next_index))
            next_index += 1
        self.next_index = next_index
        return run

    @property
    def complete(self) -> bool:
        """Whether the end marker came and every input read got its outcome."""
        return self.read is not None and self.next_index >= self.read

    def gap(self) -> range | None:
        """After the end marker: the inputs still without an outcome (None if there are none, or no end yet)."""
        if self.read is not None and self.next_index < self.read:
            return range(self.next_index, self.read)
        return None
