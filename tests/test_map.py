"""The map: importing areas from GeoJSON (all or nothing) and finding the area of a point."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.map_import import DEMO_CITY, MapError, known_areas, read_map, write_map
from storage.map_index import AreaIndex, MapCache
from storage.models import Area


def square(code: str, level: str, west: float, south: float, size: float, parent: str | None = None, **extra) -> dict:  # type: ignore[no-untyped-def]
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    properties = {"code": code, "name": f"{code} name", "level": level, **extra}
    if parent:
        properties["parent"] = parent
    return {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def collection(*features: dict) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


SMALL_CITY = collection(
    square("D", "district", 121.50, 29.80, 0.10),
    square("S", "street", 121.50, 29.80, 0.05, "D"),
    square("C", "community", 121.50, 29.80, 0.02, "S"),
    square("G1", "grid", 121.50, 29.80, 0.01, "C"),
    square("G2", "grid", 121.51, 29.80, 0.01, "C"),  # shares the border lon 121.51 with G1
    square("M1", "microgrid", 121.50, 29.80, 0.005, "G1"),
)


async def load(world, text: str) -> AreaIndex:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        features = read_map(text, await known_areas(session))
        await write_map(session, features, world.clock.now())
    async with world.store.transaction() as session:
        return await AreaIndex.load(session)


async def test_the_deepest_area_that_contains_a_point(world):
    index = await load(world, SMALL_CITY)
    assert index.locate(121.502, 29.802).code == "M1"
    assert index.locate(121.508, 29.808).code == "G1"
    assert index.locate(121.515, 29.805).code == "G2"
    assert index.locate(121.530, 29.830).code == "S"
    assert index.locate(121.580, 29.880).code == "D"
    assert index.chain("M1") == ["M1", "G1", "C", "S", "D"]


async def test_a_point_on_a_shared_border_always_gets_the_same_area(world):
    index = await load(world, SMALL_CITY)
    answers = {index.locate(121.51, 29.805).code for _ in range(5)}
    assert answers == {"G1"}  # both grids cover it; the smaller code wins, every time


async def test_a_point_just_outside_goes_to_the_nearest_and_far_out_is_outside(world):
    index = await load(world, SMALL_CITY)
    near = index.locate(121.50, 29.7990)  # about 110 m south of M1's edge
    assert (near.code, near.how) == ("M1", "near") and 100 < near.distance_m < 120
    far = index.locate(121.50, 29.7970)  # about 330 m out
    assert (far.code, far.how) == (None, "outside")


async def test_reimporting_updates_areas_in_place(world):
    await load(world, SMALL_CITY)
    renamed = SMALL_CITY.replace('"G2 name"', '"Riverside grid"')
    await load(world, renamed)
    async with world.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Area)) == 6
        assert (await session.get(Area, "G2")).name == "Riverside grid"


async def test_a_map_cache_reloads_after_an_import(world):
    cache = MapCache()
    async with world.store.transaction() as session:
        assert len(await cache.index(session)) == 0
    await load(world, SMALL_CITY)
    async with world.store.transaction() as session:
        assert len(await cache.index(session)) == 6


def problems_of(text: str) -> str:
    with pytest.raises(MapError) as raised:
        read_map(text)
    return "\n".join(raised.value.problems)


def test_broken_json_is_one_clear_problem():
    assert problems_of('{"type": "FeatureCollection", "features": [') .startswith("not valid JSON")
    assert problems_of('[1, 2]') == "not a GeoJSON FeatureCollection with a features list"


def test_every_bad_feature_is_named_with_its_code():
    line = {"type": "Feature", "properties": {"code": "L", "name": "l", "level": "grid"},
            "geometry": {"type": "LineString", "coordinates": [[121.5, 29.8], [121.6, 29.9]]}}
    bowtie = {"type": "Feature", "properties": {"code": "B", "name": "b", "level": "grid"},
              "geometry": {"type": "Polygon", "coordinates": [[[121.5, 29.8], [121.6, 29.9], [121.6, 29.8], [121.5, 29.9], [121.5, 29.8]]]}}
    projected = square("P", "grid", 512_000.0, 3_300_000.0, 100.0)
    swapped = square("W", "grid", 29.8, 121.5, 0.01)
    text = collection(line, bowtie, projected, swapped, square("U", "grid", 121.5, 29.8, 0.01, "NOPE"),
                      square("K", "kingdom", 121.5, 29.8, 0.01), square("U2", "grid", 121.5, 29.8, 0.01),
                      square("U2", "grid", 121.6, 29.8, 0.01))
    problems = problems_of(text)
    for expected in ("(L): geometry must be a Polygon or MultiPolygon, not 'LineString'",
                     "(B): invalid polygon: Self-intersection",
                     "(P): coordinates are not WGS-84 longitude/latitude (e.g. 512000.0, 3300000.0); they look projected",
                     "(W): coordinates look like latitude, longitude",
                     "U: unknown parent NOPE", "(K): properties.level must be one of", "U2: code used twice"):
        assert expected in problems


def test_a_child_outside_its_parent_and_a_wrong_level_order_are_refused():
    text = collection(square("G", "grid", 121.50, 29.80, 0.01),
                      square("M", "microgrid", 121.505, 29.80, 0.01, "G"),
                      square("C", "community", 121.50, 29.80, 0.005, "G"))
    problems = problems_of(text)
    assert "M: 50% of it lies outside its parent G" in problems
    assert "C: a community cannot be inside a grid (G)" in problems


def test_a_child_that_sticks_out_by_less_than_the_tolerance_is_accepted():
    text = collection(square("G", "grid", 121.50, 29.80, 0.01), square("M", "microgrid", 121.50, 29.80, 0.01001, "G"))
    assert [f.code for f in read_map(text)] == ["G", "M"]


def test_a_polygon_with_10000_vertices_is_refused_before_any_geometry_work():
    import math

    ring = [[121.5 + 0.01 * math.cos(2 * math.pi * i / 10_000), 29.8 + 0.01 * math.sin(2 * math.pi * i / 10_000)]
            for i in range(10_000)]
    ring.append(ring[0])
    huge = {"type": "Feature", "properties": {"code": "H", "name": "h", "level": "grid"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}
    assert "(H): 10001 vertices, more than 5000; simplify the boundary first" in problems_of(collection(huge))


async def test_a_bad_file_changes_nothing_in_the_store(world):
    await load(world, SMALL_CITY)
    with pytest.raises(MapError):
        await load(world, collection(square("NEW", "grid", 121.7, 29.8, 0.01), square("X", "grid", 500000.0, 0.0, 1.0)))
    async with world.store.transaction() as session:
        assert await session.get(Area, "NEW") is None


def test_the_demo_city_is_valid_and_nests():
    features = read_map(DEMO_CITY.read_text(encoding="utf-8"))
    levels = [f.level for f in features]
    assert (levels.count("district"), levels.count("street"), levels.count("community"), levels.count("grid")) == (1, 4, 10, 60)
    assert 300 <= levels.count("microgrid") <= 400
