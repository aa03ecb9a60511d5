"""Every submitted case reaches the person responsible for its patch of the city."""

from __future__ import annotations

from sqlalchemy import select

from storage import roles, routing
from storage.models import Case, CaseEvent
from tests.stories import demo_city, staff, submit_manhole

# Inside micro-grid HS-01-01-G1-M1 of grid HS-01-01-G1 (community HS-01-01, street HS-01).
IN_GRID = (29.8505, 121.5005)
OUTSIDE = (29.70, 121.30)


async def routed(world, case_id: int) -> tuple[Case, list[str]]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        case = await session.get(Case, case_id)
        notes = (await session.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case_id, CaseEvent.kind == "routed"))).all()
    return case, list(notes)


async def test_a_case_goes_to_the_grid_worker_with_the_fewest_open_cases(world):
    await demo_city(world)
    wang = await staff(world, 901, "Wang", "worker", "HS-01-01-G1")
    zhou = await staff(world, 902, "Zhou", "worker", "HS-01-01-G1")
    citizen = world.person(language_code="en")
    first = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    second = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    first, notes = await routed(world, first.id)
    assert (first.area_code, first.placement, first.assignee_id, first.state) == ("HS-01-01-G1-M1", "inside", wang, "assigned")
    assert notes == ["grid HS-01-01-G1, worker Wang, 0 open cases"]
    second, notes = await routed(world, second.id)
    assert second.assignee_id == zhou  # Wang has one open case now
    await world.deliver()
    assert "given to a grid worker" in citizen.last().plain


async def test_without_a_worker_the_leader_then_the_nearest_dispatcher_up_the_chain(world):
    await demo_city(world)
    street_dispatcher = await staff(world, 903, "Sun", "dispatcher", "HS-01")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    case, notes = await routed(world, case.id)
    assert (case.assignee_id, case.state) == (street_dispatcher, "reported")
    assert notes == ["no worker or leader for its grid; dispatcher Sun of HS-01, 0 open cases"]
    leader = await staff(world, 904, "Li", "leader", "HS-01-01-G1")
    case = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    case, notes = await routed(world, case.id)
    assert (case.assignee_id, case.state) == (leader, "assigned")


async def test_outside_the_service_area_or_typed_goes_to_the_top_dispatcher(world):
    await demo_city(world)
    top = await staff(world, 905, "Qian", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_location(*OUTSIDE)
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "outside the area we serve" in citizen.last().plain
    await citizen.tap("Submit")
    async with world.store.transaction() as session:
        case = await session.scalar(select(Case).order_by(Case.id.desc()))
    case, notes = await routed(world, case.id)
    assert (case.placement, case.area_code, case.assignee_id) == ("outside", None, top)
    assert notes == ["outside the service area; top dispatcher Qian of HS"]


async def test_the_summary_names_the_grid_a_point_falls_in(world):
    await demo_city(world)
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_location(*IN_GRID)
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "HS-01-01-G1 网格" in citizen.last().plain


async def test_a_removed_worker_gives_open_cases_back_to_the_grid_leader(world):
    await demo_city(world)
    worker = await staff(world, 906, "Wu", "worker", "HS-01-01-G1")
    leader = await staff(world, 907, "Zheng", "leader", "HS-01-01-G1")
    case = await submit_manhole(world.person(language_code="en"), lat=IN_GRID[0], lon=IN_GRID[1])
    async with world.store.transaction() as session:
        await roles.take_roles(session, worker)
        index = await world.runtime.map.index(session)
        returned = await routing.return_cases_of(session, worker, index, world.clock.now())
    assert [c.id for c in returned] == [case.id]
    case, notes = await routed(world, case.id)
    assert case.assignee_id == leader
    assert notes[-1] == "the worker was removed; back to leader Zheng of HS-01-01-G1"


async def test_routing_notes_stay_out_of_the_citizens_timeline(world):
    await demo_city(world)
    await staff(world, 908, "Feng", "worker", "HS-01-01-G1")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await citizen.say("/mycases")
    await citizen.tap(case.number)
    assert "Feng" not in citizen.last().plain and "Assigned to a grid worker" in citizen.last().plain
