"""The bot's HTTP face, in the same process (aiohttp): /healthz for load balancers and monitors,
/metrics for Prometheus, Open311, CAP, /media, and the command-centre board (/board/, issue 17)."""

from __future__ import annotations

import asyncio
import collections
import hmac
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram.ext import ExtBot

from adapters import media_links as media
from adapters.board import Board
from adapters.cap_server import CapServer
from adapters.open311_server import Open311
from bot.polling import read_update
from bot.settings import BotRuntime
from handlers.flood_wait import describe_failure
from handlers.i18n import translator
from storage import metrics, photos, sync, updates

log = logging.getLogger(__name__)

SEEN_UPDATES = 10_000


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates (the path of GRIDLINE_WEBHOOK_URL), the secret it must show,
    and the queue the Application takes updates from."""

    path: str
    secret: str
    queue: asyncio.Queue[Any]  # the Application's update_queue (PTB types it so)


class RecentUpdateIds:
    """The update ids this process's webhook took lately. A resend Telegram makes to the same process
    is answered from here, without the store: with the store's claim (storage/updates.py) it would
    be handled once all the same, but only while the store answers (else 503, and Telegram tries again)."""

    def __init__(self, size: int = SEEN_UPDATES) -> None:
        self._ids: set[int] = set()
        self._order: collections.deque[int] = collections.deque()
        self._size = size

    def first_time(self, update_id: int) -> bool:
        """True the first time an id is offered (and it is remembered), False for a repeat."""
        if update_id in self._ids:
            return False
        self._ids.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())
        return True

    def __contains__(self, update_id: int) -> bool:
        return update_id in self._ids


BOT_CHECK_EVERY = 30.0  # seconds a Bot API answer is trusted, so health checks do not hammer Telegram
BOT_CHECK_TIMEOUT = 3.0


class HttpFace:
    def __init__(self, runtime: BotRuntime, bot: ExtBot[None], webhook: Webhook | None = None) -> None:
        self.runtime = runtime
        self.bot = bot
        self.webhook = webhook
        self.seen_updates = RecentUpdateIds()
        self.unservable_photos: set[int] = set()  # logged once each: a client may ask every minute
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics)
        self.app.router.add_get("/media/{token}", self.media)
        Open311(runtime).routes(self.app)
        CapServer(runtime).routes(self.app)
        self.board = Board(runtime, translator)
        self.board.routes(self.app)
        if webhook is not None:
            self.app.router.add_post(webhook.path, self.receive_update)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("HTTP on %s:%s (/healthz, /metrics)", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _store_ok(self) -> bool:
        try:
            await self.runtime.store.ping()
            return True
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy", said in the answer
            log.warning("health: the store is not reachable: %s", error)
            return False

    async def _bot_problem(self) -> str | None:
        """Why the Bot API does not serve this process, or None. What the poller or the sender
        heard lately is trusted, so health checks neither hammer Telegram nor miss a 401 the
        poller is getting; otherwise getMe is asked."""
        status, now = self.runtime.bot_api, self.runtime.monotonic()
        if now - status.heard_at < BOT_CHECK_EVERY:
            return status.problem
        try:
            await asyncio.wait_for(self.bot.get_me(), BOT_CHECK_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy", said in the answer
            problem = describe_failure(error) if not isinstance(error, TimeoutError) else "the Bot API does not answer in time"
            log.warning("health: %s", problem)
            status.failed(problem, self.runtime.monotonic())
        else:
            status.answered(self.runtime.monotonic())
        return status.problem

    async def receive_update(self, request: web.Request) -> web.Response:
        """Telegram's webhook call: only with our secret, only an update, and each update once.

        A body that is not an update object is refused (400). An update object that the library
        cannot read is logged with its id and answered 200: Telegram would only send it again and
        again, holding back everyone's updates behind it. An update id seen lately (Telegram sends
        again what it thinks was not received) is answered 200 and not handled twice.
        """
        assert self.webhook is not None
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.webhook.secret.encode()):
            log.warning("webhook: a call %s the secret token was refused", "with a wrong" if given else "without")
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError) as error:
            log.warning("webhook: a body that is not JSON was refused: %s", error)
            return web.Response(status=400, text="bad update")
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("webhook: a body that is not an update was refused (%s)", type(data).__name__)
            return web.Response(status=400, text="bad update")
        if update_id in self.seen_updates:
            log.info("webhook: update %s came again and was handled already", update_id)
            return web.Response(text="ok")
        try:
            async with self.runtime.store.transaction() as session:
                first = await updates.claim_update(session, update_id, self.runtime.clock.now())
        except Exception as error:  # noqa: BLE001 - Telegram sends it again later; a 503 says why
            log.warning("webhook: update %s could not be claimed in the store: %s", update_id, error)
            return web.Response(status=503, text="store unavailable")
        self.seen_updates.first_time(update_id)
        if not first:
            log.info("webhook: update %s came again and was handled by another process", update_id)
            return web.Response(text="ok")
        update = read_update(data, self.bot)
        if update is not None:
            await self.webhook.queue.put(update)
        return web.Response(text="ok")

    async def media(self, request: web.Request) -> web.Response:
        """A photo by its signed token: 403 for a forged one, 410 once expired, never a path."""
        settings = self.runtime.settings
        verdict, photo_id = media.check_token(settings, request.match_info["token"], self.runtime.clock.now())
        if verdict != "ok" or photo_id is None:
            return web.Response(status=410 if verdict == "expired" else 403, text=verdict)
        async with self.runtime.store.transaction() as session:
            photo = await photos.photo_by_id(session, photo_id)
        if photo is None:
            return web.Response(status=404, text="no such photo")
        local = self.runtime.media.local_file(photo.path)
        try:
            kept = local if local is not None else io.BytesIO(await self.runtime.media.read(photo.path))
            content, mime = await asyncio.to_thread(media.without_metadata, kept)
        except Exception as error:  # noqa: BLE001 - decoders raise anything (OSError, SyntaxError, DecompressionBombError)
            # A file gone or damaged on disk is the photo missing to the client, never a server error.
            if photo.id not in self.unservable_photos:
                self.unservable_photos.add(photo.id)
                log.warning("media: photo %s cannot be served from its file: %s: %s", photo.id, type(error).__name__, error)
            return web.Response(status=404, text="no such photo")
        return web.Response(body=content, content_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    async def _sync_lag(self) -> float | None:
        """Seconds the oldest case has waited for the platform; None when sync is off or nothing waits."""
        if not self.runtime.settings.upstream_url:
            return None
        async with self.runtime.store.transaction() as session:
            state = await sync.status(session, self.runtime.clock.now())
        return round(state.lag.total_seconds(), 1) if state.lag else 0.0

    async def healthz(self, request: web.Request) -> web.Response:
        store, bot_problem = await self._store_ok(), await self._bot_problem()
        bot = bot_problem is None
        body: dict[str, object] = {"status": "ok" if store and bot else "failing", "store": store, "bot_api": bot,
                                   "sync_lag_seconds": await self._sync_lag() if store else None}
        if bot_problem is not None:
            body["bot_api_problem"] = bot_problem
        return web.json_response(body, status=200 if store and bot else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text: this process's counters and histograms, and the store's gauges read now."""
        async with self.runtime.store.transaction() as session:
            gauges = await metrics.gauges(session, self.runtime.clock.now())
        body = self.runtime.counters.text(gauges, await self._sync_lag() or 0)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "X-Content-Type-Options": "nosniff"})
