"""Time limits: nudges to accept, reminders before the deadline, escalation after it, quiet hours,
the morning digest and closing unrated cases. The clock is moved by hand; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import cases
from storage.models import Case
from tests.harness import Person
from tests.stories import newest_case, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID
from tests.test_tasks import a_task, case_now


def since(person: Person, mark: int) -> list[str]:
    return person.since(mark)


async def test_a_task_not_accepted_is_sent_again_then_goes_to_the_leader(world):
    grid = await a_task(world)
    mark_wang, mark_li = grid.wang.mark(), grid.li.mark()
    world.clock.advance(minutes=14)
    await world.tick()
    assert since(grid.wang, mark_wang) == []
    world.clock.advance(minutes=1)
    await world.tick()
    await world.tick()  # nothing twice
    nudges = since(grid.wang, mark_wang)
    assert len(nudges) == 1 and "waiting for you to accept" in nudges[0]
    world.clock.advance(minutes=15)
    await world.tick()
    case = await case_now(world, grid.case.id)
    assert case.assignee_id == grid.li_id
    assert any(f"Task {case.number}" in text for text in since(grid.li, mark_li))
    assert len(since(grid.wang, mark_wang)) == 1


async def test_reminders_at_half_and_80_percent_and_the_deadline_then_escalation(world):
    grid = await a_task(world)  # a manhole: 4 hours
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    await grid.wang.tap("Accept")
    mark_wang, mark_li = grid.wang.mark(), grid.li.mark()
    world.clock.advance(hours=2)
    await world.tick()
    await world.tick()
    assert [t.splitlines()[0] for t in since(grid.wang, mark_wang)] == ["🔔 Half of the time for this task has passed."]
    world.clock.advance(hours=1, minutes=12)
    await world.tick()
    assert since(grid.wang, mark_wang)[-1].startswith("🔔 80 percent of the time for this task has passed.")
    world.clock.advance(minutes=48)
    await world.tick()
    assert since(grid.wang, mark_wang)[-1].startswith("🚨 This task has reached its deadline.")
    assert since(grid.li, mark_li)[-1].startswith("🚨 This task has reached its deadline.")
    assert len(since(grid.wang, mark_wang)) == 3 and len(since(grid.li, mark_li)) == 1
    world.clock.advance(hours=3, minutes=59)
    await world.tick()
    assert (await case_now(world, grid.case.id)).state == "in_progress"
    world.clock.advance(minutes=1)
    await world.tick()
    case = await case_now(world, grid.case.id)
    assert (case.state, case.assignee_id) == ("escalated", grid.li_id)  # one level up: the grid leader
    assert "Overdue by 4 hours" in grid.li.last().plain and "Give to a worker" in grid.li.last().buttons()[1]["text"]
    world.clock.advance(hours=4)
    await world.tick()
    case = await case_now(world, grid.case.id)
    assert (case.state, case.assignee_id) == ("escalated", sun_id)  # and on up, while nobody acts
    assert "Why you: passed up to you from the grid" in sun.last().plain


async def submit_litter(citizen: Person) -> Case:
    """A non-urgent report (street order: 24 hours) in the grid."""
    await citizen.send_photo()
    await citizen.send_location(*IN_GRID)
    await citizen.tap("Street order")
    await citizen.tap("Illegal parking")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    return await newest_case(citizen.world)


async def test_quiet_hours_hold_reminders_until_morning_but_not_urgent_ones(world):
    world.clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 16:00 in Shanghai
    grid = await a_task(world)
    parking = await submit_litter(grid.citizen)  # street order: 24 hours, half of it at 04:00
    await world.deliver()
    await grid.wang.tap("Accept")
    world.clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))  # 04:00, inside the quiet hours
    mark = grid.wang.mark()
    await world.tick()
    assert not any(parking.number in text for text in since(grid.wang, mark))  # held back
    manhole = await submit_manhole(grid.citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])  # urgent: 4 hours
    await world.deliver()
    await grid.wang.tap("Accept", grid.wang.last())
    world.clock.advance(hours=2)  # 06:00, still quiet
    await world.tick()
    night = [t for t in since(grid.wang, mark) if t.startswith("🔔")]
    assert len(night) == 1 and manhole.number in night[0]  # urgent work is never held back
    world.clock.set(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # 07:00
    await world.deliver()
    morning = [t for t in since(grid.wang, mark) if t.startswith("🔔")]
    assert len(morning) == 2 and parking.number in morning[1] and "Half of the time" in morning[1]


async def test_after_a_restart_each_missed_reminder_fires_once_and_none_for_a_closed_case(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    other = await submit_manhole(grid.citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    await world.deliver()
    await grid.wang.tap("Accept")
    await world.stop()
    world.clock.advance(hours=2, minutes=30)  # both were due for their half-time reminder while it was down
    mark = grid.wang.mark()
    await world.start()  # the start-up tick catches up and queues both
    async with world.store.transaction() as session:
        await cases.change_state(session, other.id, "escalated", None, world.clock.now())
        await cases.change_state(session, other.id, "rejected", None, world.clock.now())  # closed meanwhile
    await world.deliver()
    await world.tick()
    await world.restart()
    await world.tick()
    fired = since(grid.wang, mark)
    assert len(fired) == 1 and grid.case.number in fired[0] and "Half of the time" in fired[0]


async def test_the_morning_digest_comes_once_a_day_even_across_restarts(world):
    world.clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 16:00 in Shanghai
    grid = await a_task(world)
    await submit_litter(grid.citizen)  # 24 hours: due at 16:00 tomorrow
    await world.deliver()
    await grid.wang.tap("Accept")
    world.clock.set(datetime(2026, 11, 24, 0, 29, tzinfo=UTC))  # 08:29 local the next day
    mark_wang, mark_li = grid.wang.mark(), grid.li.mark()
    await world.tick()
    assert not any("Good morning" in t for t in since(grid.wang, mark_wang))
    world.clock.advance(minutes=1)
    await world.tick()
    await world.tick()
    await world.restart()
    await world.tick()
    digests = [t for t in since(grid.wang, mark_wang) if "Good morning" in t]
    assert len(digests) == 1
    # The manhole went up to the leader when it was overdue; Wang keeps the parking case, due today.
    assert "Open: 1" in digests[0] and "Due today: 1" in digests[0] and "Overdue: 0" in digests[0]
    assert len([t for t in since(grid.li, mark_li) if "Good morning" in t]) == 1
    await world.stop()
    world.clock.set(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # 11:00 the day after: the bot was down at 08:30
    await world.start()
    await world.deliver()
    # By now both cases were overdue and went up to the leader: she gets the late digest, once.
    assert len([t for t in since(grid.li, mark_li) if "Good morning" in t]) == 2
    await world.tick()
    assert len([t for t in since(grid.li, mark_li) if "Good morning" in t]) == 2


async def test_a_resolved_case_not_rated_closes_itself_after_three_days(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="Done")
    await world.deliver()
    world.clock.advance(days=3)
    await world.tick()
    assert (await case_now(world, grid.case.id)).state == "closed"
    assert "was not rated within a few days" in grid.citizen.last().plain


async def test_not_satisfied_reopens_to_the_same_worker_and_the_leader_hears(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="Done")
    await world.deliver()
    mark_wang, mark_li = grid.wang.mark(), grid.li.mark()
    await grid.citizen.tap("Not satisfied")
    await grid.citizen.say("The new cover rocks when cars drive over it")
    await world.deliver()
    case = await case_now(world, grid.case.id)
    assert (case.state, case.assignee_id, case.accepted_at) == ("reopened", grid.wang_id, None)
    to_wang = since(grid.wang, mark_wang)
    assert any("The citizen is not satisfied" in t for t in to_wang)
    assert any("rocks when cars drive over it" in t for t in to_wang)
    assert any(f"Task {case.number}" in t for t in since(grid.li, mark_li))
    await grid.wang.tap("Accept")
    assert (await case_now(world, grid.case.id)).state == "in_progress"
