"""Cases of a period written out for other tools: CSV (a spreadsheet) or GeoJSON (a map)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.map_index import AreaIndex
from storage.models import Case

COLUMNS = ["number", "state", "category", "created_at", "deadline_at", "resolved_at", "closed_at", "on_time",
           "area", "lat", "lon", "address", "description", "rating",
           # issue 18: the answers to the category's questions, and the limits and times per step
           "answers", "accept_due_at", "first_accepted_at", "arrive_due_at", "arrived_at"]
RATINGS = {1: "satisfied", 0: "not satisfied"}


def _local(instant: datetime | None, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).replace(microsecond=0).isoformat() if instant else ""


def _row(case: Case, zone: ZoneInfo) -> dict[str, object]:
    on_time = "" if case.resolved_at is None else ("yes" if case.resolved_at <= case.deadline_at else "no")
    return {
        "number": case.number, "state": case.state, "category": case.category_code,
        "created_at": _local(case.created_at, zone), "deadline_at": _local(case.deadline_at, zone),
        "resolved_at": _local(case.resolved_at, zone), "closed_at": _local(case.closed_at, zone), "on_time": on_time,
        "area": case.area_code or "", "lat": case.lat if case.lat is not None else "",
        "lon": case.lon if case.lon is not None else "", "address": case.address or "",
        "description": case.description or "", "rating": RATINGS.get(case.rating, "") if case.rating is not None else "",
        "answers": answers_text(case.answers), "accept_due_at": _local(case.accept_due_at, zone),
        "first_accepted_at": _local(case.first_accepted_at, zone), "arrive_due_at": _local(case.arrive_due_at, zone),
        "arrived_at": _local(case.arrived_at, zone),
    }


def answers_text(answers: dict[str, Any] | None) -> str:
    """The answers in one cell, "code=value" joined by "; " (an optional question skipped: "code=")."""
    return "; ".join(f"{code}={'' if value is None else value}" for code, value in (answers or {}).items())


async def cases_between(session: AsyncSession, index: AreaIndex, start: datetime, end: datetime,
                        area: str | None) -> list[Case]:
    rows = (await session.scalars(
        select(Case).where(Case.created_at >= start, Case.created_at < end).order_by(Case.created_at, Case.id)
    )).all()
    return [c for c in rows if area is None or (c.area_code is not None and index.within(c.area_code, {area}))]


def as_csv(cases: list[Case], zone: ZoneInfo) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS)
    buffer.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
    writer.writeheader()
    for case in cases:
        writer.writerow(_row(case, zone))
        if buffer.tell() > 65_536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_geojson(cases: list[Case], zone: ZoneInfo) -> Iterator[str]:
    features = []
    for case in cases:
        properties = {k: v for k, v in _row(case, zone).items() if k not in ("lat", "lon")}
        properties["answers"] = dict(case.answers or {})  # a map keeps the values' own types
        geometry = {"type": "Point", "coordinates": [case.lon, case.lat]} if case.lat is not None else None
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    yield json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1)
