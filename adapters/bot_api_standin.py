"""A Bot API stand-in for the playground: an aiohttp server on loopback that answers the methods
Gridline calls exactly as Telegram does, errors included, and keeps every chat as a person would
see it (both sides, edits in place, button answers).

The stand-in refuses what Telegram refuses (HTML it cannot parse, a text over 4,096 or a caption
over 1,024 UTF-16 units, button data over 64 bytes, an edit that changes nothing, an unknown chat,
a person who blocked the bot), so the playground never shows a message Telegram would not. The
browser side (`adapters/playground_web.py`) drives it in-process: a person types, presses, sends a
photo or a location, and the stand-in turns that into the update Telegram would hand the bot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import html
import itertools
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.telegram_rules import (
    CALLBACK_ANSWER_LIMIT,
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    ApiError,
    message_text,
    photo_size,
    plain,
    utf16_length,
)

log = logging.getLogger(__name__)

TOKEN = "1000000:PLAYGROUND-not-a-Telegram-token"
BOT_USER = {"id": 1000000, "is_bot": True, "first_name": "Gridline", "username": "gridline_playground_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
JSON_FIELDS = {"reply_markup", "media", "commands", "allowed_updates", "link_preview_options", "reply_parameters",
               "menu_button"}


async def read_params(request: web.Request) -> dict[str, Any]:
    """A Bot API call's parameters, as a client sends them: a JSON body, or a form (a URL-encoded or a
    multipart one, with uploads as bytes) whose structured fields are JSON strings."""
    if request.content_type == "application/json":
        loaded = await request.json()
        return loaded if isinstance(loaded, dict) else {}
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = value.file.read()
        elif key in JSON_FIELDS and isinstance(value, str):
            params[key] = json.loads(value)
        else:
            params[key] = value
    return params


@dataclass
class StoredFile:
    file_id: str
    content: bytes
    path: str
    width: int = 0
    height: int = 0


@dataclass
class ChatMessage:
    """One message as it stands in a chat: the bot's (HTML) or the person's (plain)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str = ""  # the text, or a photo's caption
    photo: str | None = None  # file id
    document: str | None = None
    location: tuple[float, float] | None = None
    media_group_id: str | None = None
    reply_markup: dict[str, Any] | None = None  # inline keyboards only (a reply keyboard belongs to the chat)
    edits: int = 0

    def as_page(self) -> dict[str, Any]:
        """The message as the playground page draws it."""
        return {"id": self.message_id, "from_bot": self.from_bot, "date": self.date, "text": self.text,
                "photo": self.photo, "document": self.document,
                "location": list(self.location) if self.location else None,
                "album": self.media_group_id, "buttons": (self.reply_markup or {}).get("inline_keyboard", []),
                "edited": self.edits > 0}


@dataclass
class Person:
    """Someone the playground can be: a Telegram user with a private chat with the bot."""

    tg_id: int
    first_name: str
    language_code: str | None = None
    blocked: bool = False
    started: bool = False  # opened the bot (pressed Start) before the playground began

    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.tg_id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class Notice:
    """A button press's answer (a toast, or an alert the person must close)."""

    notice_id: int
    chat_id: int
    text: str
    alert: bool
    version: int


@dataclass
class Chat:
    messages: list[ChatMessage] = field(default_factory=list)
    reply_keyboard: dict[str, Any] | None = None


class BotApiStandIn:
    """The stand-in's state and its HTTP face. `start()` binds a free loopback port; `url` is the
    root to give the bot as its Bot API server (GRIDLINE_API_URL)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.people: dict[int, Person] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.notices: list[Notice] = []
        self.updates: list[dict[str, Any]] = []
        self.version = 0  # grows with every change a page could show
        self.url = ""
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._run = secrets.token_hex(3)  # file ids of this run never repeat one of an earlier run
        self._callback_ids = itertools.count(1)
        self._callbacks: dict[str, int] = {}  # callback query id -> the chat it came from
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._pages_gone = False  # the page's server is stopping: its long polls end now

    # --- life -----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        self._closing = True
        await self._touch()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _touch(self) -> None:
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def wait_past(self, version: int, timeout: float) -> int:  # noqa: ASYNC109 - a long poll's own bound
        """Wait until something changed after `version` (or `timeout` seconds pass); the version now."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(
                    lambda: self.version > version or self._closing or self._pages_gone), timeout)
            return self.version

    async def release_pages(self) -> None:
        """End the pages' long polls now (their server is stopping, and would wait for them)."""
        self._pages_gone = True
        async with self._changed:
            self._changed.notify_all()

    # --- kept between runs ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the chats and their photos to `path` (JSON), so a restart shows them again."""
        chats = {str(chat_id): {"reply_keyboard": chat.reply_keyboard,
                                "messages": [dataclasses.asdict(m) for m in chat.messages]}
                 for chat_id, chat in self.chats.items()}
        files = {f.file_id: {"content": base64.b64encode(f.content).decode(), "path": f.path, "width": f.width,
                             "height": f.height} for f in self.files.values()}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"chats": chats, "files": files}, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)

    def load(self, path: Path) -> None:
        """Read what `save` wrote (nothing when there is no such file, or it cannot be read)."""
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
            files = {file_id: StoredFile(file_id, base64.b64decode(f["content"]), f["path"], f["width"], f["height"])
                     for file_id, f in kept["files"].items()}
            chats = {}
            for chat_id, chat in kept["chats"].items():
                messages = []
                for m in chat["messages"]:
                    m["location"] = tuple(m["location"]) if m["location"] else None
                    messages.append(ChatMessage(**m))
                chats[int(chat_id)] = Chat(messages, chat["reply_keyboard"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("stand-in: the chats kept in %s cannot be read (%s); they start empty", path, error)
            return
        self.files, self.chats = files, chats
        last = max((m.message_id for chat in chats.values() for m in chat.messages), default=0)
        self._message_ids = itertools.count(last + 1)

    # --- what a person does (the playground page) ----------------------------------------------

    def add_person(self, tg_id: int, first_name: str, language_code: str | None, started: bool = False) -> Person:
        person = self.people.get(tg_id)
        if person is None:
            person = self.people[tg_id] = Person(tg_id, first_name, language_code)
        person.first_name, person.language_code, person.started = first_name, language_code, started
        return person

    def chat(self, chat_id: int) -> Chat:
        return self.chats.setdefault(chat_id, Chat())

    def add_file(self, content: bytes, suffix: str = "jpg") -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(f"pg-{self._run}-{number}", content, f"photos/{self._run}_{number}.{suffix}")
        self.files[stored.file_id] = stored
        return stored

    def _person_message(self, person: Person, **content: Any) -> tuple[ChatMessage, dict[str, Any]]:
        message = ChatMessage(next(self._message_ids), person.tg_id, False, int(time.time()))
        body = {"message_id": message.message_id, "date": message.date,
                "chat": {"id": person.tg_id, "type": "private", "first_name": person.first_name},
                "from": person.user(), **content}
        return message, body

    async def _from_person(self, message: ChatMessage, body: dict[str, Any]) -> None:
        self.chat(message.chat_id).messages.append(message)
        await self._push({"update_id": next(self._update_ids), "message": body})

    async def _push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append(update)
            self.version += 1
            self._changed.notify_all()

    async def person_says(self, tg_id: int, text: str) -> None:
        person = self.people[tg_id]
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_length(text.split()[0])}]
        message, body = self._person_message(person, **content)
        message.text = html.escape(text, quote=False)  # the chat keeps HTML; what a person typed is plain text
        await self._from_person(message, body)

    async def person_sends_photo(self, tg_id: int, content: bytes, caption: str = "") -> None:
        """A photo as Telegram hands it on: a file id the bot can fetch, with its size."""
        width, height = photo_size(content)
        if utf16_length(caption) > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        stored = self.add_file(content)
        stored.width, stored.height = width, height
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        sizes = [{"file_id": stored.file_id, "file_unique_id": stored.file_id, "width": width, "height": height,
                  "file_size": len(content)}]
        message, body = self._person_message(self.people[tg_id], photo=sizes, **extra)
        message.photo, message.text = stored.file_id, html.escape(caption, quote=False)
        await self._from_person(message, body)

    async def person_sends_location(self, tg_id: int, lat: float, lon: float) -> None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ApiError(400, "Bad Request: wrong location")
        message, body = self._person_message(self.people[tg_id], location={"latitude": lat, "longitude": lon})
        message.location = (lat, lon)
        await self._from_person(message, body)

    async def person_presses(self, tg_id: int, message_id: int, data: str) -> None:
        """A press on an inline button of one of the bot's messages in this person's chat."""
        person = self.people[tg_id]
        message = next((m for m in self.chat(tg_id).messages if m.message_id == message_id and m.from_bot), None)
        if message is None:
            raise ApiError(400, "Bad Request: message not found")
        buttons = [b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row]
        if not any(b.get("callback_data") == data for b in buttons):
            raise ApiError(400, "Bad Request: no such button on that message")
        query_id = f"pg-cb-{next(self._callback_ids)}"
        self._callbacks[query_id] = tg_id
        await self._push({"update_id": next(self._update_ids), "callback_query": {
            "id": query_id, "from": person.user(), "chat_instance": f"pg-{tg_id}", "data": data,
            "message": self._message_json(message)}})

    # --- the Bot API ----------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").answer(), status=401)
        method = request.match_info["method"]
        try:
            params = await read_params(request)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
        except ApiError as error:
            if method != "getUpdates":
                log.info("stand-in: %s refused: %s", method, error.description)
            return web.json_response(error.answer(), status=error.code)
        except (KeyError, ValueError, TypeError) as error:
            return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}, status=400)
        if method not in ("getUpdates", "getMe", "getFile"):
            await self._touch()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.path == path), None)
        if stored is None:
            return web.Response(status=404)
        return web.Response(body=stored.content)

    def _chat_id(self, params: dict[str, Any]) -> int:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        person = self.people.get(chat_id)
        if person is None:
            raise ApiError(400, "Bad Request: chat not found")
        if person.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not person.started and not self.chat(chat_id).messages:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat_id

    @staticmethod
    def _check_markup(markup: dict[str, Any] | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if not str(button.get("text", "")).strip():
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        for row in (markup or {}).get("keyboard", []):
            for button in row:
                if not str(button.get("text", "") if isinstance(button, dict) else button).strip():
                    raise ApiError(400, "Bad Request: keyboard button text is empty")

    @staticmethod
    def _text(params: dict[str, Any], key: str) -> str:
        """The text or caption as the chat keeps it (HTML), refused as Telegram refuses it."""
        text = message_text(params, key)
        return text if params.get("parse_mode") == "HTML" else html.escape(text, quote=False)

    def _message_json(self, sent: ChatMessage) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": sent.message_id, "date": sent.date,
                                   "chat": {"id": sent.chat_id, "type": "private"}}
        message["from"] = BOT_USER if sent.from_bot else self.people[sent.chat_id].user()
        if sent.photo is not None:
            stored = self.files.get(sent.photo)
            message["photo"] = [{"file_id": sent.photo, "file_unique_id": sent.photo,
                                 "width": stored.width if stored else 1, "height": stored.height if stored else 1}]
            if sent.text:
                message["caption"] = plain(sent.text)
        elif sent.document is not None:
            message["document"] = {"file_id": sent.document, "file_unique_id": sent.document}
            if sent.text:
                message["caption"] = plain(sent.text)
        elif sent.location is not None:
            message["location"] = {"latitude": sent.location[0], "longitude": sent.location[1]}
        else:
            message["text"] = plain(sent.text)
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.media_group_id:
            message["media_group_id"] = sent.media_group_id
        return message

    def _record(self, chat_id: int, text: str, markup: dict[str, Any] | None, **extra: Any) -> ChatMessage:
        chat = self.chat(chat_id)
        inline = markup if markup and "inline_keyboard" in markup else None
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        sent = ChatMessage(next(self._message_ids), chat_id, True, int(time.time()), text=text, reply_markup=inline,
                           **extra)
        chat.messages.append(sent)
        return sent

    def _upload(self, value: Any) -> str:
        """A photo given by file id (one the stand-in knows) or uploaded (checked, then kept)."""
        if isinstance(value, str):
            if value not in self.files:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            return value
        content = bytes(value)
        width, height = photo_size(content)
        stored = self.add_file(content)
        stored.width, stored.height = width, height
        return stored.file_id

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        raise ApiError(400, "Bad Request: the playground takes no webhook; it is reached by long polling")

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        return True

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 50)
        limit = int(params.get("limit") or 100)
        async with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.updates) or self._closing), timeout)
                except TimeoutError:
                    return []
            return list(self.updates[:limit])

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text = self._text(params, "text")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        return self._message_json(self._record(chat_id, text, markup))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        caption = self._text(params, "caption")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        file_id = self._upload(params["photo"])
        return self._message_json(self._record(chat_id, caption, markup, photo=file_id))

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        caption = self._text(params, "caption")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        document = params["document"]
        if not isinstance(document, str) and len(document) > 50 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        file_id = document if isinstance(document, str) else self.add_file(bytes(document), "bin").file_id
        return self._message_json(self._record(chat_id, caption, markup, document=file_id))

    async def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._chat_id(params)
        media = params["media"]
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media")
        prepared = []  # the whole album is checked before any of it is sent, as Telegram does
        for item in media:
            ref = str(item["media"])
            caption = self._text(item, "caption")
            upload = params.get(ref.removeprefix("attach://")) if ref.startswith("attach://") else ref
            if upload is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            prepared.append((caption, upload))
        album = f"pg-album-{next(self._message_ids)}"
        sent = []
        for caption, upload in prepared:
            file_id = self._upload(upload)
            sent.append(self._message_json(self._record(chat_id, caption, None, photo=file_id, media_group_id=album)))
        return sent

    async def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        lat, lon = float(params["latitude"]), float(params["longitude"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ApiError(400, "Bad Request: wrong location")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        return self._message_json(self._record(chat_id, "", markup, location=(lat, lon)))

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_id(params)
        return True

    def _find(self, params: dict[str, Any]) -> ChatMessage:
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        for sent in self.chat(chat_id).messages:
            if sent.message_id == message_id and sent.from_bot:
                return sent
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._find(params)
        text = self._text(params, "text")
        markup = params.get("reply_markup") or None
        self._check_markup(markup)
        if sent.photo is not None or sent.document is not None or sent.location is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if text == sent.text and markup == sent.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.reply_markup = text, markup
        sent.edits += 1
        return self._message_json(sent)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._find(params)
        markup = params.get("reply_markup") or None
        self._check_markup(markup)
        if markup == sent.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        sent.reply_markup = markup
        sent.edits += 1
        return self._message_json(sent)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        chat_id = self._callbacks.get(query_id)
        if chat_id is None:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = str(params.get("text") or "")
        if utf16_length(text) > CALLBACK_ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        del self._callbacks[query_id]  # a query is answered once
        if text:
            alert = str(params.get("show_alert")).lower() in ("true", "1")
            self.notices.append(Notice(len(self.notices) + 1, chat_id, text, alert, self.version + 1))
        return True

    async def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_id, "file_size": len(stored.content),
                "file_path": stored.path}
