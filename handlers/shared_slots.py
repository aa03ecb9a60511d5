"""The pacer's slots kept in the store, so that every sending process of one bot keeps to one Bot
API limit together (PostgreSQL; `storage/send_slots.py` has the statements).

Taking slots is a round trip: the pacer asks for as many as calls wait, in one statement, a moment
before the slots free (the calls wait out the rest here, as the database measured it). Giving
them back is written behind the sends, many in one statement, each with how long ago its answer
came (measured here, on this machine's monotonic clock: the database adds it to its own). A process
that dies with calls in flight leaves their slots to their lease.
"""

from __future__ import annotations

import asyncio
import logging
import time

from handlers.pacing import HOLD_SECONDS
from storage import send_slots
from storage.db import Store

log = logging.getLogger(__name__)

# A slot taken is held this long unless given back: longer than any call may take (the Bot API
# library gives up on a call after at most about 30 s), so a slot is never free while its call flies.
LEASE_SECONDS = 60.0
# A slot is taken this long before it frees (its call waits here for the rest), so the round trip
# of taking it is not lost from the slot's second.
TAKE_AHEAD_SECONDS = 0.05


class StoreSlots:
    def __init__(self, store: Store, pool: str, count: int, holder: str, lease: float = LEASE_SECONDS,
                 hold: float = HOLD_SECONDS) -> None:
        self.table = send_slots.SlotTable(store.url)
        self.pool = pool
        self.count = count
        self.holder = holder
        self.lease = lease
        self.hold = hold
        self._prepared = False
        self._given: list[tuple[int, float]] = []  # (slot, when its answer came: time.monotonic())
        self._put: list[int] = []
        self._writer: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference

    def try_take(self) -> int | None:
        return None  # every take is a statement, made by the pacer for all the calls waiting

    async def prepare(self) -> None:
        if not self._prepared:
            await self.table.prepare(self.pool, self.count, self.holder)
            self._prepared = True

    async def take(self, wanted: int) -> tuple[list[tuple[int, float]], float | None]:
        await self.prepare()
        return await self.table.take(self.pool, self.holder, wanted, self.lease, self.hold, TAKE_AHEAD_SECONDS)

    def give_back(self, slot: int) -> None:
        self._given.append((slot, time.monotonic()))
        self._write_soon()

    def put_back(self, slot: int) -> None:
        self._put.append(slot)
        self._write_soon()

    def _write_soon(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while self._given or self._put:
            given, self._given = self._given, []
            put, self._put = self._put, []
            try:
                if given:
                    now = time.monotonic()
                    await self.table.give_back(self.pool, self.holder, [(slot, now - answered) for slot, answered in given],
                                               self.hold)
                if put:
                    await self.table.put_back(self.pool, self.holder, put)
            except Exception as error:  # noqa: BLE001 - the store out of reach: the slots come back with their lease
                log.warning("sending slots %s not given back (%s); they are free again after their lease",
                            [slot for slot, _ in given] + put, error)

    async def close(self) -> None:
        """Write what is still to be given back (a stop), and close the connection."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.table.close()
