"""The rolling-window limiter, with explicit times (no clock, no sleeping)."""

from __future__ import annotations

import attrs
import pytest
from hubspot_batch import RateLimitHeaders, Reservation, RollingWindow


def test_first_window_goes_at_once_then_waits_for_the_oldest_send() -> None:
    window = RollingWindow(3, interval=10.0, margin=0.1)
    assert [window.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.reserve(1.0) == pytest.approx(10.1)
    assert window.reserve(1.0) == pytest.approx(10.1)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    window = RollingWindow(5, interval=1.0, margin=0.01)
    times = [window.reserve(now / 10) for now in range(100)]
    for t in times:
        in_window = [s for s in times if t - 1.0 < s <= t]
        assert len(in_window) <= 5


def test_learns_max_and_interval_from_headers() -> None:
    window = RollingWindow(100)
    window.observe(RateLimitHeaders(max=190, remaining=189, interval_ms=10_000), sent_at=0.0, now=0.3)
    assert window.limit == 190 and window.interval == 10.0
    capped = RollingWindow(50, cap=50)
    capped.observe(RateLimitHeaders(max=190, remaining=189, interval_ms=10_000), sent_at=0.0, now=0.3)
    assert capped.limit == 50


def test_remaining_lower_than_ours_books_foreign_usage() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    sent = window.reserve(0.0)
    # Someone else used 5 of the 10: after our one request HubSpot says 4 remain.
    window.observe(RateLimitHeaders(max=10, remaining=4, interval_ms=10_000), sent_at=sent, now=0.2)
    assert window.used(0.2) == 6
    assert [window.reserve(1.0) for _ in range(4)] == [1.0] * 4
    assert window.reserve(1.0) == pytest.approx(10.0)


def test_reordered_answers_are_not_taken_for_foreign_usage() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    sends = [window.reserve(0.0) for _ in range(4)]
    # The first request reached HubSpot last: its answer says 6 remain.
    window.observe(RateLimitHeaders(max=10, remaining=6, interval_ms=10_000), sent_at=sends[0], now=0.3)
    assert window.used(0.3) == 4


def test_429_fills_the_window_and_honours_retry_after() -> None:
    window = RollingWindow(10, interval=10.0, margin=0.0)
    window.reserve(0.0)
    window.on_rate_limited(now=1.0, retry_after=None)
    assert window.reserve(1.0) == pytest.approx(10.0)
    paused = RollingWindow(10, interval=10.0)
    paused.on_rate_limited(now=0.0, retry_after=3.0)
    assert paused.reserve(0.0) >= 3.0


def test_confirm_moves_a_send_to_when_it_really_left() -> None:
    window = RollingWindow(1, interval=10.0, margin=0.0)
    booked = window.reserve(0.0)
    window.confirm(booked, 0.5)
    assert window.reserve(0.6) == pytest.approx(10.5)


def test_headers_parse_case_insensitively_and_ignore_garbage() -> None:
    parsed = RateLimitHeaders.parse(
        {"x-hubspot-ratelimit-max": "190", "x-hubspot-ratelimit-remaining": "oops", "x-hubspot-ratelimit-daily": "1000"}
    )
    assert parsed == RateLimitHeaders(max=190, remaining=None, interval_ms=None, daily=1000)


def test_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        RollingWindow(0)


# ---- the adaptive margin: widened by 429s, narrowed back after a quiet window

Event = tuple[str, float, int]  # (what, time, how many)


def _margins(window: RollingWindow, events: list[Event]) -> list[float]:
    """Apply ``events`` and give the margin after each one.

    ``("429", t, _)``: a rolling-window 429 met at ``t``; ``("answer", t, _)``:
    the answer (no headers) to a send booked at ``t``; ``("sends", t, k)``: ``k``
    sends booked at ``t``.
    """
    out: list[float] = []
    for what, at, count in events:
        if what == "429":
            window.on_rate_limited(now=at, retry_after=None)
        elif what == "answer":
            window.observe(RateLimitHeaders(), sent_at=at, now=at + 0.1)
        else:
            for _ in range(count):
                window.reserve(at)
        out.append(round(window.current_margin, 6))
    return out


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([("429", 1.0, 0)], [0.15], id="a 429 doubles the margin plus one base margin"),
        pytest.param(
            [("429", 1.0, 0), ("429", 1.1, 0), ("429", 1.2, 0)], [0.15, 0.15, 0.15], id="a burst of 429s widens once"
        ),
        pytest.param(
            [("429", 1.0, 0), ("answer", 0.5, 0), ("429", 1.2, 0)],
            [0.15, 0.15, 0.15],
            id="the answer to a send booked before the widening does not re-arm it",
        ),
        pytest.param(
            [("429", 1.0, 0), ("answer", 2.0, 0), ("429", 2.1, 0)],
            [0.15, 0.15, 0.35],
            id="a 429 after a send booked with the widened margin widens again",
        ),
        pytest.param(
            [(what, 2.0 * i + (0.5 if what == "answer" else 0.0), 0) for i in range(5) for what in ("429", "answer")],
            [0.15, 0.15, 0.35, 0.35, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0],
            id="capped at max_margin",
        ),
        pytest.param(
            [("429", 1.0, 0), ("sends", 2.0, 9), ("sends", 2.0, 1), ("sends", 2.0, 10)],
            [0.15, 0.15, 0.1, 0.075],
            id="a full window's worth of sends without a 429 halves the excess",
        ),
        pytest.param(
            [("429", 1.0, 0), ("sends", 2.0, 9), ("429", 2.5, 0), ("sends", 3.0, 9), ("sends", 3.0, 1)],
            [0.15, 0.15, 0.15, 0.15, 0.1],
            id="a 429 that does not widen still restarts the quiet count",
        ),
        pytest.param(
            [("429", 1.0, 0), ("sends", 2.0, 10 * 20)],
            [0.15, 0.05],
            id="never below the base, an excess < 1 ms dropped",
        ),
        pytest.param([("sends", 0.0, 50)], [0.05], id="quiet sends never narrow the base"),
    ],
)
def test_adaptive_margin_rule(events: list[Event], expected: list[float]) -> None:
    assert _margins(RollingWindow(10, interval=10.0, margin=0.05), events) == expected


@pytest.mark.parametrize(
    ("margin", "max_margin", "expected"),
    [
        (0.05, 0.2, [0.15, 0.15, 0.2, 0.2]),  # a lower ceiling
        (0.1, 1.0, [0.3, 0.3, 0.7, 0.7]),  # the step is the base margin
        (0.0, 1.0, [0.0, 0.0, 0.0, 0.0]),  # margin=0: booked to the millisecond, always
        (2.0, 1.0, [2.0, 2.0, 2.0, 2.0]),  # a base above the ceiling stays the base
    ],
)
def test_adaptive_margin_bounds(margin: float, max_margin: float, expected: list[float]) -> None:
    window = RollingWindow(10, interval=10.0, margin=margin, max_margin=max_margin)
    events: list[Event] = [("429", 1.0, 0), ("answer", 2.0, 0), ("429", 2.1, 0), ("answer", 3.0, 0)]
    assert _margins(window, events) == expected


def test_the_widened_margin_spaces_the_next_sends() -> None:
    window = RollingWindow(3, interval=10.0, margin=0.1)
    assert [window.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    window.on_rate_limited(now=1.0, retry_after=None)  # someone else's request, say: our three fill the window
    assert window.current_margin == pytest.approx(0.3)
    assert window.reserve(1.0) == pytest.approx(10.3)
    assert window.margin == 0.1  # the constructor's margin stays the base


def test_a_negative_margin_is_refused() -> None:
    with pytest.raises(ValueError):
        RollingWindow(10, margin=-0.1)


def test_a_late_send_waits_at_departure_for_the_send_booked_after_it() -> None:
    w = RollingWindow(limit=1, interval=1.0, margin=0.0)
    late, on_time = w.reserve(0.0), w.reserve(0.0)
    assert (late, on_time) == (0.0, 1.0)
    assert w.depart(on_time, 1.0) == 1.0  # on time: leaves at once
    assert w.depart(late, 1.2) == 2.0  # leaving now would put two sends in (0.2, 1.2]
    assert w.depart(2.0, 2.0) == 2.0
    assert w.reserve(2.0) == 3.0


def test_a_late_send_that_still_fits_leaves_now_and_moves_there() -> None:
    w = RollingWindow(limit=2, interval=1.0, margin=0.0)
    first = w.reserve(0.0)
    assert w.depart(first, 0.4) == 0.4
    assert w.used(0.4) == 1 and w.used(1.3) == 1  # booked at 0.4, not at 0.0
    assert w.depart(0.5, 0.2) == 0.5  # before its slot: wait for the slot


def test_departure_honours_a_pause() -> None:
    w = RollingWindow(limit=5, interval=1.0, margin=0.0)
    booked = w.reserve(0.0)
    w.on_rate_limited(0.1, retry_after=2.0)
    assert w.depart(booked, 0.2) == pytest.approx(2.1)


class _Departures:
    """A backend's depart that counts how often it was asked; ``margin`` only when given."""

    def __init__(self, margin: float | None = None) -> None:
        self.asked = 0
        if margin is not None:
            self.margin = margin

    async def depart(self, reservation: Reservation) -> Reservation:
        self.asked += 1
        return attrs.evolve(reservation, delay=0.0)


async def test_a_send_on_time_leaves_without_asking_the_backend() -> None:
    from hubspot_batch._limiter import ON_TIME, depart

    booked = Reservation(delay=0.0, slot=1.0)
    backend = _Departures(margin=0.05)
    assert (await depart(backend, booked, late=ON_TIME)).delay == 0.0  # type: ignore[arg-type]
    await depart(backend, booked, late=-0.001)  # type: ignore[arg-type]  # a timer firing a tick early
    assert backend.asked == 0
    await depart(backend, booked, late=ON_TIME * 2)  # type: ignore[arg-type]
    await depart(backend, booked)  # type: ignore[arg-type]  # lateness unknown: always asked
    assert backend.asked == 2
    narrow = _Departures(margin=0.004)  # on time is within half the margin when that is under ON_TIME
    await depart(narrow, booked, late=0.003)  # type: ignore[arg-type]
    assert narrow.asked == 1
    plain = _Departures()  # no margin: every departure is asked
    await depart(plain, booked, late=0.0001)  # type: ignore[arg-type]
    assert plain.asked == 1
