"""Gridline's cases as Open311 GeoReport v2 sees them: services from the category catalog, service
requests from cases, new requests from other channels (checked, then routed like any report), and
the API keys those channels post with."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, characters
from storage.catalog import Catalog, CategoryDef
from storage.category_questions import (
    NO,
    YES,
    YES_NO_NAMES,
    Answer,
    BadAnswer,
    QuestionDef,
    QuestionKind,
    check_value,
    plain_number,
)
from storage.db import insert_for
from storage.map_index import AreaIndex
from storage.models import ApiKey, Case, CaseEvent, CasePhoto, JobRun
from storage.points import MIN_ADDRESS_CHARACTERS, is_meaningful_address, is_valid_point
from storage.vocab import Channel, LocationSource

MAX_DESCRIPTION = 4000
MAX_RESULTS = 1000
# Far past any real store, and small enough that (page - 1) * page_size fits every database's OFFSET.
MAX_PAGE = 1_000_000
MAX_MEDIA_URL = 2000
MAX_CONTACT_FIELD = 200  # first_name, last_name, device_id, account_id
DEFAULT_SPAN = timedelta(days=90)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
PHONE = re.compile(r"^[0-9+()\-\s]{3,32}$")
# A request located only by the client's address_id keeps it as its typed address, in this form.
ADDRESS_ID_PREFIX = "address_id: "
# The public feed's point: 3 decimals is about 110 m north-south and 95 m east-west at 30° N.
PUBLIC_DECIMALS = 3
# What the public feed may show of a request: nothing a person typed, no photo, no exact point.
PUBLIC_FIELDS = ("service_request_id", "status", "service_name", "service_code", "agency_responsible",
                 "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
                 "extended_attributes")


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


# --- what a posted field may hold ----------------------------------------------------------------


def has_forbidden_characters(text: str) -> bool:
    """Control characters other than tab, newline and carriage return, lone surrogates and the two
    non-characters U+FFFE/U+FFFF: none of them is text a person meant, and XML 1.0 cannot carry most."""
    return any(characters.is_forbidden(ch) for ch in text)


def is_web_url(text: str) -> bool:
    """An absolute http or https URL with a host, and nothing a link may not hold."""
    if not text or len(text) > MAX_MEDIA_URL or any(ch.isspace() or has_forbidden_characters(ch) for ch in text):
        return False
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


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
        "metadata": bool(category.questions),
        "type": "realtime",
        "keywords": ",".join(sorted({category.names.get("zh", ""), category.names.get("en", "")} - {""})),
        "group": top.name(language),
    }


def catalog_fingerprint(catalog: Catalog) -> str:
    """A digest of everything a client sees of the services, so any change to the catalog moves it."""
    content = [[c.code, c.parent_code, c.names, c.time_limit_hours, c.handling_level, c.urgent,
                *([repr(c.questions)] if c.questions else [])] for c in catalog.all()]
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def catalog_changed_at(session: AsyncSession, catalog: Catalog, now: datetime) -> datetime:
    """When the store first saw this catalog: discovery's changeset. Every process serving the same
    catalog agrees on it, a restart keeps it, and a catalog that changes moves it.

    Kept without a schema change in the job_runs table (name `open311:<digest>`, the time as Unix
    seconds); rows of earlier catalogs are dropped, so going back to an older catalog moves it too."""
    name = "open311:" + catalog_fingerprint(catalog)[:24]
    insert = insert_for(session)
    seen = await session.scalar(select(JobRun.last_day).where(JobRun.name == name))
    if seen is None:
        await session.execute(delete(JobRun).where(JobRun.name.like("open311:%"), JobRun.name != name))
        # Two processes may meet the new catalog at once: the first to write wins, both read it back.
        await session.execute(insert(JobRun).values(name=name, last_day=str(int(now.timestamp())))
                              .on_conflict_do_nothing())
        seen = await session.scalar(select(JobRun.last_day).where(JobRun.name == name))
    return datetime.fromtimestamp(int(seen), UTC)


# How each kind of question is told to an Open311 client (GeoReport v2 has no yes/no datatype).
DATATYPES = {QuestionKind.YES_NO: "singlevaluelist", QuestionKind.CHOICE: "singlevaluelist",
             QuestionKind.NUMBER: "number", QuestionKind.TEXT: "string"}


def attributes(category: CategoryDef, language: str) -> list[dict[str, Any]]:
    """The category's questions as GeoReport v2 attributes (`GET services/{code}`)."""
    found = []
    for order, question in enumerate(category.questions, start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": question.code,
            "datatype": DATATYPES[question.kind],
            "required": question.required,
            "datatype_description": _datatype_description(question),
            "order": order,
            "description": question.label(language),
        }
        if question.kind == QuestionKind.YES_NO:
            names = YES_NO_NAMES.get(language, YES_NO_NAMES["en"])
            attribute["values"] = [{"key": key, "name": names[key]} for key in (YES, NO)]
        elif question.kind == QuestionKind.CHOICE:
            attribute["values"] = [{"key": o.code, "name": o.label(language)} for o in question.options]
        found.append(attribute)
    return found


def _datatype_description(question: QuestionDef) -> str | None:
    if question.kind == QuestionKind.NUMBER:
        low = "" if question.minimum is None else f"at least {plain_number(question.minimum)}"
        high = "" if question.maximum is None else f"at most {plain_number(question.maximum)}"
        return "a number " + " and ".join(part for part in (low, high) if part) if low or high else "a number"
    if question.kind == QuestionKind.TEXT:
        return f"at most {question.max_length} characters"
    return None


def answers_from(category: CategoryDef, given: dict[str, str]) -> tuple[dict[str, Answer], list[tuple[int, str]]]:
    """A posted request's `attribute[code]` values checked against the category's questions: the
    answers as the chat stores them, and every problem, each naming its attribute."""
    questions = {q.code: q for q in category.questions}
    answers: dict[str, Answer] = {}
    problems: list[tuple[int, str]] = []
    for code in sorted(set(given) - set(questions)):
        problems.append((400, f"attribute[{code}] is not an attribute of service {category.code}"))
    for question in category.questions:
        value = given.get(question.code, "").strip()
        if not value:
            if question.required:
                problems.append((400, f"attribute[{question.code}] is required"))
            else:
                answers[question.code] = None
            continue
        try:
            answers[question.code] = check_value(question, value)
        except BadAnswer as bad:
            problems.append((400, f"attribute[{question.code}] {bad.why}"))
    return answers, problems


def stop_notice(category: CategoryDef, answers: dict[str, Answer], language: str) -> str | None:
    """What the chat would have told the person when an answer is a stop answer (the request is
    still taken: a client channel decides itself how to tell its caller)."""
    for question in category.questions:
        stop = question.stops_at(answers.get(question.code))
        if stop is not None:
            return f"{stop.message(language)} ☎ {stop.phone}"
    return None


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


def _location_reference(address: str | None) -> tuple[str | None, str | None]:
    """The typed address and the client's address_id, from the case's one address field."""
    if address and address.startswith(ADDRESS_ID_PREFIX):
        return None, address[len(ADDRESS_ID_PREFIX):]
    return address, None


def as_request(case: Case, catalog: Catalog, language: str, zone: ZoneInfo, media_url: str | None,
               note: str | None, *, extensions: bool = False) -> dict[str, Any]:
    """The whole request, as a reader with an API key sees it (public_request trims it for others)."""
    category = catalog.get(case.category_code)
    address, address_id = _location_reference(case.address)
    served = {
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
        "address": address,
        "address_id": address_id,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url if media_url and is_web_url(media_url) else None,
        # Gridline's own, richer state (an extension the spec allows, shown when a client asks for it).
        "extended_attributes": {"gridline_state": case.state, "channel": case.channel,
                                **({"answers": dict(case.answers)} if case.answers else {})},
    }
    if not extensions:
        del served["extended_attributes"]
    return served


def public_request(full: dict[str, Any], index: AreaIndex) -> dict[str, Any]:
    """A request as anyone may read it: the same fields, but only those in PUBLIC_FIELDS keep their
    value, the point is rounded to about 100 m, and the responsible area is named no finer than a
    grid (a micro-grid is 50-80 households, finer than the rounded point). Whatever a field added
    later holds stays out."""
    shown = {key: (value if key in PUBLIC_FIELDS else None) for key, value in full.items()}
    extended = shown.get("extended_attributes")
    if isinstance(extended, dict):  # answers may hold a person's own words
        shown["extended_attributes"] = {k: v for k, v in extended.items() if k != "answers"}
    responsible: str | None = shown.get("agency_responsible")
    if responsible:
        shown["agency_responsible"] = next(
            (code for code in index.chain(responsible) if index.level_of(code) != "microgrid"), None)
    for key in ("lat", "long"):
        if full.get(key) is not None:
            shown[key] = round(full[key], PUBLIC_DECIMALS)
    return shown


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
        # Times are served to the second, so the filters compare to the second too: a start or end
        # equal to a served requested_datetime includes that request.
        end = query.end or now
        start = query.start.replace(microsecond=0) if query.start else min(end, now) - DEFAULT_SPAN
        before = end.replace(microsecond=0) + timedelta(seconds=1) if query.end else now + timedelta(microseconds=1)
        statement = statement.where(Case.created_at >= start, Case.created_at < before)
        if query.service_codes:
            statement = statement.where(Case.category_code.in_(query.service_codes))
        if query.status == ("open",):
            statement = statement.where(Case.state.in_(cases.OPEN_STATES))
        elif query.status == ("closed",):
            statement = statement.where(Case.state.not_in(cases.OPEN_STATES))
    statement = statement.order_by(Case.created_at.desc(), Case.id.desc())
    size = max(1, min(query.page_size, MAX_RESULTS))
    statement = statement.offset((min(max(query.page, 1), MAX_PAGE) - 1) * size).limit(size)
    return list((await session.scalars(statement)).all())


@dataclass
class NewRequest:
    service_code: str | None
    lat: float | None
    lon: float | None
    address: str | None
    description: str | None
    contact: dict[str, str]
    address_id: str | None = None
    attributes: dict[str, str] = dataclass_field(default_factory=dict)  # attribute[code] as posted


def request_problems(new: NewRequest, catalog: Catalog, index: AreaIndex) -> list[tuple[int, str]]:
    """Everything wrong with a posted request, as the spec's (code, description) pairs."""
    problems: list[tuple[int, str]] = []
    found = find_service(catalog, new.service_code) if new.service_code else None
    if not new.service_code:
        problems.append((400, "service_code is required"))
    elif found is None:
        problems.append((404, f"service_code {new.service_code} is not a known service"))
    else:
        problems += answers_from(found[0], new.attributes)[1]
    if (new.lat is None) != (new.lon is None):
        problems.append((400, "lat and long must be given together"))
    if new.lat is None and not new.address and not new.address_id:
        problems.append((400, "a location is required: lat and long, address_string or address_id"))
    if new.lat is not None and new.lon is not None:
        if not is_valid_point(new.lat, new.lon):
            problems.append((400, "lat must be -90..90 and long -180..180 (WGS-84), as finite numbers"))
        elif index.locate(new.lon, new.lat).how == "outside":
            problems.append((400, "lat/long is outside the service area"))
    if new.description and len(new.description) > MAX_DESCRIPTION:
        problems.append((400, f"description is longer than {MAX_DESCRIPTION} characters"))
    # An address that is the request's only location needs what a typed one in the chat needs (zero-
    # width and control characters do not count); beside lat/long, a short one ("5号") is fine.
    for name, value in (("address_string", new.address), ("address_id", new.address_id)):
        if new.lat is None and value and not is_meaningful_address(value):
            problems.append((400, f"{name} needs at least {MIN_ADDRESS_CHARACTERS} visible characters"))
    if new.address and len(new.address) > 500:
        problems.append((400, "address_string is longer than 500 characters"))
    if new.address_id and len(new.address_id) > 200:
        problems.append((400, "address_id is longer than 200 characters"))
    for field in ("first_name", "last_name", "device_id", "account_id"):
        if len(new.contact.get(field) or "") > MAX_CONTACT_FIELD:
            problems.append((400, f"{field} is longer than {MAX_CONTACT_FIELD} characters"))
    if new.contact.get("media_url") and not is_web_url(new.contact["media_url"]):
        problems.append((400, f"media_url must be an http or https URL of at most {MAX_MEDIA_URL} characters"))
    if new.contact.get("email") and not EMAIL.match(new.contact["email"]):
        problems.append((400, "email is not an e-mail address"))
    if new.contact.get("phone") and not PHONE.match(new.contact["phone"]):
        problems.append((400, "phone is not a phone number"))
    return problems


async def create_request(session: AsyncSession, new: NewRequest, catalog: Catalog, channel_key: str, now: datetime,
                         zone: ZoneInfo) -> Case:
    """A checked request (`request_problems` found nothing) becomes a case like any other (the caller routes it)."""
    found = find_service(catalog, new.service_code or "")
    answers = answers_from(found[0], new.attributes)[0] if found else {}
    contact = {k: v for k, v in new.contact.items() if v}
    contact["api_key"] = channel_key
    # The client's own address reference is kept as a typed address and routed like one.
    address = new.address or (ADDRESS_ID_PREFIX + new.address_id if new.address_id else None)
    return await cases.submit_case(session, cases.NewCase(
        reporter_id=None, category_code=new.service_code or "", description=new.description or None,
        lat=new.lat, lon=new.lon, address=address,
        location_source=LocationSource.OPEN311 if new.lat is not None else LocationSource.TYPED, photo_ids=(),
        channel=Channel.OPEN311, reporter_contact=contact, answers=answers or None,
    ), now, zone)
