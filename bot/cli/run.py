"""`gridline run`: bring the store up to date and run the bot until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Literal

from telegram.error import InvalidToken, NetworkError

from bot.cli.common import Commands, PlaygroundInstead, Problem, catalog_of, load_settings
from bot.logs import configure_logging
from storage.db import upgrade_schema
from storage.urls import redacted_url

if TYPE_CHECKING:
    from handlers.turn import App

log = logging.getLogger("gridline")

NO_TOKEN = (
    "GRIDLINE_BOT_TOKEN is not set: get a token from @BotFather in Telegram (/newbot), "
    "then put GRIDLINE_BOT_TOKEN=<token> in a .env file here or in the environment."
)
NO_PLAYGROUND_TOKEN = (
    "gridline: GRIDLINE_BOT_TOKEN is not set, so the playground starts instead (Gridline without Telegram, "
    "in your browser). To run the bot for real, get a token from @BotFather in Telegram (/newbot) and put "
    "GRIDLINE_BOT_TOKEN=<token> in a .env file here."
)


def command_run(args: argparse.Namespace) -> None:
    from bot.app import build_application
    from handlers.runtime import Runtime
    from storage.clock import SystemClock
    from storage.db import Store

    settings = load_settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        if args.role != "all" or not args.play_without_token:
            raise Problem(NO_TOKEN)
        # No token: the playground instead (the real bot against a Bot API stand-in on this machine).
        print(NO_PLAYGROUND_TOKEN, file=sys.stderr, flush=True)
        raise PlaygroundInstead
    configure_logging([settings.bot_token.get_secret_value(),
                       *([settings.webhook_secret.get_secret_value()] if settings.webhook_secret else []),
                       *([settings.s3_secret_access_key.get_secret_value()] if settings.s3_secret_access_key else [])],
                      json_lines=settings.log_format == "json", role=args.role, instance=settings.instance)
    catalog = catalog_of(settings)
    log.info("store: %s; bringing it up to date", redacted_url(settings.database_url))
    upgrade_schema(settings.database_url)
    store = Store(settings.database_url)
    if settings.upstream_url:
        log.info("upstream: %s (new cases are sent there)", redacted_url(settings.upstream_url))
    runtime = Runtime(settings=settings, store=store, clock=SystemClock(), catalog=catalog, role=args.role,
                      media_store=settings.open_media())
    log.info("photos: %s", runtime.media.where)
    webhook: tuple[str, str] | None = None  # (URL, secret) when Telegram posts updates to us
    if settings.webhook_url and args.role != "worker":
        if settings.webhook_secret is None:
            raise Problem("GRIDLINE_WEBHOOK_URL is set but GRIDLINE_WEBHOOK_SECRET is not: Telegram must prove each call")
        if not settings.http_port:
            raise Problem("webhook mode needs the HTTP server: set GRIDLINE_HTTP_PORT")
        webhook = (settings.webhook_url, settings.webhook_secret.get_secret_value())
    application = build_application(runtime)
    try:
        if args.role == "worker":
            log.info("Gridline is starting as a worker (queue, timers, sync; no updates); Ctrl-C stops it")
            asyncio.run(_serve(application, "none"))
        elif webhook is not None:
            log.info("Gridline is starting (webhook %s); Ctrl-C stops it", redacted_url(webhook[0]))
            asyncio.run(_serve(application, "webhook", webhook))
        else:
            log.info("Gridline is starting (long polling); Ctrl-C stops it")
            asyncio.run(_serve(application, "polling"))
    except InvalidToken:
        raise Problem("the Bot API refused GRIDLINE_BOT_TOKEN: check the token with @BotFather") from None
    except NetworkError as error:
        raise Problem(f"cannot reach the Bot API at {redacted_url(settings.api_url)}: {redacted_url(error.message)}") from None
    log.info("Gridline stopped")


async def _serve(application: App, updates: Literal["polling", "webhook", "none"],
                 webhook: tuple[str, str] | None = None) -> None:
    """Background work, then the Application, until SIGINT or SIGTERM. Updates come by long
    polling (`updates="polling"`, our own loop: it outlives 401s and unreadable updates), by
    webhook (Telegram posts to our HTTP server, which checks the secret), or not at all (a worker).

    A stop takes well under 20 s: the queue sender is told first, so its sends in flight finish
    while the updates in hand are handled, and what it has not begun stays queued."""
    from bot.app import ALLOWED_UPDATES, runtime_of, update_poller
    from bot.polling import UpdatePoller
    from bot.web import HttpFace

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    runtime = runtime_of(application)
    poller: UpdatePoller | None = None
    if updates == "webhook" and webhook is not None:
        url, secret = webhook
        await application.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    elif updates == "polling":
        poller = update_poller(application)
        poller.start()
    try:
        await stop.wait()
    finally:
        log.info("stopping: sends in flight finish, the rest stays queued")
        if runtime.sender is not None:
            runtime.sender.request_stop()
        # Stop taking updates before the Application stops: PTB drops what is queued after its
        # stop, and Telegram was already told 200 for those, so it would never send them again.
        if poller is not None:
            await poller.stop()
        face: HttpFace | None = application.bot_data.pop("http", None)
        if face is not None:
            await face.stop()
        await application.stop()  # handles the updates already taken
        if poller is not None:
            await poller.confirm()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def add_commands(commands: Commands) -> None:
    run = commands.add_parser("run", help="bring the store up to date and run the bot (long polling, or webhook)",
                              description="Bring the store up to date and run the bot until Ctrl-C or SIGTERM.")
    run.add_argument("--role", choices=("all", "web", "worker"), default="all",
                     help="web: take updates (polling, or webhook for several processes); worker: send the queue, "
                          "run the timers and the sync; all (default): both")
    run.add_argument("--play-without-token", action="store_true",
                     help="without GRIDLINE_BOT_TOKEN, start the playground instead of stopping (what ./run bot does)")
    run.set_defaults(handler=command_run)
