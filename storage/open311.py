"""Gridline's cases as Open311 GeoReport v2 sees them: services from the category catalog, service
requests from cases, new requests from other channels (checked, then routed like any report), and
the API keys those channels post with."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases
from storage.catalog import Catalog, CategoryDef
from storage.map_index import AreaIndex
from storage.models import ApiKey, Case, CaseEvent, CasePhoto

MAX_DESCRIPTION = 4000
MAX_RESULTS = 1000
DEFAULT_SPAN = timedelta(days=90)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
PHONE = re.compile(r"^[0-9+()\-\s]{3,32}$")


# --- API keys ------------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, name: str, now: datetime) -> str:
    """A new key for a channel; the key itself is shown once and only its hash is kept."""
    if await session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise ValueError(f"a key named {name!r} exists already")
    key = secrets.token_urlsafe(24)
    session.add(ApiKey(name=name, key_hash=_hash(key), created_at=now))
    await session.flush()
    return key


async def revoke_key(session: AsyncSession, name: str, now: datetime) -> bool:
    key = await session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if key is None:
        return False
    key.revoked_at = now
    return True


async def key_named(session: AsyncSession, key: str | None) -> str | None:
    """The name of a live key, or None."""
    if not key:
        return None
    found = await session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None)))
    return found.name if found else None


# --- services ------------------------------------------------------------------------------------


def services(catalog: Catalog, language: str) -> list[dict[str, Any]]:
    """Every category a request can be filed under: the sub-categories, and the top ones themselves."""
    found = []
    for top in catalog.top:
        for category in (*top.children, top):
            found.append(service(category, top, language))
    return found


def service(category: CategoryDef, top: CategoryDef, language: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name(language),
        "description": f"{top.name(language)} · {category.name(language)}" if category is not top else top.name(language),
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(sorted({category.names.get("zh", ""), category.names.get("en", "")} - {""})),
        "group": top.name(language),
    }


def find_service(catalog: Catalog, code: str) -> tuple[CategoryDef, CategoryDef] | None:
    category = catalog.get(code)
    if category is None:
        return None
    top = catalog.get(category.parent_code) if category.parent_code else category
    return category, top or category


# --- requests ------------------------------------------------------------------------------------


def status_of(case: Case) -> str:
    return "closed" if case.state in ("resolved", *cases.FINAL_STATES) else "open"


def _time(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).replace(microsecond=0).isoformat() if instant else None


async def extras_of(session: AsyncSession, found: list[Case]) -> tuple[dict[int, int], dict[int, str]]:
    """For a page of cases, in two queries: each one's first photo, and its latest closing note."""
    ids = [c.id for c in found]
    if not ids:
        return {}, {}
    photos: dict[int, int] = {}
    for case_id, photo_id in (await session.execute(
        select(CasePhoto.case_id, CasePhoto.photo_id).where(CasePhoto.case_id.in_(ids), CasePhoto.role == "report")
        .order_by(CasePhoto.id)
    )).all():
        photos.setdefault(case_id, photo_id)
    notes: dict[int, str] = {}
    for case_id, note in (await session.execute(
        select(CaseEvent.case_id, CaseEvent.note).where(
            CaseEvent.case_id.in_(ids), CaseEvent.kind == "state", CaseEvent.note.is_not(None),
            CaseEvent.note != cases.CLOSED_UNRATED,  # the resolution's note stays the one shown
            CaseEvent.to_state.in_(("resolved", "rejected", "closed"))).order_by(CaseEvent.id)
    )).all():
        notes[case_id] = note
    return photos, notes


def as_request(case: Case, catalog: Catalog, language: str, zone: ZoneInfo, media_url: str | None,
               note: str | None) -> dict[str, Any]:
    category = catalog.get(case.category_code)
    return {
        "service_request_id": case.number,
        "status": status_of(case),
        "status_notes": note,
        "service_name": category.name(language) if category else case.category_code,
        "service_code": case.category_code,
        "description": case.description,
        "agency_responsible": case.area_code,
        "service_notice": None,
        "requested_datetime": _time(case.created_at, zone),
        "updated_datetime": _time(case.updated_at, zone),
        "expected_datetime": _time(case.deadline_at, zone),
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url,
        # Gridline's own, richer state (an extension the spec allows).
        "extended_attributes": {"gridline_state": case.state, "channel": case.channel},
    }


@dataclass(frozen=True)
class Query:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = MAX_RESULTS


async def find_requests(session: AsyncSession, query: Query, now: datetime) -> list[Case]:
    """The spec's filters: ids win over everything else; otherwise the last 90 days by default,
    newest first, at most 1,000 a page."""
    statement = select(Case)
    if query.ids:
        statement = statement.where(Case.number.in_(query.ids))
    else:
        end = query.end or now
        start = query.start or min(end, now) - DEFAULT_SPAN
        statement = statement.where(Case.created_at >= start, Case.created_at <= end)
        if query.service_codes:
            statement = statement.where(Case.category_code.in_(query.service_codes))
        if query.status == ("open",):
            statement = statement.where(Case.state.in_(cases.OPEN_STATES))
        elif query.status == ("closed",):
            statement = statement.where(Case.state.not_in(cases.OPEN_STATES))
    statement = statement.order_by(Case.created_at.desc(), Case.id.desc())
    size = max(1, min(query.page_size, MAX_RESULTS))
    statement = statement.offset((max(query.page, 1) - 1) * size).limit(size)
    return list((await session.scalars(statement)).all())


@dataclass
class NewRequest:
    service_code: str | None
    lat: float | None
    lon: float | None
    address: str | None
    description: str | None
    contact: dict[str, str]


def request_problems(new: NewRequest, catalog: Catalog, index: AreaIndex) -> list[tuple[int, str]]:
    """Everything wrong with a posted request, as the spec's (code, description) pairs."""
    problems: list[tuple[int, str]] = []
    if not new.service_code:
        problems.append((400, "service_code is required"))
    elif find_service(catalog, new.service_code) is None:
        problems.append((404, f"service_code {new.service_code} is not a known service"))
    if (new.lat is None) != (new.lon is None):
        problems.append((400, "lat and long must be given together"))
    if new.lat is None and not new.address:
        problems.append((400, "a location is required: lat and long, or address_string"))
    if new.lat is not None and new.lon is not None:
        if not (-90 <= new.lat <= 90 and -180 <= new.lon <= 180):
            problems.append((400, "lat must be -90..90 and long -180..180 (WGS-84)"))
        elif index.locate(new.lon, new.lat).how == "outside":
            problems.append((400, "lat/long is outside the service area"))
    if new.description and len(new.description) > MAX_DESCRIPTION:
        problems.append((400, f"description is longer than {MAX_DESCRIPTION} characters"))
    if new.address and len(new.address) > 500:
        problems.append((400, "address_string is longer than 500 characters"))
    if new.contact.get("email") and not EMAIL.match(new.contact["email"]):
        problems.append((400, "email is not an e-mail address"))
    if new.contact.get("phone") and not PHONE.match(new.contact["phone"]):
        problems.append((400, "phone is not a phone number"))
    return problems


async def create_request(session: AsyncSession, new: NewRequest, channel_key: str, now: datetime,
                         zone: ZoneInfo) -> Case:
    """A checked request becomes a case like any other (the caller routes it)."""
    contact = {k: v for k, v in new.contact.items() if v}
    contact["api_key"] = channel_key
    return await cases.submit_case(session, cases.NewCase(
        reporter_id=None, category_code=new.service_code or "", description=new.description or None,
        lat=new.lat, lon=new.lon, address=new.address or None,
        location_source="open311" if new.lat is not None else "typed", photo_ids=(),
        channel="open311", reporter_contact=contact,
    ), now, zone)
