"""`gridline apikey create|revoke`: the keys other systems post Open311 requests with."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, load_settings


def command_apikey(args: argparse.Namespace) -> None:
    from storage import open311

    settings = load_settings()

    async def work(session: AsyncSession) -> str | bool:
        now = datetime.now(settings.zone)
        if args.apikey_command == "create":
            try:
                return await open311.create_key(session, args.name, now)
            except ValueError as error:
                raise Problem(str(error)) from None
        return await open311.revoke_key(session, args.name, now)

    result = in_store(settings, work)
    if args.apikey_command == "create":
        print(f"API key for {args.name} (shown once; keep it secret):\n{result}")
    elif result:
        print(f"Revoked the key of {args.name}.")
    else:
        raise Problem(f"no live key named {args.name}")


def add_commands(commands: Commands) -> None:
    apikey = commands.add_parser("apikey", help="keys other systems post Open311 requests with",
                                 description="Create or revoke the API keys for POST /open311/v2/requests.")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    for action, text in (("create", "make a key for a channel and print it once"), ("revoke", "stop a channel's key")):
        command = apikey_commands.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("name", metavar="NAME", help="the channel, e.g. hotline-12345")
        command.set_defaults(handler=command_apikey)
