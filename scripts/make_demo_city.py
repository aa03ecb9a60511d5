"""Write the synthetic demo city that `gridline demo` loads: storage/demo/demo_city.geojson.

    .venv/bin/python scripts/make_demo_city.py

One district on real coordinates in Ningbo's Haishu area, four streets, ten communities, sixty
grids and a few hundred micro-grids (50-80 households each in the real thing). Boundaries are
rectangles that tile their parent exactly, so every level nests without gaps or overlaps.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "storage" / "demo" / "demo_city.geojson"
WEST, SOUTH, EAST, NORTH = 121.500, 29.850, 121.580, 29.900
STREETS = [("鼓楼街道", 3), ("月湖街道", 3), ("南门街道", 2), ("西门街道", 2)]  # name, communities
COMMUNITY_NAMES = ["青石", "孝闻", "中山", "天一", "柳汀", "郁家巷", "尹江岸", "新芝", "翠柏", "高塘"]


def rectangle(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def feature(code: str, name: str, level: str, parent: str | None, box: tuple[float, float, float, float]) -> dict:
    properties = {"code": code, "name": name, "level": level}
    if parent:
        properties["parent"] = parent
    return {"type": "Feature", "properties": properties, "geometry": rectangle(*box)}


def split(box: tuple[float, float, float, float], columns: int, rows: int) -> list[tuple[float, float, float, float]]:
    west, south, east, north = box
    width, height = (east - west) / columns, (north - south) / rows
    return [(west + c * width, south + r * height, west + (c + 1) * width, south + (r + 1) * height)
            for r in range(rows) for c in range(columns)]


def build() -> dict:
    features = [feature("HS", "示范区 Demo District", "district", None, (WEST, SOUTH, EAST, NORTH))]
    names = iter(COMMUNITY_NAMES)
    street_boxes = split((WEST, SOUTH, EAST, NORTH), 2, 2)
    for s, (street_box, (street_name, communities)) in enumerate(zip(street_boxes, STREETS, strict=True), 1):
        street = f"HS-{s:02d}"
        features.append(feature(street, street_name, "street", "HS", street_box))
        for c, community_box in enumerate(split(street_box, communities, 1), 1):
            community = f"{street}-{c:02d}"
            features.append(feature(community, f"{next(names)}社区", "community", street, community_box))
            for g, grid_box in enumerate(split(community_box, 2, 3), 1):
                grid = f"{community}-G{g}"
                features.append(feature(grid, f"{grid} 网格", "grid", community, grid_box))
                micro_count = 5 + (s + c + g) % 2  # five or six micro-grids
                for m, micro_box in enumerate(split(grid_box, 1, micro_count), 1):
                    features.append(feature(f"{grid}-M{m}", f"{grid}-M{m} 微网格", "microgrid", grid, micro_box))
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    city = build()
    OUT.write_text(json.dumps(city, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    levels: dict[str, int] = {}
    for f in city["features"]:
        levels[f["properties"]["level"]] = levels.get(f["properties"]["level"], 0) + 1
    print(f"{OUT}: {levels}")


if __name__ == "__main__":
    main()
