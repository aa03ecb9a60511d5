"""The outbound queue keeps to Telegram's limits and sends emergencies first."""

from __future__ import annotations

from bot.i18n import N_
from storage import outbox, people
from bot.outbound import BATCH
from tests.harness import Harness, settings_for

HELLO = N_("Nothing is waiting for you. 👍")


async def queue(world: Harness, tg_ids: list[int], priority: int = outbox.NORMAL) -> None:
    async with world.store.transaction() as session:
        for tg_id in tg_ids:
            person = await people.ensure_person(session, tg_id, f"P{tg_id}", "en", world.clock.now())
            await outbox.enqueue(session, person.id, "notice", {"text": HELLO}, world.clock.now(), priority)


async def test_a_big_send_keeps_to_30_a_second_and_one_a_second_per_chat(api, clock, tmp_path):
    api.per_second, api.chat_interval = 30, 1.0
    world = Harness(api, settings_for(api, tmp_path / "var", send_per_second=30, chat_interval_seconds=1.0), clock)
    await world.start()
    try:
        recipients = list(range(900_001, 900_061))
        await queue(world, recipients)
        await queue(world, [recipients[0]] * 2)  # three in a row to one person
        await world.deliver()
    finally:
        await world.stop()
    assert api.too_many == 0
    assert all(len(api.messages(tg_id)) == 1 for tg_id in recipients[1:])
    assert len(api.messages(recipients[0])) == 3


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
