"""Building the Telegram Application around the store, and starting and stopping what runs beside it."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]  # APScheduler 3 has no type information
from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, ExtBot

from adapters.cap_feeds import FeedPoller
from adapters.open311_client import SYNC_SECONDS, Syncer
from bot import retention, timers
from bot.bot_api_http import bot_api_request
from bot.polling import GridlineBot, UpdatePoller
from bot.settings import BotRuntime
from bot.update_processor import PerChatUpdateProcessor
from bot.web import HttpFace, Webhook
from handlers import callout_board as board
from handlers.flood_wait import FloodWait
from handlers.i18n import translator
from handlers.outbound import OutboundSender
from handlers.setup import register_handlers
from handlers.turn import App, GridContext
from storage import outbox
from storage.catalog import sync_categories
from storage.db import is_sqlite
from storage.vocab import SUPPORTED_LANGUAGES
from storage.wakeup import QueueListener

log = logging.getLogger(__name__)

OUTBOX_SWEEP_SECONDS = 5


def build_application(runtime: BotRuntime, max_concurrent_updates: int = 64) -> App:
    settings = runtime.settings
    if settings.bot_token is None:
        raise ValueError("GRIDLINE_BOT_TOKEN is not set")
    api = settings.api_url
    # Typed as the ExtBot the Telegram side knows; only long polling needs it as a GridlineBot.
    bot: ExtBot[None] = GridlineBot(
        settings.bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=bot_api_request(256, runtime.counters),
        get_updates_request=bot_api_request(1),  # long polls are not sends: not timed
        defaults=Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)),
        # A 429 on a direct reply is waited out here, for every call site (the late binding lets
        # tests replace the runtime's sleep).
        rate_limiter=FloodWait(lambda seconds: runtime.sleep(seconds)),
    )
    application: App = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=GridContext))
        .concurrent_updates(PerChatUpdateProcessor(max_concurrent_updates, runtime.counters.update_seconds))
        .post_init(start_background)
        .post_stop(stop_background)
        .post_shutdown(close_store)
        .build()
    )
    application.bot_data["runtime"] = runtime
    runtime.counters.time_queries(runtime.store.engine)
    runtime.sender = OutboundSender(runtime, application.bot)
    register_handlers(application)
    return application


ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def runtime_of(application: App) -> BotRuntime:
    """The runtime `build_application` put in the Application."""
    runtime: BotRuntime = application.bot_data["runtime"]
    return runtime


def update_poller(application: App) -> UpdatePoller:
    """Long polling for this Application, with the runtime's clock and sleep for its backoff."""
    runtime = runtime_of(application)
    bot = application.bot
    if not isinstance(bot, GridlineBot):
        raise TypeError("long polling needs the Application that build_application made")
    return UpdatePoller(bot, application.update_queue, runtime.bot_api, allowed_updates=ALLOWED_UPDATES,
                        monotonic=lambda: runtime.monotonic(), sleep=lambda seconds: runtime.sleep(seconds))


async def prepare_store(runtime: BotRuntime) -> None:
    """Load the category catalog into the store (the schema must already be up to date), and
    free what this sender claimed before it stopped. Web processes send nothing from the queue,
    so they free nothing: a web process on a worker's host must not free that worker's claims."""
    released = 0
    async with runtime.store.transaction() as session:
        await sync_categories(session, runtime.catalog)
        if runtime.role in ("worker", "all"):
            released = await outbox.release_claims(session, runtime.settings.instance)
    if released:
        log.info("%s queued messages claimed before a stop are sent now", released)


async def publish_commands(application: App) -> None:
    """The command menu Telegram shows, in each language."""
    def commands(language: str) -> list[BotCommand]:
        _ = translator(language)
        return [
            BotCommand("report", _("Report a problem")),
            BotCommand("mycases", _("My reports")),
            BotCommand("language", _("Language")),
            BotCommand("help", _("Help")),
            BotCommand("cancel", _("Stop what I am doing")),
            BotCommand("forget", _("Delete my personal data")),
        ]

    for language in SUPPORTED_LANGUAGES:
        await application.bot.set_my_commands(commands(language), language_code=language)
    await application.bot.set_my_commands(commands(runtime_of(application).settings.default_language))


async def start_background(application: App) -> None:
    """Start what runs beside the updates, as the process's role asks: the queue sender, the
    timers, the call-out boards and the sync (workers), and the HTTP server (web)."""
    runtime = runtime_of(application)
    await prepare_store(runtime)
    works = runtime.role in ("worker", "all")
    serves = runtime.role in ("web", "all")
    if works:
        _start_work(application, runtime)
    if serves:
        try:
            await publish_commands(application)
        except Exception as error:  # noqa: BLE001 - a missing command menu must not stop the bot
            log.warning("could not publish the command menu: %s", error)
    if works:
        await timers.tick(runtime)  # what fell due while the bot was down, once, now
    if runtime.settings.http_port:
        webhook = None
        if serves and runtime.settings.webhook_url and runtime.settings.webhook_secret:
            webhook = Webhook(webhook_path(runtime.settings.webhook_url), runtime.settings.webhook_secret.get_secret_value(),
                              application.update_queue)
        face = HttpFace(runtime, application.bot, webhook)
        extra_routes = application.bot_data.get("extra_routes")  # the playground's page (bot/cli/play.py)
        if extra_routes is not None:
            extra_routes(face.app)
        await face.start(runtime.settings.http_host, runtime.settings.http_port)
        application.bot_data["http"] = face
    if works and runtime.sender is not None:
        runtime.sender.wake()


def _start_work(application: App, runtime: BotRuntime) -> None:
    sender = runtime.sender
    assert sender is not None
    runtime.store.on_outbox_commit(sender.wake)
    if not is_sqlite(runtime.store.url):
        listener = QueueListener(runtime.store.url, sender.wake)
        listener.start()
        application.bot_data["queue_listener"] = listener
    scheduler = AsyncIOScheduler(timezone=runtime.settings.zone)
    scheduler.add_job(sender.drain, "interval", seconds=OUTBOX_SWEEP_SECONDS, id="outbox",
                      max_instances=1, coalesce=True)
    scheduler.add_job(timers.tick, "interval", args=[runtime], seconds=timers.SWEEP_SECONDS, id="timers",
                      max_instances=1, coalesce=True)
    scheduler.add_job(board.tick, "interval", args=[runtime, application.bot], seconds=board.BOARD_SECONDS,
                      id="boards", max_instances=1, coalesce=True)
    if runtime.settings.upstream_url:
        syncer = Syncer(runtime)
        http = aiohttp.ClientSession()
        application.bot_data["upstream_http"] = http
        scheduler.add_job(syncer.run_once, "interval", args=[http], seconds=SYNC_SECONDS, id="sync",
                          max_instances=1, coalesce=True)
    if runtime.settings.cap_feeds:
        poller = FeedPoller(runtime)
        feeds_http = aiohttp.ClientSession()
        application.bot_data["cap_feeds_http"] = feeds_http
        application.bot_data["cap_feeds"] = poller
        scheduler.add_job(poller.poll, "interval", args=[feeds_http], seconds=runtime.settings.cap_poll_seconds,
                          id="cap_feeds", max_instances=1, coalesce=True)
    digest_at = runtime.settings.digest_time
    scheduler.add_job(timers.digest, "cron", args=[runtime], hour=digest_at.hour, minute=digest_at.minute,
                      id="digest", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(retention.daily, "cron", args=[runtime], hour=retention.RUN_AT.hour, minute=retention.RUN_AT.minute,
                      id="retention", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.start()
    application.bot_data["scheduler"] = scheduler


def webhook_path(url: str) -> str:
    return urlparse(url).path or "/"


async def close_store(application: App) -> None:
    runtime = runtime_of(application)
    await runtime.store.close()
    await runtime.media.close()


async def stop_background(application: App) -> None:
    listener: QueueListener | None = application.bot_data.pop("queue_listener", None)
    if listener is not None:
        await listener.stop()
    for name in ("upstream_http", "cap_feeds_http"):
        http = application.bot_data.pop(name, None)
        if http is not None:
            await http.close()
    face: HttpFace | None = application.bot_data.pop("http", None)
    if face is not None:
        await face.stop()
    scheduler: AsyncIOScheduler | None = application.bot_data.pop("scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    runtime = runtime_of(application)
    if runtime.sender is not None:
        await runtime.sender.stop()


