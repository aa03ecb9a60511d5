"""`gridline grids import`, `gridline demo` and `gridline categories check`: the map of areas and the
category catalog a deployment starts from."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import Commands, Problem, catalog_of, load_settings
from bot.settings import Settings
from storage.catalog import CatalogError, load_catalog
from storage.db import upgrade_schema


def _progress(stage: str, done: int, total: int) -> None:
    print(f"\r{stage}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


async def _import_map(settings: Settings, path: Path, quiet: bool = False) -> tuple[int, int]:
    from storage.clock import SystemClock
    from storage.db import Store
    from storage.map_import import MapError, known_areas, read_map, write_map

    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Problem(f"{path}: cannot read it ({error})") from None
    store = Store(settings.database_url)
    progress = None if quiet else _progress
    try:
        async with store.transaction() as session:
            known = await known_areas(session)
        try:
            features = await asyncio.to_thread(read_map, text, known, progress)
        except MapError as error:
            raise Problem(*(f"{path}: {p}" for p in error.problems)) from None
        async with store.transaction() as session:
            result = await write_map(session, features, SystemClock().now(), progress)
    finally:
        await store.close()
    return result.created, result.updated


def command_grids_import(args: argparse.Namespace) -> None:
    settings = load_settings()
    upgrade_schema(settings.database_url)
    created, updated = asyncio.run(_import_map(settings, Path(args.file)))
    print(f"{args.file}: {created} areas added, {updated} updated.")


def command_demo(args: argparse.Namespace) -> None:
    from storage.catalog import sync_categories
    from storage.db import Store
    from storage.map_import import DEMO_CITY

    settings = load_settings()
    catalog = catalog_of(settings)
    upgrade_schema(settings.database_url)

    async def load() -> tuple[int, int]:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                await sync_categories(session, catalog)
        finally:
            await store.close()
        return await _import_map(settings, DEMO_CITY, quiet=True)

    created, updated = asyncio.run(load())
    subs = sum(len(t.children) for t in catalog.top)
    print(f"Demo loaded: {created + updated} areas of the demo city; "
          f"{len(catalog.top)} categories with {subs} sub-categories; no people.")


def command_categories_check(args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        raise Problem(*(f"{path}: {p}" for p in error.problems)) from None
    subs = sum(len(t.children) for t in catalog.top)
    asking = [c for c in catalog.all() if c.questions]
    print(f"{path}: OK, {len(catalog.top)} categories with {subs} sub-categories; "
          f"{len(asking)} ask questions ({sum(len(c.questions) for c in asking)} in all).")


def add_map_commands(commands: Commands) -> None:
    grids = commands.add_parser("grids", help="the map of areas", description="Work with the map of areas.")
    grid_commands = grids.add_subparsers(dest="grids_command", required=True, metavar="ACTION")
    grids_import = grid_commands.add_parser(
        "import", help="import areas from a GeoJSON file",
        description="Check a GeoJSON FeatureCollection of areas (code, name, level, parent) and import all of it, "
                    "or nothing if any feature has a problem. Areas already in the store are updated in place.")
    grids_import.add_argument("file", metavar="FILE", help="the GeoJSON file")
    grids_import.set_defaults(handler=command_grids_import)

    demo = commands.add_parser("demo", help="load the demo city and the category catalog",
                               description="Bring the store up to date and load a small synthetic city (grids, "
                                           "micro-grids) and the category catalog; no people.")
    demo.set_defaults(handler=command_demo)


def add_catalog_commands(commands: Commands) -> None:
    categories = commands.add_parser("categories", help="the category catalog", description="Work with category catalogs.")
    category_commands = categories.add_subparsers(dest="categories_command", required=True, metavar="ACTION")
    check = category_commands.add_parser("check", help="check a catalog file without loading it",
                                         description="Check a category catalog file and list every problem in it.")
    check.add_argument("file", metavar="FILE", help="the catalog (TOML)")
    check.set_defaults(handler=command_categories_check)
