"""`gridline play` (and `./run bot` without a token): the real Gridline against the Bot API
stand-in on loopback, with a browser chat at http://127.0.0.1:8080/play.

Everything is the real thing (the Application, the handlers, the store, the timers, the queue's
sender and the HTTP face) except Telegram: GRIDLINE_API_URL points at `adapters/bot_api_standin.py`.
The store lives under <data dir>/playground (`--reset` starts it over), staffed the first time with
the demo city, its categories, a roster with every role and a few weeks of past cases. Nothing is
contacted outside the machine: no upstream platform, no CAP feeds, no webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import webbrowser

from pydantic import SecretStr

from bot.cli.common import Commands, Problem, catalog_of, load_settings
from bot.logs import configure_logging
from bot.settings import BotRuntime, Settings
from storage.db import upgrade_schema

log = logging.getLogger("gridline")

PAST_RESIDENT = (2999, "居民 Resident")  # who reported the demo's past cases (not someone the page offers)


def playground_settings(base: Settings, port: int) -> Settings:
    """The settings with everything that reaches outside the machine turned off, the store under
    <data dir>/playground, and the HTTP face on loopback at `port`."""
    return base.model_copy(update={
        "data_dir": base.data_dir / "playground", "db_url": None, "webhook_url": None, "webhook_secret": None,
        "upstream_url": None, "upstream_api_key": None, "cap_feeds": [], "public_url": None,
        "http_host": "127.0.0.1", "http_port": port,
        # The demo is tried at any hour: no quiet hours holding its messages back till morning.
        "quiet_hours": "",
    })


async def stage_demo(runtime: BotRuntime) -> str:
    """The first time: the demo city, its categories, the roster and past cases. Says what it did."""
    from adapters.playground_web import ROSTER
    from storage import demo_history, people, roles
    from storage.catalog import sync_categories
    from storage.map_import import DEMO_CITY, known_areas, read_map, write_map

    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        await sync_categories(session, runtime.catalog)
        if await demo_history.has_cases(session) or await roles.people_with_roles(session):
            return "the playground's store is kept from last time (gridline play --reset starts over)"
        features = read_map(DEMO_CITY.read_text(encoding="utf-8"), await known_areas(session))
        await write_map(session, features, now)
        rows, problems = roles.parse_roster(ROSTER.read_text(encoding="utf-8"), await roles.area_levels(session))
        if problems:
            raise Problem(*(f"{ROSTER}: {p}" for p in problems))
        await roles.apply_roster(session, rows, now)
        resident = await people.ensure_person(session, PAST_RESIDENT[0], PAST_RESIDENT[1], "zh", now)
        workers = {row.area: (await people.ensure_person(session, row.tg_id, row.name, row.language, now)).id
                   for row in rows if row.role == "worker" and row.area}
        made = await demo_history.add_past_cases(session, resident.id, workers, now, runtime.settings.zone)
    return f"staffed the demo city: {len(rows)} people with roles, {made} past cases"


def _display_at_hand() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


async def _play(settings: Settings, args: argparse.Namespace) -> None:
    from adapters.bot_api_standin import TOKEN, BotApiStandIn
    from adapters.playground_web import PlaygroundWeb
    from bot.app import build_application
    from bot.cli.run import _serve
    from handlers.runtime import Runtime
    from storage.clock import SystemClock
    from storage.db import Store

    standin = BotApiStandIn()
    kept = settings.data_dir / "chats.json"
    standin.load(kept)
    await standin.start()
    try:
        settings = settings.model_copy(update={"api_url": standin.url, "bot_token": SecretStr(TOKEN)})
        store = Store(settings.database_url)
        runtime: BotRuntime = Runtime(settings=settings, store=store, clock=SystemClock(), catalog=catalog_of(settings),
                                      role="all")
        log.info("%s", await stage_demo(runtime))
        application = build_application(runtime)
        application.bot_data["extra_routes"] = PlaygroundWeb(standin).routes
        address = f"http://127.0.0.1:{settings.http_port}/play"
        print(f"Gridline playground: open {address} (not connected to Telegram; Ctrl-C stops it)", flush=True)
        if not args.no_browser and _display_at_hand():
            asyncio.get_running_loop().call_later(1.5, webbrowser.open, address)
        await _serve(application, "polling")
    finally:
        await standin.stop()
        standin.save(kept)


def command_play(args: argparse.Namespace) -> None:
    base = load_settings()
    settings = playground_settings(base, args.port if args.port is not None else base.http_port or 8080)
    configure_logging([])
    if args.reset and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
        print(f"playground: started over ({settings.data_dir} removed)", flush=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_schema(settings.database_url)
    try:
        asyncio.run(_play(settings, args))
    except OSError as error:
        raise Problem(f"the playground cannot start: {error} "
                      f"(another program on port {settings.http_port}? try --port)") from None
    log.info("the playground stopped")


def add_commands(commands: Commands) -> None:
    play = commands.add_parser(
        "play", help="try Gridline without Telegram: a browser chat with the demo city's people",
        description="Run the real Gridline against a Bot API stand-in on this machine and serve a browser chat at "
                    "http://127.0.0.1:PORT/play, where you can be any of the demo city's people. Contacts nothing "
                    "outside the machine; its store lives under <data dir>/playground.")
    play.add_argument("--reset", action="store_true", help="start over: remove the playground's store first")
    play.add_argument("--port", type=int, default=None,
                      help="the HTTP port of the page (default: GRIDLINE_HTTP_PORT, else 8080)")
    play.add_argument("--no-browser", action="store_true", help="do not open a browser")
    play.set_defaults(handler=command_play)
