"""Updates from different people run at once; updates from one chat run one after another, in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from prometheus_client import Histogram
from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """One person's photo album or burst of taps is handled in the order sent, while other people
    are served in parallel; without this, concurrent updates could race on one report draft."""

    def __init__(self, max_concurrent_updates: int = 64, timed: Histogram | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._timed = timed  # observes each update's handling time (not its wait for the chat's turn)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    @staticmethod
    def _chat_key(update: object) -> int | None:
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:
                return update.effective_user.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._chat_key(update)
        if key is None:
            await self._handle(coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._handle(coroutine)
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                del self._locks[key]

    async def _handle(self, coroutine: Awaitable[Any]) -> None:
        if self._timed is None:
            await coroutine
            return
        started = time.perf_counter()
        try:
            await coroutine
        finally:
            self._timed.observe(time.perf_counter() - started)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
