"""Direct replies wait out Telegram's flood control (429) instead of being lost.

A reply, an edit or a button's answer is sent while a person waits for it; a 429 carries
`retry_after`, and waiting that long and asking again is what Telegram asks. This sits in the bot's
request layer (python-telegram-bot's rate-limiter hook), so every call site is covered. The queue
sender opts out: it records the wait in the store for that person and moves on to other chats.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 10.0  # in all, per call: a shutdown must still finish within 20 s

_from_queue: contextvars.ContextVar[bool] = contextvars.ContextVar("gridline_send_from_queue", default=False)


@contextmanager
def sending_from_queue() -> Iterator[None]:
    """Calls made inside (in this task) raise a 429 at once, for the queue sender to reschedule."""
    token = _from_queue.set(True)
    try:
        yield
    finally:
        _from_queue.reset(token)


def retry_seconds(error: RetryAfter) -> float:
    """How long a 429 asks us to wait (PTB gives a timedelta or, in older releases, a number)."""
    delay = error.retry_after
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


def describe_failure(error: Exception) -> str:
    """Why the Bot API does not serve us, for logs and /healthz; never the token or the URL."""
    if isinstance(error, InvalidToken):
        return "the Bot API refuses the bot token (401 Unauthorized)"
    if isinstance(error, Conflict):
        return "another process is taking this bot's updates (409 Conflict)"
    if isinstance(error, RetryAfter):
        return "the Bot API asks us to wait (429 flood control)"
    if isinstance(error, TimedOut):
        return "the Bot API does not answer in time"
    if isinstance(error, NetworkError):
        return f"the Bot API is not reachable ({type(error).__name__})"
    return f"the Bot API answers with an error ({type(error).__name__})"


class FloodWait(BaseRateLimiter[None]):
    def __init__(self, sleep: Callable[[float], Awaitable[None]], max_wait: float = MAX_WAIT_SECONDS) -> None:
        self._sleep = sleep
        self.max_wait = max_wait

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        waited = 0.0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = retry_seconds(error)
                if _from_queue.get() or waited + wait > self.max_wait:
                    raise
                log.info("%s to chat %s: flood control, waiting %s s and sending again",
                         endpoint, data.get("chat_id"), wait)
                await self._sleep(wait)
                waited += wait
