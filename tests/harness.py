"""The world tests run in: the real Application on a real SQLite file, a fake Bot API on loopback,
and people who send updates the way Telegram delivers them."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from telegram import Update
from telegram.ext import Application

from bot import timers
from bot.app import build_application, prepare_store
from bot.settings import Settings
from handlers import callout_board as board
from handlers.runtime import Runtime
from storage.catalog import load_catalog
from storage.clock import ManualClock
from storage.db import Store, upgrade_schema_async
from tests import templates
from tests.fake_telegram import FakeBotApi, Sent

_photo_seeds = itertools.count(1)


def jpeg(seed: int | None = None, size: tuple[int, int] = (64, 48), exif_gps: tuple[float, float] | None = None) -> bytes:
    """A small, distinct JPEG (optionally with an EXIF GPS position)."""
    seed = next(_photo_seeds) if seed is None else seed
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    buffer = io.BytesIO()
    if exif_gps is None:
        image.save(buffer, "JPEG")
    else:
        exif = Image.Exif()
        lat, lon = exif_gps

        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
            return (float(degrees), float(minutes), seconds)

        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
        image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


class Harness:
    """One running Gridline against the fake Bot API. `restart()` stops it and starts a fresh one
    on the same store, as a real restart would."""

    def __init__(self, api: FakeBotApi, settings: Settings, clock: ManualClock) -> None:
        self.api = api
        self.settings = settings
        self.clock = clock
        self.errors: list[BaseException] = []
        self.app: Application | None = None
        self.runtime: Runtime | None = None
        self._user_ids = itertools.count(5001)

    async def start(self, catch_up: bool = True) -> None:
        """Start as `gridline run` does. `catch_up=False` leaves out the timers' run for what fell
        due while down: for a world put back as it stood at a moment of its life (tests/snapshots.py)."""
        # A new SQLite store starts as a copy of a migrated one; the upgrade, as `gridline run`
        # does it, then finds it current (tests/templates.py).
        await templates.copy_migrated_sqlite(self.settings.database_url)
        await upgrade_schema_async(self.settings.database_url)
        store = Store(self.settings.database_url)
        self.runtime = Runtime(settings=self.settings, store=store, clock=self.clock,
                               catalog=load_catalog(self.settings.categories))
        self.app = build_application(self.runtime)

        async def record_error(update: object, context: Any) -> None:
            self.errors.append(context.error)

        self.app.add_error_handler(record_error)
        await self.app.initialize()
        await prepare_store(self.runtime)
        if catch_up:
            await timers.tick(self.runtime)  # as `gridline run` does on start: what fell due while down

    async def stop(self) -> None:
        if self.app is not None:
            if self.runtime and self.runtime.sender:
                await self.runtime.sender.stop()  # as `gridline run` does on a stop (bot/app.py)
            await self.app.shutdown()
            await self.runtime.store.close()
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def store(self) -> Store:
        assert self.runtime is not None
        return self.runtime.store

    async def process(self, update: dict[str, Any]) -> None:
        assert self.app is not None
        await self.app.process_update(Update.de_json(update, self.app.bot))
        if self.errors:
            raise AssertionError(f"the bot failed on an update: {self.errors!r}") from self.errors[0]

    async def tick(self) -> int:
        """Run the timers as the scheduler would at this moment of the clock, then send what they queued."""
        assert self.runtime is not None
        await timers.tick(self.runtime)
        return await self.deliver()

    def command_env(self) -> dict[str, str]:
        """The environment a `gridline` command needs to work on this world's store."""
        env = {"GRIDLINE_DATA_DIR": str(self.settings.data_dir)}
        if self.settings.db_url:
            env["GRIDLINE_DB_URL"] = self.settings.db_url
        return env

    async def refresh_boards(self) -> int:
        """The 3-second job: re-alerts that are due and the commanders' live boards."""
        assert self.runtime is not None and self.app is not None
        edits = await board.tick(self.runtime, self.app.bot)
        await self.deliver()
        return edits

    async def deliver(self) -> int:
        """Let the outbound queue send what is due (the background sender does this in production)."""
        assert self.runtime is not None and self.runtime.sender is not None
        return await self.runtime.sender.drain()

    def person(self, name: str = "Li Hua", language_code: str | None = "zh-hans") -> Person:
        return Person(self, next(self._user_ids), name, language_code)


@dataclass
class Person:
    """Someone in a private chat with the bot. Each method sends one update and waits until the
    bot has handled it."""

    world: Harness
    tg_id: int
    name: str
    language_code: str | None

    _message_ids = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        user = {"id": self.tg_id, "is_bot": False, "first_name": self.name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "update_id": self.world.api.next_update_id(),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": self.tg_id, "type": "private", "first_name": self.name},
                "from": self._user(),
                **content,
            },
        }

    async def send(self, **content: Any) -> None:
        await self.world.process(self._message(**content))

    async def say(self, text: str) -> None:
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else None
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        await self.send(**content)

    async def send_photo(self, content: bytes | None = None, media_group: str | None = None, caption: str | None = None) -> None:
        fake = self.world.api.add_file(content if content is not None else jpeg())
        photo = [{"file_id": fake.file_id, "file_unique_id": fake.file_id, "width": 64, "height": 48, "file_size": fake.file_size}]
        extra: dict[str, Any] = {"media_group_id": media_group} if media_group else {}
        if caption:
            extra["caption"] = caption
        await self.send(photo=photo, **extra)

    async def send_file(self, content: bytes, mime: str, name: str, size: int | None = None) -> None:
        fake = self.world.api.add_file(content, file_size=size)
        await self.send(document={"file_id": fake.file_id, "file_unique_id": fake.file_id, "file_name": name,
                                  "mime_type": mime, "file_size": fake.file_size})

    async def send_location(self, lat: float, lon: float) -> None:
        await self.send(location={"latitude": lat, "longitude": lon})

    async def send_venue(self, lat: float, lon: float, title: str, address: str) -> None:
        await self.send(location={"latitude": lat, "longitude": lon},
                        venue={"location": {"latitude": lat, "longitude": lon}, "title": title, "address": address})

    async def send_sticker(self) -> None:
        await self.send(sticker={"file_id": "st1", "file_unique_id": "st1", "width": 512, "height": 512,
                                 "is_animated": False, "is_video": False, "type": "regular"})

    async def send_voice(self) -> None:
        await self.send(voice={"file_id": "v1", "file_unique_id": "v1", "duration": 3})

    async def press_data(self, data: str, message: Sent | None = None) -> None:
        """Press a button with exactly this callback data (forged or stale data included)."""
        message = message or self.last()
        update = {
            "update_id": self.world.api.next_update_id(),
            "callback_query": {
                "id": f"cb{self.world.api.next_update_id()}",
                "from": self._user(),
                "chat_instance": "ci",
                "data": data,
                "message": self.world.api._message_json(message),
            },
        }
        await self.world.process(update)

    async def tap(self, label: str, message: Sent | None = None) -> None:
        """Tap the inline button whose text contains `label`, on the newest message that has it."""
        candidates = [message] if message else reversed(self.chat())
        for sent in candidates:
            for button in sent.buttons():
                if label in button["text"] and "callback_data" in button:
                    await self.press_data(button["callback_data"], sent)
                    return
        raise AssertionError(f"no button {label!r}; the chat ends with: {[m.plain for m in self.chat()[-3:]]}")

    def chat(self) -> list[Sent]:
        return self.world.api.messages(self.tg_id)

    def last(self) -> Sent:
        messages = self.chat()
        assert messages, "the bot has said nothing"
        return messages[-1]

    def texts(self) -> list[str]:
        return [m.plain for m in self.chat()]

    def mark(self) -> int:
        return len(self.chat())

    def since(self, mark: int) -> list[str]:
        return [m.plain for m in self.chat()[mark:]]


def settings_for(api: FakeBotApi, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": api.token,
        "api_url": api.url,
        "data_dir": data_dir,
        "db_url": None,
        "timezone": "Asia/Shanghai",
        "default_language": "zh",
        "categories": None,
        # Fast sends for stories; tests/test_sending.py keeps Telegram's real limits.
        "send_per_second": 1000,
        "chat_interval_seconds": 0,
        "http_port": 0,  # tests that want the HTTP server start it on a free port
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


class SteppedTime:
    """Monotonic time for pacing and backoff that moves only when the code under test sleeps: a
    sleep returns at once with the clock moved on by its length, so nothing depends on how fast
    the machine is. `freeze()` holds every sleeper until `thaw()`, as a long wait would."""

    def __init__(self) -> None:
        self._now = 1000.0
        self.slept: list[float] = []
        self._moving = asyncio.Event()
        self._moving.set()

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self._moving.wait()
        self._now += max(seconds, 0.0)
        await asyncio.sleep(0)  # a sleep lets others run, as a real one does

    def freeze(self) -> None:
        self._moving.clear()

    def thaw(self) -> None:
        self._moving.set()

    def drive(self, world: Harness) -> SteppedTime:
        """Make this the time of the running bot in `world`."""
        assert world.runtime is not None
        world.runtime.monotonic, world.runtime.sleep = self.monotonic, self.sleep
        return self
