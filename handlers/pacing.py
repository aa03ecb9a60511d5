"""Keeping to Telegram's sending limits (DESIGN.md): about 30 messages a second overall and one a
second to a private chat.

Each send first reserves a slot in an even schedule, so concurrent senders share the budget fairly;
then, just before it goes, it checks the sends that really went in the last second, so a send
delayed by a busy event loop cannot make a burst when it finally leaves.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(self, per_second: float, chat_interval: float,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.gap = 1.0 / per_second
        self.window_limit = max(1, math.floor(per_second))
        self.chat_interval = chat_interval
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._next_free = 0.0
        self._chat_free: dict[int, float] = {}
        self._chat_sent: dict[int, float] = {}
        self._sent: collections.deque[float] = collections.deque()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def reserve(self, chat_id: int, new_message: bool) -> float:
        """The moment this send may go. `new_message` is the first call of a message (its photos, pin
        and text count as one message to the chat, but each is a call against the overall rate)."""
        now = self._now()
        start = max(now, self._chat_free.get(chat_id, 0.0)) if new_message else now
        slot = max(start, self._next_free)
        self._next_free = slot + self.gap
        if new_message:
            self._chat_free[chat_id] = slot + self.chat_interval
        if len(self._chat_free) > 10_000:
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}
            self._chat_sent = {c: t for c, t in self._chat_sent.items() if t > now - self.chat_interval}
        return slot

    async def wait(self, chat_id: int, new_message: bool = True) -> None:
        delay = self.reserve(chat_id, new_message) - self._now()
        if delay > 0:
            await self._sleep(delay)
        while (delay := self._wait_before_sending(chat_id, new_message)) > 0:
            await self._sleep(delay)

    def _wait_before_sending(self, chat_id: int, new_message: bool) -> float:
        """0 and the send is recorded as gone, or how long to wait until the last second allows it."""
        now = self._now()
        while self._sent and self._sent[0] <= now - 1.0:
            self._sent.popleft()
        waits = [self._sent[0] + 1.0 - now] if len(self._sent) >= self.window_limit else []
        if new_message and chat_id in self._chat_sent:
            waits.append(self._chat_sent[chat_id] + self.chat_interval - now)
        longest = max(waits, default=0.0)
        if longest > 0:
            return longest
        self._sent.append(now)
        if new_message:
            self._chat_sent[chat_id] = now
        return 0.0
