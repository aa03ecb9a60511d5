"""`gridline db upgrade`, `db copy`, `db backup` and `db restore`: the case store itself."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import Commands, Problem, load_settings
from storage.db import is_sqlite, upgrade_schema

if TYPE_CHECKING:
    from storage.copy import CopyReport


def command_db_upgrade(args: argparse.Namespace) -> None:
    settings = load_settings()
    upgrade_schema(settings.database_url)
    print("The store is up to date.")


def show_counts(report: CopyReport) -> None:
    """Each table's rows in the source and, after `=`, in the target."""
    width = max(map(len, report.source_counts), default=0)
    for name, count in report.source_counts.items():
        print(f"{name:<{width}}  {count:>10}  = {report.target_counts.get(name, 0)}")


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
    show_counts(report)
    print(f"Copied {report.rows} rows in {clock.monotonic() - started:.1f} s; every table's count matches. "
          "Point GRIDLINE_DB_URL at the new store and start the bot.")


def command_db_backup(args: argparse.Namespace) -> None:
    from storage.backup import BackupFailed, backup, counts_file

    settings = load_settings()
    file = Path(args.file)
    if file.exists() and not args.overwrite:
        raise Problem(f"{file} exists already: give a new name, or --overwrite")
    try:
        counts = asyncio.run(backup(settings.database_url, file))
    except BackupFailed as failed:
        raise Problem(*failed.lines) from None
    beside = "" if is_sqlite(settings.database_url) else f" (counts in {counts_file(file)}, which restore checks)"
    print(f"Backed up {sum(counts.values())} rows in {len(counts)} tables to {file}{beside}.")


def command_db_restore(args: argparse.Namespace) -> None:
    from storage.backup import BackupFailed, restore

    settings = load_settings()
    try:
        report = asyncio.run(restore(settings.database_url, Path(args.file)))
    except BackupFailed as failed:
        raise Problem(*failed.lines) from None
    show_counts(report)
    if report.mismatches:
        raise Problem(*(f"table {name}: the backup holds {report.source_counts[name]} rows, "
                        f"the store {report.target_counts.get(name, 0)}" for name in report.mismatches))
    print(f"Restored {sum(report.target_counts.values())} rows; every table's count matches. `gridline run` brings the schema "
          "up to date if the backup came from an older Gridline.")


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

    backing_up = db_commands.add_parser(
        "backup", help="a consistent copy of the store in FILE, made while the bot runs",
        description="Back up GRIDLINE_DB_URL while the bot runs: on SQLite with its online backup (FILE is a SQLite "
                    "database), on PostgreSQL with pg_dump's custom format (FILE, and FILE.counts.json with each "
                    "table's rows in the dump's snapshot). Photos are files in the data folder: back that up too.")
    backing_up.add_argument("file", metavar="FILE")
    backing_up.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    backing_up.set_defaults(handler=command_db_backup)

    restoring = db_commands.add_parser(
        "restore", help="bring a backup back into an empty store, checked by counts",
        description="Restore FILE (from `gridline db backup`) into GRIDLINE_DB_URL, which must be empty (a new SQLite "
                    "file or a new PostgreSQL database), then compare each table's row count with the backup's.")
    restoring.add_argument("file", metavar="FILE")
    restoring.set_defaults(handler=command_db_restore)
