"""Staff known only from a roster may never have opened the bot, and Telegram then refuses every
message to them: their work moves on, someone who can ask them is told once, `gridline people list`
says so, and when they press Start at last their work is waiting for them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from handlers.buttons import AssignTo, GiveTaskTo
from storage import people
from storage.models import Case
from storage.models import Person as PersonRow
from tests.harness import Person
from tests.stories import demo_city, staff, staff_in_chat, submit_manhole
from tests.test_cli import gridline
from tests.test_routing import IN_GRID

GRID = "HS-01-01-G1"
NEVER_OPENED = "has never opened the bot"


async def case_now(world, case_id: int) -> Case:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.get(Case, case_id)


async def people_list(world) -> str:  # type: ignore[no-untyped-def]
    result = await asyncio.to_thread(gridline, "people", "list", env=world.command_env(), cwd=world.settings.data_dir.parent)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_a_worker_who_never_opened_the_bot_loses_the_task_to_the_leader_who_is_told_once(world):
    await demo_city(world)
    wang_id = await staff(world, 901, "Wang", "worker", GRID)  # from the roster; never wrote to the bot
    world.api.never_started.add(901)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    citizen = world.person("Citizen", language_code="en")

    first = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    assert (await case_now(world, first.id)).assignee_id == wang_id
    await world.deliver()
    assert world.api.messages(901) == []
    first = await case_now(world, first.id)
    assert (first.assignee_id, first.state) == (li_id, "assigned")  # the task moved on
    told = [text for text in li.texts() if NEVER_OPENED in text]
    assert told == ["⚠️ Wang (Telegram id 901) has never opened the bot, so the bot cannot send them anything. "
                    "Open cases passed on to others: 1. Please ask them to open the bot and press Start; their work "
                    "will be waiting."]
    assert any(f"Task {first.number}" in text for text in li.texts())

    second = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    await world.deliver()
    assert (await case_now(world, second.id)).assignee_id == li_id  # routing skips Wang now
    assert len([text for text in li.texts() if NEVER_OPENED in text]) == 1  # told once
    assert "901\tWang\tworker\tHS-01-01-G1 HS-01-01-G1 网格 (never opened the bot)" in await people_list(world)

    world.api.never_started.discard(901)
    wang = Person(world, 901, "Wang", "en")
    await wang.say("/start")
    assert "Tasks waiting for you: 1" in wang.last().plain
    await world.deliver()
    assert any(f"Task {first.number}" in text for text in wang.texts())
    assert (await case_now(world, first.id)).assignee_id == wang_id
    assert (await case_now(world, second.id)).assignee_id == li_id  # never his: it stays
    assert "never opened" not in await people_list(world)
    await wang.say("/start")
    assert "Tasks waiting" not in wang.last().plain  # nothing comes back twice


async def test_choosing_someone_who_never_opened_the_bot_says_so_not_that_they_blocked_it(world):
    await demo_city(world)
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    case = await submit_manhole(world.person("Citizen", language_code="en"), lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()  # nobody in the grid yet: the card goes to Sun
    card = sun.last()
    wang_id = await staff(world, 901, "Wang", "worker", GRID)  # from the roster
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    await sun.tap("Assign", card)
    assert "👷 Wang · 0 open" in [b["text"] for b in card.buttons()]
    async with world.store.transaction() as session:  # meanwhile Telegram said Wang never opened the bot
        await people.mark_never_opened(session, wang_id, world.clock.now())
    await sun.press_data(AssignTo(case.id, wang_id).pack(), card)  # the picker drawn before that
    said = world.api.methods("answerCallbackQuery")[-1].params["text"]
    assert "never opened the bot" in said and "press Start" in said and "blocked" not in said
    await sun.press_data(AssignTo(case.id, li_id).pack(), card)
    await world.deliver()
    task = next(m for m in reversed(li.chat()) if case.number in m.plain)
    await li.press_data(GiveTaskTo(case.id, wang_id).pack(), task)  # a leader's picker drawn before that
    said = world.api.methods("answerCallbackQuery")[-1].params["text"]
    assert "never opened the bot" in said and "press Start" in said and "blocked" not in said
    assert (await case_now(world, case.id)).assignee_id == li_id


async def test_chat_not_found_is_the_same_and_an_admin_hears_when_there_is_no_leader(world):
    await demo_city(world)
    await staff(world, 902, "Wang", "worker", GRID)
    world.api.unknown_chats.add(902)
    await staff(world, 903, "Qian", "dispatcher", "HS")
    world.api.unknown_chats.add(903)  # the dispatcher the case goes to next has never opened the bot either
    admin, admin_id = await staff_in_chat(world, "Admin", "admin", None)
    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    told = [text for text in admin.texts() if NEVER_OPENED in text]
    assert [text.split(" (")[0] for text in told] == ["⚠️ Wang", "⚠️ Qian"]
    assert (await case_now(world, case.id)).assignee_id == admin_id  # the last resort: see test_last_resort.py
    async with world.store.transaction() as session:
        rows = {p.tg_id: (p.blocked, p.never_opened) for p in (await session.scalars(select(PersonRow))).all()}
    assert rows[902] == rows[903] == (True, True)
    listing = await people_list(world)
    assert "902\tWang" in listing and "903\tQian" in listing and listing.count("(never opened the bot)") == 2


async def test_opening_the_bot_through_an_invite_link_brings_the_work_back_too(world):
    from storage import roles

    await demo_city(world)
    wang_id = await staff(world, 904, "Wang", "worker", GRID)
    world.api.never_started.add(904)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID)
    case = await submit_manhole(world.person("Citizen", language_code="en"), lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    assert (await case_now(world, case.id)).assignee_id == li_id
    async with world.store.transaction() as session:
        token = (await roles.create_invite(session, "responder", "HS-01-01-G1-M1", [], world.clock.now())).token
    world.api.never_started.discard(904)
    wang = Person(world, 904, "Wang", "en")
    await wang.say(f"/start {token}")
    assert "Tasks waiting for you: 1" in wang.last().plain
    assert (await case_now(world, case.id)).assignee_id == wang_id


async def test_a_resident_telegram_cannot_reach_is_nobodys_staff_problem(world):
    await demo_city(world)
    await staff(world, 901, "Wang", "worker", GRID)
    admin, _admin_id = await staff_in_chat(world, "Admin", "admin", None)
    citizen = world.person("Citizen", language_code="en")
    await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    world.api.unknown_chats.add(citizen.tg_id)  # the resident deleted their account since
    await world.deliver()
    assert [text for text in admin.texts() if NEVER_OPENED in text] == []
