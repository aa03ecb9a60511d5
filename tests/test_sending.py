"""The outbound queue keeps to Telegram's limits, sends emergencies first, and a stop loses and
doubles nothing.

Pacing runs on time the test steps (SteppedTime), never on the wall clock: a loaded machine must
not turn a correct schedule into a failed test.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from handlers.i18n import N_
from handlers.outbound import BATCH
from storage import outbox, people
from storage.models import OutboundMessage
from tests.harness import Harness, SteppedTime, settings_for

HELLO = N_("Nothing is waiting for you. 👍")


async def queue(world: Harness, tg_ids: list[int], priority: int = outbox.NORMAL) -> None:
    async with world.store.transaction() as session:
        for tg_id in tg_ids:
            person = await people.ensure_person(session, tg_id, f"P{tg_id}", "en", world.clock.now())
            await outbox.enqueue(session, person.id, outbox.NoticePayload(HELLO), world.clock.now(), priority)


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered[i:] if t < start + 1.0) for i, start in enumerate(ordered)), default=0)


async def test_a_big_send_keeps_to_30_a_second_and_one_a_second_per_chat(api, clock, tmp_path):
    world = Harness(api, settings_for(api, tmp_path / "var", send_per_second=30, chat_interval_seconds=1.0), clock)
    await world.start()
    stepped = SteppedTime().drive(world)
    # The schedule is checked as the pacer let each call go, by its clock. (The fake Bot API's own
    # limits stay off: on stepped time a call reaches it after other chats' waits have moved the
    # clock on, so it would see bunches the pacer never made.)
    granted: list[tuple[float, int]] = []
    pacer = world.runtime.sender.pacer
    let_go = pacer.wait

    async def recorded(chat_id: int, new_message: bool = True) -> None:
        await let_go(chat_id, new_message)
        granted.append((stepped.monotonic(), chat_id))

    pacer.wait = recorded  # type: ignore[method-assign]
    try:
        recipients = list(range(900_001, 900_061))
        await queue(world, recipients)
        await queue(world, [recipients[0]] * 2)  # three in a row to one person
        await world.deliver()
    finally:
        await world.stop()
    assert all(len(api.messages(tg_id)) == 1 for tg_id in recipients[1:])
    assert len(api.messages(recipients[0])) == 3
    assert len(granted) == 62 and most_in_one_second([t for t, _ in granted]) <= 30
    to_first = [t for t, chat in granted if chat == recipients[0]]
    assert all(later - earlier >= 1.0 for earlier, later in zip(to_first, to_first[1:], strict=False))
    assert stepped.monotonic() - 1000.0 >= 2.0  # 62 messages at 30 a second take two seconds at least


async def test_emergencies_go_ahead_of_reminders_and_digests(world):
    """Chats are served side by side within a batch, so "ahead" means: in the first batch taken."""
    await queue(world, list(range(920_001, 920_121)), outbox.LATER)  # 120 reminders queued first
    await queue(world, [930_001], outbox.EMERGENCY)
    await world.deliver()
    sends = [int(c.params["chat_id"]) for c in world.api.methods("sendMessage")]
    assert len(sends) == 121 and sends.index(930_001) < BATCH


async def test_paid_broadcast_is_used_for_emergencies_only_when_enabled(api, clock, tmp_path):
    world = Harness(api, settings_for(api, tmp_path / "var", paid_broadcast=True), clock)
    await world.start()
    try:
        await queue(world, [940_001], outbox.EMERGENCY)
        await queue(world, [940_002], outbox.NORMAL)
        await world.deliver()
    finally:
        await world.stop()
    paid = {int(c.params["chat_id"]): c.params.get("allow_paid_broadcast") for c in api.methods("sendMessage")}
    assert paid == {940_001: "true", 940_002: None}  # form-encoded, as Telegram receives it


async def test_a_429_storm_is_waited_out_chat_by_chat_and_loses_nothing(api, clock, tmp_path):
    """The Bot API allows far less than we send: each refused chat waits its retry_after, nobody
    gets a message twice, nobody loses one."""
    api.per_second = 5
    world = Harness(api, settings_for(api, tmp_path / "var", send_per_second=1000, chat_interval_seconds=0), clock)
    await world.start()
    api.now = SteppedTime().drive(world).monotonic  # the Bot API's second passes only when the test says so
    recipients = list(range(950_001, 950_041))
    try:
        await queue(world, recipients, outbox.EMERGENCY)
        rounds = 0
        while sum(len(api.messages(r)) for r in recipients) < len(recipients) and rounds < 40:
            await world.deliver()
            clock.advance(seconds=1)  # the retry_after each refused chat was told to wait
            api._sends.clear()  # and the Bot API's second has passed too
            rounds += 1
    finally:
        await world.stop()
    assert api.too_many > 0
    assert [len(api.messages(r)) for r in recipients] == [1] * len(recipients)


async def test_a_restart_frees_only_its_own_claims(world):
    await queue(world, [960_001, 960_002])
    async with world.store.transaction() as session:
        mine = await outbox.claim_due(session, world.clock.now(), 1, world.settings.instance)
        theirs = await outbox.claim_due(session, world.clock.now(), 1, "another-host")
    await world.restart()
    await world.deliver()
    sent = [int(c.params["chat_id"]) for c in world.api.methods("sendMessage")]
    assert len(mine) == len(theirs) == 1 and sent == [960_001]  # the other process's message is still its own
    world.clock.advance(seconds=61)  # until its lease runs out
    await world.deliver()
    assert [int(c.params["chat_id"]) for c in world.api.methods("sendMessage")] == [960_001, 960_002]


async def test_a_stop_finishes_the_sends_in_flight_and_leaves_the_rest_queued_for_the_next_start(api, clock, tmp_path):
    """SIGTERM in the middle of a big send: the message in flight is delivered and recorded once;
    the others are not begun, stay queued with their claims freed, and go out once after a restart."""
    world = Harness(api, settings_for(api, tmp_path / "var", send_per_second=30, chat_interval_seconds=1.0), clock)
    await world.start()
    stepped = SteppedTime().drive(world)
    recipients = list(range(970_001, 970_121))
    try:
        await queue(world, recipients)
        stepped.freeze()  # every send but the first waits for its slot
        gate = api.hold_sends()  # and the first hangs in flight
        sending = asyncio.create_task(world.deliver())
        await api.wait_for(lambda: api.sends_waiting == 1)
        sender = world.runtime.sender
        sender.request_stop()  # what SIGTERM does first
        stopping = asyncio.create_task(sender.stop())
        stepped.thaw()
        gate.set()
        await asyncio.wait_for(stopping, 10)
        await asyncio.wait_for(sending, 10)
        async with world.store.transaction() as session:
            rows = (await session.execute(select(OutboundMessage.status, func.count(OutboundMessage.claimed_until),
                                                 func.count()).group_by(OutboundMessage.status))).all()
        first = [tg_id for tg_id in recipients if api.messages(tg_id)]
        api.sends_gate = None
        await world.restart()
        SteppedTime().drive(world)
        await world.deliver()
    finally:
        await world.stop()
    assert len(first) == 1
    assert sorted(rows) == [("pending", 0, 119), ("sent", 0, 1)]  # no claim left on what waits
    assert [len(api.messages(tg_id)) for tg_id in recipients] == [1] * len(recipients)


async def test_while_the_bot_api_refuses_the_token_the_queue_waits_and_loses_nothing(world, api):
    """A spell of 401s: sending pauses after the first refusal (no hammering, no tries used up),
    and once the Bot API takes the token again every message goes out, once."""
    stepped = SteppedTime().drive(world)
    recipients = list(range(990_001, 990_119))  # 118, as in the incident
    await queue(world, recipients)
    await api.refuse_token()
    await world.deliver()
    refused = api.refused
    async with world.store.transaction() as session:
        waiting = (await session.execute(select(func.count(), func.max(OutboundMessage.attempts),
                                                func.count(OutboundMessage.claimed_until))
                                         .where(OutboundMessage.status == "pending"))).one()
    await world.deliver()  # within the pause: not even tried
    tried_in_pause = api.refused - refused
    await api.refuse_token(False)
    await stepped.sleep(31)
    await world.deliver()
    assert refused <= BATCH and tried_in_pause == 0
    assert tuple(waiting) == (118, 0, 0)
    assert [len(api.messages(tg_id)) for tg_id in recipients] == [1] * len(recipients)
