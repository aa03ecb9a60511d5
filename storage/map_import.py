"""Importing the map: reading a GeoJSON map of areas (district, street, community, grid and
micro-grid), checking all of it, and writing it to the store in one go.

The format (DESIGN.md): a FeatureCollection whose features carry properties.code (unique),
.name, .level (district|street|community|grid|microgrid) and .parent (the parent's code, absent
at the top), with a Polygon or MultiPolygon in WGS-84 longitude, latitude.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
import shapely.errors
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area
from storage.vocab import Level

DEMO_CITY = Path(__file__).parent / "demo" / "demo_city.geojson"
LEVELS: tuple[Level, ...] = tuple(Level)  # from the whole district down
# How deep each level lies (keyed by text too: a map file's level is looked up before it is checked).
DEPTH: Mapping[str, int] = {level: depth for depth, level in enumerate(Level)}
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
MAX_VERTICES = 5_000
# A child may stick out of its parent by this share of its own area (digitising slack).
OUTSIDE_TOLERANCE = 0.02
MAX_PROBLEMS = 200

Progress = Callable[[str, int, int], None]


class MapError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@dataclass(frozen=True)
class AreaFeature:
    code: str
    name: str
    level: Level
    parent: str | None
    geometry: BaseGeometry


def _positions(coordinates: Any, depth: int) -> list[Any] | None:
    """All [x, y] positions of a Polygon (depth 3) or MultiPolygon (depth 4) coordinate array."""
    if depth == 1:
        return [coordinates]
    if not isinstance(coordinates, list) or not coordinates:
        return None
    positions: list[Any] = []
    for part in coordinates:
        inner = _positions(part, depth - 1)
        if inner is None:
            return None
        positions.extend(inner)
    return positions


def _coordinate_problem(geometry: dict[str, Any]) -> str | None:
    depth = {"Polygon": 3, "MultiPolygon": 4}.get(geometry.get("type", ""))
    if depth is None:
        return f"geometry must be a Polygon or MultiPolygon, not {geometry.get('type')!r}"
    positions = _positions(geometry.get("coordinates"), depth)
    if positions is None:
        return "coordinates are not a valid polygon array"
    if len(positions) > MAX_VERTICES:
        return f"{len(positions)} vertices, more than {MAX_VERTICES}; simplify the boundary first"
    for position in positions:
        if (not isinstance(position, list) or len(position) < 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])):
            return "a position is not a pair of numbers"
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    if any(abs(x) > 180 for x in xs) or any(abs(y) > 90 for y in ys):
        if all(abs(x) <= 90 for x in xs) and all(abs(y) <= 180 for y in ys):
            return "coordinates look like latitude, longitude; GeoJSON wants longitude first"
        sample = f"{positions[0][0]}, {positions[0][1]}"
        return f"coordinates are not WGS-84 longitude/latitude (e.g. {sample}); they look projected"
    return None


def _feature(index: int, feature: Any, problems: list[str]) -> AreaFeature | None:
    where = f"feature {index}"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.append(f"{where}: not a GeoJSON Feature")
        return None
    properties = feature.get("properties") or {}
    code = properties.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        problems.append(f"{where}: properties.code must be 1-40 letters, digits, '.', '_' or '-'")
        return None
    where = f"feature {index} ({code})"
    name, level, parent = properties.get("name"), properties.get("level"), properties.get("parent")
    ok = True
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append(f"{where}: properties.name must be text of 1-200 characters")
        ok = False
    if level not in DEPTH:
        problems.append(f"{where}: properties.level must be one of {', '.join(LEVELS)}")
        ok = False
    if parent is not None and not isinstance(parent, str):
        problems.append(f"{where}: properties.parent must be a code")
        ok = False
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        problems.append(f"{where}: no geometry")
        return None
    coordinate_problem = _coordinate_problem(geometry)
    if coordinate_problem:
        problems.append(f"{where}: {coordinate_problem}")
        return None
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, shapely.errors.GEOSException) as error:
        problems.append(f"{where}: geometry cannot be read ({error})")
        return None
    if not polygon.is_valid:
        problems.append(f"{where}: invalid polygon: {shapely.is_valid_reason(polygon)}")
        return None
    if polygon.is_empty or polygon.area == 0:
        problems.append(f"{where}: the polygon is empty")
        return None
    if not ok or not isinstance(name, str) or not isinstance(level, str):  # the checks above said what is wrong
        return None
    return AreaFeature(code, name.strip(), Level(level), parent or None, polygon)


def read_map(text: str, known: dict[str, tuple[Level, BaseGeometry]] | None = None,
             progress: Progress | None = None) -> list[AreaFeature]:
    """Every area of a GeoJSON text, parents before children; MapError lists every problem.

    `known` holds areas already in the store (code -> level, boundary), for parents the file
    does not repeat.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MapError([f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"]) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" \
            or not isinstance(document.get("features"), list):
        raise MapError(["not a GeoJSON FeatureCollection with a features list"])
    raw = document["features"]
    problems: list[str] = []
    features: list[AreaFeature] = []
    for index, item in enumerate(raw, start=1):
        feature = _feature(index, item, problems)
        if feature is not None:
            features.append(feature)
        if progress and index % 1000 == 0:
            progress("checking", index, len(raw))
        if len(problems) >= MAX_PROBLEMS:
            problems.append(f"stopped after {MAX_PROBLEMS} problems")
            raise MapError(problems)
    by_code: dict[str, AreaFeature] = {}
    for feature in features:
        if feature.code in by_code:
            problems.append(f"{feature.code}: code used twice")
        by_code[feature.code] = feature
    known = known or {}
    checked = 0
    for feature in features:
        checked += 1
        if progress and checked % 1000 == 0:
            progress("checking parents", checked, len(features))
        if feature.parent is None:
            continue
        parent = by_code.get(feature.parent)
        found = (parent.level, parent.geometry) if parent else known.get(feature.parent)
        if found is None:
            problems.append(f"{feature.code}: unknown parent {feature.parent}")
            continue
        parent_level, parent_boundary = found
        if DEPTH[parent_level] >= DEPTH[feature.level]:
            problems.append(f"{feature.code}: a {feature.level} cannot be inside a {parent_level} ({feature.parent})")
            continue
        shapely.prepare(parent_boundary)
        if not parent_boundary.covers(feature.geometry):
            outside = feature.geometry.difference(parent_boundary).area / feature.geometry.area
            if outside > OUTSIDE_TOLERANCE:
                problems.append(f"{feature.code}: {outside:.0%} of it lies outside its parent {feature.parent}")
    if problems:
        raise MapError(problems[: MAX_PROBLEMS + 1])
    return sorted(features, key=lambda f: DEPTH[f.level])


async def known_areas(session: AsyncSession) -> dict[str, tuple[Level, BaseGeometry]]:
    rows = await session.execute(select(Area.code, Area.level, Area.boundary))
    return {code: (level, shapely.from_wkb(boundary)) for code, level, boundary in rows.all()}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


async def write_map(session: AsyncSession, features: list[AreaFeature], now: datetime,
                    progress: Progress | None = None) -> ImportResult:
    """Insert new areas and update existing ones in place (people's codes stay valid)."""
    existing = set((await session.scalars(select(Area.code))).all())
    created = updated = 0
    batch = 2000
    for start in range(0, len(features), batch):
        rows = []
        for feature in features[start : start + batch]:
            min_lon, min_lat, max_lon, max_lat = feature.geometry.bounds
            rows.append({
                "code": feature.code, "name": feature.name, "level": feature.level, "parent_code": feature.parent,
                "boundary": shapely.to_wkb(feature.geometry), "min_lon": min_lon, "min_lat": min_lat,
                "max_lon": max_lon, "max_lat": max_lat, "updated_at": now,
            })
        new = [r for r in rows if r["code"] not in existing]
        old = [r for r in rows if r["code"] in existing]
        if new:
            await session.execute(insert(Area), new)
        if old:
            await session.execute(update(Area), old)
        created += len(new)
        updated += len(old)
        if progress:
            progress("writing", min(start + batch, len(features)), len(features))
    return ImportResult(created, updated)
