"""`gridline db upgrade` and `gridline db copy`: the case store itself."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import Commands, Problem, load_settings
from storage.db import upgrade_schema


def command_db_upgrade(args: argparse.Namespace) -> None:
    settings = load_settings()
    upgrade_schema(settings.database_url)
    print("The store is up to date.")


def command_db_copy(args: argparse.Namespace) -> None:
    import time as clock

    from storage.copy import CopyRefused, copy_store

    started = clock.monotonic()

    def show(table: str, rows: int) -> None:
        print(f"\r{table}: {rows}", end="", file=sys.stderr, flush=True)

    target = args.target
    if target is None:
        target = load_settings().db_url
        if not target:
            raise Problem("say where to copy to: --to URL, or GRIDLINE_DB_URL (which keeps the password off the command line)")
    try:
        report = asyncio.run(copy_store(args.source, target, show))
    except CopyRefused as refused:
        print(file=sys.stderr)
        raise Problem(*refused.lines) from None
    print("\r", end="", file=sys.stderr)
    width = max(map(len, report.source_counts))
    for name, count in report.source_counts.items():
        print(f"{name:<{width}}  {count:>10}  = {report.target_counts[name]}")
    print(f"Copied {report.rows} rows in {clock.monotonic() - started:.1f} s; every table's count matches. "
          "Point GRIDLINE_DB_URL at the new store and start the bot.")


def add_commands(commands: Commands) -> None:
    db = commands.add_parser("db", help="the case store", description="Manage the case store.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="apply every pending migration",
                                     description="Apply every pending schema migration to GRIDLINE_DB_URL.")
    upgrade.set_defaults(handler=command_db_upgrade)

    copying = db_commands.add_parser(
        "copy", help="copy the whole store into a new, empty database, checked by counts",
        description="Copy every row of one store into another (e.g. SQLite to PostgreSQL), then compare each "
                    "table's row count. The source is read in one snapshot and is never changed; the target "
                    "is brought up to date and must be empty. Photos on disk stay where they are.")
    copying.add_argument("--from", dest="source", required=True, metavar="URL",
                         help="the store now in use, e.g. sqlite:///var/gridline.sqlite3")
    copying.add_argument("--to", dest="target", metavar="URL",
                         help="the new store, e.g. postgresql://gridline@db/gridline (default: GRIDLINE_DB_URL, "
                              "which keeps a password out of the shell's history)")
    copying.set_defaults(handler=command_db_copy)
