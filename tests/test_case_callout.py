"""A case becomes a call-out (平转急): from a dispatcher's case card or a grid leader's task card, one
tap presets a call-out around the case's point; once sent, the case's history keeps it, and the
citizen who reported it is not told who was called."""

from __future__ import annotations

from sqlalchemy import select

from handlers.buttons import CallOutAroundCase
from storage.models import CaseEvent, Mobilization
from tests.stories import demo_city, staff, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID

M1, M2, M5 = "HS-01-01-G1-M1", "HS-01-01-G1-M2", "HS-01-01-G1-M5"
CALL_OUT = "🚨 Call out around this case"


async def responders(world):  # type: ignore[no-untyped-def]
    """Ann in M1 (where the case is), Bo in M2 (next to it, within 300 m), Dan in M5 (further)."""
    people = {}
    for name, area in (("Ann", M1), ("Bo", M2), ("Dan", M5)):
        people[name], _ = await staff_in_chat(world, name, "responder", area, tags=["volunteer"])
    return people


def last_answer(world) -> str:  # type: ignore[no-untyped-def]
    return world.api.methods("answerCallbackQuery")[-1].params.get("text") or ""


async def test_a_dispatcher_calls_out_around_a_case_and_its_history_keeps_it_but_the_citizen_is_not_told(world):
    await demo_city(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    people = await responders(world)
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])  # no worker: to the street dispatcher
    await world.deliver()
    card = sun.last()
    assert CALL_OUT in [b["text"] for b in card.buttons()]
    citizen_mark = citizen.mark()
    await sun.tap("Call out around this case", card)
    intro, preview, summary = sun.chat()[-3:]
    assert f"Call out around case {case.number}" in intro.plain and "300 m" in intro.plain
    assert "missing manhole cover" in preview.plain and f"Case {case.number}" in preview.plain
    assert "Meeting point" in preview.plain
    assert "This will alert 2 people in 3 micro-grid(s)" in summary.plain
    assert "Adjust who, message, how many" in [b["text"] for b in summary.buttons()][-1]
    await sun.tap("Send now", summary)
    assert "delivered 0/2" in summary.plain
    await world.deliver()
    await world.deliver()
    for name in ("Ann", "Bo"):
        chat = people[name].chat()
        assert chat[-2].method == "sendLocation" and chat[-2].location == IN_GRID
        assert "missing manhole cover" in chat[-1].plain
    assert not any("manhole" in t for t in people["Dan"].texts())
    async with world.store.transaction() as session:
        mobilization = await session.scalar(select(Mobilization).where(Mobilization.case_id == case.id))
        events = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                CaseEvent.kind == "callout"))).all()
    assert mobilization is not None and mobilization.state == "active"
    assert [(e.actor_id, e.note.startswith(f"#{mobilization.id} ")) for e in events] == [(sun_id, True)]
    await people["Ann"].tap("Coming")
    await sun.say("/queue")
    await sun.tap(case.number)
    await world.deliver()
    assert f"Called out #{mobilization.id}" in sun.last().plain and "2 alerted, 1 coming" in sun.last().plain
    await world.deliver()
    assert citizen.since(citizen_mark) == []  # the citizen hears nothing of it
    await citizen.say("/mycases")
    await citizen.tap(case.number)
    assert "Call" not in citizen.last().plain and "Ann" not in citizen.last().plain


async def test_the_commander_adjusts_the_preset_call_out_through_the_composer(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    await responders(world)
    citizen = world.person(language_code="en")
    await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    await sun.tap("Call out around this case")
    await sun.tap("Adjust")
    assert "Who?" in sun.last().plain
    await sun.tap("Next")
    await sun.tap("Write my own")
    await sun.say("Manhole open on Qingshi lane: keep people away")
    await sun.say("Stand at the open manhole until the crew comes")
    await sun.tap("No meeting point")
    await sun.tap("5")
    preview, summary = sun.chat()[-2:]
    assert "Manhole open on Qingshi lane" in preview.plain and "5 people needed" in preview.plain
    await sun.tap("Send now", summary)
    async with world.store.transaction() as session:
        mobilization = await session.scalar(select(Mobilization))
    assert mobilization.case_id is not None and mobilization.wave == 1 and mobilization.wave_minutes == 10


async def test_a_grid_leader_has_the_button_on_the_task_card_a_worker_does_not_and_forged_presses_are_refused(world):
    await demo_city(world)
    wang, _ = await staff_in_chat(world, "Wang", "worker", "HS-01-01-G1")
    li, _ = await staff_in_chat(world, "Li", "leader", "HS-01-01-G1")
    await responders(world)
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    assert CALL_OUT not in [b["text"] for m in wang.chat() for b in m.buttons()]
    await li.say("/tasks")
    await li.tap(case.number)
    await world.deliver()
    assert CALL_OUT in [b["text"] for b in li.last().buttons()]
    await li.tap("Call out around this case")
    assert "This will alert 2 people" in li.last().plain
    for stranger in (wang, citizen, (await staff_in_chat(world, "Qian", "dispatcher", "HS-02"))[0]):
        mark = stranger.mark()
        await stranger.press_data(CallOutAroundCase(case=case.id).pack())
        assert last_answer(world) == "This call-out is not yours." and stranger.since(mark) == []
    await li.press_data(CallOutAroundCase(case=9999).pack())
    assert last_answer(world) == "This call-out is not yours."
    async with world.store.transaction() as session:
        drafts = (await session.scalars(select(Mobilization))).all()
    assert len(drafts) == 1  # only Li's


async def test_a_case_outside_every_grid_has_no_call_out_button(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    await staff(world, 950, "Ann", "responder", M1, ["volunteer"])
    citizen = world.person(language_code="en")
    from tests.test_routing import OUTSIDE

    await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    assert CALL_OUT not in [b["text"] for b in sun.last().buttons()]
