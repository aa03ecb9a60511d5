"""The playground's page and its JSON API, on the bot's own HTTP face: /play, a Telegram-like chat
in the browser for each of the demo city's people, driving the Bot API stand-in in-process.

    GET  /play                               the page (its words in zh and en; the data comes from the API)
    GET  /play/static/{name}                 the page's script and style
    GET  /play/api/people                    whom one can be
    GET  /play/api/chat/{tg_id}?since=V      a person's chat; waits up to 25 s for a change after V
    POST /play/api/chat/{tg_id}/text         {"text": ...}: the person types
    POST /play/api/chat/{tg_id}/press        {"message_id": ..., "data": ...}: presses an inline button
    POST /play/api/chat/{tg_id}/photo        a JPEG/PNG body, or ?sample=NAME: sends a photo
    POST /play/api/chat/{tg_id}/location     {"lat": ..., "lon": ...}: shares a location
    POST /play/api/language                  {"language": "zh"|"en"}: the citizen's Telegram language
    GET  /play/api/file/{file_id}            a photo in a chat
    GET  /play/api/map                       the demo city's grids, to draw small maps
    GET  /play/api/samples, /play/api/sample/{name}   sample pictures to send

It exists only in the playground (`gridline play`): it lets anyone at the page be anyone, which is
the point there and would be a hole anywhere else.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.bot_api_standin import BotApiStandIn
from adapters.telegram_rules import TEXT_LIMIT, ApiError
from storage.map_import import DEMO_CITY

PAGE = Path(__file__).parent / "playground_page"
ROSTER = DEMO_CITY.parent / "playground_roster.csv"
STATIC = {"play.js": "text/javascript", "play.css": "text/css"}
LONG_POLL_SECONDS = 25.0
UPLOAD_LIMIT = 12 * 1024 * 1024  # bytes; play.js says so before uploading, in the page's language
MAP_AREA = "HS-01"  # the street the demo's people work in: the small maps show it


@dataclass(frozen=True)
class PlayPerson:
    """Someone the page lets you be: a Telegram user, their role in the demo city and their language."""

    tg_id: int
    name: str
    role: str  # citizen, worker, leader, dispatcher, responder
    area: str | None
    tags: tuple[str, ...]
    language: str

    def as_page(self) -> dict[str, Any]:
        """The person as the page lists them: their area by its name and level, not its code."""
        name, level = demo_areas().get(self.area or "", (None, None))
        return {"tg_id": self.tg_id, "name": self.name, "role": self.role, "area": self.area, "area_name": name,
                "area_level": level, "tags": list(self.tags), "language": self.language}


CITIZEN = PlayPerson(2001, "小陈 Chen", "citizen", None, (), "zh")


def roster_people(path: Path = ROSTER) -> list[PlayPerson]:
    """The demo's staff, from the roster `gridline people import` reads (storage/demo/playground_roster.csv)."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    return [PlayPerson(int(row["tg_id"]), row["name"], row["role"], row["area"] or None,
                       tuple(t for t in row["tags"].split(";") if t), row["language"] or "zh") for row in rows]


def play_people() -> list[PlayPerson]:
    return [CITIZEN, *roster_people()]


@functools.cache
def demo_city() -> list[dict[str, Any]]:
    """The demo city's areas, as GeoJSON features."""
    features: list[dict[str, Any]] = json.loads(DEMO_CITY.read_text(encoding="utf-8"))["features"]
    return features


@functools.cache
def demo_areas() -> dict[str, tuple[str, str]]:
    """Each area's code -> its name and level."""
    return {f["properties"]["code"]: (f["properties"]["name"], f["properties"]["level"]) for f in demo_city()}


@functools.cache
def map_features() -> str:
    """The grids (and the communities around them) of the demo street, as compact JSON rings."""
    features = []
    for feature in demo_city():
        props = feature["properties"]
        code = props["code"]
        if props["level"] not in ("community", "grid") or not code.startswith(MAP_AREA):
            continue
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rings = [[[round(x, 6), round(y, 6)] for x, y in polygon[0]] for polygon in polygons]
        features.append({"code": code, "level": props["level"], "rings": rings})
    return json.dumps({"features": features}, ensure_ascii=False)


SAMPLES = {"bin": ("垃圾桶满了 overflowing bin", (70, 110, 70)), "light": ("路灯不亮 street light out", (40, 40, 70)),
           "pothole": ("路面坑洼 pothole", (110, 100, 90)), "fixed": ("已处理 fixed", (60, 120, 150))}


@functools.cache
def sample_picture(name: str) -> bytes:
    """A sample photo drawn here (no file to ship): a scene's colours, a shape and its name."""
    from PIL import Image, ImageDraw

    label, colour = SAMPLES[name]
    image = Image.new("RGB", (640, 480), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 330, 640, 480), fill=tuple(max(0, c - 30) for c in colour))
    if name == "bin":
        draw.rectangle((250, 170, 390, 360), fill=(30, 90, 40))
        for x in range(230, 420, 28):
            draw.ellipse((x, 130, x + 40, 175), fill=(200, 190, 150))
    elif name == "light":
        draw.rectangle((312, 80, 328, 400), fill=(90, 90, 100))
        draw.ellipse((290, 60, 350, 100), fill=(70, 70, 70))
    elif name == "pothole":
        draw.ellipse((200, 350, 440, 430), fill=(40, 35, 30))
    else:
        draw.rectangle((200, 340, 440, 420), fill=(150, 150, 150))
    draw.text((20, 20), f"Gridline playground sample: {name}", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


class PlaygroundWeb:
    """The routes of the page and its API, bound to one stand-in."""

    def __init__(self, standin: BotApiStandIn, people: list[PlayPerson] | None = None) -> None:
        self.standin = standin
        self.people = {p.tg_id: p for p in (people if people is not None else play_people())}
        for person in self.people.values():
            # Everyone has opened the bot before (the staff when they joined; the citizen may be back after a restart).
            standin.add_person(person.tg_id, person.name, person.language, started=True)

    def routes(self, app: web.Application) -> None:
        app.on_shutdown.append(self._shutdown)
        app.router.add_get("/play", self.page)
        app.router.add_get("/play/", self.page)
        app.router.add_get("/play/static/{name}", self.static)
        app.router.add_get("/play/api/people", self.list_people)
        app.router.add_get("/play/api/chat/{tg_id}", self.chat)
        app.router.add_post("/play/api/chat/{tg_id}/text", self.text)
        app.router.add_post("/play/api/chat/{tg_id}/press", self.press)
        app.router.add_post("/play/api/chat/{tg_id}/photo", self.photo)
        app.router.add_post("/play/api/chat/{tg_id}/location", self.location)
        app.router.add_post("/play/api/language", self.language)
        app.router.add_get("/play/api/file/{file_id}", self.file)
        app.router.add_get("/play/api/map", self.map)
        app.router.add_get("/play/api/samples", self.samples)
        app.router.add_get("/play/api/sample/{name}", self.sample)

    async def _shutdown(self, app: web.Application) -> None:
        await self.standin.release_pages()

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(body=(PAGE / "index.html").read_bytes(), content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            return web.Response(status=404, text="not found")
        return web.Response(body=(PAGE / name).read_bytes(), content_type=STATIC[name], charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def list_people(self, request: web.Request) -> web.Response:
        return web.json_response({"people": [p.as_page() for p in self.people.values()]})

    def _person(self, request: web.Request) -> int:
        try:
            tg_id = int(request.match_info["tg_id"])
        except ValueError:
            raise web.HTTPNotFound(text="no such person") from None
        if tg_id not in self.people:
            raise web.HTTPNotFound(text="no such person")
        return tg_id

    async def chat(self, request: web.Request) -> web.Response:
        tg_id = self._person(request)
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            return _error(400, "since must be a number")
        if since >= self.standin.version:
            await self.standin.wait_past(since, LONG_POLL_SECONDS)
        chat = self.standin.chat(tg_id)
        notices = [{"id": n.notice_id, "text": n.text, "alert": n.alert}
                   for n in self.standin.notices if n.chat_id == tg_id and n.version > since]
        keyboard = chat.reply_keyboard
        rows = [[b if isinstance(b, dict) else {"text": b} for b in row] for row in (keyboard or {}).get("keyboard", [])]
        return web.json_response({"version": self.standin.version, "messages": [m.as_page() for m in chat.messages],
                                  "reply_keyboard": rows, "notices": notices if since >= 0 else []})

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        return body

    async def text(self, request: web.Request) -> web.Response:
        tg_id = self._person(request)
        text = str((await self._json(request)).get("text") or "")
        if not text.strip():
            return _error(400, "empty message")
        if len(text) > TEXT_LIMIT:
            return _error(400, "message is too long")
        await self.standin.person_says(tg_id, text)
        return web.json_response({"ok": True})

    async def press(self, request: web.Request) -> web.Response:
        tg_id = self._person(request)
        body = await self._json(request)
        try:
            await self.standin.person_presses(tg_id, int(body.get("message_id") or 0), str(body.get("data") or ""))
        except ApiError as error:
            return _error(400, error.description)
        return web.json_response({"ok": True})

    async def photo(self, request: web.Request) -> web.Response:
        tg_id = self._person(request)
        sample = request.query.get("sample")
        if sample is not None:
            if sample not in SAMPLES:
                return _error(404, "no such sample")
            content = sample_picture(sample)
        else:
            # Read as a stream: a phone's photo is bigger than the HTTP face's 1 MB body limit.
            content = await request.content.read(UPLOAD_LIMIT + 1)
            if len(content) > UPLOAD_LIMIT:
                return _error(413, "the photo is too big")
        try:
            await self.standin.person_sends_photo(tg_id, content, request.query.get("caption", ""))
        except ApiError as error:
            return _error(400, error.description)
        return web.json_response({"ok": True})

    async def location(self, request: web.Request) -> web.Response:
        tg_id = self._person(request)
        body = await self._json(request)
        try:
            lat, lon = float(body["lat"]), float(body["lon"])
            await self.standin.person_sends_location(tg_id, lat, lon)
        except (KeyError, TypeError, ValueError):
            return _error(400, "lat and lon must be numbers")
        except ApiError as error:
            return _error(400, error.description)
        return web.json_response({"ok": True})

    async def language(self, request: web.Request) -> web.Response:
        language = str((await self._json(request)).get("language") or "")
        if language not in ("zh", "en"):
            return _error(400, "language must be zh or en")
        # The staff keep their roster's language; the citizen's phone speaks the page's language.
        for person in self.people.values():
            if person.role == "citizen":
                self.standin.people[person.tg_id].language_code = language
        return web.json_response({"ok": True})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.standin.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="no such file")
        kind = "image/png" if stored.content.startswith(b"\x89PNG") else "image/jpeg"
        return web.Response(body=stored.content, content_type=kind, headers={"Cache-Control": "private, max-age=3600"})

    async def map(self, request: web.Request) -> web.Response:
        return web.Response(text=map_features(), content_type="application/json")

    async def samples(self, request: web.Request) -> web.Response:
        return web.json_response({"samples": [{"name": n, "label": label} for n, (label, _) in SAMPLES.items()]})

    async def sample(self, request: web.Request) -> web.Response:
        name = re.sub(r"\.jpg$", "", request.match_info["name"])
        if name not in SAMPLES:
            return web.Response(status=404, text="no such sample")
        return web.Response(body=sample_picture(name), content_type="image/jpeg")
