"""A Bot API server on loopback that answers like Telegram, errors included.

Only the edge is fake: the bot under test talks to it over real HTTP through python-telegram-bot's
own request layer. It checks what Telegram checks (HTML entities, text and caption lengths,
callback_data size, edits that change nothing, sendPhoto's size and shape rules) and can play a
person who blocked the bot or never opened it, a flood-control answer, a token it refuses for a
while (401), and a send that hangs until let go. Its sense of time (`now`) can be the test's clock,
so rate limits do not depend on machine speed. Telegram's rules themselves (HTML, lengths, photos)
are adapters/telegram_rules.py's, which the playground's stand-in checks too.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.bot_api_standin import read_params
from adapters.telegram_rules import (
    CALLBACK_ANSWER_LIMIT,
    DOWNLOAD_LIMIT,
    ApiError,
    check_html,
    message_text,
    photo_size,
    plain,
    utf16_length,
)

__all__ = ["ApiError", "Call", "FakeBotApi", "FakeFile", "Sent", "check_html", "plain", "utf16_length"]

BOT_USER = {"id": 1000, "is_bot": True, "first_name": "Gridline", "username": "gridline_test_bot"}


@dataclass
class Sent:
    """One message as it stands in a chat (edits change it in place)."""

    chat_id: int
    message_id: int
    method: str
    text: str
    reply_markup: dict[str, Any] | None
    photo: str | None = None
    document: str | None = None
    location: tuple[float, float] | None = None
    edits: int = 0

    @property
    def plain(self) -> str:
        return plain(self.text)

    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or self.reply_markup.get("keyboard") or []
        return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


@dataclass
class FakeFile:
    file_id: str
    content: bytes
    file_size: int
    path: str


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # by the fake's `now`


class FakeBotApi:
    def __init__(self, token: str = "123456:TEST-token-for-gridline") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.chats: dict[int, list[Sent]] = {}
        self.blocked: set[int] = set()
        # People known only from a roster: Telegram answers 403 "can't initiate" (or 400 "chat not found").
        self.never_started: set[int] = set()
        self.unknown_chats: set[int] = set()
        self.flood: dict[int, int] = {}  # chat -> retry_after seconds, answered once
        # Telegram's limits, enforced when set: sends per second overall, seconds between messages
        # to one chat (photos of one album or a card's pin count with their message: 0.2 s grace).
        self.per_second: float | None = None
        self.chat_interval: float | None = None
        self.too_many = 0  # how many 429s the limits gave
        # Network delay: each call waits a uniform random 0..jitter seconds, split at random between
        # the way in (before the server counts it) and the way back (after it answers).
        self.jitter = 0.0
        self._random = random.Random(15)
        self.now = time.monotonic  # the fake's clock for its limits and call times; tests may replace it
        # Telegram refusing the token (revoked, or its own hiccup): every method answers 401 while set.
        self.refusing_token = False
        self.refused = 0  # how many calls were answered 401
        self.get_updates_calls = 0
        # While set and not yet let go, sends wait here, as a slow Telegram keeps a request in flight.
        self.sends_gate: asyncio.Event | None = None
        self.sends_waiting = 0
        self._sends: collections.deque[float] = collections.deque()
        self._chat_sends: dict[int, float] = {}
        self.files: dict[str, FakeFile] = {}
        self.updates: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self._webhook_client: Any = None
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.url = ""

    # --- life ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._closing = False
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        # Long polls left open by a bot that went away end now, not at their timeout.
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._webhook_client is not None:
            await self._webhook_client.close()
            self._webhook_client = None
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests arrange -------------------------------------------------------------------

    def add_file(self, content: bytes, file_size: int | None = None, suffix: str = "jpg") -> FakeFile:
        number = next(self._file_ids)
        fake = FakeFile(f"file-{number}", content, file_size if file_size is not None else len(content),
                        f"photos/file_{number}.{suffix}")
        self.files[fake.file_id] = fake
        return fake

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def push_update(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot: posted to its webhook when one is set, else kept for getUpdates."""
        if self.webhook is not None:
            import aiohttp

            if self._webhook_client is None:
                self._webhook_client = aiohttp.ClientSession()
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"] or ""}
            async with self._webhook_client.post(self.webhook["url"], json=update, headers=headers) as response:
                response.raise_for_status()
            return
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    async def refuse_token(self, refusing: bool = True) -> None:
        """Answer 401 to every call from now on (or stop doing so); a long poll waiting now ends with a 401."""
        self.refusing_token = refusing
        async with self._changed:
            self._changed.notify_all()

    def hold_sends(self) -> asyncio.Event:
        """From now on sends wait in flight until the returned event is set."""
        self.sends_gate = asyncio.Event()
        return self.sends_gate

    # --- what tests read ----------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[Sent]:
        return self.chats.get(chat_id, [])

    def methods(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.method == name]

    async def wait_for(self, predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109 - a test helper's bound, passed to asyncio.wait_for
        """Wait until `predicate()` holds, woken by each request the bot makes (never by polling).
        The timeout is only a safety net, generous so that a busy machine never reaches it."""
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(until(), timeout)

    # --- the API ------------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getUpdates":
            self.get_updates_calls += 1
        if request.match_info["token"] != self.token or self.refusing_token:
            self.refused += 1
            async with self._changed:
                self._changed.notify_all()
            return web.json_response(ApiError(401, "Unauthorized").answer(), status=401)
        params = await read_params(request)
        back = 0.0
        if self.jitter and method != "getUpdates":
            delay = self._random.uniform(0, self.jitter)
            way_in = self._random.uniform(0, delay)
            back = delay - way_in
            await asyncio.sleep(way_in)
        if method != "getUpdates":
            self.calls.append(Call(method, params, self.now()))
        if self.sends_gate is not None and method.startswith("send") and method != "sendChatAction":
            self.sends_waiting += 1
            async with self._changed:
                self._changed.notify_all()
            await self.sends_gate.wait()
            self.sends_waiting -= 1
        try:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method.startswith("send") and method != "sendChatAction":
                self._keep_limits(int(params.get("chat_id", 0)))
            result = await handler(params)
        except ApiError as error:
            response = web.json_response(error.answer(), status=error.code)
        else:
            response = web.json_response({"ok": True, "result": result})
        async with self._changed:
            self._changed.notify_all()
        if back:
            await asyncio.sleep(back)
        return response

    def _keep_limits(self, chat_id: int) -> None:
        now = self.now()
        if self.per_second is not None:
            while self._sends and self._sends[0] <= now - 1.0:
                self._sends.popleft()
            if len(self._sends) >= self.per_second:
                self.too_many += 1
                raise ApiError(429, "Too Many Requests: retry after 1", 1)
            self._sends.append(now)
        if self.chat_interval is not None:
            last = self._chat_sends.get(chat_id)
            if last is not None and 0.2 < now - last < self.chat_interval - 0.05:
                self.too_many += 1
                raise ApiError(429, "Too Many Requests: retry after 1", 1)
            if last is None or now - last >= 0.2:
                self._chat_sends[chat_id] = now

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        fake = next((f for f in self.files.values() if f.path == path), None)
        if fake is None:
            return web.Response(status=404)
        return web.Response(body=fake.content)

    def _chat(self, params: dict[str, Any]) -> int:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.never_started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat_id in self.unknown_chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.flood:
            raise ApiError(429, f"Too Many Requests: retry after {self.flood[chat_id]}", self.flood.pop(chat_id))
        return chat_id

    @staticmethod
    def _check_markup(markup: dict[str, Any] | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private"},
            "from": BOT_USER,
        }
        if sent.photo is not None:
            message["photo"] = [{"file_id": sent.photo, "file_unique_id": sent.photo, "width": 1, "height": 1}]
            if sent.text:
                message["caption"] = sent.text
        elif sent.document is not None:
            message["document"] = {"file_id": sent.document, "file_unique_id": sent.document}
            if sent.text:
                message["caption"] = sent.text
        elif sent.location is not None:
            message["location"] = {"latitude": sent.location[0], "longitude": sent.location[1]}
        else:
            message["text"] = sent.text
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    def _record(self, chat_id: int, method: str, text: str, markup: dict[str, Any] | None, **extra: Any) -> Sent:
        sent = Sent(chat_id, next(self._message_ids), method, text, markup, **extra)
        self.chats.setdefault(chat_id, []).append(sent)
        return sent

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                try:
                    await asyncio.wait_for(self._changed.wait_for(
                        lambda: bool(self.updates) or self._closing or self.refusing_token), timeout)
                except TimeoutError:
                    return []
                if self.refusing_token:
                    self.refused += 1
                    raise ApiError(401, "Unauthorized")
            return list(self.updates[: int(params.get("limit") or 100)])

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        text = message_text(params, "text")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        return self._message_json(self._record(chat_id, "sendMessage", text, markup))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        caption = message_text(params, "caption")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        photo = params["photo"]
        if not isinstance(photo, str):
            photo_size(photo)
        file_id = photo if isinstance(photo, str) else self.add_file(photo).file_id
        return self._message_json(self._record(chat_id, "sendPhoto", caption, markup, photo=file_id))

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        caption = message_text(params, "caption")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        document = params["document"]
        if not isinstance(document, str) and len(document) > 50 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        file_id = document if isinstance(document, str) else self.add_file(document).file_id
        return self._message_json(self._record(chat_id, "sendDocument", caption, markup, document=file_id))

    async def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._chat(params)
        media = params["media"]
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media")
        files = []  # the whole album is checked before any of it is sent, as Telegram does
        for item in media:
            ref = item["media"]
            upload = params[ref.removeprefix("attach://")] if ref.startswith("attach://") else None
            if upload is not None and item.get("type", "photo") == "photo":
                photo_size(upload)
            message_text(item, "caption")
            files.append(ref if upload is None else upload)
        sent = []
        for item, file in zip(media, files, strict=True):
            file_id = file if isinstance(file, str) else self.add_file(file).file_id
            sent.append(self._message_json(self._record(chat_id, "sendMediaGroup", item.get("caption", ""), None, photo=file_id)))
        return sent

    async def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        location = (float(params["latitude"]), float(params["longitude"]))
        return self._message_json(self._record(chat_id, "sendLocation", "", params.get("reply_markup"), location=location))

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        return True

    def _find(self, params: dict[str, Any]) -> Sent:
        chat_id = int(params["chat_id"])
        message_id = int(params["message_id"])
        for sent in self.chats.get(chat_id, []):
            if sent.message_id == message_id:
                return sent
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        self._chat(params)
        sent = self._find(params)
        text = message_text(params, "text")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if sent.photo is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if text == sent.text and markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        sent.text, sent.reply_markup = text, markup
        sent.edits += 1
        return self._message_json(sent)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        self._chat(params)
        sent = self._find(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if markup == sent.reply_markup or (not markup and not sent.reply_markup):
            raise ApiError(400, "Bad Request: message is not modified")
        sent.reply_markup = markup
        sent.edits += 1
        return self._message_json(sent)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        # Plain text (no parse_mode), counted in UTF-16 code units like a message.
        if utf16_length(params.get("text") or "") > CALLBACK_ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        fake = self.files.get(params["file_id"])
        if fake is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if fake.file_size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": fake.file_id, "file_unique_id": fake.file_id, "file_size": fake.file_size, "file_path": fake.path}
