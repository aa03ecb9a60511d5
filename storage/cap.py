"""A call-out as a CAP 1.2 alert (OASIS Common Alerting Protocol), the standard public-warning
format: status Actual or Exercise, msgType Alert or Cancel, the area as polygons (and the circle of
a call-out "around a point")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import shapely
from sqlalchemy.ext.asyncio import AsyncSession

from storage.areas import area_names
from storage.map_index import AreaIndex
from storage.models import Mobilization

NS = "urn:oasis:names:tc:emergency:cap:1.2"
CATEGORIES = {"flood": "Met", "fire": "Fire", "missing": "Rescue", "evacuate": "Safety", "doors": "Safety", "free": "Other"}


def _time(instant: datetime, zone: ZoneInfo) -> str:
    """CAP's dateTime: local time with its offset, no fractions, e.g. 2026-11-23T10:02:00+08:00."""
    return instant.astimezone(zone).replace(microsecond=0).isoformat()


def _polygon(shape: shapely.Geometry) -> list[str]:
    """CAP polygons: "lat,lon" pairs, the first repeated last; a multipolygon gives one per part."""
    parts = list(shape.geoms) if hasattr(shape, "geoms") else [shape]
    return [" ".join(f"{y:.6f},{x:.6f}" for x, y in part.exterior.coords) for part in parts if part.geom_type == "Polygon"]


def cap_alert(mobilization: Mobilization, shapes: dict[str, shapely.Geometry], names: dict[str, str], sender: str,
              zone: ZoneInfo, language: str = "zh-CN") -> str:
    alert = ET.Element("alert", xmlns=NS)
    identifier = f"gridline-mobilization-{mobilization.id}"
    sent = mobilization.sent_at or mobilization.created_at

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, tag)
        element.text = text
        return element

    ended = mobilization.ended_at if mobilization.state == "over" else None  # stood down: the alert cancels
    over = ended is not None
    add(alert, "identifier", identifier + ("-cancel" if over else ""))
    add(alert, "sender", sender)
    add(alert, "sent", _time(ended if ended is not None else sent, zone))
    add(alert, "status", "Exercise" if mobilization.drill else "Actual")
    add(alert, "msgType", "Cancel" if over else "Alert")
    add(alert, "scope", "Restricted")
    add(alert, "restriction", "Responders of the listed micro-grids")
    if over:
        add(alert, "references", f"{sender},{identifier},{_time(sent, zone)}")
    info = ET.SubElement(alert, "info")
    add(info, "language", language)
    add(info, "category", CATEGORIES.get(mobilization.template or "free", "Other"))
    add(info, "event", mobilization.headline or "Call-out")
    add(info, "responseType", "AllClear" if over else "Execute")
    add(info, "urgency", "Past" if over else "Immediate")
    add(info, "severity", "Severe")
    add(info, "certainty", "Observed")
    add(info, "headline", mobilization.headline or "Call-out")
    if mobilization.instruction:
        add(info, "instruction", mobilization.instruction)
    area = ET.SubElement(info, "area")
    add(area, "areaDesc", ", ".join(names.get(code, code) for code in mobilization.area_codes) or "-")
    for code in mobilization.area_codes:
        if code in shapes:
            for ring in _polygon(shapes[code]):
                add(area, "polygon", ring)
    if mobilization.center_lat is not None and mobilization.radius_m:
        add(area, "circle", f"{mobilization.center_lat:.6f},{mobilization.center_lon:.6f} {mobilization.radius_m / 1000:.3f}")
    ET.indent(alert)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alert, encoding="unicode") + "\n"


async def sent_callout_alert(session: AsyncSession, mobilization_id: int, sender: str, zone: ZoneInfo) -> str | None:
    """The CAP alert of a call-out that was sent (live or over), or None when no such call-out was sent."""
    mobilization = await session.get(Mobilization, mobilization_id)
    if mobilization is None or mobilization.state not in ("active", "over"):
        return None
    index = await AreaIndex.load(session)
    shapes = {c: index.boundaries[index.position[c]] for c in mobilization.area_codes if c in index.position}
    names = await area_names(session, list(mobilization.area_codes))
    return cap_alert(mobilization, shapes, names, sender, zone)
