"""Long polling that outlives the Bot API misbehaving.

python-telegram-bot's own polling stops for good on one 401 (it takes InvalidToken as fatal), and
one update it cannot parse makes it fetch the same batch again and again. Here getUpdates is
retried with a capped backoff whatever the Bot API answers, /healthz hears why it is failing, and
an update that cannot be parsed is logged once with its id and passed over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update
from telegram.error import (
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from handlers.flood_wait import describe_failure, retry_seconds
from handlers.runtime import BotApiStatus

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 10
BACKOFF_START = 1.0
BACKOFF_CAP = 30.0  # a refused or unreachable Bot API is asked again at least this often


class GridlineBot(ExtBot[None]):
    """The Bot client, with getUpdates answered as plain JSON so each update is parsed on its own."""

    async def get_update_dicts(self, offset: int | None, long_poll: int,
                               allowed_updates: Sequence[str] | None) -> list[object]:
        """getUpdates, holding the request up to `long_poll` seconds while there is nothing new."""
        data: dict[str, Any] = {"timeout": long_poll, "offset": offset, "allowed_updates": allowed_updates}
        # The read timeout must outlast the long poll, or every quiet poll would end as a timeout.
        result = await self._post("getUpdates", data, read_timeout=long_poll + 10)
        return result if isinstance(result, list) else []


def read_update(data: object, bot: ExtBot[None]) -> Update | None:
    """The update in `data`, or None (logged with its id) when the library cannot read it."""
    update_id = data.get("update_id") if isinstance(data, dict) else None
    try:
        update = Update.de_json(data, bot) if isinstance(data, dict) else None
    except Exception as error:  # noqa: BLE001 - any update the library cannot read is passed over, never retried
        log.error("update %s cannot be read and is skipped: %s: %s", update_id, type(error).__name__, error)
        return None
    if update is None:
        log.error("update %s cannot be read and is skipped", update_id)
    return update


class UpdatePoller:
    """Takes updates with getUpdates and puts them on the Application's queue, until stopped."""

    def __init__(self, bot: GridlineBot, queue: asyncio.Queue[object],
                 status: BotApiStatus, *, allowed_updates: Sequence[str] | None = None,
                 timeout: int = LONG_POLL_SECONDS, backoff_start: float = BACKOFF_START,
                 backoff_cap: float = BACKOFF_CAP, monotonic: Callable[[], float] | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.bot = bot
        self.queue = queue
        self.status = status
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self._monotonic = monotonic or (lambda: asyncio.get_running_loop().time())
        self._sleep = sleep or asyncio.sleep
        self.offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="gridline:polling")

    async def stop(self) -> None:
        """Stop asking for updates (a long poll in flight is dropped: Telegram keeps its updates)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def confirm(self) -> None:
        """Tell Telegram the updates taken so far are handled, so a restart does not get them again."""
        if self.offset is None:
            return
        try:
            await self.bot.get_update_dicts(self.offset, 0, self.allowed_updates)
        except TelegramError as error:
            log.warning("could not confirm the updates taken (%s); some may come again after the restart",
                        describe_failure(error))

    async def run(self) -> None:
        try:
            await self._poll_until_cancelled()
        except asyncio.CancelledError:
            raise
        except BaseException:
            # A bug here would leave the bot deaf: /healthz says so from now on.
            self.status.failed("polling for updates stopped", float("inf"))
            log.exception("polling for updates stopped")
            raise

    async def _poll_until_cancelled(self) -> None:
        webhook_removed = False
        delay = self.backoff_start
        failing_since: float | None = None
        while True:
            try:
                if not webhook_removed:  # a webhook left set makes every getUpdates a 409
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_removed = True
                batch = await self.bot.get_update_dicts(self.offset, self.timeout, self.allowed_updates)
            except RetryAfter as error:
                self.status.answered(self._monotonic())  # it answers; it only asks us to wait
                wait = retry_seconds(error)
                log.warning("getUpdates: flood control, waiting %s s", wait)
                await self._sleep(wait)
                continue
            except Exception as error:  # noqa: BLE001 - whatever the Bot API or the network does, ask again later
                problem = describe_failure(error)
                if isinstance(error, TimedOut) and failing_since is None:
                    # One long poll that timed out is no news; ask again at once.
                    failing_since = self._monotonic()
                    continue
                # A 409 means a webhook is set or another process polls. The webhook was deleted once
                # at the start; deleting it again would take it from a live deployment, so only wait.
                if self.status.problem != problem:
                    log.warning("%s; asking again with backoff until it serves us", problem)
                if failing_since is None:
                    failing_since = self._monotonic()
                self.status.failed(problem, self._monotonic())
                await self._sleep(delay)
                delay = min(delay * 2, self.backoff_cap)
                continue
            if failing_since is not None and self.status.problem is not None:
                log.warning("the Bot API serves us again after %.0f s", self._monotonic() - failing_since)
            failing_since = None
            delay = self.backoff_start
            self.status.answered(self._monotonic())
            await self._take(batch)

    async def _take(self, batch: list[object]) -> None:
        # No update comes twice here: getUpdates answers only ids at or past `offset`, and the offset
        # is moved past every id taken. (Resends are the webhook's concern: bot/web.py.)
        for data in batch:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if isinstance(update_id, int):
                # Past this one whatever becomes of it: an update that cannot be read is skipped,
                # not fetched again and again.
                self.offset = max(self.offset or 0, update_id + 1)
            update = read_update(data, self.bot)
            if update is not None:
                await self.queue.put(update)
