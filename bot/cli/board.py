"""`gridline board link|revoke --tg-id N`: a one-time link to the command-centre board (opened
within 10 minutes, the session lasts 12 hours), or the end of a person's board sessions (issue 17)."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, load_settings


def command_board(args: argparse.Namespace) -> None:
    from storage import board, people
    from storage.map_index import AreaIndex

    settings = load_settings()

    async def work(session: AsyncSession) -> str | int:
        now = datetime.now(settings.zone)
        person = await people.person_by_tg_id(session, args.tg_id)
        if person is None:
            raise Problem(f"no person with Telegram id {args.tg_id}")
        if args.board_command == "revoke":
            return await board.revoke(session, person.id)
        if await board.board_scope(session, await AreaIndex.load(session), person.id) is None:
            raise Problem(f"{person.name} ({args.tg_id}) is not a grid leader, dispatcher or admin: no board")
        token = await board.issue_link(session, person.id, now)
        return f"{settings.public_base_url}/board/login/{token}?lang={person.language}"

    result = in_store(settings, work)
    if args.board_command == "link":
        print(result)
        print("(works once, within 10 minutes; the board then stays open for 12 hours on that screen)")
    else:
        print(f"Ended {result} board session(s) and link(s) of {args.tg_id}.")


def add_commands(commands: Commands) -> None:
    board = commands.add_parser("board", help="the command-centre board: sign-in links and sessions",
                                description="Links to the command-centre board (/board/), and ending sessions.")
    actions = board.add_subparsers(dest="board_command", required=True, metavar="ACTION")
    for action, text in (("link", "print a one-time link to a person's board (10 minutes, once)"),
                         ("revoke", "end a person's board sessions and unused links")):
        command = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("--tg-id", type=int, required=True, help="the person's Telegram user id")
        command.set_defaults(handler=command_board)
