"""`gridline db copy` moves a deployment's store to another database, and the bot carries on there."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from storage.db import Store
from storage.models import Case
from tests.harness import Harness, settings_for
from tests.pg import PG_URL, throwaway_database
from tests.stories import newest_case, report_manhole
from tests.test_cli import gridline
from tests.test_routing import IN_GRID
from tests.test_tasks import a_task


@pytest.fixture
async def sqlite_world(api, clock, tmp_path):
    harness = Harness(api, settings_for(api, tmp_path / "var", db_url=None), clock)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def empty_pg_database():
    if not PG_URL:
        pytest.skip("no PostgreSQL server for the tests (./run tests starts one)")
    async with throwaway_database("c") as url:
        yield url.replace("postgresql+asyncpg://", "postgresql://")  # as an operator would write it


async def a_store_worth_copying(world):  # type: ignore[no-untyped-def]
    """A worker's task, and an older case marked as a duplicate of a newer one, so a row points
    at a row copied after it."""
    grid = await a_task(world, description="Cover <missing>")
    second = await another_manhole_here(world, "Zhao")
    async with world.store.transaction() as session:
        await session.execute(update(Case).where(Case.id == grid.case.id).values(duplicate_of_id=second.id))
    return grid, second


async def another_manhole_here(world, name: str) -> Case:  # type: ignore[no-untyped-def]
    citizen = world.person(name, language_code="en")
    await report_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await citizen.tap("Report anyway")
    return await newest_case(world)


async def every_row(url: str) -> dict[str, list[tuple]]:  # type: ignore[type-arg]
    from storage.db import async_driver_url
    from storage.models import Base

    store = Store(async_driver_url(url))
    async with store.transaction() as session:
        tables = {table.name: [tuple(row) for row in await session.execute(
            select(table).order_by(*table.primary_key.columns))] for table in Base.metadata.sorted_tables}
    await store.close()
    assert tables["cases"] and tables["people"] and tables["case_events"] and tables["outbox"]
    return tables


def sqlite_url(world) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{world.settings.data_dir / 'gridline.sqlite3'}"


async def test_a_sqlite_store_moves_to_postgresql_and_the_bot_carries_on_there(sqlite_world, empty_pg_database):
    world = sqlite_world
    grid, second = await a_store_worth_copying(world)
    await world.stop()

    copied = gridline("db", "copy", "--from", sqlite_url(world), env={"GRIDLINE_DB_URL": empty_pg_database})
    assert copied.returncode == 0, copied.stderr
    assert "every table's count matches" in copied.stdout
    assert [line.split() for line in copied.stdout.splitlines() if line.startswith("cases ")] == [["cases", "2", "=", "2"]]
    assert "secret" not in copied.stdout + copied.stderr

    assert await every_row(sqlite_url(world)) == await every_row(empty_pg_database)  # same values, typed alike

    world.settings = settings_for(world.api, world.settings.data_dir, db_url=empty_pg_database)
    await world.start()
    async with world.store.transaction() as session:
        cases = {c.number: c for c in (await session.scalars(select(Case))).all()}
    assert cases[grid.case.number].duplicate_of_id == second.id
    assert cases[grid.case.number].description == "Cover <missing>"
    await grid.wang.say("/tasks")
    assert grid.case.number in grid.wang.last().plain  # the task list reads the copied store
    third = await another_manhole_here(world, "Qian")
    assert third.id > second.id and third.number not in cases  # ids and case numbers carry on, no clash
    await world.deliver()
    assert third.number in grid.wang.last().plain  # and the new case reaches the worker

    again = gridline("db", "copy", "--from", sqlite_url(world), "--to", empty_pg_database)
    assert again.returncode == 2
    assert "the target already holds data" in again.stderr and "2 cases" not in again.stderr  # 3 now
    await world.stop()  # before its PostgreSQL database is dropped (the fixture set up after it ends first)


async def test_a_copy_refuses_a_missing_source_a_full_target_and_the_same_store(sqlite_world, tmp_path):
    world = sqlite_world
    await a_store_worth_copying(world)
    await world.stop()
    source = sqlite_url(world)

    missing = gridline("db", "copy", "--from", f"sqlite:///{tmp_path / 'nowhere.sqlite3'}", "--to", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert missing.returncode == 2 and "there is no SQLite store at" in missing.stderr
    assert not (tmp_path / "nowhere.sqlite3").exists()

    nowhere = gridline("db", "copy", "--from", source)
    assert nowhere.returncode == 2 and "--to URL, or GRIDLINE_DB_URL" in nowhere.stderr

    same = gridline("db", "copy", "--from", source, "--to", source)
    assert same.returncode == 2 and "the same store" in same.stderr

    target = f"sqlite:///{tmp_path / 'copy' / 'gridline.sqlite3'}"
    first = gridline("db", "copy", "--from", source, "--to", target)
    assert first.returncode == 0, first.stderr
    full = gridline("db", "copy", "--from", source, "--to", target)
    assert full.returncode == 2
    assert "the target already holds data (" in full.stderr and "2 cases" in full.stderr
    assert "copy into a new, empty database" in full.stderr


async def test_a_copy_refuses_a_source_that_is_not_a_gridline_store(tmp_path):
    import sqlite3

    stranger = tmp_path / "other.sqlite3"
    sqlite3.connect(stranger).execute("CREATE TABLE t (x)").connection.commit()
    result = gridline("db", "copy", "--from", f"sqlite:///{stranger}", "--to", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert result.returncode == 2 and "the source is not a Gridline store" in result.stderr
