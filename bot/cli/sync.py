"""`gridline sync status`: how the sync with the city's Open311 platform is doing."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, in_store, load_settings
from storage import sync
from storage.urls import redacted_url


def command_sync_status(args: argparse.Namespace) -> None:
    settings = load_settings()

    async def work(session: AsyncSession) -> sync.Status:
        return await sync.status(session, datetime.now(settings.zone))

    state = in_store(settings, work)
    where = redacted_url(settings.upstream_url) or "not set (GRIDLINE_UPSTREAM_URL): nothing is sent"
    lag = f"{state.lag.total_seconds() / 60:.1f} min" if state.lag else "none"
    print(f"upstream: {where}\nposted: {state.posted}\npending: {state.pending}\nfailed for good: {state.failed}\n"
          f"lag (oldest case waiting): {lag}")
    for number, error in state.errors:
        print(f"  {number}: {redacted_url(error)}")  # errors kept before URLs were redacted, too


def add_commands(commands: Commands) -> None:
    syncing = commands.add_parser("sync", help="the sync with the city's platform",
                                  description="The sync with the city's Open311 platform (GRIDLINE_UPSTREAM_URL).")
    sync_commands = syncing.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    status = sync_commands.add_parser("status", help="lag, pending and failed cases, recent errors",
                                      description="Show the sync's lag, pending and failed cases, and the latest errors.")
    status.set_defaults(handler=command_sync_status)
