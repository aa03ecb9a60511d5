"""Call-out plans (预案): saved from a preview, fired in three taps, renamed and deleted in the chat."""

from __future__ import annotations

from sqlalchemy import select

from handlers.buttons import AskDeletePlan, DeletePlan, FirePlan, RenamePlan, SavePlan
from storage import plans
from storage.models import Mobilization, Plan
from storage.plans import PlanFields
from storage.vocab import CallOutState, Language
from tests.stories import staff_in_chat
from tests.test_mobilize import GRID, M1, M2, responders

OTHER_GRID = "HS-01-01-G2"


async def a_plan(world, name: str = "North gate flood", area: str = GRID, areas: list[str] | None = None,  # type: ignore[no-untyped-def]
                 **fields) -> int:
    """A plan as `gridline plans import` writes it."""
    found = PlanFields(area=area, name=name, areas=areas or [M1],
                       headline={Language.ZH: "北门进水", Language.EN: "Water at the north gate"},
                       instruction={Language.ZH: "带沙袋到北门", Language.EN: "Bring sandbags to the north gate"},
                       tags=fields.get("tags", []), need=fields.get("need", 5), wave_minutes=fields.get("wave_minutes", 10))
    async with world.store.transaction() as session:
        await plans.write_plans(session, [found], world.clock.now())
        return await session.scalar(select(Plan.id).where(Plan.area_code == area, Plan.name == name))


async def stored_plans(world) -> list[Plan]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return list((await session.scalars(select(Plan).order_by(Plan.id))).all())


def alert_said(world, text: str) -> bool:  # type: ignore[no-untyped-def]
    return world.api.methods("answerCallbackQuery")[-1].params.get("text") == text


async def test_a_preview_saved_as_a_plan_keeps_its_scope_tags_message_and_need(world):
    li, li_id, people = await responders(world)
    await li.say("/mobilize")
    await li.tap("HS-01-01-G1-M1")
    await li.tap("Next")
    await li.tap("volunteers")
    await li.tap("Next")
    await li.tap("Flood")
    await li.say("Bring sandbags to the north gate")
    await li.tap("No meeting point")
    await li.tap("5")
    summary = li.last()
    await li.tap("Save as plan")
    assert "Type a name for this plan" in li.last().plain
    await li.say("   North gate   flood ")
    assert "Saved as the plan “North gate flood” of HS-01-01-G1" in li.last().plain
    (plan,) = await stored_plans(world)
    assert (plan.area_code, plan.name, plan.area_codes, plan.tags, plan.need) == (GRID, "North gate flood", [M1], ["volunteer"], 5)
    assert plan.headline_en == "🌊 Flood: water is rising" and plan.headline_zh != plan.headline_en  # the template's, in both
    assert plan.instruction_en == plan.instruction_zh == "Bring sandbags to the north gate"
    assert plan.created_by == li_id
    # The preview is still there to send; a second plan of the same name is asked to be renamed.
    await li.tap("Save as plan")
    await li.say("North gate flood")
    assert "has a plan with that name already" in li.last().plain
    await li.say("North gate flood, volunteers")
    assert len(await stored_plans(world)) == 2
    await li.tap("Send now", summary)
    assert "delivered 0/1" in summary.plain  # Bo, the volunteer of M1


async def test_a_plan_fires_in_three_taps_and_the_preview_counts_who_is_alerted(world):
    li, li_id, people = await responders(world)
    plan_id = await a_plan(world)
    zh_responder, _ = await staff_in_chat(world, "Wu", "responder", M1, language_code="zh-hans", tags=["volunteer"])
    await li.say("/start")  # the menu, now with Li's role
    assert "🚨" in [b["text"] for b in li.last().buttons()]
    await li.say("🚨")  # tap 1
    assert [b["text"] for b in li.last().buttons()] == ["🚨 North gate flood", "✏️ New call-out"]
    await li.tap("North gate flood")  # tap 2
    preview, summary = li.chat()[-2:]
    assert "Water at the north gate" in preview.plain and "5 people needed" in preview.plain
    assert "This will alert 4 people in 1 micro-grid(s): HS-01-01-G1-M1 微网格" in summary.plain
    await li.tap("Send now")  # tap 3
    assert "delivered 0/4" in li.last().plain
    await world.deliver()
    assert "Water at the north gate" in people["Ann"].last().plain
    assert "北门进水" in zh_responder.last().plain and "带沙袋到北门" in zh_responder.last().plain
    assert "Water rising" not in " ".join(people["Dan"].texts())
    async with world.store.transaction() as session:
        sent = await session.scalar(select(Mobilization).where(Mobilization.state == CallOutState.ACTIVE))
    assert (sent.plan_id, sent.wave_minutes, sent.need) == (plan_id, 10, 5)


async def test_a_call_out_fired_from_a_plan_saves_as_a_new_plan_in_both_languages(world):
    li, li_id, people = await responders(world)
    await a_plan(world)
    await li.say("/mobilize")
    await li.tap("North gate flood")
    await li.tap("Save as plan")
    await li.say("North gate flood (copy)")
    copy = (await stored_plans(world))[-1]
    assert (copy.name, copy.headline_zh, copy.headline_en) == ("North gate flood (copy)", "北门进水", "Water at the north gate")
    assert copy.instruction_zh == "带沙袋到北门" and copy.need == 5 and copy.wave_minutes == 10


async def test_micro_grids_no_longer_on_the_map_are_left_out_and_the_preview_says_so(world):
    li, li_id, people = await responders(world)
    await a_plan(world, areas=[M1, "HS-01-01-G1-M99", M2])
    await li.say("/mobilize")
    await li.tap("North gate flood")
    warning, _preview, summary = li.chat()[-3:]
    assert "No longer on the map, left out: HS-01-01-G1-M99" in warning.plain
    assert "This will alert 4 people in 2 micro-grid(s)" in summary.plain


async def test_mobilize_lists_the_plans_first_then_a_new_call_out(world):
    li, li_id, people = await responders(world)
    await a_plan(world)
    await a_plan(world, name="Another grid's plan", area=OTHER_GRID, areas=[OTHER_GRID])
    await li.say("/mobilize")
    assert [b["text"] for b in li.last().buttons()] == ["🚨 North gate flood", "✏️ New call-out"]
    await li.tap("New call-out")
    assert "Where?" in li.last().plain


async def test_plans_are_renamed_and_deleted_after_a_confirmation(world):
    li, li_id, people = await responders(world)
    plan_id = await a_plan(world)
    await a_plan(world, name="River watch")
    await li.say("/plans")
    assert "Your plans (2)" in li.last().plain
    listing = li.last()
    await li.tap("Rename", listing)
    assert "Type the new name for “North gate flood”" in li.last().plain
    await li.say("River watch")
    assert "has a plan with that name already" in li.last().plain
    await li.say("Flood <north gate>")
    assert "Renamed to “Flood <north gate>”" in li.chat()[-2].plain
    assert [p.name for p in await stored_plans(world)] == ["Flood <north gate>", "River watch"]
    listing = li.last()
    await li.press_data(AskDeletePlan(plan=plan_id).pack(), listing)
    assert "Delete the plan “Flood <north gate>”?" in listing.plain
    await li.tap("Back", listing)
    assert "Your plans (2)" in listing.plain
    await li.press_data(AskDeletePlan(plan=plan_id).pack(), listing)
    await li.tap("Yes, delete it", listing)
    assert alert_said(world, "🗑 The plan “Flood <north gate>” was deleted.")
    assert "Your plans (1)" in listing.plain
    assert [p.name for p in await stored_plans(world)] == ["River watch"]


async def test_a_deleted_or_another_areas_plan_is_refused_and_nothing_is_drafted(world):
    li, li_id, people = await responders(world)
    gone = await a_plan(world)
    theirs = await a_plan(world, name="Their plan", area=OTHER_GRID, areas=[OTHER_GRID])
    await li.say("/mobilize")
    listing = li.last()
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        await plans.remove(session, index, gone, li_id)
    await li.tap("North gate flood", listing)
    assert alert_said(world, "This plan no longer exists, or is not one of your areas' plans.")
    for forged in (FirePlan(plan=theirs), RenamePlan(plan=theirs), AskDeletePlan(plan=theirs), DeletePlan(plan=theirs),
                   FirePlan(plan=2**31 - 1)):
        await li.press_data(forged.pack(), listing)
        assert alert_said(world, "This plan no longer exists, or is not one of your areas' plans.")
    async with world.store.transaction() as session:
        assert await session.scalar(select(Mobilization.id).where(Mobilization.plan_id.is_not(None))) is None
    assert [p.name for p in await stored_plans(world)] == ["Their plan"]


async def test_someone_without_a_commanders_role_gets_no_plans(world):
    li, li_id, people = await responders(world)
    plan_id = await a_plan(world)
    ann = people["Ann"]  # a responder
    await ann.say("/start")
    assert "🚨" not in [b["text"] for b in ann.last().buttons()]
    for asked in ("/plans", "🚨"):
        await ann.say(asked)
        assert "Only grid leaders, dispatchers and administrators" in ann.last().plain
    await ann.press_data(FirePlan(plan=plan_id).pack())
    assert alert_said(world, "Only grid leaders, dispatchers and administrators can call out responders.")
    await ann.press_data(SavePlan(draft=1).pack())
    assert alert_said(world, "This call-out is not yours.")
    async with world.store.transaction() as session:
        assert await session.scalar(select(Mobilization.id).where(Mobilization.commander_id != li_id)) is None


async def test_a_dispatcher_above_sees_the_grids_plans_and_a_leader_not_the_communitys(world):
    li, li_id, people = await responders(world)
    await a_plan(world)
    await a_plan(world, name="Whole community flood", area="HS-01-01", areas=["HS-01-01"])
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    await sun.say("/plans")
    assert "Your plans (2)" in sun.last().plain
    await li.say("/plans")
    assert "Your plans (1)" in li.last().plain
    assert [b["text"] for b in li.last().buttons()] == ["🚨 North gate flood", "✏️ Rename", "🗑 Delete"]
