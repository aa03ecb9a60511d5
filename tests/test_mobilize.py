"""One-tap call-outs: everybody in scope hears once, answers, and the roll call counts them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.buttons import AnswerCallOut, SendCallOut
from storage import callout_drafts, callouts
from storage.callout_scope import micro_grids_around, micro_grids_in, wider_micro_grids
from storage.callouts import CallOutError
from storage.models import Responder, Role
from tests.stories import demo_city, staff_in_chat
from tests.test_routing import IN_GRID

GRID, M1, M2 = "HS-01-01-G1", "HS-01-01-G1-M1", "HS-01-01-G1-M2"


async def responders(world):  # type: ignore[no-untyped-def]
    """Leader Li commands the grid; three responders in M1 (one volunteer), one volunteer in M2."""
    await demo_city(world)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    people = {}
    for name, area, tags in (("Ann", M1, ["party_member"]), ("Bo", M1, ["volunteer"]), ("Cai", M1, ["property_staff"]),
                             ("Dan", M2, ["volunteer"])):
        people[name], _ = await staff_in_chat(world, name, "responder", area, tags=tags)
    return li, li_id, people


async def call_out(world, commander_id: int, areas: list[str], tags: list[str] | None = None, drill: bool = False,  # type: ignore[no-untyped-def]
                   **fields) -> tuple[int, int]:
    async with world.store.transaction() as session:
        draft = await callout_drafts.start_draft(session, commander_id, world.clock.now())
        draft.area_codes, draft.tags = areas, tags or []
        draft.headline = fields.get("headline", "Water rising at Qingshi lane")
        draft.instruction = fields.get("instruction", "Bring sandbags to the north gate")
        draft.meet_lat, draft.meet_lon = fields.get("meet", (None, None))
        index = await world.runtime.map.index(session)
        mobilization, count = await callout_drafts.send(session, index, draft.id, commander_id, world.clock.now(), drill)
        return mobilization.id, count


async def roll(world, mobilization_id: int) -> callouts.RollCall:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await callouts.roll_call(session, mobilization_id)


async def test_a_call_out_reaches_everyone_in_the_micro_grid_once_with_the_meeting_point(world):
    li, li_id, people = await responders(world)
    mobilization_id, count = await call_out(world, li_id, [M1], meet=IN_GRID)
    assert count == 3
    await world.deliver()
    await world.deliver()
    for name in ("Ann", "Bo", "Cai"):
        chat = people[name].chat()
        assert [m.method for m in chat[-2:]] == ["sendLocation", "sendMessage"]
        assert "Water rising at Qingshi lane" in chat[-1].plain and "Meeting point" in chat[-1].plain
        assert [b["text"] for b in chat[-1].buttons()] == ["✅ Coming", "❌ Can't come", "🏖 I'm away"]
        assert sum("Water rising" in m.plain for m in chat) == 1
    assert "Water rising" not in " ".join(people["Dan"].texts())
    call = await roll(world, mobilization_id)
    assert (call.total, call.delivered, call.count("none")) == (3, 3, 3)


async def test_answers_can_change_and_the_roll_call_counts_them(world):
    li, li_id, people = await responders(world)
    mobilization_id, _ = await call_out(world, li_id, [GRID])
    await world.deliver()
    await people["Ann"].tap("Coming")
    assert [b["text"] for b in people["Ann"].last().buttons()] == ["📍 Arrived", "❌ Can't come"]
    await people["Bo"].tap("Can't come")
    await people["Ann"].tap("Arrived")
    assert "share your location" in people["Ann"].last().plain
    await people["Ann"].send_location(*IN_GRID)
    assert "Position added" in people["Ann"].last().plain
    async with world.store.transaction() as session:
        arrived = await session.scalar(select(Responder).where(Responder.answer == "arrived"))
    assert (arrived.arrived_lat, arrived.arrived_lon) == IN_GRID
    call = await roll(world, mobilization_id)
    assert call.names["arrived"] == ["Ann"] and call.names["cannot"] == ["Bo"]
    assert call.names["none"] == ["Cai", "Dan"]


async def test_only_the_chosen_tags_are_called(world):
    li, li_id, people = await responders(world)
    _, count = await call_out(world, li_id, [GRID], ["volunteer"])
    assert count == 2  # Bo and Dan


async def test_around_a_point_takes_every_micro_grid_the_circle_touches(world):
    await demo_city(world)
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
    near = micro_grids_around(index, IN_GRID[0], IN_GRID[1], 30)
    wide = micro_grids_around(index, IN_GRID[0], IN_GRID[1], 800)
    assert M1 in near and set(near) < set(wide) and len(wide) > 3
    neighbours = wider_micro_grids(index, [M1], whole_grids=False)
    assert M1 not in neighbours and neighbours and all(index.boundaries[index.position[c]].distance(
        index.boundaries[index.position[M1]]) < 1e-5 for c in neighbours)
    assert set(wider_micro_grids(index, [M1], whole_grids=True)) == set(micro_grids_in(index, [GRID])) - {M1}


async def test_nobody_in_scope_or_outside_the_commanders_area_sends_nothing(world):
    li, li_id, people = await responders(world)
    with pytest.raises(CallOutError) as nobody:
        await call_out(world, li_id, ["HS-01-01-G1-M5"])
    assert nobody.value.reason == "nobody"
    with pytest.raises(CallOutError) as outside:
        await call_out(world, li_id, ["HS-02"])
    assert outside.value.reason == "outside"
    assert await world.deliver() == 0


async def test_stand_down_tells_everyone_once_and_later_answers_are_told_it_is_over(world):
    li, li_id, people = await responders(world)
    mobilization_id, _ = await call_out(world, li_id, [M1], drill=True)
    await world.deliver()
    assert "DRILL" in people["Ann"].last().plain
    alert = people["Ann"].last()
    async with world.store.transaction() as session:
        assert await callouts.stand_down(session, mobilization_id, li_id, world.clock.now()) == 3
    async with world.store.transaction() as session:
        with pytest.raises(CallOutError) as again:
            await callouts.stand_down(session, mobilization_id, li_id, world.clock.now())
    assert again.value.reason == "over"
    await world.deliver()
    assert "Stand down" in people["Ann"].last().plain
    await people["Ann"].tap("Coming", alert)
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is over. Thank you."


async def test_a_commander_who_lost_the_role_cannot_alert_again_but_can_stand_down(world):
    li, li_id, people = await responders(world)
    mobilization_id, _ = await call_out(world, li_id, [M1])
    await world.deliver()
    async with world.store.transaction() as session:
        for role in (await session.scalars(select(Role).where(Role.person_id == li_id))).all():
            await session.delete(role)
    for again in (lambda s: callouts.realert(s, mobilization_id, li_id, world.clock.now()),
                  lambda s: callouts.follow_up(s, mobilization_id, li_id, "Everyone out", world.clock.now())):
        async with world.store.transaction() as session:
            with pytest.raises(CallOutError) as refused:
                await again(session)
        assert refused.value.reason == "not_yours"
    await world.deliver()
    assert all(sum("Water rising" in t for t in people[name].texts()) == 1 for name in ("Ann", "Bo", "Cai"))
    async with world.store.transaction() as session:
        assert await callouts.stand_down(session, mobilization_id, li_id, world.clock.now()) == 3


async def test_a_forged_answer_for_another_call_out_is_refused(world):
    li, li_id, people = await responders(world)
    first, _ = await call_out(world, li_id, [M1])
    second, _ = await call_out(world, li_id, [M2])
    await people["Ann"].press_data(AnswerCallOut(callout=second, answer=0).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out was not sent to you."
    assert (await roll(world, second)).count("coming") == 0


async def test_a_responder_who_blocked_the_bot_shows_as_unreachable(world):
    li, li_id, people = await responders(world)
    world.api.blocked.add(people["Cai"].tg_id)
    mobilization_id, _ = await call_out(world, li_id, [M1])
    await world.deliver()
    call = await roll(world, mobilization_id)
    assert call.names["unreachable"] == ["Cai"] and call.delivered == 2


async def test_a_commander_calls_out_in_a_few_taps_and_watches_the_roll_call(world):
    li, li_id, people = await responders(world)
    await li.say("/mobilize")
    assert "Where?" in li.last().plain
    await li.tap("HS-01-01-G1-M1")
    await li.tap("Next")
    assert "Who?" in li.last().plain
    await li.tap("Next")
    await li.tap("Flood")
    await li.say("Bring sandbags to the <north> gate")
    await li.tap("No meeting point")
    await li.tap("5")
    preview, summary = li.chat()[-2:]
    assert "Flood: water is rising" in preview.plain and "Bring sandbags to the <north> gate" in preview.plain
    assert "5 people needed" in preview.plain
    assert "This will alert 3 people in 1 micro-grid(s): HS-01-01-G1-M1 微网格" in summary.plain
    await li.tap("Send now")
    board = li.last()
    assert board is summary and "delivered 0/3" in board.plain and "Not answered: 3" in board.plain
    await world.deliver()
    assert "Bring sandbags" in people["Ann"].last().plain
    await people["Ann"].tap("Coming")
    world.clock.advance(seconds=3)
    assert await world.refresh_boards() == 1
    assert "Coming: 1 – Ann" in board.plain and "delivered 3/3" in board.plain
    assert await world.refresh_boards() == 0  # nothing changed: no edit
    await li.tap("Stand down")
    assert "Stood down" in board.plain and board.buttons() == []
    await world.deliver()
    assert "Stand down" in people["Bo"].last().plain


async def test_a_headline_or_instruction_over_its_limit_is_asked_for_again_never_cut(world):
    li, li_id, people = await responders(world)
    await li.say("/mobilize")
    await li.tap("HS-01-01-G1-M1")
    await li.tap("Next")
    await li.tap("Next")
    await li.tap("Write my own")
    await li.say("Gas leak at the Qingshi lane substation, " * 5 + "do not use lifts")  # 41 x 5 + 16
    assert "That is 221 characters; please keep it to 200." in li.last().plain
    await li.say("Gas leak at Qingshi lane: do not use lifts")
    assert "Type the instruction" in li.last().plain
    await li.say("Knock on every door of building 3 and send people out by the south gate. " * 14 + "No lifts.")
    assert "That is 1031 characters; please keep it to 1000." in li.last().plain
    await li.say("Knock on every door of building 3; out by the south gate. No lifts.")
    await li.tap("No meeting point")
    await li.tap("5")
    preview = li.chat()[-2]
    assert "Gas leak at Qingshi lane: do not use lifts" in preview.plain
    assert "out by the south gate. No lifts." in preview.plain


async def test_non_responders_are_alerted_again_after_five_minutes_twice_at_most(world):
    li, li_id, people = await responders(world)
    mobilization_id, _ = await call_out(world, li_id, [M1])
    await world.deliver()
    await people["Ann"].tap("Coming")
    for _minutes in range(3):
        world.clock.advance(minutes=5)
        await world.refresh_boards()
    assert sum("Reminder: please answer" in t for t in people["Bo"].texts()) == 2
    assert not any("Reminder: please answer" in t for t in people["Ann"].texts())


async def test_around_a_point_in_the_chat_and_strangers_cannot_call_out(world):
    li, li_id, people = await responders(world)
    await li.say("/mobilize")
    await li.tap("Around a point")
    await li.send_location(*IN_GRID)
    await li.tap("100 m")
    assert "Who?" in li.last().plain
    citizen = world.person(language_code="en")
    await citizen.say("/mobilize")
    assert "Only grid leaders, dispatchers and administrators" in citizen.last().plain
    await citizen.press_data(SendCallOut(draft=1, drill=0).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is not yours."


async def test_a_call_out_exports_as_a_cap_alert_and_its_cancel(world):
    import xml.etree.ElementTree as ET

    from tests.test_cli import gridline

    li, li_id, people = await responders(world)
    mobilization_id, _ = await call_out(world, li_id, [M1, M2], drill=True, headline="Flood <Qingshi>")
    env = world.command_env()
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    alert = gridline("mobilization", "export", str(mobilization_id), "--cap", env=env)
    assert alert.returncode == 0, alert.stderr
    root = ET.fromstring(alert.stdout.split("\n", 1)[1])
    assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
    assert [root.find(f"cap:{t}", ns).text for t in ("status", "msgType", "scope")] == ["Exercise", "Alert", "Restricted"]
    assert root.find("cap:sent", ns).text == "2026-11-23T10:00:00+08:00"
    assert root.find("cap:info/cap:headline", ns).text == "Flood <Qingshi>"
    polygons = [p.text.split() for p in root.findall("cap:info/cap:area/cap:polygon", ns)]
    assert len(polygons) == 2 and all(ring[0] == ring[-1] and len(ring) >= 4 for ring in polygons)
    lat, lon = map(float, polygons[0][0].split(","))
    assert 29 < lat < 31 and 121 < lon < 122  # CAP wants latitude first
    async with world.store.transaction() as session:
        await callouts.stand_down(session, mobilization_id, li_id, world.clock.now())
    cancel = ET.fromstring(gridline("mobilization", "export", str(mobilization_id), "--cap", env=env).stdout.split("\n", 1)[1])
    assert cancel.find("cap:msgType", ns).text == "Cancel"
    assert cancel.find("cap:references", ns).text == f"gridline,gridline-mobilization-{mobilization_id},2026-11-23T10:00:00+08:00"
    missing = gridline("mobilization", "export", "999", "--cap", env=env)
    assert missing.returncode == 2 and "no call-out 999 was sent" in missing.stderr


async def test_mobilizations_lists_recent_call_outs_with_their_outcome(world):
    li, li_id, people = await responders(world)
    first, _ = await call_out(world, li_id, [M1], headline="Fire on Gulou road")
    await world.deliver()
    await people["Ann"].tap("Coming")
    await li.say("/mobilizations")
    text = li.last().plain
    assert f"#{first} Fire on Gulou road" in text and "3 called: 1 coming, 0 arrived, 0 can't, 2 no answer" in text


async def test_a_call_out_cut_short_by_a_crash_is_finished_after_restart_once_each(world):
    from storage import outbox

    li, li_id, people = await responders(world)
    await call_out(world, li_id, [M1])
    async with world.store.transaction() as session:
        # This process's sender took two, then died.
        claimed = await outbox.claim_due(session, world.clock.now(), 2, world.settings.instance)
    assert len(claimed) == 2
    await world.restart()
    await world.deliver()
    for name in ("Ann", "Bo", "Cai"):
        assert sum("Water rising" in t for t in people[name].texts()) == 1


async def test_too_few_coming_after_ten_minutes_offers_to_widen_the_call(world):
    li, li_id, people = await responders(world)
    async with world.store.transaction() as session:
        draft = await callout_drafts.start_draft(session, li_id, world.clock.now())
        draft.area_codes, draft.headline, draft.need = [M1], "Flood", 3
        index = await world.runtime.map.index(session)
        mobilization, _ = await callout_drafts.send(session, index, draft.id, li_id, world.clock.now())
    await world.deliver()
    await people["Ann"].tap("Coming")
    world.clock.advance(minutes=9)
    await world.refresh_boards()
    assert not any("Call more?" in t for t in li.texts())
    world.clock.advance(minutes=1)
    await world.refresh_boards()
    await world.refresh_boards()
    offers = [t for t in li.texts() if "Call more?" in t]
    assert len(offers) == 1 and "Only 1 of the 3 people needed" in offers[0]
    await li.tap("The whole grid")
    await world.deliver()
    assert "Flood" in people["Dan"].last().plain  # Dan is in M2 of the same grid
    call = await roll(world, mobilization.id)
    assert call.total == 4
