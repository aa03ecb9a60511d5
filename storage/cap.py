"""A call-out as a CAP 1.2 alert (OASIS Common Alerting Protocol), the standard public-warning
format: status Actual or Exercise; msgType Alert when sent, Update (with <references>) once widened
or changed, Cancel once stood down; one <info> per language (zh, en); the area as polygons, the
circle of a call-out "around a point", and a <geocode> per micro-grid code. Every alert made here
validates against the shipped CAP 1.2 schema (tests/test_cap_out.py). Also the Atom feed of
call-outs that CAP consumers subscribe to."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from lxml import etree
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import area_names
from storage.cap_read import CapInfo, CapRefused, read_alert
from storage.map_index import AreaIndex
from storage.models import CallOutChange, CapAlertRecord, Mobilization, Person
from storage.vocab import CallOutState

NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
CATEGORIES = {"flood": "Met", "fire": "Fire", "missing": "Rescue", "evacuate": "Safety", "doors": "Safety", "free": "Other"}
# The event of each kind of call-out, per language (CAP's <event>; the headline is the commander's).
EVENTS = {
    "zh": {"flood": "汛情", "fire": "火情", "missing": "寻找走失人员", "evacuate": "紧急疏散", "doors": "入户排查",
           "free": "应急动员"},
    "en": {"flood": "Flood", "fire": "Fire", "missing": "Missing person", "evacuate": "Evacuation",
           "doors": "Door-to-door check", "free": "Call-out"},
}
# A template's headline in each language (the composer's words for it, locales/*/messages.po).
HEADLINES = {
    "zh": {"flood": "🌊 汛情：水位上涨", "fire": "🔥 火情", "missing": "🔎 寻找走失人员", "evacuate": "🚪 紧急疏散",
           "doors": "🚪 入户排查"},
    "en": {"flood": "🌊 Flood: water is rising", "fire": "🔥 Fire", "missing": "🔎 Missing person",
           "evacuate": "🚪 Evacuation", "doors": "🚪 Door-to-door check"},
}
LANGUAGES = {"zh": "zh-CN", "en": "en-US"}
GEOCODE_NAME = "gridline:micro-grid"
FEED_SIZE = 50


def _time(instant: datetime, zone: ZoneInfo) -> str:
    """CAP's dateTime: local time with its offset, no fractions, e.g. 2026-11-23T10:02:00+08:00."""
    return instant.astimezone(zone).replace(microsecond=0).isoformat()


def _polygon(shape: shapely.Geometry) -> list[str]:
    """CAP polygons: "lat,lon" pairs, the first repeated last; a multipolygon gives one per part."""
    parts = list(shape.geoms) if hasattr(shape, "geoms") else [shape]
    return [" ".join(f"{y:.6f},{x:.6f}" for x, y in part.exterior.coords) for part in parts if part.geom_type == "Polygon"]


def _identifier(mobilization_id: int) -> str:
    return f"gridline-mobilization-{mobilization_id}"


@dataclass(frozen=True)
class Words:
    """One <info>'s words in one language."""

    event: str
    headline: str
    instruction: str | None


def words_by_language(mobilization: Mobilization, official: list[CapInfo], language: str) -> dict[str, Words]:
    """The words of each language the call-out has words in: an official warning's own info in zh
    and en where it had them; both languages for a template's headline left as it was; otherwise
    the commander's words in the commander's `language` only (typed words are not translated)."""
    kind = mobilization.template or "free"
    found: dict[str, Words] = {}
    for info in official:
        code = info.language.lower().split("-")[0]
        if code in LANGUAGES and code not in found:
            found[code] = Words(info.event or EVENTS[code][kind], info.headline or info.event,
                                info.instruction or info.description)
    if found:
        return found
    if kind in HEADLINES["en"] and mobilization.headline in (HEADLINES["zh"][kind], HEADLINES["en"][kind]):
        return {code: Words(EVENTS[code][kind], HEADLINES[code][kind], mobilization.instruction) for code in LANGUAGES}
    code = language if language in LANGUAGES else "zh"
    return {code: Words(EVENTS[code][kind], mobilization.headline or EVENTS[code][kind], mobilization.instruction)}


def cap_alert(mobilization: Mobilization, shapes: dict[str, shapely.Geometry], names: dict[str, str], sender: str,
              zone: ZoneInfo, words: dict[str, Words] | None = None, changes: list[datetime] | None = None) -> str:
    """The call-out's alert now: its Alert, its latest Update (one per change in `changes`), or its
    Cancel, each referencing the ones before it."""
    words = words if words is not None else words_by_language(mobilization, [], "zh")
    changes = changes or []
    alert = ET.Element("alert", xmlns=NS)
    identifier = _identifier(mobilization.id)
    sent = mobilization.sent_at or mobilization.created_at

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, tag)
        element.text = text
        return element

    ended = mobilization.ended_at if mobilization.state == CallOutState.OVER else None  # stood down: the alert cancels
    over = ended is not None
    earlier = [f"{sender},{identifier},{_time(sent, zone)}"]
    earlier += [f"{sender},{identifier}-r{n},{_time(at, zone)}" for n, at in enumerate(changes, start=1)]
    at: datetime
    if ended is not None:
        msg_type, this, at = "Cancel", identifier + "-cancel", ended
    elif changes:
        msg_type, this, at = "Update", f"{identifier}-r{len(changes)}", changes[-1]
        earlier.pop()  # an Update references the messages before it, not itself
    else:
        msg_type, this, at = "Alert", identifier, sent
    add(alert, "identifier", this)
    add(alert, "sender", sender)
    add(alert, "sent", _time(at, zone))
    add(alert, "status", "Exercise" if mobilization.drill else "Actual")
    add(alert, "msgType", msg_type)
    add(alert, "scope", "Restricted")
    add(alert, "restriction", "Responders of the listed micro-grids")
    if msg_type != "Alert":
        add(alert, "references", " ".join(earlier))
    area_desc = ", ".join(names.get(code, code) for code in mobilization.area_codes) or "-"
    for language, said in words.items():
        info = ET.SubElement(alert, "info")
        add(info, "language", LANGUAGES.get(language, language))
        add(info, "category", CATEGORIES.get(mobilization.template or "free", "Other"))
        add(info, "event", said.event)
        add(info, "responseType", "AllClear" if over else "Execute")
        add(info, "urgency", "Past" if over else "Immediate")
        add(info, "severity", "Severe")
        add(info, "certainty", "Observed")
        add(info, "headline", said.headline)
        if said.instruction:
            add(info, "instruction", said.instruction)
        area = ET.SubElement(info, "area")
        add(area, "areaDesc", area_desc)
        for code in mobilization.area_codes:
            if code in shapes:
                for ring in _polygon(shapes[code]):
                    add(area, "polygon", ring)
        if mobilization.center_lat is not None and mobilization.radius_m:
            add(area, "circle", f"{mobilization.center_lat:.6f},{mobilization.center_lon:.6f} {mobilization.radius_m / 1000:.3f}")
        for code in mobilization.area_codes:
            geocode = ET.SubElement(area, "geocode")
            add(geocode, "valueName", GEOCODE_NAME)
            add(geocode, "value", code)
    ET.indent(alert)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode") + "\n"


async def record_change(session: AsyncSession, mobilization_id: int, what: str, now: datetime) -> None:
    """A sent call-out was widened or changed: its CAP export becomes an Update."""
    last = await session.scalar(select(CallOutChange.revision).where(CallOutChange.mobilization_id == mobilization_id)
                                .order_by(CallOutChange.revision.desc()).limit(1))
    session.add(CallOutChange(mobilization_id=mobilization_id, revision=(last or 0) + 1, changed_at=now, what=what))
    await session.flush()


async def _official_infos(session: AsyncSession, mobilization_id: int) -> list[CapInfo]:
    """The infos of the latest official warning this call-out was drafted from (none for others)."""
    raw = await session.scalar(select(CapAlertRecord.raw).where(
        CapAlertRecord.mobilization_id == mobilization_id, CapAlertRecord.msg_type != "Cancel")
        .order_by(CapAlertRecord.id.desc()).limit(1))
    if raw is None:
        return []
    try:
        return read_alert(raw.encode()).infos
    except CapRefused:
        return []


async def _alert_of(session: AsyncSession, index: AreaIndex, mobilization: Mobilization, sender: str, zone: ZoneInfo) -> str:
    shapes = {c: index.boundaries[index.position[c]] for c in mobilization.area_codes if c in index.position}
    names = await area_names(session, list(mobilization.area_codes))
    changes = list((await session.scalars(select(CallOutChange.changed_at).where(
        CallOutChange.mobilization_id == mobilization.id).order_by(CallOutChange.revision))).all())
    commander = await session.get(Person, mobilization.commander_id)
    words = words_by_language(mobilization, await _official_infos(session, mobilization.id),
                              commander.language if commander else "zh")
    return cap_alert(mobilization, shapes, names, sender, zone, words, changes)


async def sent_callout_alert(session: AsyncSession, mobilization_id: int, sender: str, zone: ZoneInfo) -> str | None:
    """The CAP alert of a call-out that was sent (live or over), or None when no such call-out was sent."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.state not in (CallOutState.ACTIVE, CallOutState.OVER):
        return None
    return await _alert_of(session, await AreaIndex.load(session), mobilization, sender, zone)


async def callout_feed(session: AsyncSession, index: AreaIndex, sender: str, zone: ZoneInfo, base_url: str,
                       now: datetime) -> str:
    """An Atom 1.0 feed of the latest call-outs sent, each entry carrying its CAP alert as it stands
    now (Alert, Update or Cancel) inline, and a link to the same alert alone."""
    latest = (await session.scalars(select(Mobilization).where(
        Mobilization.state.in_((CallOutState.ACTIVE, CallOutState.OVER))).order_by(Mobilization.id.desc())
        .limit(FEED_SIZE))).all()
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})

    def add(parent: Any, tag: str, text: str, **attributes: str) -> Any:
        element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text or None
        return element

    add(feed, "id", f"{base_url}/cap/feed.atom")
    add(feed, "title", "Gridline call-outs (CAP 1.2)")
    updated = [m.ended_at or m.sent_at or m.created_at for m in latest]
    add(feed, "updated", _time(max(updated) if updated else now, zone))
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    add(author, "name", sender)
    add(feed, "link", "", rel="self", href=f"{base_url}/cap/feed.atom", type="application/atom+xml")
    for mobilization in latest:
        xml = await _alert_of(session, index, mobilization, sender, zone)
        alert = etree.fromstring(xml.split("\n", 1)[1])  # our own text, made just above
        link = f"{base_url}/cap/callouts/{mobilization.id}.xml"
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        add(entry, "id", link)
        add(entry, "title", f"{alert.findtext(f'{{{NS}}}msgType')}: {mobilization.headline or 'Call-out'}")
        add(entry, "updated", alert.findtext(f"{{{NS}}}sent") or _time(now, zone))
        add(entry, "link", "", rel="alternate", type="application/cap+xml", href=link)
        content = etree.SubElement(entry, f"{{{ATOM}}}content", type="application/cap+xml")
        content.append(alert)
    etree.indent(feed)
    text: str = etree.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
