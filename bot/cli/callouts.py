"""`gridline mobilization export`: a sent call-out as a CAP 1.2 alert."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, load_settings


def command_mobilization_export(args: argparse.Namespace) -> None:
    from storage.cap import sent_callout_alert

    settings = load_settings()

    async def export(session: AsyncSession) -> str:
        alert = await sent_callout_alert(session, args.id, args.sender, settings.zone)
        if alert is None:
            raise Problem(f"no call-out {args.id} was sent")
        return alert

    text = in_store(settings, export)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}.")
    else:
        sys.stdout.write(text)


def add_commands(commands: Commands) -> None:
    mobilization = commands.add_parser("mobilization", help="emergency call-outs", description="Work with call-outs.")
    mobilization_commands = mobilization.add_subparsers(dest="mobilization_command", required=True, metavar="ACTION")
    export = mobilization_commands.add_parser(
        "export", help="write a call-out as a CAP 1.2 alert",
        description="Write a sent call-out as an OASIS CAP 1.2 alert (status Actual or Exercise, msgType Alert, or "
                    "Cancel once stood down; the micro-grids as polygons).")
    export.add_argument("id", type=int, metavar="ID", help="the call-out's number (see /mobilizations)")
    export.add_argument("--cap", action="store_true", required=True, help="as CAP 1.2 XML (the only format)")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    export.add_argument("--sender", default="gridline", help="the CAP sender id (default: gridline)")
    export.set_defaults(handler=command_mobilization_export)
