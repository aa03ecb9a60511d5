"""`gridline plans import FILE` and `gridline plans export`: call-out plans (预案) as a TOML or YAML
file (the format: README, "Call-out plans")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, with_settings
from bot.settings import Settings

if TYPE_CHECKING:  # the file formats' libraries load only for the commands that use them
    from storage.plan_files import Format

SUFFIXES: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


def plans_import(settings: Settings, args: argparse.Namespace) -> None:
    from storage import plans
    from storage.clock import SystemClock
    from storage.map_index import AreaIndex
    from storage.plan_files import PlanFileError, parse_plans

    path = Path(args.file)
    form = SUFFIXES.get(path.suffix.lower())
    if form is None:
        raise Problem(f"{path}: a plan file ends in .toml, .yaml or .yml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise Problem(f"{path}: cannot read it ({error})") from None
    now = SystemClock().now()

    async def work(session: AsyncSession) -> tuple[int, int, int, int]:
        try:
            found = parse_plans(text, form, await AreaIndex.load(session))
        except PlanFileError as error:
            raise Problem(*(f"{path}: {problem}" for problem in error.problems)) from None
        return len(found), *await plans.write_plans(session, found, now)

    count, added, updated, unchanged = in_store(settings, work)
    print(f"{path}: {count} plans; {added} added, {updated} updated, {unchanged} unchanged.")


def plans_export(settings: Settings, args: argparse.Namespace) -> None:
    from storage import plans
    from storage.plan_files import dump_plans

    async def work(session: AsyncSession) -> str:
        return dump_plans([plans.fields_of(plan) for plan in await plans.all_plans(session)], args.format)

    text = in_store(settings, work)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}.")
    else:
        sys.stdout.write(text)


def add_commands(commands: Commands) -> None:
    plans = commands.add_parser("plans", help="call-out plans (预案)", description="Import and export call-out plans.")
    actions = plans.add_subparsers(dest="plans_command", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import", help="add or update plans from a TOML or YAML file",
        description="Add the plans of a TOML or YAML file (by its extension); a plan whose area and name exist "
                    "already is updated. The whole file is checked first: every problem is listed with its plan "
                    "and field, and nothing is written if there is any.")
    load.add_argument("file", metavar="FILE", help="the plans (.toml, .yaml or .yml)")
    load.set_defaults(handler=with_settings(plans_import))
    save = actions.add_parser("export", help="write every plan as TOML or YAML",
                              description="Write every plan, in the format `gridline plans import` reads back.")
    save.add_argument("--format", choices=("toml", "yaml"), default="toml", help="toml (default) or yaml")
    save.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    save.set_defaults(handler=with_settings(plans_export))
