"""Sending slots in the store: one Bot API limit shared by every sending process (PostgreSQL).

A pool of N rows stands for the N calls Telegram takes in a second (`handlers/pacing.py` explains
the window). A process takes a free row before a call leaves and gives it back when the answer is
in; the row then stays held for one more second. Every time is the database's own clock
(`clock_timestamp()`), so the machines' clocks may disagree. A row taken carries a lease: if its
holder dies with the call in flight, the row comes back by itself when the lease runs out.

Each statement is one round trip on a connection of its own (autocommit), outside any transaction
of the process's other work: at 30 calls a second the slots cost a take and a give-back per call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import make_url

BOT, PAID = "bot", "paid"  # the pools: the bot's limit, and paid broadcasts' own

_PREPARE = [
    """INSERT INTO send_slots (pool, slot, held_until, holder)
       SELECT $1, n, clock_timestamp() - interval '1 day', NULL FROM generate_series(0, $2::integer - 1) AS n
       ON CONFLICT DO NOTHING""",
    "DELETE FROM send_slots WHERE pool = $1 AND slot >= $2::integer",
]
# A restarted holder's slots from before: free a second from now (their calls may still have arrived).
_RESTARTED = """UPDATE send_slots SET held_until = clock_timestamp() + interval '1 second'
                WHERE pool = $1 AND holder = $2 AND held_until > clock_timestamp() + interval '1 second'"""
_TAKE = """
    WITH free AS (
        SELECT slot, held_until FROM send_slots
        WHERE pool = $1 AND held_until <= clock_timestamp() + make_interval(secs => $5)
        ORDER BY held_until LIMIT $3
        FOR UPDATE SKIP LOCKED
    ), taken AS (
        UPDATE send_slots AS s SET holder = $2, held_until = clock_timestamp() + make_interval(secs => $4)
        FROM free WHERE s.pool = $1 AND s.slot = free.slot
        RETURNING s.slot, greatest(extract(epoch FROM free.held_until - clock_timestamp()), 0)::float8 AS wait
    )
    SELECT (SELECT coalesce(array_agg(slot ORDER BY wait, slot), '{}') FROM taken) AS slots,
           (SELECT coalesce(array_agg(wait ORDER BY wait, slot), '{}') FROM taken) AS waits,
           (SELECT extract(epoch FROM min(held_until) - clock_timestamp())::float8 FROM send_slots
            WHERE pool = $1 AND held_until > clock_timestamp() + make_interval(secs => $5)) AS next_free"""
_GIVE_BACK = """
    UPDATE send_slots AS s SET held_until = clock_timestamp() + make_interval(secs => $3 - a.ago)
    FROM unnest($4::integer[], $5::float8[]) AS a(slot, ago)
    WHERE s.pool = $1 AND s.holder = $2 AND s.slot = a.slot"""
_PUT_BACK = """UPDATE send_slots SET held_until = clock_timestamp()
               WHERE pool = $1 AND holder = $2 AND slot = ANY($3::integer[])"""


class SlotTable:
    """The slot statements of one process, on one connection of their own (opened when first
    needed, and again after it is lost)."""

    def __init__(self, url: str) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: Any = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection

    async def _fetch(self, query: str, *args: object) -> list[Any]:
        import asyncpg

        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(self._dsn)
            try:
                rows: list[Any] = await self._connection.fetch(query, *args)
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
                await self.close_now()
                raise
            return rows

    async def prepare(self, pool: str, count: int, holder: str) -> None:
        """The pool has `count` rows (added or dropped to match); this holder's slots from before
        a restart are free a second from now."""
        for query in _PREPARE:
            await self._fetch(query, pool, count)
        await self._fetch(_RESTARTED, pool, holder)

    async def take(self, pool: str, holder: str, wanted: int, lease: float, hold: float,
                   ahead: float) -> tuple[list[tuple[int, float]], float]:
        """Up to `wanted` slots that are free or free within `ahead` seconds, held for `lease`
        seconds unless given back, each with how long to wait before using it (its last call's
        hold ends then: measured by the database, waited here, so the call leaves after it); and in
        how many seconds the next one can be taken (at most `hold`: a slot in flight now is held
        that long after its answer)."""
        row = (await self._fetch(_TAKE, pool, holder, wanted, lease, ahead))[0]
        next_free = row["next_free"]
        taken = [(int(slot), float(wait)) for slot, wait in zip(row["slots"], row["waits"], strict=True)]
        return taken, min(max(float(next_free) - ahead, 0.0), hold) if next_free is not None else hold

    async def give_back(self, pool: str, holder: str, answered: list[tuple[int, float]], hold: float) -> None:
        """The calls on these slots are answered (or gave up), each given as (slot, seconds ago):
        each slot is held until `hold` seconds after its answer. How long ago is measured where the
        answer came, so no two clocks are compared; this statement runs after the answer."""
        await self._fetch(_GIVE_BACK, pool, holder, hold, [slot for slot, _ in answered],
                          [min(max(ago, 0.0), hold) for _, ago in answered])

    async def put_back(self, pool: str, holder: str, slots: list[int]) -> None:
        """These slots were taken for calls that never left: free at once."""
        await self._fetch(_PUT_BACK, pool, holder, slots)

    async def close_now(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close(timeout=5)

    async def close(self) -> None:
        async with self._lock:
            await self.close_now()
