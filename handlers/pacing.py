"""Keeping to Telegram's sending limits (DESIGN.md): about 30 messages a second overall and one a
second to a private chat.

Telegram counts a message when it arrives, somewhere between the moment the call leaves and the
moment its answer comes back. So the pacer counts what the server can have seen: a window of N
slots (N = the limit a second). A call takes a slot when it leaves and holds it until one second
after its answer (or its failure, or its cancellation) comes back; a call leaves only while a slot
is free. Whatever the network does, no second at the server can hold more than N arrivals, and the
rate is N / (1 s + the round trip): no haircut is needed.

- The slots live in memory for one process (`WindowSlots`) or in the store for several sharing one
  bot (`handlers.shared_slots.StoreSlots`); the pacer only asks them for free slots, as many at a
  time as calls wait. A slot in the store may be taken a moment before it frees: its call then
  waits out the rest here before it leaves.
- When slots are scarce the waiting call with the highest priority (EMERGENCY first, then a message
  already begun, then the oldest) gets the next free one; a sender says its message's priority with
  `sending_priority`.
- Calls also leave on an even schedule of N a second that may run up to 0.1 s late and catch up:
  the slots of a big send are taken one after the other rather than all at once, and as each is
  taken again a second later, the send stays spread out (fewer requests at once, shorter round
  trips). The schedule shapes; the window bounds.
- One chat: a message's first call leaves at least `chat_interval` after the answer to the chat's
  previous message. The answer, not the departure: the previous message may have arrived as late
  as its answer, and this one may arrive as early as it leaves. The calls of one message (photos,
  the pin, the text) count as one message and go one after the other.

A call's slot is given back with `answered(chat)` (its answer is in) or `unused(chat)` (it never
left); a chat has at most one call in flight per pacer, which the outbound sender ensures.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from storage.outbox import NORMAL

log = logging.getLogger(__name__)

HOLD_SECONDS = 1.0  # Telegram's window: a call counts for one second after it arrives
CATCH_UP_SECONDS = 0.1  # how late the even schedule may run and still catch up

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_priority: contextvars.ContextVar[int] = contextvars.ContextVar("gridline_send_priority", default=NORMAL)


@contextmanager
def sending_priority(priority: int) -> Iterator[None]:
    """Calls paced inside (in this task) wait with this priority (lower goes first, as in the queue)."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


class Slots(Protocol):
    """The N sending slots of one Bot API limit."""

    count: int

    def try_take(self) -> int | None:
        """A free slot at once, or None (always None where taking one is a round trip)."""

    async def take(self, wanted: int) -> tuple[list[tuple[int, float]], float | None]:
        """Up to `wanted` slots, each with how long to wait before using it (a slot may be taken a
        moment before it frees, so that the round trip of taking it costs nothing); and when fewer:
        in how many seconds the next one can be taken (None: not before a slot is given back here)."""

    def give_back(self, slot: int) -> None:
        """The call's answer is in (or it failed): the slot is held `HOLD_SECONDS` more."""

    def put_back(self, slot: int) -> None:
        """The call never left: the slot is free at once."""

    async def prepare(self) -> None:
        """Be ready to take slots (before the first call, so that it does not wait for this)."""

    async def close(self) -> None:
        """Finish what is under way (a stop)."""


class WindowSlots:
    """The slots of one process, in memory."""

    def __init__(self, count: int, clock: Clock, hold: float = HOLD_SECONDS) -> None:
        self.count = count
        self.hold = hold
        self._clock = clock
        self._free = list(range(count))
        self._held: list[tuple[float, int]] = []  # (free again at, slot), a heap

    def _refresh(self, now: float) -> None:
        while self._held and self._held[0][0] <= now:
            self._free.append(heapq.heappop(self._held)[1])

    def try_take(self) -> int | None:
        self._refresh(self._clock())
        return self._free.pop() if self._free else None

    async def take(self, wanted: int) -> tuple[list[tuple[int, float]], float | None]:
        now = self._clock()
        self._refresh(now)
        taken = [(self._free.pop(), 0.0) for _ in range(min(wanted, len(self._free)))]
        return taken, (self._held[0][0] - now if self._held else None)

    def give_back(self, slot: int) -> None:
        heapq.heappush(self._held, (self._clock() + self.hold, slot))

    def put_back(self, slot: int) -> None:
        self._free.append(slot)

    async def prepare(self) -> None:
        return None

    async def close(self) -> None:
        return None


class ChatSpacing:
    """When each chat may get its next message (shared by the pacers of one sender)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._free_at: dict[int, float] = {}

    def answered(self, chat_id: int, now: float) -> None:
        if self.interval > 0:
            self._free_at[chat_id] = now + self.interval
            if len(self._free_at) > 10_000:
                self._free_at = {c: t for c, t in self._free_at.items() if t > now}

    def wait(self, chat_id: int, now: float) -> float:
        return self._free_at.get(chat_id, now) - now


class Pacer:
    def __init__(self, slots: Slots, chats: ChatSpacing, clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self.slots = slots
        self.chats = chats
        self.gap = 1.0 / slots.count
        self._next_at = -math.inf  # the even schedule: when the next call may leave
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._in_flight: dict[int, int] = {}  # chat -> the slot of its call in flight
        self._waiting: list[tuple[int, int, int, asyncio.Future[int]]] = []  # (priority, begun?, order, …), a heap
        self._order = itertools.count()
        self._server: asyncio.Task[None] | None = None
        self._released = asyncio.Event()
        self._coming: set[asyncio.Task[None]] = set()  # slots taken ahead, handed on when they free

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    # --- what a sender calls ------------------------------------------------------------------

    async def wait(self, chat_id: int, new_message: bool = True) -> None:
        """Return when a call to `chat_id` may leave, holding a slot for it. `new_message` is the
        first call of a message (its photos, pin and text count as one message to the chat, but
        each is a call against the overall rate)."""
        if new_message:
            while (delay := self.chats.wait(chat_id, self._now())) > 0:
                await self._sleep(delay)
        slot = await self._take(_priority.get(), new_message)
        left = self._in_flight.pop(chat_id, None)
        if left is not None:  # a call whose answer was not reported: held as if answered now
            self.slots.give_back(left)
        self._in_flight[chat_id] = slot

    def answered(self, chat_id: int) -> None:
        """The answer to the chat's call in flight came back (or the call failed or was given up)."""
        slot = self._in_flight.pop(chat_id, None)
        if slot is not None:
            self.slots.give_back(slot)
            self.chats.answered(chat_id, self._now())
            self._released.set()

    def unused(self, chat_id: int) -> None:
        """The chat's call was granted a slot but never left."""
        slot = self._in_flight.pop(chat_id, None)
        if slot is not None:
            self._hand_on(slot)
            self._released.set()

    async def close(self) -> None:
        """A stop: the slots given back are written where they are kept."""
        await self.slots.close()

    # --- the window ---------------------------------------------------------------------------

    def _schedule_allows(self, now: float) -> int:
        """How many calls the even schedule lets leave at `now`."""
        at, allowed = self._next_at, 0
        while now >= at:
            at = max(at, now - CATCH_UP_SECONDS) + self.gap
            allowed += 1
        return allowed

    def _left(self, now: float) -> None:
        self._next_at = max(self._next_at, now - CATCH_UP_SECONDS) + self.gap

    async def _take(self, priority: int, new_message: bool) -> int:
        now = self._now()
        if not self._waiting and now >= self._next_at:
            slot = self.slots.try_take()
            if slot is not None:
                self._left(now)
                return slot
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, int(new_message), next(self._order), future))
        if self._server is None or self._server.done():
            self._server = asyncio.get_running_loop().create_task(self._serve())
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted just as the waiter was cancelled
                self._hand_on(future.result())
            raise

    def _next_waiter(self) -> asyncio.Future[int] | None:
        while self._waiting and self._waiting[0][3].done():  # cancelled while waiting
            heapq.heappop(self._waiting)
        return self._waiting[0][3] if self._waiting else None

    def _hand_on(self, slot: int) -> None:
        """A slot that was never used: to the next waiter, or free."""
        waiter = self._next_waiter()
        if waiter is not None:
            heapq.heappop(self._waiting)
            waiter.set_result(slot)
        else:
            self.slots.put_back(slot)

    async def _hand_on_later(self, slot: int, wait: float) -> None:
        """A slot taken ahead: to the best waiter once its last call's hold has ended."""
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            self.slots.give_back(slot)  # unused, and held past its last call's hold
            raise
        self._hand_on(slot)
        self._released.set()

    async def _serve(self) -> None:
        """Hand free slots to the waiting calls, best first."""
        while self._next_waiter() is not None:
            uncovered = len(self._waiting) - len(self._coming)
            if uncovered <= 0:  # the slots taken ahead are enough for those waiting
                self._released.clear()
                await self._released.wait()
                continue
            now = self._now()
            wanted = min(self._schedule_allows(now), uncovered)
            if not wanted:
                await self._sleep(self._next_at - now)
                continue
            self._released.clear()
            try:
                slots, next_free = await self.slots.take(wanted)
            except Exception as error:  # noqa: BLE001 - the store may be out of reach; the calls wait for it
                log.warning("sending slots: %s; trying again in 1 s", error)
                await self._sleep(1.0)
                continue
            for slot, wait in slots:
                self._left(now + wait)
                if wait <= 0:
                    self._hand_on(slot)
                    continue
                coming = asyncio.get_running_loop().create_task(self._hand_on_later(slot, wait))
                self._coming.add(coming)
                coming.add_done_callback(self._coming.discard)
            if len(slots) < wanted and self._next_waiter() is not None:
                if next_free is None:
                    await self._released.wait()
                else:
                    await self._sleep(max(next_free, 0.0))
