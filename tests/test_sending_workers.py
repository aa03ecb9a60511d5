"""Senders that share one store: a person's messages still go in order when two senders drain the
queue side by side (PostgreSQL); the sending slots in the store keep two processes to one limit,
and a dead holder's slots come back after their lease; a sender killed in the middle of a send
repeats at most what was in flight.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.pacing import ChatSpacing, Pacer
from handlers.shared_slots import LEASE_SECONDS, StoreSlots
from storage import outbox, people, send_slots
from storage.clock import ManualClock
from storage.db import Store, upgrade_schema_async
from storage.models import OutboundMessage
from tests.fake_telegram import FakeBotApi
from tests.harness import Harness, settings_for
from tests.pg import PG_URL, throwaway_database
from tests.test_send_window import most_in_one_second

needs_postgres = pytest.mark.skipif(not PG_URL, reason="no PostgreSQL server for the tests (./run tests starts one)")

# A text no catalog translates: each reader sees it as written, with its number.
NUMBERED = "Message {n}"


async def queue_rounds(world: Harness, tg_ids: list[int], rounds: int) -> None:
    """`rounds` messages to each person, queued round by round (each person's in order)."""
    async with world.store.transaction() as session:
        for n in range(rounds):
            for tg_id in tg_ids:
                person = await people.ensure_person(session, tg_id, f"P{tg_id}", "en", world.clock.now())
                await outbox.enqueue(session, person.id, outbox.NoticePayload(NUMBERED, {"n": n}), world.clock.now())


async def tg_id_of(session: AsyncSession, person_id: int) -> int:
    person = await people.person_by_id(session, person_id)
    assert person is not None
    return person.tg_id


async def pending(world: Harness) -> int:
    async with world.store.transaction() as session:
        return int(await session.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status == "pending")) or 0)


@needs_postgres
async def test_two_senders_on_one_store_keep_each_persons_messages_in_order(api: FakeBotApi, clock: ManualClock,
                                                                            tmp_path: Path) -> None:
    """Each sender claims what is due; a person another sender is sending to is left to it, so no
    person gets their second message from one sender while the first is still with the other."""
    async with throwaway_database("w") as url:
        first = Harness(api, settings_for(api, tmp_path / "a", db_url=url, instance="sender-a"), clock)
        second = Harness(api, settings_for(api, tmp_path / "b", db_url=url, instance="sender-b"), clock)
        await first.start()
        await second.start()
        recipients = list(range(981_001, 981_041))
        try:
            await queue_rounds(first, recipients, 4)
            rounds = 0
            while await pending(first) and rounds < 10:
                await asyncio.gather(first.deliver(), second.deliver())
                rounds += 1
        finally:
            await first.stop()
            await second.stop()
    assert rounds < 10
    assert {tuple(api.messages(tg_id)[i].plain for i in range(len(api.messages(tg_id)))) for tg_id in recipients} \
        == {("Message 0", "Message 1", "Message 2", "Message 3")}


async def test_a_sender_killed_mid_send_repeats_at_most_the_messages_in_flight(world: Harness, api: FakeBotApi) -> None:
    """The process dies with sends in flight: Telegram still takes those (their answers are lost),
    and after a restart each of the others goes out once."""
    recipients = list(range(982_001, 982_061))
    await queue_rounds(world, recipients, 1)
    gate = api.hold_sends()
    drain = asyncio.create_task(world.deliver())
    await api.wait_for(lambda: api.sends_waiting >= 1)
    drain.cancel()  # the kill: nothing more is sent or recorded by this process
    await asyncio.gather(drain, return_exceptions=True)
    in_flight = {int(call.params["chat_id"]) for call in api.methods("sendMessage")}
    gate.set()
    await api.wait_for(lambda: api.sends_waiting == 0)
    api.sends_gate = None
    await world.restart()
    await world.deliver()
    got = {tg_id: len(api.messages(tg_id)) for tg_id in recipients}
    assert in_flight and all(got[tg_id] == 1 for tg_id in recipients if tg_id not in in_flight)
    assert all(1 <= got[tg_id] <= 2 for tg_id in in_flight)


async def test_a_person_another_sender_holds_or_just_wrote_to_waits_for_it(world: Harness) -> None:
    """Claims leave a person alone while another sender holds one of their messages, and for
    Telegram's interval after another sender's message reached them."""
    await queue_rounds(world, [983_001, 983_002], 2)
    interval = timedelta(seconds=1)

    async def claim(owner: str, limit: int = 10) -> list[tuple[int, object]]:
        async with world.store.transaction() as session:
            claimed = await outbox.claim_due(session, world.clock.now(), limit, owner, interval)
            return [(await tg_id_of(session, m.person_id), m.payload["args"]["n"]) for m in claimed]

    assert await claim("another-host", 1) == [(983_001, 0)]
    assert await claim(world.settings.instance) == [(983_002, 0), (983_002, 1)]  # 983_001's turn is the other's
    async with world.store.transaction() as session:
        first = (await session.scalars(select(OutboundMessage).where(OutboundMessage.claimed_by == "another-host"))).one()
        await outbox.mark_sent(session, [first.id], world.clock.now())
    assert await claim(world.settings.instance) == []  # it reached them just now
    world.clock.advance(seconds=1.5)
    assert await claim(world.settings.instance) == [(983_001, 1)]


async def shift_slots(store: Store, seconds: float) -> None:
    """Move every slot's time on (what the test cannot wait for: a lease running out)."""
    async with store.transaction() as session:
        await session.execute(text("UPDATE send_slots SET held_until = held_until - make_interval(secs => :s)"),
                              {"s": seconds})


@needs_postgres
async def test_a_crashed_holders_slots_come_back_after_their_lease() -> None:
    async with throwaway_database("s") as url:
        await upgrade_schema_async(url)
        store = Store(url)
        try:
            crashed = StoreSlots(store, send_slots.BOT, 3, "worker-a")
            taken, _ = await crashed.take(5)
            other = StoreSlots(store, send_slots.BOT, 3, "worker-b")
            nothing, next_free = await other.take(3)
            # worker-a dies here with its three calls in flight: their slots wait for the lease.
            await shift_slots(store, LEASE_SECONDS - 1)
            still_nothing, _ = await other.take(3)
            await shift_slots(store, 2)
            back = [slot for slot, _ in (await other.take(3))[0]]
            other.give_back(back[0])  # an answer: held one more second, then free to anyone
            other.put_back(back[1])  # never left: free at once
            await other.close()
            third = StoreSlots(store, send_slots.BOT, 4, "worker-c")  # GRIDLINE_SEND_PER_SECOND raised to 4
            after, wait = await third.take(4)
            await third.close()
        finally:
            await store.close()
    assert sorted(slot for slot, _ in taken) == [0, 1, 2] and nothing == [] and still_nothing == []
    assert next_free == 1.0  # all in flight: none frees sooner than a second after its answer
    assert sorted(back) == [0, 1, 2]
    assert sorted(after) == sorted([(back[1], 0.0), (3, 0.0)]) and 0 < wait <= 1.0


@needs_postgres
async def test_two_processes_sharing_the_slots_never_put_more_than_n_calls_in_telegrams_second() -> None:
    """Two pacers with their own engines (as two worker processes), five slots between them, calls
    answered after up to 0.1 s and arriving anywhere on the way. (Real time: the slots' clock is
    the database's; the bound holds however late anything runs.)"""
    rng = random.Random(15)
    async with throwaway_database("s") as url:
        await upgrade_schema_async(url)
        stores = [Store(url), Store(url)]
        pacers = [Pacer(StoreSlots(store, send_slots.BOT, 5, f"worker-{n}"), ChatSpacing(0))
                  for n, store in enumerate(stores)]
        arrivals: list[float] = []
        loop = asyncio.get_running_loop()

        async def call(pacer: Pacer, chat: int) -> None:
            await pacer.wait(chat, True)
            left = loop.time()
            trip = rng.uniform(0, 0.1)
            arrivals.append(left + rng.uniform(0, trip))
            await asyncio.sleep(trip)
            pacer.answered(chat)

        try:
            await asyncio.gather(*(call(pacers[chat % 2], chat) for chat in range(24)))
            for pacer in pacers:
                await pacer.close()
        finally:
            for store in stores:
                await store.close()
    assert len(arrivals) == 24 and most_in_one_second(arrivals) <= 5
