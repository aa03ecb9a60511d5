"""The command-centre board (一屏统揽, issue 17) over HTTP, under /board/:

- `GET /board/`: the page (static: no case data in it), its scripts and the vendored libraries
  under /board/static/; `GET /board/pick`: the citizens' map picker (a Mini App, no data at all).
- `GET /board/login/{token}` shows a button that POSTs the one-time link's token; the POST starts a
  12-hour session (an HttpOnly, SameSite=Strict cookie) and goes to the board; 401 for a used or
  expired link. (The GET uses nothing: a link preview or a prefetch does not spend the link.)
- `GET /board/api/...`: JSON, every call checked: a Telegram Mini App's `initData` (the
  `Authorization: tma <initData>` header, or `?tma=` for the event stream) or the session cookie;
  401 when neither is genuine and fresh, 403 for someone without a board (citizens, workers);
  then only what the viewer's scope holds (a case elsewhere is 404).
- `GET /board/api/events`: Server-Sent Events, one `change` event (a number) whenever a transaction
  changed cases, call-outs or check-ins, in this process or (PostgreSQL) any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from time import monotonic as time_monotonic
from typing import Any, Protocol

from aiohttp import web

from adapters import media_links
from adapters.board_auth import verified_user
from adapters.runtime import AdapterRuntime, AdapterSettings
from storage import board, people
from storage.db import is_sqlite
from storage.vocab import N_, STATE_NAMES, SUPPORTED_LANGUAGES, CallOutAnswer, EventKind
from storage.wakeup import BOARD_CHANNEL, QueueListener

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "board_static"
COOKIE = "gridline_board"
FIGURES_DAYS = 30  # as /stats
FIGURES_FRESH_SECONDS = 60.0
KEEPALIVE_SECONDS = 15.0
MAX_BOX_DEGREES = 20.0


class BoardSettings(AdapterSettings, Protocol):
    @property
    def board_initdata_max_age(self) -> int: ...
    @property
    def map_tiles(self) -> str: ...
    @property
    def map_coordinates(self) -> str: ...


class BoardRuntime(AdapterRuntime, Protocol):
    @property
    def settings(self) -> BoardSettings: ...


Translations = Callable[[str], Callable[[str], str]]

# What the page says, in English (the msgids); translated from the bot's catalogs by /board/api/i18n.
PAGE_STRINGS: tuple[str, ...] = (
    N_("Command centre"), N_("Waiting for a dispatcher"), N_("Overdue"), N_("Live call-outs"),
    N_("Area"), N_("Category"), N_("State"), N_("Period"), N_("All"), N_("Open cases"), N_("Overdue only"),
    N_("Last 24 hours"), N_("Last 7 days"), N_("Last 30 days"), N_("Any time"),
    N_("On time"), N_("Closed"), N_("Satisfied"), N_("Holder"), N_("Deadline"), N_("History"),
    N_("Photos"), N_("Reported"), N_("Nobody yet"), N_("Nothing here."), N_("Live"), N_("Reconnecting…"),
    N_("Heat: last 30 days"), N_("Check-ins today"), N_("needed"), N_("drill"), N_("overdue"), N_("cases here"),
    N_("Signed out or not allowed. Open the board again from the bot (/board)."), N_("Per grid, last 30 days"),
    N_("Map tiles unavailable: boundaries only"), N_("updated"), N_("Cases grouped"), N_("Group with overdue"),
)
PICKER_STRINGS = (N_("Pick the place on the map"), N_("Tap the map where the problem is, then send."), N_("Send this place"))


def _box(query: Any) -> board.Box | None:
    try:
        south, west, north, east = (float(v) for v in str(query.get("bbox", "")).split(","))
    except ValueError:
        return None
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        return None
    if north - south > MAX_BOX_DEGREES or east - west > MAX_BOX_DEGREES:
        # Wider than any city: the middle of what was asked, so a zoomed-out map still gets counts.
        mid_lat, mid_lon, half = (south + north) / 2, (west + east) / 2, MAX_BOX_DEGREES / 2
        return board.Box(mid_lat - half, mid_lon - half, mid_lat + half, mid_lon + half)
    return board.Box(south, west, north, east)


def _filters(query: Any) -> board.Filters:
    days = query.get("days", "")
    return board.Filters(area=query.get("area") or None, category=query.get("category") or None,
                         state=query.get("state") or "open", days=int(days) if days.isdigit() and int(days) > 0 else None)


@dataclass
class Viewer:
    name: str
    language: str
    scope: board.BoardScope


class BoardHub:
    """The change counter the event streams follow; `changed()` is called at every commit that
    touched what a board shows (and by PostgreSQL's notifications from other processes)."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()
        self.closed = False

    def changed(self) -> None:
        self.version += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seen: int, at_most: float) -> None:
        if self.version != seen or self.closed:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), at_most)

    def close(self) -> None:
        self.closed = True
        self._event.set()


class Board:
    def __init__(self, runtime: BoardRuntime, translations: Translations) -> None:
        self.runtime = runtime
        self.translations = translations
        self.hub = BoardHub()
        self._listener: QueueListener | None = None
        # The month's figures per scope, for FIGURES_FRESH_SECONDS: they read every case of 30 days.
        self._figures: dict[tuple[object, ...], tuple[float, dict[str, Any]]] = {}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/board", self.to_board)
        app.router.add_get("/board/", self.page)
        app.router.add_get("/board/pick", self.picker)
        app.router.add_get("/board/login/{token}", self.login_page)
        app.router.add_post("/board/login/{token}", self.login)
        app.router.add_get("/board/api/i18n", self.strings)
        app.router.add_get("/board/api/picker", self.picker_setup)
        app.router.add_get("/board/api/me", self.me)
        app.router.add_get("/board/api/areas", self.areas)
        app.router.add_get("/board/api/cases", self.cases)
        app.router.add_get("/board/api/heat", self.heat)
        app.router.add_get("/board/api/lists", self.lists)
        app.router.add_get("/board/api/callouts", self.callouts)
        app.router.add_get("/board/api/checkins", self.checkins)
        app.router.add_get("/board/api/figures", self.figures)
        app.router.add_get("/board/api/case/{id}", self.case)
        app.router.add_get("/board/api/events", self.events)
        app.router.add_static("/board/static/", STATIC, append_version=False)
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)

    async def _start(self, _app: web.Application) -> None:
        self.runtime.store.on_board_change(self.hub.changed)
        if not is_sqlite(self.runtime.store.url):
            self._listener = QueueListener(self.runtime.store.url, self.hub.changed, BOARD_CHANNEL)
            self._listener.start()

    async def _stop(self, _app: web.Application) -> None:
        self.hub.close()
        self.runtime.store.forget_board_listener(self.hub.changed)
        if self._listener is not None:
            await self._listener.stop()

    # --- pages -----------------------------------------------------------------------------------

    async def to_board(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/board/")

    @staticmethod
    def _file(name: str) -> web.FileResponse:
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache", "X-Frame-Options": "SAMEORIGIN",
                                                        "Referrer-Policy": "no-referrer"})

    async def page(self, request: web.Request) -> web.FileResponse:
        return self._file("board.html")

    async def picker(self, request: web.Request) -> web.FileResponse:
        return self._file("pick.html")

    def _language(self, request: web.Request) -> str:
        asked = request.query.get("lang", "")
        return asked if asked in SUPPORTED_LANGUAGES else self.runtime.settings.default_language

    async def login_page(self, request: web.Request) -> web.Response:
        language = self._language(request)
        _ = self.translations(language)
        token = re.sub(r"[^A-Za-z0-9_-]", "", request.match_info["token"])
        title, label = _("Command centre"), _("Open the board")  # not inside the f-string: extraction misses those
        html = (f"<!doctype html><html lang={language}><head><meta charset=utf-8>"
                "<meta name=viewport content='width=device-width'>"
                f"<title>{title}</title></head><body style='font:18px system-ui;margin:3em;text-align:center'>"
                f"<form method=post action='/board/login/{token}?lang={language}'>"
                "<button id=go style='font-size:1.3em;padding:.6em 1.4em'>"
                f"🗺 {label}</button></form></body></html>")
        return web.Response(text=html, content_type="text/html", headers={"Referrer-Policy": "no-referrer",
                                                                          "Cache-Control": "no-store"})

    async def login(self, request: web.Request) -> web.Response:
        now = self.runtime.clock.now()
        async with self.runtime.store.transaction() as session:
            started = await board.open_link(session, request.match_info["token"], now)
        if started is None:
            language = self._language(request)
            _ = self.translations(language)
            why = _("This link was used already or has expired. Send /board to the bot for a new one.")
            return web.Response(status=401, content_type="text/html", text=(
                f"<!doctype html><html lang={language}><head><meta charset=utf-8>"
                "<meta name=viewport content='width=device-width'></head><body style='font:18px system-ui;margin:3em'>"
                f"<p>{why}</p></body></html>"))
        response = web.HTTPSeeOther("/board/")
        response.set_cookie(COOKIE, started, max_age=int(board.SESSION_LIFETIME.total_seconds()), path="/board",
                            httponly=True, samesite="Strict",
                            secure=self.runtime.settings.public_base_url.startswith("https://"))
        raise response

    # --- who asks --------------------------------------------------------------------------------

    async def _viewer(self, request: web.Request) -> Viewer:
        """The person behind this call, with their scope; raises 401 / 403."""
        settings, now = self.runtime.settings, self.runtime.clock.now()
        header = request.headers.get("Authorization", "")
        init_data = header[4:] if header.startswith("tma ") else request.query.get("tma", "")
        tg_id: int | None = None
        person_id: int | None = None
        if init_data:
            token = settings.bot_token.get_secret_value() if settings.bot_token else ""
            tg_id = verified_user(init_data, token, now, settings.board_initdata_max_age) if token else None
            if tg_id is None:
                raise web.HTTPUnauthorized(text="initData is forged or stale")
        elif COOKIE not in request.cookies:
            raise web.HTTPUnauthorized(text="sign in through the bot (/board)")
        async with self.runtime.store.transaction() as session:
            if tg_id is None:
                person_id = await board.session_person(session, request.cookies[COOKIE], now)
                if person_id is None:
                    raise web.HTTPUnauthorized(text="the session has ended")
                person = await people.person_by_id(session, person_id)
            else:
                person = await people.person_by_tg_id(session, tg_id)
            scope = None if person is None else await board.board_scope(session, await self.runtime.map.index(session), person.id)
        if person is None or scope is None:
            raise web.HTTPForbidden(text="the board is for grid leaders, dispatchers and administrators")
        return Viewer(person.name, person.language.value, scope)

    @staticmethod
    def _json(body: object) -> web.Response:
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    # --- the JSON --------------------------------------------------------------------------------

    async def strings(self, request: web.Request) -> web.Response:
        language = self._language(request)
        _ = self.translations(language)
        texts = {text: _(text) for text in PAGE_STRINGS}
        states = {state: _(label) for state, label in STATE_NAMES.items()}
        answers = {answer: _(label) for answer, label in _ANSWER_LABELS.items()}
        kinds = {kind.value: _(label) for kind, label in _KIND_LABELS.items()}
        return web.json_response({"language": language, "texts": texts, "states": states, "answers": answers,
                                  "kinds": kinds},
                                 headers={"Cache-Control": "public, max-age=300"})

    async def picker_setup(self, request: web.Request) -> web.Response:
        """What the citizens' picker needs: its words, the tiles and where the map is (no case data)."""
        _ = self.translations(self._language(request))
        settings = self.runtime.settings
        async with self.runtime.store.transaction() as session:
            extent = await board.map_extent(session)
        return web.json_response({"texts": {text: _(text) for text in PICKER_STRINGS}, "tiles": settings.map_tiles,
                                  "coordinates": settings.map_coordinates, "bbox": extent})

    async def me(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        settings = self.runtime.settings
        async with self.runtime.store.transaction() as session:
            categories = await board.categories(session)
        return self._json({"name": viewer.name, "language": viewer.language, "roots": list(viewer.scope.roots),
                           "everything": viewer.scope.codes is None, "tiles": settings.map_tiles,
                           "coordinates": settings.map_coordinates, "categories": categories,
                           "now": self.runtime.clock.now().isoformat(), "zone": settings.zone.key})

    async def areas(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        async with self.runtime.store.transaction() as session:
            found = await board.areas(session, viewer.scope)
        return self._json({"areas": found})

    async def cases(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        box = _box(request.query)
        if box is None:
            raise web.HTTPBadRequest(text="bbox=south,west,north,east is needed")
        filters = _filters(request.query)
        async with self.runtime.store.transaction() as session:
            index = await self.runtime.map.index(session)
            if filters.area and not viewer.scope.covers(filters.area):
                raise web.HTTPNotFound(text="no such area on your board")
            found = await board.cases_in_box(session, index, viewer.scope, box, filters, self.runtime.clock.now())
        return self._json({**found, "version": self.hub.version})

    async def heat(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        box = _box(request.query)
        if box is None:
            raise web.HTTPBadRequest(text="bbox=south,west,north,east is needed")
        async with self.runtime.store.transaction() as session:
            found = await board.heat(session, viewer.scope, box, self.runtime.clock.now())
        return self._json({"heat": found})

    async def lists(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        async with self.runtime.store.transaction() as session:
            found = await board.lists(session, viewer.scope, self.runtime.clock.now())
        return self._json({**found, "version": self.hub.version, "now": self.runtime.clock.now().isoformat()})

    async def callouts(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        async with self.runtime.store.transaction() as session:
            found = await board.live_callouts(session, await self.runtime.map.index(session), viewer.scope)
        return self._json({"callouts": found})

    async def checkins(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        async with self.runtime.store.transaction() as session:
            found = await board.checkins_today(session, viewer.scope, self.runtime.clock.now(), self.runtime.settings.zone)
        return self._json({"checkins": found})

    async def figures(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        zone = self.runtime.settings.zone
        now = self.runtime.clock.now()
        end = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
        key = (viewer.scope.roots, viewer.scope.codes is None, end)
        kept = self._figures.get(key)
        if kept is not None and time_monotonic() - kept[0] < FIGURES_FRESH_SECONDS:
            return self._json(kept[1])
        async with self.runtime.store.transaction() as session:
            found = await board.figures(session, await self.runtime.map.index(session), viewer.scope,
                                        end - timedelta(days=FIGURES_DAYS), end)
        if len(self._figures) > 1000:
            self._figures.clear()
        self._figures[key] = (time_monotonic(), found)
        return self._json(found)

    async def case(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        try:
            case_id = int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(text="no such case on your board") from None
        async with self.runtime.store.transaction() as session:
            found = await board.case_detail(session, viewer.scope, case_id)
        if found is None:
            raise web.HTTPNotFound(text="no such case on your board")
        key, expires = media_links.signing_key(self.runtime.settings), self.runtime.clock.now() + timedelta(hours=12)
        for photo in found["photos"]:
            photo["url"] = f"/media/{media_links.sign(key, photo['id'], expires)}"
        return self._json(found)

    async def events(self, request: web.Request) -> web.StreamResponse:
        await self._viewer(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        seen = -1
        try:
            while not self.hub.closed:
                if self.hub.version != seen:
                    seen = self.hub.version
                    await response.write(f"event: change\ndata: {seen}\n\n".encode())
                else:
                    await response.write(b": still here\n\n")
                await self.hub.wait(seen, KEEPALIVE_SECONDS)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response


_ANSWER_LABELS: dict[str, str] = {  # as the commander's board in the chat says them (handlers/callout_board.py)
    CallOutAnswer.COMING: N_("✅ Coming"), CallOutAnswer.ARRIVED: N_("📍 Arrived"), CallOutAnswer.CANNOT: N_("❌ Can't come"),
    "none": N_("⏳ Not answered"), "unreachable": N_("🚫 Unreachable"),
}
_KIND_LABELS: dict[EventKind, str] = {  # a history step that is not a change of state (the citizens' words where they have them)
    EventKind.PHOTOS: N_("➕ Photos added by another resident"), EventKind.COMMENT: N_("💬 Comment"),
    EventKind.ON_SITE: N_("📍 A grid worker was on site"), EventKind.UPSTREAM: N_("🏙 Update from the city platform"),
    EventKind.ROUTED: N_("👤 Given to a holder"), EventKind.HANDED_BACK: N_("↩️ Given back by its holder"),
    EventKind.UNREACHED: N_("📵 The holder could not be reached"), EventKind.CALLOUT: N_("🚨 People called out"),
    EventKind.PART: N_("🤝 Joint handling"),
}
