"""Grid workers get task cards, take them on, resolve them with proof, or pass them up or back."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from handlers.buttons import AcceptTask, EscalateTask, GiveTaskTo
from storage import tasks
from storage.models import Case, CaseEvent, CasePhoto
from tests.harness import Person
from tests.stories import demo_city, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID

GRID = "HS-01-01-G1"


@dataclass
class Grid:
    wang: Person
    wang_id: int
    li: Person  # the grid leader
    li_id: int
    citizen: Person
    case: Case


async def a_task(world, **report) -> Grid:  # type: ignore[no-untyped-def]
    """The demo city, worker Wang and leader Li of one grid, and a citizen's case routed to Wang."""
    await demo_city(world)
    wang, wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1], **report)
    await world.deliver()
    return Grid(wang, wang_id, li, li_id, citizen, case)


async def case_now(world, case_id: int) -> Case:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.get(Case, case_id)


def last_answer(world) -> str | None:  # type: ignore[no-untyped-def]
    return world.api.methods("answerCallbackQuery")[-1].params.get("text")


def labels(sent) -> list[str]:  # type: ignore[no-untyped-def]
    return [b["text"] for b in sent.buttons()]


async def test_a_routed_case_reaches_the_worker_as_a_task_card(world):
    grid = await a_task(world, description="Cover missing by the <school>")
    card = grid.wang.chat()[-3:]
    assert [m.method for m in card] == ["sendPhoto", "sendLocation", "sendMessage"]
    text = card[2].plain
    assert f"Task {grid.case.number}" in text and "Cover missing by the <school>" in text
    assert "Due 23 Nov 2026, 14:00 · in 4 hours" in text
    assert labels(card[2]) == ["✅ Accept", "🙅 Not mine"]


async def test_a_task_given_to_someone_else_before_its_card_went_out_never_reaches_the_first_holder(world, caplog):
    caplog.set_level(logging.INFO, logger="handlers.notices")
    await demo_city(world)
    wang, wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    zhao, zhao_id = await staff_in_chat(world, "Zhao", "worker", GRID)
    _li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1], description="Flat 301, call 138 0000 0000")
    assert (await case_now(world, case.id)).assignee_id == wang_id  # his card is queued, not sent yet
    async with world.store.transaction() as session:  # the leader gives it to Zhao first
        await tasks.give_to_worker(session, await world.runtime.map.index(session), case.id, li_id, zhao_id,
                                   world.clock.now())
    await world.deliver()
    assert not any(case.number in text or "Flat 301" in text for text in wang.texts())
    assert any(f"Task {case.number}" in text and "Flat 301" in text for text in zhao.texts())
    assert f"task card of case {case.id} not sent to person {wang_id}" in caplog.text


async def test_the_whole_task_from_accept_to_resolved_reaches_the_citizen(world):
    grid = await a_task(world)
    wang, citizen = grid.wang, grid.citizen
    await wang.tap("Accept")
    assert labels(wang.last()) == ["📍 On site", "✅ Resolve", "⏫ Escalate", "↩️ Hand back"]
    await world.deliver()
    assert "Work on case" in citizen.last().plain
    await wang.tap("On site")
    await wang.send_location(IN_GRID[0], IN_GRID[1])
    assert "Position added" in wang.last().plain
    await world.deliver()
    assert "A grid worker is on site" in citizen.last().plain
    await wang.tap("Resolve")
    await wang.say("Replaced the cover")
    assert "at least one photo" in wang.last().plain
    assert (await case_now(world, grid.case.id)).state == "in_progress"
    await wang.send_photo()
    assert "After-photo received (1)" in wang.last().plain
    await wang.say("Replaced the cover")
    assert "is resolved" in wang.last().plain
    await world.deliver()
    resolved = citizen.last()
    assert resolved.method == "sendPhoto" and "is resolved" in resolved.plain and "Replaced the cover" in resolved.plain
    assert labels(resolved)[:1] == ["👍 Satisfied"]
    async with world.store.transaction() as session:
        after = (await session.scalars(select(CasePhoto).where(CasePhoto.case_id == grid.case.id, CasePhoto.role == "after"))).all()
        on_site = await session.scalar(select(CaseEvent).where(CaseEvent.kind == "on_site"))
    assert len(after) == 1 and on_site.note == f"{IN_GRID[0]:.6f},{IN_GRID[1]:.6f}"


async def test_a_photo_with_a_caption_resolves_in_one_step(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="Fixed, new cover")
    assert "is resolved" in grid.wang.last().plain
    assert (await case_now(world, grid.case.id)).state == "resolved"


async def test_escalate_goes_to_the_leader_then_to_the_community_dispatcher(world):
    grid = await a_task(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    await grid.wang.tap("Accept")
    await grid.wang.tap("Escalate")
    await grid.wang.say("Needs a crane, not a job for one person")
    assert "went up to Li" in grid.wang.last().plain
    await world.deliver()
    assert f"Task {grid.case.number}" in grid.li.last().plain
    assert "passed to a higher level" in grid.citizen.last().plain
    assert "crane" not in grid.citizen.last().plain  # staff's reasons are for staff
    await grid.li.tap("Escalate")
    await grid.li.say("The community must call the water company")
    await world.deliver()
    case = await case_now(world, grid.case.id)
    assert (case.state, case.assignee_id) == ("escalated", sun_id)
    assert "Why you: passed up to you from the grid" in sun.last().plain


async def test_a_typed_note_or_reason_over_its_limit_is_asked_for_again_never_cut(world):
    grid = await a_task(world)
    wang = grid.wang
    await wang.tap("Accept")
    await wang.tap("Escalate")
    await wang.say("The pipe under the cover is broken too. " * 13 + "Needs a crane.")  # 40 x 13 + 14
    assert "That is 534 characters; please keep it to 500." in wang.last().plain
    assert (await case_now(world, grid.case.id)).assignee_id == grid.wang_id  # still Wang's, still asked
    await wang.say("Needs a crane.")
    assert "went up to Li" in wang.last().plain
    await world.deliver()
    await grid.li.tap("Accept")
    await grid.li.tap("Resolve")
    await grid.li.send_photo()
    await grid.li.say("Replaced the cover and the frame. " * 30 + "Please keep off for a day.")
    assert "That is 1046 characters; please keep it to 1000." in grid.li.last().plain
    assert (await case_now(world, grid.case.id)).state != "resolved"
    await grid.li.say("Replaced. Please keep off for a day.")
    assert "is resolved" in grid.li.last().plain
    await world.deliver()
    assert "Please keep off for a day." in grid.citizen.last().plain


async def test_not_mine_returns_the_task_to_the_dispatcher_who_gave_it(world):
    await demo_city(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])  # nobody in the grid yet
    wang, wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    await world.deliver()
    await sun.tap("Assign")
    await sun.tap("Wang")
    await world.deliver()
    await wang.tap("Not mine")
    await wang.say("This is the next grid's street")
    assert "went back to Sun" in wang.last().plain
    await world.deliver()
    case = await case_now(world, case.id)
    assert (case.assignee_id, case.state) == (sun_id, "accepted")
    assert f"Case {case.number}" in sun.last().plain and "👷 Assign" in labels(sun.last())


async def test_hand_back_after_accepting_goes_to_the_leader(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Hand back")
    await grid.wang.say("I am off sick from tomorrow")
    await world.deliver()
    case = await case_now(world, grid.case.id)
    assert (case.assignee_id, case.state, case.accepted_at) == (grid.li_id, "assigned", None)
    assert "👷 Give to a worker" in labels(grid.li.last())


async def test_a_leader_gives_a_task_to_another_worker_of_the_grid(world):
    grid = await a_task(world)
    zhou, zhou_id = await staff_in_chat(world, "Zhou", "worker", GRID)
    await grid.li.say("/tasks")
    assert grid.case.number in grid.li.last().plain and "not yours" in grid.li.last().plain
    await grid.li.tap(f"📂 {grid.case.number}")
    await world.deliver()
    await grid.li.tap("Give to a worker")
    assert labels(grid.li.last())[:2] == ["👷 Zhou · 0 open", "👷 Wang · 1 open"]  # least loaded first
    await grid.li.tap("Zhou")
    await world.deliver()
    assert (await case_now(world, grid.case.id)).assignee_id == zhou_id
    assert f"Task {grid.case.number}" in zhou.last().plain


async def test_tasks_lists_overdue_first_and_marked(world):
    grid = await a_task(world)
    later = await submit_manhole(grid.citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    world.clock.advance(hours=5)  # the first one is now an hour overdue, the second too
    newest = await submit_manhole(grid.citizen, lat=IN_GRID[0] + 0.002, lon=IN_GRID[1])
    await grid.wang.say("/tasks")
    lines = grid.wang.last().plain.splitlines()
    assert lines[0] == "📋 Open tasks: 3"
    assert lines[1].startswith(f"1. ⚠️ {grid.case.number}") and lines[2].startswith(f"2. ⚠️ {later.number}")
    assert lines[3].startswith(f"3. {newest.number}") and "in 4 hours" in lines[3]


async def test_strangers_and_other_grids_cannot_press_task_buttons(world):
    grid = await a_task(world)
    other, _ = await staff_in_chat(world, "Qian", "worker", "HS-01-01-G2")
    for presser in (grid.citizen, other):
        await presser.press_data(AcceptTask(grid.case.id).pack())
        assert last_answer(world) == "This task is not for you: only the grid's workers and leader can act on it."
    await grid.citizen.press_data(GiveTaskTo(grid.case.id, grid.wang_id).pack())
    assert last_answer(world).startswith("This task is not for you")
    await grid.wang.press_data("t:acc:not-a-number")
    assert last_answer(world) == "This button is not valid."
    assert (await case_now(world, grid.case.id)).state == "assigned"


async def test_two_workers_pressing_accept_at_once_one_wins(world):
    grid = await a_task(world)
    zhou, zhou_id = await staff_in_chat(world, "Zhou", "worker", GRID)
    data = AcceptTask(grid.case.id).pack()
    await asyncio.gather(grid.wang.press_data(data), zhou.press_data(data))
    case = await case_now(world, grid.case.id)
    answers = [c.params.get("text") for c in world.api.methods("answerCallbackQuery")[-2:]]
    winner = "Wang" if case.assignee_id == grid.wang_id else "Zhou"
    assert case.state == "in_progress" and case.assignee_id in (grid.wang_id, zhou_id)
    assert sorted(answers) == sorted(["Accepted. The citizen has been told.", f"{winner} has already taken this task on."])


async def test_a_card_pressed_after_the_case_was_resolved_changes_nothing(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    card = grid.wang.last()
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="done")
    await grid.wang.press_data(EscalateTask(grid.case.id).pack(), card)
    assert last_answer(world) == f"Task {grid.case.number} is already Resolved; nothing was changed."
    assert (await case_now(world, grid.case.id)).state == "resolved"


async def test_a_worker_who_blocked_the_bot_loses_the_task_to_the_leader(world):
    await demo_city(world)
    wang, wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    world.api.blocked.add(wang.tg_id)
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    case = await case_now(world, case.id)
    assert case.assignee_id == li_id
    assert f"Task {case.number}" in li.last().plain
    # New cases now go to the leader straight away: Wang is not reachable.
    second = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    assert (await case_now(world, second.id)).assignee_id == li_id
