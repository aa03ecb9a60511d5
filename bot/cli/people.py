"""`gridline people …` and `gridline invite`: the people who work the cases, from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import retention
from bot.cli.common import Commands, Problem, in_store, with_settings
from bot.settings import Settings
from storage import areas, people, roles, routing
from storage.clock import SystemClock
from storage.map_index import AreaIndex


def _tags(values: list[str] | None) -> list[str]:
    return [t.strip() for value in values or [] for t in value.split(";") if t.strip()]


def people_add(settings: Settings, args: argparse.Namespace) -> None:
    now = SystemClock().now()
    if len(args.name) > people.MAX_NAME:
        raise Problem(f"--name is longer than {people.MAX_NAME} characters")

    async def work(session: AsyncSession) -> bool:
        person = await people.ensure_person(session, args.tg_id, args.name, args.language, now)
        try:
            _role, created = await roles.give_role(session, person.id, args.role, args.area, _tags(args.tag), now)
        except roles.RoleError as error:
            raise Problem(str(error)) from None
        return created

    created = in_store(settings, work)
    where = f" of {args.area}" if args.area else ""
    print(f"{args.name} ({args.tg_id}) is {'now' if created else 'already'} a {args.role}{where}.")


def people_import(settings: Settings, args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise Problem(f"{path}: cannot read it ({error})") from None
    now = SystemClock().now()

    async def work(session: AsyncSession) -> tuple[int, int, int]:
        rows, problems = roles.parse_roster(text, await roles.area_levels(session))
        if problems:
            raise Problem(*(f"{path}: {p}" for p in problems))
        added, kept = await roles.apply_roster(session, rows, now)
        return len(rows), added, kept

    rows, added, kept = in_store(settings, work)
    print(f"{path}: {rows} rows; {added} roles added, {kept} already there.")


MAX_GAP_LINES = 20


def people_list(settings: Settings, args: argparse.Namespace) -> None:
    async def work(session: AsyncSession) -> tuple[list[str], list[str]]:
        lines = []
        for person, role, area in await roles.people_with_roles(session):
            tags = f" [{';'.join(role.tags)}]" if role.tags else ""
            where = f"{area.code} {area.name}" if area else "-"
            blocked = (" (never opened the bot)" if person.never_opened else " (blocked the bot)") if person.blocked else ""
            lines.append(f"{person.tg_id}\t{person.name}\t{role.role}{tags}\t{where}{blocked}")
        return lines, await _dispatch_warnings(session)

    lines, warnings = in_store(settings, work)
    print("\n".join(lines) if lines else "Nobody has a role yet.")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


async def _dispatch_warnings(session: AsyncSession) -> list[str]:
    """Areas where a case no worker or leader takes has no dispatcher of its own, and where it goes."""
    gaps = await routing.dispatch_gaps(session)
    last_resort = "an admin" if gaps.admins else "nobody (there is no admin either)"
    instead = "a top-level dispatcher of another area" if gaps.top_dispatcher else last_resort
    names = await areas.area_names(session, gaps.areas[:MAX_GAP_LINES])
    warnings = [f"no dispatcher in or above {code} {names.get(code, '')}: its cases that no worker or leader takes "
                f"go to {instead}" for code in gaps.areas[:MAX_GAP_LINES]]
    if len(gaps.areas) > MAX_GAP_LINES:
        warnings.append(f"... and {len(gaps.areas) - MAX_GAP_LINES} more areas with no dispatcher")
    if not gaps.top_dispatcher:
        warnings.append(f"no dispatcher for a top-level area: typed addresses and points outside the map go to {last_resort}")
    return warnings


def people_remove(settings: Settings, args: argparse.Namespace) -> None:
    now = SystemClock().now()

    async def work(session: AsyncSession) -> tuple[int, int]:
        person = await people.person_by_tg_id(session, args.tg_id)
        if person is None:
            raise Problem(f"nobody with Telegram id {args.tg_id}")
        removed = await roles.take_roles(session, person.id, args.role, args.area)
        if not removed:
            raise Problem(f"{person.name} has no such role")
        returned = await routing.return_cases_of(session, person.id, await AreaIndex.load(session), now)
        return len(removed), len(returned)

    removed, returned = in_store(settings, work)
    print(f"Removed {removed} role(s); {returned} open case(s) went back to the grid leader or a dispatcher.")


def invite(settings: Settings, args: argparse.Namespace) -> None:
    from telegram import Bot
    from telegram.error import TelegramError

    if settings.bot_token is None:
        raise Problem("GRIDLINE_BOT_TOKEN is not set: the link needs the bot's name")
    bot_token = settings.bot_token
    now = SystemClock().now()

    async def work(session: AsyncSession) -> str:
        try:
            created = await roles.create_invite(session, args.role, args.area, _tags(args.tag), now)
        except roles.RoleError as error:
            raise Problem(str(error)) from None
        return created.token

    async def bot_name() -> str:
        async with Bot(bot_token.get_secret_value(), base_url=f"{settings.api_url}/bot") as bot:
            return bot.username

    try:
        username = asyncio.run(bot_name())
    except TelegramError as error:
        raise Problem(f"cannot ask the Bot API for the bot's name: {error.message}") from None
    token = in_store(settings, work)
    print(f"https://t.me/{username}?start={token}")
    print(f"One person can use it, until {(now + roles.INVITE_LIFETIME):%Y-%m-%d %H:%M} UTC.")


def add_commands(commands: Commands) -> None:
    people = commands.add_parser("people", help="people and their roles", description="People and their roles.")
    actions = people.add_subparsers(dest="people_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="give a Telegram user a role in an area",
                             description="Give a Telegram user a role in an area (they need not have started the bot).")
    add.add_argument("--tg-id", type=int, required=True, help="the person's Telegram user id")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=roles.ROLES)
    add.add_argument("--area", help="the area's code (a grid for workers and leaders)")
    add.add_argument("--tag", action="append", help="a tag, e.g. party_member (repeat or separate with ';')")
    add.add_argument("--language", choices=("zh", "en"), default="zh")
    add.set_defaults(handler=with_settings(people_add))

    roster = actions.add_parser("import", help="load a roster CSV (tg_id,name,role,area,tags,language)",
                                description="Load a roster exported from a spreadsheet; every row is checked "
                                            "before anything is written.")
    roster.add_argument("file", metavar="ROSTER.csv")
    roster.set_defaults(handler=with_settings(people_import))

    listing = actions.add_parser("list", help="everyone with a role", description="List everyone with a role.")
    listing.set_defaults(handler=with_settings(people_list))

    remove = actions.add_parser("remove", help="take roles away", description="Take a person's roles away (all, or "
                                "one role or area); their open cases go back to the grid leader.")
    remove.add_argument("--tg-id", type=int, required=True)
    remove.add_argument("--role", choices=roles.ROLES)
    remove.add_argument("--area")
    remove.set_defaults(handler=with_settings(people_remove))
    retention.add_people_commands(actions)

    link = commands.add_parser("invite", help="print a one-time invite link for a role",
                               description="Print a one-time https://t.me/<bot>?start=<token> link that gives its "
                                           "first user the role (valid 7 days).")
    link.add_argument("--role", required=True, choices=roles.ROLES)
    link.add_argument("--area")
    link.add_argument("--tag", action="append")
    link.set_defaults(handler=with_settings(invite))
