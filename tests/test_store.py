"""The case store: schema from migrations, the category catalog, photos, concurrency of numbering."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from storage import cases, people
from storage.catalog import (
    DEFAULT_CATALOG,
    CatalogError,
    load_catalog,
    parse_catalog,
    sync_categories,
)
from storage.db import Store, upgrade_schema_async
from storage.models import Base, Category
from storage.photos import NotAnImage, inspect_image
from tests.harness import jpeg


async def test_migrations_build_exactly_the_models(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'schema.sqlite3'}"
    await upgrade_schema_async(url)
    await upgrade_schema_async(url)  # running it again changes nothing
    store = Store(url)
    async with store.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    await store.close()
    assert differences == []


def test_the_shipped_catalog_has_the_top_categories_from_the_seeds():
    catalog = load_catalog()
    codes = [c.code for c in catalog.top]
    assert codes == ["appearance", "street", "municipal", "traffic", "greenery", "safety", "fire", "dispute",
                     "environment", "property", "other"]
    manhole = catalog.get("municipal.manhole")
    assert manhole.time_limit_hours == 4 and manhole.urgent and manhole.names["zh"] == "井盖破损、缺失"
    assert catalog.get("municipal.road").time_limit_hours == 72  # inherited from its top category


def test_a_bad_catalog_lists_every_problem():
    text = """
[[category]]
code = "Bad Code"
zh = "坏"
en = "Bad"
hours = 5

[[category]]
code = "roads"
en = "Roads"
hours = 0
level = "city"
sub = [ { code = "water.pipe", zh = "水管", en = "Pipe" }, { code = "roads.hole", zh = "坑", en = "Hole", colour = "red" } ]

[[category]]
code = "roads"
zh = "道路"
en = "Roads"
hours = 3
"""
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text)
    problems = "\n".join(raised.value.problems)
    for expected in ("code must be", "missing the name in 'zh'", "hours must be", "level must be",
                     "must start with 'roads.'", "unknown keys colour", "roads: code used twice"):
        assert expected in problems


def test_a_category_without_a_time_limit_is_refused():
    """Reminders and the on-time rate need every category's time limit (处理时限)."""
    text = '[[category]]\ncode = "roads"\nzh = "道路"\nen = "Roads"\nlevel = "grid"\n'
    with pytest.raises(CatalogError) as raised:
        parse_catalog(text)
    assert raised.value.problems == ["category 1 (roads): hours must be a whole number from 1 to 2160"]


def test_a_catalog_that_is_not_toml_is_one_clear_problem(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[[category]\ncode=", encoding="utf-8")
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    assert len(raised.value.problems) == 1 and "not valid TOML" in raised.value.problems[0]


async def test_a_replaced_catalog_keeps_old_codes_for_old_cases(world):
    smaller = parse_catalog(DEFAULT_CATALOG.read_text(encoding="utf-8").split('[[category]]\ncode = "other"')[0])
    async with world.store.transaction() as session:
        await sync_categories(session, smaller)
    async with world.store.transaction() as session:
        other = await session.get(Category, "other")
        manhole = await session.get(Category, "municipal.manhole")
    assert other.active is False and manhole.active is True


def test_pictures_are_recognised_and_anything_else_refused():
    facts = inspect_image(jpeg(size=(30, 20), exif_gps=(-33.8688, 151.2093)))
    assert (facts.width, facts.height, facts.mime) == (30, 20, "image/jpeg")
    assert facts.gps == pytest.approx((-33.8688, 151.2093), abs=1e-4)
    assert inspect_image(jpeg()).gps is None
    for junk in (b"", b"GIF89a broken", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, b"<svg></svg>"):
        with pytest.raises(NotAnImage):
            inspect_image(junk)


async def test_case_numbers_stay_unique_when_many_submit_at_once(world):
    now = world.clock.now()
    async with world.store.transaction() as session:
        reporter = await people.touch_person(session, 1, "A", "en", now)

    async def submit(index: int) -> str:
        async with world.store.transaction() as session:
            case = await cases.submit_case(session, cases.NewCase(reporter.id, "other", None, 29.0 + index, 121.0,
                                                                  None, "shared", ()), now, world.settings.zone)
            return case.number

    numbers = await asyncio.gather(*(submit(i) for i in range(40)))
    assert len(set(numbers)) == 40
    assert sorted(numbers)[-1] == "261123-0040"


async def test_a_deadline_follows_the_category_time_limit(world):
    now = world.clock.now()
    async with world.store.transaction() as session:
        reporter = await people.touch_person(session, 2, "B", "en", now)
        case = await cases.submit_case(session, cases.NewCase(reporter.id, "safety.gas", None, 1.0, 1.0, None,
                                                              "shared", ()), now, world.settings.zone)
    assert case.deadline_at == now + timedelta(hours=2)
    async with world.store.transaction() as session:
        stored = await session.scalar(select(cases.Case).where(cases.Case.id == case.id))
    assert stored.created_at.tzinfo is not None and stored.created_at == now
