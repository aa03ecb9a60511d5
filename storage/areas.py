"""The areas of the map read by code: one area, or the names of several (a case's area, a call-out's
micro-grids)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area


async def area_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict((await session.execute(select(Area.code, Area.name).where(Area.code.in_(codes)))).tuples().all())


async def area_by_code(session: AsyncSession, code: str) -> Area | None:
    return await session.get(Area, code)
