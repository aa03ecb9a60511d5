"""A place that is on no map (latitude 500, NaN, infinity: only a forged or broken client sends one)
is refused in the person's language and never stored; a typed address needs three characters a
person can see."""

from __future__ import annotations

import math

from sqlalchemy import select

from storage.models import CaseEvent, CheckIn, ReportDraft
from tests.test_routing import IN_GRID
from tests.test_tasks import a_task

NOT_A_PLACE = "not a real place on the map"


async def open_draft(world) -> ReportDraft:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.scalar(select(ReportDraft).where(ReportDraft.status == "open"))


async def check_ins(world) -> list[CheckIn]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return list((await session.scalars(select(CheckIn).order_by(CheckIn.id))).all())


async def test_a_report_refuses_a_location_that_is_on_no_map_and_waits_for_a_real_one(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    for lat, lon in ((500.0, 121.5), (math.nan, 121.5), (29.8, math.inf), (-91.0, 0.0), (29.8, 181.0)):
        before = citizen.mark()
        await citizen.send_location(lat, lon)
        assert citizen.since(before) == [
            "📍 That location is not a real place on the map, so it was not taken. Please share your location again.\n"
            "Your report is waiting for the location."]
    await citizen.send_venue(math.nan, math.nan, "Forged café", "Nowhere 1")
    assert NOT_A_PLACE in citizen.last().plain
    draft = await open_draft(world)
    assert (draft.lat, draft.lon, draft.address, draft.step) == (None, None, None, "location")

    await citizen.send_location(*IN_GRID)
    assert "Location received" in citizen.texts()[-2]
    draft = await open_draft(world)
    assert (draft.lat, draft.lon, draft.location_source) == (*IN_GRID, "shared")


async def test_the_refusal_comes_in_the_persons_language(world):
    citizen = world.person(language_code="zh-hans")
    await citizen.send_location(1000.0, 1000.0)
    assert citizen.last().plain.startswith("📍 这个位置不是地图上的真实地点")
    assert await open_draft(world) is None  # no report was started for a place that is not one


async def test_a_typed_address_needs_three_visible_characters(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    for typed in ("\u200b\u200b\u200b\u200b", "a\u200b\u200db", "\x07\x07\x07\x07", "x\u2060\ufeff\u00ady"):
        before = citizen.mark()
        await citizen.say(typed)
        assert citizen.since(before) == ["Please type the address in 3 to 300 characters, or send the location."]
    draft = await open_draft(world)
    assert (draft.address, draft.step) == (None, "location")

    await citizen.say("12\u200b Elm\x07 St")
    assert "Address noted" in citizen.texts()[-2]
    draft = await open_draft(world)
    assert (draft.address, draft.location_source) == ("12 Elm St", "typed")


async def test_a_worker_on_site_and_on_patrol_cannot_store_a_forged_position(world):
    grid = await a_task(world)
    wang = grid.wang
    await wang.tap("Accept")
    await wang.tap("On site")
    await wang.send_location(math.nan, IN_GRID[1])
    assert NOT_A_PLACE in wang.last().plain
    assert await check_ins(world) == []
    await wang.send_location(*IN_GRID)  # still asked for: the real one is taken
    assert "Position added" in wang.last().plain
    async with world.store.transaction() as session:
        on_site = await session.scalar(select(CaseEvent).where(CaseEvent.kind == "on_site"))
    assert on_site.note == f"{IN_GRID[0]:.6f},{IN_GRID[1]:.6f}"

    await wang.say("/checkin")
    await wang.send(location={"latitude": 91.0, "longitude": IN_GRID[1], "live_period": 3600})
    assert NOT_A_PLACE in wang.last().plain
    assert len(await check_ins(world)) == 1  # the on-site position only
    await wang.send(location={"latitude": IN_GRID[0], "longitude": IN_GRID[1], "live_period": 3600})
    assert "Checked in" in wang.last().plain
    live = (await check_ins(world))[-1]

    world.clock.advance(minutes=5)
    await world.process({
        "update_id": world.api.next_update_id(),
        "edited_message": {
            "message_id": live.message_id, "date": 0, "edit_date": 1,
            "chat": {"id": wang.tg_id, "type": "private", "first_name": "Wang"},
            "from": {"id": wang.tg_id, "is_bot": False, "first_name": "Wang", "language_code": "en"},
            "location": {"latitude": math.nan, "longitude": -math.inf, "live_period": 3600},
        },
    })
    moved = (await check_ins(world))[-1]
    assert (moved.lat, moved.lon) == IN_GRID


async def test_a_responder_who_arrived_cannot_store_a_forged_position(world):
    from storage.models import Responder
    from tests.test_mobilize import call_out, responders

    li, li_id, people = await responders(world)
    await call_out(world, li_id, ["HS-01-01-G1-M1"])
    await world.deliver()
    ann = people["Ann"]
    await ann.tap("Coming")
    await ann.tap("Arrived")
    await ann.send_location(29.8, 500.0)
    assert NOT_A_PLACE in ann.last().plain
    await ann.send_location(*IN_GRID)
    assert "Position added" in ann.last().plain
    async with world.store.transaction() as session:
        arrived = await session.scalar(select(Responder).where(Responder.answer == "arrived"))
    assert (arrived.arrived_lat, arrived.arrived_lon) == IN_GRID
