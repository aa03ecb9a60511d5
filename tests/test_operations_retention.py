"""Personal data is kept only as long as it is needed: a case closed GRIDLINE_RETENTION_DAYS ago
loses its reporter, their words, their photos and the exact point, and keeps its number, category,
grid, times and history; /forget (and `gridline people forget`) does it at once for a citizen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot import retention as daily_retention
from storage.models import Case, CaseEvent, CasePhoto, Person, Photo
from storage.vocab import CaseState
from tests.stories import demo_city, staff, submit_manhole
from tests.test_cli import gridline
from tests.test_routing import IN_GRID


async def closed(world, case: Case, at: datetime) -> None:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        await session.execute(update(Case).where(Case.id == case.id).values(state=CaseState.CLOSED, closed_at=at))


async def case_now(world, case_id: int) -> Case:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.get(Case, case_id)


async def photo_files(world, case_id: int) -> list:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        paths = await session.scalars(select(Photo.path).join(CasePhoto, CasePhoto.photo_id == Photo.id)
                                      .where(CasePhoto.case_id == case_id))
        return [world.settings.data_dir / path for path in paths]


async def test_a_case_closed_a_year_ago_loses_its_reporter_words_photos_and_exact_point(world):
    await demo_city(world)
    citizen = world.person("Sun Li", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1], description="next to my door, flat 3")
    files = await photo_files(world, case.id)
    assert files and all(path.exists() for path in files)
    async with world.store.transaction() as session:
        events_before = await session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    recent = await submit_manhole(world.person("Zhou", language_code="en"))
    await closed(world, case, datetime.now(UTC) - timedelta(days=400))
    await closed(world, recent, datetime.now(UTC) - timedelta(days=30))
    async with world.store.transaction() as session:  # answers to the category's questions: typed words too
        await session.execute(update(Case).where(Case.id == case.id).values(answers={"where": "flat 3, my door"}))

    dry = gridline("retention", "run", "--dry-run", env=world.command_env())
    assert dry.returncode == 0, dry.stderr
    assert f"{case.number}: reporter, exact point, description/address, 1 photo(s)" in dry.stdout
    assert recent.number not in dry.stdout and "1 case(s) would lose" in dry.stdout
    assert (await case_now(world, case.id)).reporter_id is not None and all(path.exists() for path in files)

    done = gridline("retention", "run", env=world.command_env())
    assert done.returncode == 0, done.stderr
    assert "1 case(s) lost their reporter's personal data (1 photo(s))" in done.stdout
    after = await case_now(world, case.id)
    assert after.reporter_id is None and after.description is None and after.address is None and after.answers is None
    assert after.identity_removed_at is not None
    assert (after.lat, after.lon) != (case.lat, case.lon)
    assert abs(after.lat - case.lat) < 0.05 and abs(after.lon - case.lon) < 0.05  # the grid's centre, near it
    assert (after.number, after.category_code, after.area_code, after.created_at, after.state) == \
        (case.number, case.category_code, case.area_code, case.created_at, CaseState.CLOSED)
    assert not any(path.exists() for path in files) and await photo_files(world, case.id) == []
    async with world.store.transaction() as session:
        events_after = await session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    assert events_after == events_before
    assert (await case_now(world, recent.id)).reporter_id is not None  # a month old: kept
    again = gridline("retention", "run", env=world.command_env())
    assert "0 case(s) lost" in again.stdout


async def test_the_daily_job_runs_once_a_day_and_rounds_to_a_kilometre_without_a_grid(world):
    world.settings.retention_point = "1km"
    citizen = world.person("Sun Li", language_code="en")
    case = await submit_manhole(citizen, lat=29.87513, lon=121.55127)
    await closed(world, case, world.clock.now() - timedelta(days=366))
    assert await daily_retention.daily(world.runtime) == 1
    after = await case_now(world, case.id)
    assert (after.lat, after.lon) == (29.88, 121.55) and after.reporter_id is None
    assert await daily_retention.daily(world.runtime) == 0  # once a local day


async def test_forget_clears_closed_cases_now_and_open_ones_when_they_close(world, api):
    citizen = world.person("Sun Li", language_code="en")
    old = await submit_manhole(citizen, description="I am Sun Li, 13812345678")
    await closed(world, old, world.clock.now() - timedelta(days=2))
    still_open = await submit_manhole(citizen, lat=29.8505, lon=121.5005)
    await citizen.say("/forget")
    asked = citizen.last()
    assert "1 closed case(s)" in asked.plain and "1 open case(s)" in asked.plain
    await citizen.tap("Yes, forget me")
    told = citizen.last().plain
    assert "You are forgotten" in told and old.number in told and still_open.number in told
    cleared = await case_now(world, old.id)
    assert cleared.reporter_id is None and cleared.description is None
    kept = await case_now(world, still_open.id)
    async with world.store.transaction() as session:
        pseudonym = await session.get(Person, kept.reporter_id)
        assert pseudonym.name == f"#{pseudonym.id}" and pseudonym.tg_id < 0 and pseudonym.forgotten_at is not None
        assert await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id)) is None
    # The open case is worked on as usual, closes, and the next daily run removes the pseudonym too.
    await closed(world, still_open, world.clock.now())
    world.clock.advance(days=1)
    assert await daily_retention.daily(world.runtime) == 1
    assert (await case_now(world, still_open.id)).reporter_id is None


async def test_forget_asks_first_and_speaks_chinese(world):
    citizen = world.person("孙丽", language_code="zh-hans")
    await submit_manhole(citizen, language="zh")
    await citizen.say("/forget")
    assert "删除我的信息" in citizen.last().plain
    await citizen.tap("取消")
    assert "未删除任何信息" in citizen.last().plain
    async with world.store.transaction() as session:
        assert await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id)) is not None


async def test_an_administrator_forgets_a_citizen_and_not_a_worker(world):
    await demo_city(world)
    citizen = world.person("Sun Li", language_code="en")
    await submit_manhole(citizen)
    await staff(world, 8801, "Wang", "worker", "HS-01-01-G1")
    refused = gridline("people", "forget", "--tg-id", "8801", env=world.command_env())
    assert refused.returncode == 2 and "has roles" in refused.stderr
    done = gridline("people", "forget", "--tg-id", str(citizen.tg_id), env=world.command_env())
    assert done.returncode == 0, done.stderr
    assert "is forgotten" in done.stdout and "open cases keeping a pseudonym until they close: " in done.stdout
    missing = gridline("people", "forget", "--tg-id", str(citizen.tg_id), env=world.command_env())
    assert missing.returncode == 2 and "nobody with Telegram id" in missing.stderr


async def test_staff_are_sent_to_their_administrator(world):
    from tests.stories import staff_in_chat

    await demo_city(world)
    worker, _ = await staff_in_chat(world, "Wang", "worker", "HS-01-01-G1")
    await worker.say("/forget")
    assert "only your administrator can remove you" in worker.last().plain
    assert not worker.last().buttons()
