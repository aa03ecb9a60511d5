"""The pacer's window counts what the server can have seen: whatever the answers' timing, no second
at the server holds more than N arrivals; the best waiting call gets the next free slot; a chat's
next message leaves a full interval after the answer to its previous one.

Each test runs on an event loop whose clock is virtual: when nothing is ready to run, time jumps to
the next timer. Nothing sleeps for real and nothing depends on the machine's speed.
"""

from __future__ import annotations

import asyncio
import random
import selectors
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from handlers.pacing import ChatSpacing, Pacer, WindowSlots, sending_priority
from storage.outbox import EMERGENCY, LATER, NORMAL


class _VirtualSelector(selectors.SelectSelector):
    """Waiting for `timeout` seconds moves the loop's clock on instead (there is no I/O to wait for)."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise AssertionError("every task waits and no timer is set: the pacer would hang here")
        self._loop.now += max(timeout, 0.0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 1000.0
        super().__init__(_VirtualSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(scenario: Callable[[], Awaitable[Any]]) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(scenario())
    finally:
        left = asyncio.all_tasks(loop)  # a pacer's server between two rounds
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left))
        loop.close()


def pacer(slots: int, chat_interval: float = 0.0) -> Pacer:
    loop = asyncio.get_running_loop()
    return Pacer(WindowSlots(slots, loop.time), ChatSpacing(chat_interval))


def most_in_one_second(times: list[float]) -> int:
    """The most arrivals in any half-open second [t, t + 1)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize("seed", range(12))
def test_no_answer_timing_puts_more_than_n_calls_in_the_servers_second(seed: int) -> None:
    """Calls with round trips from nothing to two seconds, each arriving anywhere between leaving
    and its answer, some given up in flight (the slot is held a second after that; whether the call
    arrived before it was given up, nobody knows)."""
    rng = random.Random(seed)
    slots = rng.choice([1, 3, 30])

    async def scenario() -> tuple[list[float], list[float]]:
        window = pacer(slots)
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []
        departures: list[float] = []

        async def call(chat: int) -> None:
            await asyncio.sleep(rng.uniform(0, 3))  # calls come in at any time
            await window.wait(chat, True)
            left = loop.time()
            departures.append(left)
            trip = rng.choice([0.0, rng.uniform(0, 0.05), rng.uniform(0, 0.5), rng.uniform(0, 2.0)])
            if rng.random() < 0.1:
                trip = rng.uniform(0, trip)  # given up (timed out, cancelled) part of the way: it may have arrived
            arrivals.append(left + rng.uniform(0, trip))
            try:
                await asyncio.sleep(trip)
            finally:
                window.answered(chat)

        await asyncio.gather(*(call(chat) for chat in range(slots * 12)))
        return arrivals, departures

    arrivals, departures = run_virtual(scenario)
    assert len(arrivals) == slots * 12
    assert most_in_one_second(arrivals) <= slots
    assert most_in_one_second(departures) <= slots


def test_with_a_steady_round_trip_the_window_sends_n_per_second_and_the_trip() -> None:
    """Not more conservative than needed: 10 slots, answers after 0.1 s: the window frees each slot
    1.1 s after it was taken."""

    async def scenario() -> list[float]:
        window = pacer(10)
        loop = asyncio.get_running_loop()
        departures: list[float] = []

        async def call(chat: int) -> None:
            await window.wait(chat, True)
            departures.append(loop.time())
            await asyncio.sleep(0.1)
            window.answered(chat)

        start = loop.time()
        await asyncio.gather(*(call(chat) for chat in range(40)))
        return [at - start for at in departures]

    departures = run_virtual(scenario)
    assert most_in_one_second(departures) <= 10
    # The first ten leave within a second (the even schedule spreads them); each later one 1.1 s
    # after the one whose slot it took.
    assert departures[9] < 1.0
    assert departures[39] == pytest.approx(departures[9] + 3 * 1.1)


def test_the_best_waiting_call_gets_the_next_free_slot() -> None:
    """Emergencies first, then a message already begun (its photos were sent, its text waits), then
    the rest in the order they came."""

    async def scenario() -> list[str]:
        window = pacer(1)
        granted: list[str] = []
        await window.wait(0, True)  # the one slot is in flight

        async def call(name: str, chat: int, priority: int, first: bool) -> None:
            with sending_priority(priority):
                await window.wait(chat, first)
            granted.append(name)
            await asyncio.sleep(0.01)
            window.answered(chat)

        calls = [asyncio.ensure_future(call("later", 1, LATER, True)),
                 asyncio.ensure_future(call("normal", 2, NORMAL, True)),
                 asyncio.ensure_future(call("emergency", 3, EMERGENCY, True)),
                 asyncio.ensure_future(call("normal, begun", 4, NORMAL, False)),
                 asyncio.ensure_future(call("normal, second", 5, NORMAL, True))]
        await asyncio.sleep(0.5)
        assert granted == []
        window.answered(0)
        await asyncio.gather(*calls)
        return granted

    assert run_virtual(scenario) == ["emergency", "normal, begun", "normal", "normal, second", "later"]


def test_a_chats_next_message_waits_a_full_interval_after_the_answer_to_its_last() -> None:
    async def scenario() -> tuple[float, float]:
        window = pacer(30, chat_interval=1.0)
        loop = asyncio.get_running_loop()
        await window.wait(7, True)
        await asyncio.sleep(0.4)  # a slow answer: the message may have arrived only now
        window.answered(7)
        answered = loop.time()
        await window.wait(7, False)  # another call of the same message (its text after its pin) goes at once
        window.answered(7)
        again = loop.time()
        await window.wait(7, True)
        return again - answered, loop.time() - answered

    same_message, next_message = run_virtual(scenario)
    assert same_message == 0.0
    assert next_message >= 1.0


def test_a_slot_granted_to_a_call_that_never_left_goes_to_the_next_waiter() -> None:
    async def scenario() -> list[int]:
        window = pacer(1)
        loop = asyncio.get_running_loop()
        await window.wait(1, True)
        second = asyncio.ensure_future(window.wait(2, True))
        third = asyncio.ensure_future(window.wait(3, True))
        await asyncio.sleep(0.2)
        second.cancel()  # a waiter gives up: it takes no slot with it
        window.unused(1)  # the first call was stopped before it left: its slot is free at once
        started = loop.time()
        await third
        assert loop.time() == started
        return sorted(window._in_flight)

    assert run_virtual(scenario) == [3]
