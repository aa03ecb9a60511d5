"""Reading an OASIS CAP 1.2 alert that another system sends us: parsed without trusting it (no DTD,
no entities, no network, no huge trees), validated against the CAP 1.2 schema shipped in
`storage/schemas/`, then read into plain values. Anything else is refused with the reason, and the
schema's own error list when it is CAP-shaped but invalid.

Feeds of alerts (Atom or RSS) are read here too, with the same parser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
SCHEMA = Path(__file__).parent / "schemas" / "CAP-v1.2.xsd"
MAX_BYTES = 512 * 1024  # an alert larger than this is refused before it is parsed
MAX_ERRORS = 20  # schema errors listed in a refusal
_Q = f"{{{NS}}}"


class CapRefused(Exception):
    """An alert we will not take: `status` is the HTTP status that fits, `reason` one sentence,
    `errors` the schema's complaints (line: message)."""

    def __init__(self, status: int, reason: str, errors: list[str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.errors = errors or []


def _parser() -> Any:  # lxml has no type information
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_pis=True, remove_comments=True)


def parse_xml(raw: bytes) -> Any:
    """The document's root element; refused when it is too large, not XML, or declares a DTD (an
    alert never needs one; entity tricks such as billion laughs and external entities live there)."""
    if len(raw) > MAX_BYTES:
        raise CapRefused(413, f"the body is {len(raw)} bytes, over the limit of {MAX_BYTES}")
    if re.search(rb"<!DOCTYPE|<!ENTITY", raw[:MAX_BYTES], re.IGNORECASE):
        raise CapRefused(400, "the XML declares a DTD or entities, which a CAP alert never needs")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as error:
        raise CapRefused(400, f"the body is not well-formed XML: {error}") from None
    if root is None:
        raise CapRefused(400, "the body is not XML")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise CapRefused(400, "the XML declares a DTD or entities, which a CAP alert never needs")
    return root


@cache
def schema() -> Any:
    """The CAP 1.2 schema (read once, from the shipped file, with no network)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA), _parser()))


def schema_errors(root: Any) -> list[str]:
    """What the CAP 1.2 schema says is wrong with this alert (empty when it validates)."""
    checker = schema()
    if checker.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in list(checker.error_log)[:MAX_ERRORS]]


@dataclass(frozen=True)
class CapInfo:
    language: str
    event: str
    headline: str | None
    instruction: str | None
    description: str | None


@dataclass(frozen=True)
class CapArea:
    desc: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # (lat, lon) rings
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # lat, lon, radius in km
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    references: list[tuple[str, str, str]]  # (sender, identifier, sent)
    infos: list[CapInfo]
    areas: list[CapArea]

    def info_for(self, language: str) -> CapInfo | None:
        """The info in this language ("zh" matches zh-CN, zh-Hans …), else the first."""
        for info in self.infos:
            if info.language.lower().split("-")[0] == language:
                return info
        return self.infos[0] if self.infos else None


def _text(element: Any, tag: str) -> str | None:
    found = element.find(_Q + tag)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _pairs(text: str, what: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        try:
            lat, lon = (float(v) for v in pair.split(","))
        except ValueError:
            raise CapRefused(422, f"the {what} {text[:80]!r} is not a list of 'lat,lon' pairs") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise CapRefused(422, f"the {what} has a point off the earth: {pair}")
        points.append((lat, lon))
    return points


def _area(element: Any) -> CapArea:
    polygons = []
    for polygon in element.findall(_Q + "polygon"):
        ring = _pairs(polygon.text or "", "polygon")
        if len(ring) < 4 or ring[0] != ring[-1]:
            raise CapRefused(422, "a polygon needs at least four 'lat,lon' pairs, the first repeated last")
        polygons.append(ring)
    circles = []
    for circle in element.findall(_Q + "circle"):
        text = (circle.text or "").strip()
        parts = text.split()
        try:
            (lat, lon), = _pairs(parts[0], "circle")
            radius = float(parts[1])
        except (ValueError, IndexError):
            raise CapRefused(422, f"the circle {text[:80]!r} is not 'lat,lon radius_km'") from None
        if not 0 <= radius <= 1000:
            raise CapRefused(422, f"the circle's radius {radius} km is not between 0 and 1000")
        circles.append((lat, lon, radius))
    geocodes = [(_text(g, "valueName") or "", _text(g, "value") or "") for g in element.findall(_Q + "geocode")]
    return CapArea(_text(element, "areaDesc") or "", polygons, circles, geocodes)


def read_alert(raw: bytes) -> CapAlert:
    """The alert in `raw`, validated against the CAP 1.2 schema, or CapRefused saying why not."""
    root = parse_xml(raw)
    if root.tag != _Q + "alert":
        raise CapRefused(422, f"the document is not a CAP 1.2 alert (its root is {root.tag}, not {{{NS}}}alert)")
    errors = schema_errors(root)
    if errors:
        raise CapRefused(422, "the alert does not validate against the CAP 1.2 schema", errors)
    references = []
    for item in (_text(root, "references") or "").split():
        parts = item.split(",")
        if len(parts) == 3:
            references.append((parts[0], parts[1], parts[2]))
    infos, areas = [], []
    for info in root.findall(_Q + "info"):
        infos.append(CapInfo(_text(info, "language") or "en-US", _text(info, "event") or "", _text(info, "headline"),
                             _text(info, "instruction"), _text(info, "description")))
        areas += [_area(area) for area in info.findall(_Q + "area")]
    return CapAlert(_text(root, "identifier") or "", _text(root, "sender") or "", _text(root, "sent") or "",
                    _text(root, "status") or "", _text(root, "msgType") or "", references, infos, areas)


# --- feeds of alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed: the alert inline, or where to fetch it."""

    inline: bytes | None
    link: str | None


def read_feed(raw: bytes) -> list[FeedEntry]:
    """The entries of an Atom or RSS 2.0 feed of CAP alerts: an alert carried inline (in an entry's
    content, or as an RSS item's child) or a link to fetch (Atom's link, preferring type
    application/cap+xml; RSS's link or enclosure)."""
    root = parse_xml(raw)
    entries: list[FeedEntry] = []
    if root.tag == f"{{{ATOM}}}feed":
        for entry in root.findall(f"{{{ATOM}}}entry"):
            inline = entry.find(f".//{_Q}alert")
            links = entry.findall(f"{{{ATOM}}}link")
            cap_links = [x for x in links if "cap" in (x.get("type") or "")] or \
                [x for x in links if x.get("rel") in (None, "alternate", "related")]
            entries.append(FeedEntry(etree.tostring(inline) if inline is not None else None,
                                     cap_links[0].get("href") if cap_links else None))
    elif root.tag == "rss":
        for item in root.iter("item"):
            inline = item.find(f".//{_Q}alert")
            enclosure = item.find("enclosure")
            link = enclosure.get("url") if enclosure is not None else (item.findtext("link") or "").strip() or None
            entries.append(FeedEntry(etree.tostring(inline) if inline is not None else None, link))
    else:
        raise CapRefused(422, f"the feed is neither Atom nor RSS (its root is {root.tag})")
    return entries
