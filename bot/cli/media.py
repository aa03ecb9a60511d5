"""`gridline media move --to s3://bucket/prefix`: photos into object storage."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.cli.common import Commands, Problem, with_settings
from bot.media_move import MoveReport, move_photos
from bot.settings import Settings
from storage.db import Store, upgrade_schema
from storage.media_store import FolderStore, S3Store, s3_location


def media_move(settings: Settings, args: argparse.Namespace) -> None:
    location = s3_location(args.to)
    if location is None:
        raise Problem(f"--to must be s3://bucket/prefix, not {args.to!r}")
    current = s3_location(settings.media_store)  # None: the data folder
    if current is not None and current != location:
        raise Problem("GRIDLINE_MEDIA_STORE names another bucket: moving between buckets is not supported; "
                      "copy the objects with the object store's own tools")
    upgrade_schema(settings.database_url)

    def show(done: int) -> None:
        print(f"\r{done} photos checked", end="", file=sys.stderr, flush=True)

    async def run() -> MoveReport:
        store = Store(settings.database_url)
        target = S3Store(location, settings.s3_access())
        try:
            return await move_photos(store, FolderStore(settings.data_dir), target, progress=show)
        finally:
            await target.close()
            await store.close()

    report = asyncio.run(run())
    print(file=sys.stderr)
    print(f"{report.copied} photo(s) copied to {location} and checked, {report.already} there already "
          f"({report.passes} pass(es)).")
    if report.problems:
        raise Problem(*report.problems, f"{len(report.problems)} photo(s) could not be moved; the rest are in {location}")
    if current != location:
        print(f"Now set GRIDLINE_MEDIA_STORE={args.to} (and the S3 settings) for every process and restart them. "
              "Photos arriving until then are still read from the data folder; run this again afterwards to copy them.")


def add_commands(commands: Commands) -> None:
    group = commands.add_parser("media", help="where photo files live", description="Photo files.")
    actions = group.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    move = actions.add_parser(
        "move", help="copy every photo into an S3-compatible bucket, checking each",
        description="Copy every photo file from the data folder into s3://bucket/prefix (GRIDLINE_S3_ENDPOINT_URL, "
                    "_REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY), read each back and check its SHA-256, in passes "
                    "until none arrived meanwhile. Safe to run again: photos already there are skipped.")
    move.add_argument("--to", required=True, metavar="s3://BUCKET/PREFIX")
    move.set_defaults(handler=with_settings(media_move))
