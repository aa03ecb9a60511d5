"""Waking the senders of other processes when messages are queued (PostgreSQL LISTEN/NOTIFY).

A web process queues a task card or an alert; the workers that send it may be other processes.
Without a wake-up they would find it at their next poll, seconds later. The queueing transaction
sends NOTIFY, which PostgreSQL delivers when (and only if) it commits, to every listening worker.
SQLite has no such thing; there the queue is shared by one process, which wakes its own sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

CHANNEL = "gridline_outbox"
# The command-centre boards (issue 17): a transaction that changed what a board shows.
BOARD_CHANNEL = "gridline_board"
RECONNECT_SECONDS = 5.0


async def announce_queued(session: AsyncSession) -> None:
    """Tell the listening workers, at commit, that this transaction queued messages."""
    await session.execute(text(f"NOTIFY {CHANNEL}"))


async def announce_board_change(session: AsyncSession) -> None:
    """Tell the listening boards, at commit, that this transaction changed what they show."""
    await session.execute(text(f"NOTIFY {BOARD_CHANNEL}"))


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class QueueListener:
    """Calls `wake` whenever any process commits queued messages; reconnects when the
    connection is lost (meanwhile the sender's own poll still finds everything)."""

    def __init__(self, url: str, wake: Callable[[], None], channel: str = CHANNEL) -> None:
        self._dsn = _asyncpg_dsn(url)
        self._wake = wake
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _listen_forever(self) -> None:
        import asyncpg

        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("cannot listen for queued messages (%s); retrying in %.0f s", type(error).__name__,
                            RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(self._channel, lambda *_: self._wake())
                self.listening.set()
                self._wake()  # anything queued while this connection was down
                await lost.wait()
                log.warning("lost the connection that listens for queued messages; reconnecting")
            finally:
                self.listening.clear()
                await connection.close(timeout=5)
