"""A few weeks of past cases for the demo city (the playground), so /stats and the board have
something to show from the first minute. Written as history: each case with its events, and no
message queued to anyone (it all happened before the playground began)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import area_by_code
from storage.cases import next_case_number
from storage.models import Case, CaseEvent, Category
from storage.vocab import CaseState, Channel, EventKind, LocationSource, Placement

DESCRIPTIONS = ("垃圾桶满了 The bin is overflowing", "路灯不亮 A street light is out", "井盖松动 A loose manhole cover",
                "乱停车 Cars parked on the pavement", "绿化带被踩坏 Trampled flower beds",
                "楼道堆物 Things piled in the stairwell", "噪音扰民 Noise late at night", "路面坑洼 A pothole in the lane")


async def has_cases(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(func.count()).select_from(Case)))


async def add_past_cases(session: AsyncSession, reporter_id: int, workers: dict[str, int], now: datetime,
                         zone: ZoneInfo, days: int = 21, count: int = 36, seed: int = 19) -> int:
    """`count` cases solved over the last `days` days in the grids of `workers` (a grid's code -> the
    worker who handled its cases), all of them closed and rated by `reporter_id`. Returns how many."""
    rng = random.Random(seed)
    leaves = list((await session.scalars(
        select(Category.code).where(Category.parent_code.is_not(None), Category.active.is_(True))
        .order_by(Category.code))).all())
    if not leaves or not workers:
        return 0
    made = 0
    for number in range(count):
        grid = list(workers)[number % len(workers)]
        area = await area_by_code(session, grid)
        assert area is not None, grid
        category = await session.get(Category, rng.choice(leaves))
        assert category is not None
        # Worked backwards from when it was solved, so every case is over before the playground starts
        # (nothing falls due in its first minute): about one in seven took longer than its time limit.
        solved = now - timedelta(days=1 + (days - 1) * number / count, minutes=rng.randint(0, 600))
        late = rng.random() < 0.15
        took = timedelta(hours=category.time_limit_hours * (rng.uniform(1.1, 1.6) if late else rng.uniform(0.1, 0.8)))
        created = solved - took
        worker = workers[grid]
        case = Case(number=await next_case_number(session, created, zone), reporter_id=reporter_id, channel=Channel.TELEGRAM,
                    state=CaseState.REPORTED, category_code=category.code, description=rng.choice(DESCRIPTIONS),
                    lat=area.min_lat + rng.uniform(0.1, 0.9) * (area.max_lat - area.min_lat),
                    lon=area.min_lon + rng.uniform(0.1, 0.9) * (area.max_lon - area.min_lon),
                    address=None, location_verified=True, location_source=LocationSource.SHARED, created_at=created,
                    deadline_at=created + timedelta(hours=category.time_limit_hours), updated_at=created,
                    placement=Placement.INSIDE, area_code=grid, assignee_id=worker)
        session.add(case)
        await session.flush()
        steps: list[tuple[CaseState, timedelta, int | None]] = [
            (CaseState.REPORTED, timedelta(0), reporter_id),
            (CaseState.ACCEPTED, timedelta(minutes=1), None),
            (CaseState.ASSIGNED, timedelta(minutes=2), None),
            (CaseState.IN_PROGRESS, timedelta(minutes=rng.randint(3, 40)), worker),
            (CaseState.RESOLVED, took, worker),
            (CaseState.CLOSED, took + timedelta(hours=rng.randint(1, 20)), reporter_id)]
        previous: CaseState | None = None
        for state, after, actor in steps:
            at = min(created + after, now - timedelta(minutes=5))
            session.add(CaseEvent(case_id=case.id, at=at, actor_id=actor, kind=EventKind.STATE, from_state=previous,
                                  to_state=state, note=None))
            previous = state
            case.state, case.updated_at = state, at
            if state == CaseState.ASSIGNED:
                case.assigned_at = at
            elif state == CaseState.IN_PROGRESS:
                case.accepted_at = at
            elif state == CaseState.RESOLVED:
                case.resolved_at = at
            elif state == CaseState.CLOSED:
                case.closed_at = at
                case.rating = 0 if rng.random() < 0.1 else 1
        made += 1
    await session.flush()
    return made
