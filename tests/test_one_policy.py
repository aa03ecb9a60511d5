"""A button and its check are one rule (storage/policy.py): what a card no longer offers, an old copy
of it cannot do either."""

from __future__ import annotations

from handlers.buttons import AcceptCase, AcceptTask, ChooseWorker, EscalateTask
from tests.stories import demo_city, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID
from tests.test_tasks import GRID, a_task, case_now, labels, last_answer


async def test_an_old_accept_as_is_cannot_take_a_case_back_from_the_worker_it_was_given_to(world):
    await demo_city(world)
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    case = await submit_manhole(world.person(language_code="en"), lat=IN_GRID[0], lon=IN_GRID[1])  # nobody in the grid
    _wang, wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    await world.deliver()
    card = sun.last()
    assert labels(card)[:2] == ["✅ Accept as is", "👷 Assign"]
    await sun.tap("Assign", card)
    await sun.tap("Wang", card)
    await sun.press_data(AcceptCase(case.id).pack(), card)  # the card as it was first drawn
    assert last_answer(world) == f"Case {case.number} is already Assigned to a grid worker; nothing was changed."
    now = await case_now(world, case.id)
    assert (now.state, now.assignee_id) == ("assigned", wang_id)


async def test_a_leader_who_passed_a_task_up_cannot_take_it_back_or_give_it_away_from_an_old_card(world):
    grid = await a_task(world)
    _sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    await grid.wang.tap("Accept")
    await grid.wang.tap("Escalate")
    await grid.wang.say("Needs a crane")
    await world.deliver()
    card = grid.li.last()
    assert labels(card) == ["✅ Accept", "👷 Give to a worker", "⏫ Escalate", "🚨 Call out around this case"]  # a leader's card (issue 16)
    await grid.li.press_data(EscalateTask(grid.case.id).pack(), card)
    await grid.li.say("The community must call the water company")
    for pressed in (AcceptTask(grid.case.id), ChooseWorker(grid.case.id)):
        await grid.li.press_data(pressed.pack(), card)
        assert last_answer(world) == f"Task {grid.case.number} is already Passed to a higher level; nothing was changed."
    now = await case_now(world, grid.case.id)
    assert (now.state, now.assignee_id) == ("escalated", sun_id)


async def test_a_worker_escalates_only_once_at_work_on_the_task(world):
    grid = await a_task(world)
    card = grid.wang.last()
    assert "⏫ Escalate" not in labels(card)
    await grid.wang.press_data(EscalateTask(grid.case.id).pack(), card)
    assert last_answer(world) == f"Task {grid.case.number} is already Assigned to a grid worker; nothing was changed."
    await grid.wang.tap("Accept")
    await grid.wang.tap("Escalate")
    assert "go up a level" in grid.wang.last().plain
