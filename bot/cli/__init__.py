"""The `gridline` command: run the bot, upgrade the store, load the demo, check a catalog.

One module per command group, each adding its commands to the parser (`add_commands`):

    run         gridline run                          run.py
    playground  gridline play                         play.py
    the store   gridline db upgrade | copy,           db.py
                gridline db backup | restore
    the city    gridline grids import, demo,          city.py
                gridline categories check
    people      gridline people ..., invite           people.py
    cases       gridline stats, export                cases.py
    Open311     gridline apikey create | revoke       apikey.py
                gridline sync status                  sync.py
    call-outs   gridline mobilization export          callouts.py
    plans       gridline plans import | export        plans.py
    personal    gridline retention run,               retention.py
      data      gridline people forget
    photos      gridline media move --to s3://...     media.py
    the board   gridline board link | revoke          board.py

A command says what is wrong by raising `common.Problem` (each line printed, exit code 2); the
store being unreachable is exit code 1. Heavy imports (the Telegram Application, the map) happen
inside the commands that need them, so `gridline --help` stays quick.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli import apikey, board, callouts, cases, city, db, media, people, plans, play, retention, run, sync
from bot.cli.common import PlaygroundInstead, Problem
from storage.db import StoreFromNewerCode
from storage.urls import redacted_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridline", description="Gridline, the grid-governance Telegram bot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In the order `gridline --help` lists them.
    run.add_commands(commands)
    play.add_commands(commands)
    db.add_commands(commands)
    city.add_map_commands(commands)
    people.add_commands(commands)
    cases.add_commands(commands)
    apikey.add_commands(commands)
    sync.add_commands(commands)
    callouts.add_commands(commands)
    plans.add_commands(commands)
    retention.add_commands(commands)
    media.add_commands(commands)
    board.add_commands(commands)
    city.add_catalog_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError, OperationalError

    args = build_parser().parse_args(argv)
    try:
        try:
            args.handler(args)
        except PlaygroundInstead:
            play.command_play(argparse.Namespace(reset=False, port=None, no_browser=False))
    except (OperationalError, DBAPIError) as error:
        print(f"gridline: cannot use the store: {redacted_url(str(error.orig))}", file=sys.stderr)
        return 1
    except ConnectionError as error:  # asyncpg raises these bare when the server is not there
        print(f"gridline: cannot reach the store: {redacted_url(str(error))}", file=sys.stderr)
        return 1
    except StoreFromNewerCode as error:
        print(f"gridline: {error}", file=sys.stderr)
        return 1
    except Problem as problem:
        for line in problem.lines:
            print(f"gridline: {redacted_url(line)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
