"""A case that no rule can give to anyone (a typed address, a point outside the map, and no
dispatcher to take it) goes to an admin and waits in the admins' /queue; `gridline people list`
warns about the areas where that would happen."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from handlers.buttons import AssigneesInside
from storage.models import Case
from tests.stories import demo_city, staff, staff_in_chat
from tests.test_cli import gridline
from tests.test_routing import IN_GRID, OUTSIDE


async def newest_case(world) -> Case:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.scalar(select(Case).order_by(Case.id.desc()).limit(1))


async def report(citizen, where: tuple[float, float] | str) -> Case:  # type: ignore[no-untyped-def]
    await citizen.send_photo()
    if isinstance(where, str):
        await citizen.say(where)
    else:
        await citizen.send_location(*where)
    await citizen.tap("Other")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    return await newest_case(citizen.world)


async def test_a_typed_address_or_a_point_off_the_map_with_no_dispatcher_goes_to_an_admin(world):
    await demo_city(world)
    wang_id = await staff(world, 911, "Wang", "worker", "HS-01-01-G1")  # workers, but no dispatcher anywhere
    admin, admin_id = await staff_in_chat(world, "Admin", "admin", None)
    citizen = world.person("Citizen", language_code="en")
    typed = await report(citizen, "Behind the old cinema, Elm St")
    outside = await report(citizen, OUTSIDE)
    for case in (typed, outside):
        assert (case.assignee_id, case.state) == (admin_id, "reported")
    await world.deliver()
    cards = [m for m in admin.chat() if typed.number in m.plain or outside.number in m.plain]
    assert len(cards) == 2 and all(any("Assign" in b["text"] for b in m.buttons()) for m in cards)

    await admin.say("/queue")
    queue = admin.last().plain
    assert "Waiting for you: 2" in queue and typed.number in queue and outside.number in queue
    assert "the address was typed" in queue and "outside every grid" in queue
    await admin.say("/whoami")
    assert "/queue" in admin.last().plain

    # The admin places it as a dispatcher would: down the map to the grid, then the worker.
    card = next(m for m in cards if typed.number in m.plain)
    await admin.tap("Assign", card)
    await admin.press_data(AssigneesInside(typed.id, "HS-01-01-G1").pack(), card)
    await admin.tap("Wang", card)
    async with world.store.transaction() as session:
        placed = await session.get(Case, typed.id)
    assert (placed.assignee_id, placed.state) == (wang_id, "assigned")


async def test_an_admin_queue_leaves_out_what_top_dispatchers_hold(world):
    await demo_city(world)
    top = await staff(world, 912, "Qian", "dispatcher", "HS")
    admin, _ = await staff_in_chat(world, "Admin", "admin", None)
    citizen = world.person("Citizen", language_code="en")
    case = await report(citizen, IN_GRID)
    assert case.assignee_id == top
    await admin.say("/queue")
    assert "Nothing is waiting for you" in admin.last().plain


async def test_people_list_warns_about_areas_no_dispatcher_covers(world):
    await demo_city(world)
    await staff(world, 913, "Sun", "dispatcher", "HS-01")
    env = world.command_env()
    listing = await asyncio.to_thread(gridline, "people", "list", env=env, cwd=world.settings.data_dir.parent)
    assert listing.returncode == 0 and "913\tSun\tdispatcher" in listing.stdout
    warnings = listing.stderr.splitlines()
    assert "warning: no dispatcher in or above HS-01 " not in listing.stderr
    assert any(line.startswith("warning: no dispatcher in or above HS-02 ") for line in warnings)
    assert warnings[-1] == ("warning: no dispatcher for a top-level area: typed addresses and points outside the map "
                            "go to nobody (there is no admin either)")

    await staff(world, 914, "Qian", "dispatcher", "HS")
    listing = await asyncio.to_thread(gridline, "people", "list", env=env, cwd=world.settings.data_dir.parent)
    assert listing.returncode == 0 and "warning" not in listing.stderr


async def test_an_admin_with_no_map_is_told_to_import_one_when_assigning(world):
    admin, _admin_id = await staff_in_chat(world, "Admin", "admin", None)  # no `grids import` yet
    citizen = world.person("Citizen", language_code="en")
    case = await report(citizen, "Behind the old cinema, Elm St")
    await world.deliver()
    card = next(m for m in admin.chat() if case.number in m.plain)
    await admin.tap("Assign", card)
    said = world.api.methods("answerCallbackQuery")[-1].params
    assert "No map yet" in said["text"] and "gridline grids import FILE" in said["text"] and said["show_alert"]
    assert "something went wrong" not in admin.last().plain
    await admin.tap("Accept as is", card)  # the rest of the card still works
    assert (await newest_case(world)).state == "accepted"
