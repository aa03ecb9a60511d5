"""Steps that many stories share, written once."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy import select

from bot.web import HttpFace
from handlers.i18n import translator
from storage import open311, people, roles
from storage.map_import import DEMO_CITY, AreaFeature, read_map, write_map
from storage.models import Case
from tests.harness import Harness, Person

CJK = re.compile(r"[\u4e00-\u9fff]")


def label(language: str, english: str) -> str:
    return translator(language)(english)


async def report_manhole(person: Person, lat: float = 29.8751, lon: float = 121.5512, language: str = "en",
                         description: str | None = None) -> None:
    """Photo, location, Municipal facilities › manhole cover, optional words; stops at the summary."""
    await person.send_photo()
    await person.send_location(lat, lon)
    await person.tap("市政设施" if language == "zh" else "Municipal")
    await person.tap("井盖" if language == "zh" else "manhole")
    if description is None:
        await person.tap(label(language, "Skip ➡️"))
    else:
        await person.say(description)


async def submit_manhole(person: Person, language: str = "en", **kwargs) -> Case:  # type: ignore[no-untyped-def]
    await report_manhole(person, language=language, **kwargs)
    await person.tap(label(language, "✅ Submit"))
    return await newest_case(person.world)


async def newest_case(world: Harness) -> Case:
    async with world.store.transaction() as session:
        return await session.scalar(select(Case).order_by(Case.id.desc()).limit(1))


@functools.cache
def _demo_map() -> tuple[AreaFeature, ...]:
    """The demo city's areas, read once per test process (its GeoJSON takes a while to check)."""
    return tuple(read_map(DEMO_CITY.read_text(encoding="utf-8")))


async def demo_city(world) -> None:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        await write_map(session, list(_demo_map()), world.clock.now())


async def staff(world, tg_id: int, name: str, role: str, area: str | None,  # type: ignore[no-untyped-def]
                tags: list[str] | None = None) -> int:
    async with world.store.transaction() as session:
        person = await people.ensure_person(session, tg_id, name, "zh", world.clock.now())
        await roles.give_role(session, person.id, role, area, tags or [], world.clock.now())
        return person.id


async def staff_in_chat(world, name: str, role: str, area: str | None, language_code: str = "en",  # type: ignore[no-untyped-def]
                        tags: list[str] | None = None) -> tuple[Person, int]:
    """A staff member who has opened the bot, so their cards come in their language."""
    person = world.person(name, language_code=language_code)
    await person.say("/start")
    return person, await staff(world, person.tg_id, name, role, area, tags)


@asynccontextmanager
async def open311_client(world: Harness) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """The bot's HTTP face on a free port, an HTTP client for it and an Open311 API key."""
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    async with world.store.transaction() as session:
        key = await open311.create_key(session, "hotline-12345", world.clock.now())
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{face.port}") as http:
            yield http, key
    finally:
        await face.stop()
