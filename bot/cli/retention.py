"""`gridline retention run [--dry-run]` and `gridline people forget --tg-id N`: personal data."""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, with_settings
from bot.retention import remove_due
from bot.settings import Settings
from storage import people, retention
from storage.clock import SystemClock
from storage.db import Store, upgrade_schema
from storage.media_store import delete_photos
from storage.retention import Forgotten


def retention_run(settings: Settings, args: argparse.Namespace) -> None:
    now = SystemClock().now()
    upgrade_schema(settings.database_url)

    async def run() -> retention.RetentionReport:
        store, media = Store(settings.database_url), settings.open_media()
        try:
            return await remove_due(store, media, settings, now, dry_run=args.dry_run)
        finally:
            await store.close()
            await media.close()

    report = asyncio.run(run())
    if settings.retention_days == 0:
        print("GRIDLINE_RETENTION_DAYS is 0: closed cases keep their personal data (only forgotten people's go).")
    for case in report.cases:
        parts = [name for name, there in (("reporter", case.identity), ("exact point", case.point),
                                          ("description/address", case.words)) if there]
        if case.photos:
            parts.append(f"{case.photos} photo(s)")
        print(f"{case.number}: {', '.join(parts) or 'nothing left to remove'}")
    verb = "would lose" if args.dry_run else "lost"
    print(f"{len(report.cases)} case(s) {verb} their reporter's personal data ({report.photos} photo(s)); "
          f"kept: number, category, grid, times and state history.")


def describe(done: Forgotten) -> list[str]:
    return [f"closed cases cleared now: {', '.join(done.closed) or 'none'}",
             f"open cases keeping a pseudonym until they close: {', '.join(done.open) or 'none'}",
             f"photos removed: {done.photos}; drafts removed: {done.drafts}; queued messages dropped: {done.messages}; "
             f"cases no longer followed: {done.follows}"]


def people_forget(settings: Settings, args: argparse.Namespace) -> None:
    now = SystemClock().now()

    async def work(session: AsyncSession) -> Forgotten:
        person = await people.person_by_tg_id(session, args.tg_id)
        if person is None:
            raise Problem(f"nobody with Telegram id {args.tg_id} (already forgotten, or never wrote to the bot)")
        try:
            return await retention.forget_person(session, person, now, settings.retention_point)
        except retention.HasRoles:
            raise Problem(f"Telegram id {args.tg_id} has roles: take them away first (gridline people remove)") from None

    done = in_store(settings, work)

    async def delete_files() -> None:
        media = settings.open_media()
        try:
            await delete_photos(media, done.photo_files)
        finally:
            await media.close()

    asyncio.run(delete_files())
    print(f"Telegram id {args.tg_id} is forgotten: name and chat id removed.")
    for line in describe(done):
        print(line)


def add_commands(commands: Commands) -> None:
    group = commands.add_parser("retention", help="personal data past its keeping time",
                                description="Remove personal data from cases closed GRIDLINE_RETENTION_DAYS ago.")
    actions = group.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="remove it now (the bot does it daily)",
        description="Remove the reporter, contact, description, address, exact point (kept as the grid's centre or "
                    "to ~1 km, GRIDLINE_RETENTION_POINT) and citizens' photos of every case closed "
                    "GRIDLINE_RETENTION_DAYS ago, and of closed cases of people who asked to be forgotten.")
    run.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    run.set_defaults(handler=with_settings(retention_run))


def add_people_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = actions.add_parser(
        "forget", help="forget a citizen at their written request",
        description="What /forget does, for an administrator handling a written request: the person's name and chat "
                    "id go, their closed cases lose them now, their open cases keep a pseudonym until they close.")
    forget.add_argument("--tg-id", type=int, required=True)
    forget.set_defaults(handler=with_settings(people_forget))
