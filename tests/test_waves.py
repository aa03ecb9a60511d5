"""Waves until enough people come: a call-out that needs N people calls its first kind of responder,
then, while too few are coming, the next kind, then the neighbouring micro-grids, up to a limit; the
commander can stop the waves. Responders away (/away, "I'm away") are skipped and counted apart."""

from __future__ import annotations

from handlers.buttons import AwayFor, StopWaves
from storage import callout_drafts, callouts
from tests.stories import demo_city, staff_in_chat

GRID, M1, M2, M3, M4 = "HS-01-01-G1", "HS-01-01-G1-M1", "HS-01-01-G1-M2", "HS-01-01-G1-M3", "HS-01-01-G1-M4"


async def team(world):  # type: ignore[no-untyped-def]
    """Leader Li commands grid G1. In M1: Ann (party member), Bo and Cai (volunteers); in M2, next to
    it: Dan (volunteer); in M4, two micro-grids further: Fay (volunteer)."""
    await demo_city(world)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    people = {}
    for name, area, tags in (("Ann", M1, ["party_member"]), ("Bo", M1, ["volunteer"]), ("Cai", M1, ["volunteer"]),
                             ("Dan", M2, ["volunteer"]), ("Fay", M4, ["volunteer"])):
        people[name], _ = await staff_in_chat(world, name, "responder", area, tags=tags)
    return li, li_id, people


async def call_out(world, commander_id: int, tags: list[str], need: int | None = None,  # type: ignore[no-untyped-def]
                   wave_minutes: int | None = None) -> tuple[int, int]:
    async with world.store.transaction() as session:
        draft = await callout_drafts.start_draft(session, commander_id, world.clock.now())
        draft.area_codes, draft.tags, draft.headline = [M1], tags, "Water rising at Qingshi lane"
        draft.need, draft.wave_minutes = need, wave_minutes
        index = await world.runtime.map.index(session)
        mobilization, count = await callout_drafts.send(session, index, draft.id, commander_id, world.clock.now())
        return mobilization.id, count


def alerted(people, *names: str) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {name: any("Water rising" in t for t in people[name].texts()) for name in names}


async def roll(world, mobilization_id: int) -> callouts.RollCall:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await callouts.roll_call(session, mobilization_id)


async def test_the_next_kind_then_the_neighbours_are_called_while_too_few_come_up_to_three_waves(world):
    li, li_id, people = await team(world)
    mobilization_id, count = await call_out(world, li_id, ["party_member", "volunteer"], need=2, wave_minutes=5)
    await world.deliver()
    assert count == 1 and alerted(people, "Ann", "Bo", "Dan") == {"Ann": True, "Bo": False, "Dan": False}
    await people["Ann"].tap("Coming")
    world.clock.advance(minutes=4)
    await world.refresh_boards()
    await world.deliver()
    assert not alerted(people, "Bo")["Bo"]  # not yet: 4 of the 5 minutes
    world.clock.advance(minutes=1)
    await world.refresh_boards()
    await world.refresh_boards()  # a second tick sends nothing more
    await world.deliver()
    assert alerted(people, "Bo", "Cai", "Dan") == {"Bo": True, "Cai": True, "Dan": False}  # wave 2: the volunteers
    assert sum("Water rising" in t for t in people["Bo"].texts()) == 1
    world.clock.advance(minutes=5)
    await world.refresh_boards()
    await world.deliver()
    assert alerted(people, "Dan", "Fay") == {"Dan": True, "Fay": False}  # wave 3: the micro-grid next door
    world.clock.advance(minutes=30)
    await world.refresh_boards()
    await world.deliver()
    assert not alerted(people, "Fay")["Fay"]  # three waves at most
    async with world.store.transaction() as session:
        responders = await session.scalars(callouts.select(callouts.Responder).where(
            callouts.Responder.mobilization_id == mobilization_id))
        waves = {r.person_id: r.wave for r in responders}
    assert sorted(waves.values()) == [1, 2, 2, 3]
    call = await roll(world, mobilization_id)
    assert call.total == 4 and call.coming == 1


async def test_no_second_wave_once_enough_are_coming_and_everyone_at_once_without_a_need(world):
    li, li_id, people = await team(world)
    await call_out(world, li_id, ["volunteer", "party_member"], need=2, wave_minutes=5)
    await world.deliver()
    await people["Bo"].tap("Coming")
    await people["Cai"].tap("Coming")
    world.clock.advance(minutes=20)
    await world.refresh_boards()
    await world.deliver()
    assert alerted(people, "Ann", "Dan") == {"Ann": False, "Dan": False}
    _, count = await call_out(world, li_id, ["volunteer", "party_member"])  # no need: no waves
    assert count == 3


async def test_the_board_shows_each_wave_and_the_commander_stops_them(world):
    li, li_id, people = await team(world)
    await li.say("/mobilize")
    await li.tap(M1)
    await li.tap("Next")
    await li.tap("volunteers")
    await li.tap("party members")
    await li.tap("Next")
    await li.tap("Flood")
    await li.say("Bring sandbags to the north gate")
    await li.tap("No meeting point")
    await li.tap("5")
    assert "In waves: while fewer than 5 are coming, more are called every 10 min" in li.last().plain
    await li.tap("Send now")
    board = li.last()
    assert "Wave 1: 2 alerted, 0 coming" in board.plain and "Next wave after 10 min" in board.plain
    assert "⏹ Stop waves" in [b["text"] for b in board.buttons()]
    await world.deliver()
    assert alerted(people, "Ann") == {"Ann": False}
    stranger, _ = await staff_in_chat(world, "Zhao", "leader", "HS-01-01-G2")
    await stranger.press_data(StopWaves(callout=1).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is not yours."
    await li.tap("Stop waves", board)
    assert "Waves stopped" in board.plain and "⏹ Stop waves" not in [b["text"] for b in board.buttons()]
    assert "🛑 Stand down" in [b["text"] for b in board.buttons()]
    world.clock.advance(minutes=30)
    await world.refresh_boards()
    await world.deliver()
    assert alerted(people, "Ann") == {"Ann": False}
    await li.press_data(StopWaves(callout=1).pack(), board)  # a second time: nothing to stop
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This button is not valid."


async def test_someone_away_is_skipped_counted_apart_and_reached_again_after_away_off(world):
    li, li_id, people = await team(world)
    bo = people["Bo"]
    await bo.say("/away 2026-11-25")
    assert "away until 2026-11-25" in bo.last().plain
    mobilization_id, count = await call_out(world, li_id, [])
    await world.deliver()
    assert count == 2 and alerted(people, "Ann", "Bo", "Cai") == {"Ann": True, "Bo": False, "Cai": True}
    call = await roll(world, mobilization_id)
    assert (call.total, call.count("away"), call.names["away"]) == (2, 1, ["Bo"])
    await bo.say("/away")
    assert "away until 2026-11-25" in bo.last().plain and "🔙 I'm back" in [b["text"] for b in bo.last().buttons()]
    await bo.say("/whoami")
    assert "/away" in bo.last().plain and "Away until 2026-11-25" in bo.last().plain
    await bo.say("/away off")
    assert "Welcome back" in bo.last().plain
    _, count = await call_out(world, li_id, [])
    assert count == 3


async def test_away_ends_after_its_date_and_waves_skip_whoever_is_away(world):
    li, li_id, people = await team(world)
    await people["Bo"].say("/away 2026-11-23")  # today only (the clock is at 2026-11-23 10:00 local)
    await people["Cai"].say("/away")
    await people["Cai"].tap("A week")
    assert "away until 2026-11-30" in people["Cai"].last().plain
    mobilization_id, _ = await call_out(world, li_id, ["party_member", "volunteer"], need=3, wave_minutes=5)
    world.clock.advance(minutes=5)
    await world.refresh_boards()
    await world.deliver()
    assert alerted(people, "Bo", "Cai", "Dan") == {"Bo": False, "Cai": False, "Dan": True}  # wave 2 went next door
    call = await roll(world, mobilization_id)
    assert call.count("away") == 2
    world.clock.advance(days=1)
    _, count = await call_out(world, li_id, ["volunteer"])
    assert count == 1  # Bo is back by himself; Cai is still away


async def test_im_away_under_a_reminder_and_bad_away_input(world):
    li, li_id, people = await team(world)
    cai = people["Cai"]
    mobilization_id, _ = await call_out(world, li_id, [])
    await world.deliver()
    await cai.tap("Can't come")
    assert "🏖 I'm away" in [b["text"] for b in cai.last().buttons()]
    world.clock.advance(minutes=5)
    await world.refresh_boards()
    await world.deliver()
    assert "Reminder: please answer" in people["Bo"].last().plain
    await people["Bo"].tap("I'm away")
    assert "Away until when?" in people["Bo"].last().plain
    await people["Bo"].tap("3 days")
    assert "away until 2026-11-26" in people["Bo"].last().plain
    call = await roll(world, mobilization_id)
    assert call.names["away"] == ["Bo"] and call.total == 2
    await people["Ann"].press_data(AwayFor(callout=999, days=3).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is not yours."
    await people["Ann"].press_data(AwayFor(callout=0, days=5).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This button is not valid."
    for typed, said in (("/away 24.12.2026", "Write the date as /away 2026-12-24"),
                        ("/away 2026-11-01", "from today to a year ahead")):
        await people["Ann"].say(typed)
        assert said in people["Ann"].last().plain
    citizen = world.person(language_code="en")
    await citizen.say("/away 2026-12-24")
    assert "only they can be away" in citizen.last().plain
    _, count = await call_out(world, li_id, [])
    assert count == 2  # Ann was never away: the bad dates changed nothing


async def test_im_away_straight_under_the_first_alert(world):
    li, li_id, people = await team(world)
    mobilization_id, _ = await call_out(world, li_id, [])
    await world.deliver()
    bo = people["Bo"]
    assert "🏖 I'm away" in [b["text"] for b in bo.last().buttons()]
    await bo.tap("I'm away")
    await bo.tap("Today")
    call = await roll(world, mobilization_id)
    assert call.names["away"] == ["Bo"]
    await people["Ann"].tap("Coming")
    assert "🏖 I'm away" not in [b["text"] for b in people["Ann"].last().buttons()]  # coming: no way out by mistake


async def test_two_processes_sweeping_at_once_send_a_wave_once(world):
    import asyncio

    from storage import waves

    li, li_id, people = await team(world)
    await call_out(world, li_id, ["party_member", "volunteer"], need=2, wave_minutes=5)
    world.clock.advance(minutes=5)

    async def sweep() -> int:
        async with world.store.transaction() as session:
            index = await world.runtime.map.index(session)
            return await waves.waves_due(session, index, world.clock.now(), 3)

    assert sorted(await asyncio.gather(sweep(), sweep())) == [0, 1]
    await world.deliver()
    assert sum("Water rising" in t for t in people["Bo"].texts()) == 1
