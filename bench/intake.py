"""How fast citizens' reports go in: N simulated citizens each send a complete report at once.

    .venv/bin/python bench/intake.py [--citizens 200]

The fake Bot API and the citizens run in a child process (so they do not share the bot's CPU
core's event loop); Gridline runs here with long polling and a SQLite store in a temporary folder.
Each citizen sends a photo, a location, picks a category and a sub-category, skips the description
and submits, each step after the bot answered the one before. Then an echo bot (answers every
message and button with one message) runs through the same number of updates on the same fake
server: the floor any bot on this machine pays for Telegram's round trips.

Prints complete reports per minute, the bot's own time per update (p50/p95: from the update being
handed to a handler to the handler's end, replies included) and what a citizen waits per step.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)

from bot.update_processor import PerChatUpdateProcessor
from tests.fake_telegram import FakeBotApi
from tests.harness import jpeg

STEPS = 6


class TimedProcessor(PerChatUpdateProcessor):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.durations: list[float] = []

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        async def timed() -> None:
            started = time.perf_counter()
            await coroutine
            self.durations.append(time.perf_counter() - started)

        await super().do_process_update(update, timed())


# --- the child process: fake Bot API and the citizens --------------------------------------------


def _message(api: FakeBotApi, tg_id: int, **content: Any) -> dict[str, Any]:
    update_id = api.next_update_id()
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": f"C{tg_id}", "language_code": "zh-hans"}, **content}}


def _press(api: FakeBotApi, tg_id: int, data: str, message_id: int) -> dict[str, Any]:
    update_id = api.next_update_id()
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "c", "data": data,
        "from": {"id": tg_id, "is_bot": False, "first_name": f"C{tg_id}", "language_code": "zh-hans"},
        "message": {"message_id": message_id, "date": int(time.time()), "chat": {"id": tg_id, "type": "private"}, "text": "x"}}}


def _button(api: FakeBotApi, tg_id: int, prefix: str, used: set[str]) -> tuple[str, int] | None:
    for sent in reversed(api.messages(tg_id)):
        for button in sent.buttons():
            data = button.get("callback_data", "")
            if data.startswith(prefix) and data not in used:
                return data, sent.message_id
    return None


async def _citizen(api: FakeBotApi, index: int, photo: bytes, waits: list[float]) -> None:
    tg_id = 10_000 + index
    used: set[str] = set()

    async def step(update: dict[str, Any], ready) -> Any:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        await api.push_update(update)
        result: list[Any] = []

        def check() -> bool:
            found = ready()
            if found:
                result.append(found)
            return bool(found)

        await api.wait_for(check, timeout=300)
        waits.append(time.perf_counter() - started)
        return result[0]

    def has_location_keyboard() -> bool:
        return any(b.get("request_location") for m in api.messages(tg_id) for b in m.buttons())

    fake = api.add_file(photo)
    await step(_message(api, tg_id, photo=[{"file_id": fake.file_id, "file_unique_id": fake.file_id,
                                           "width": 64, "height": 48, "file_size": len(photo)}]), has_location_keyboard)
    top = await step(_message(api, tg_id, location={"latitude": 29.5 + index * 0.002, "longitude": 121.5}),
                     lambda: _button(api, tg_id, "r:top:", used))
    used.add(top[0])
    top_data = top[0].rsplit(":", 1)[0] + ":municipal"
    sub = await step(_press(api, tg_id, top_data, top[1]), lambda: _button(api, tg_id, "r:cat:", used))
    manhole = next(b["callback_data"] for m in api.messages(tg_id) for b in m.buttons()
                   if b.get("callback_data", "").endswith("municipal.manhole"))
    skip = await step(_press(api, tg_id, manhole, sub[1]), lambda: _button(api, tg_id, "r:skip:", used))
    used.add(skip[0])
    submit = await step(_press(api, tg_id, skip[0], skip[1]),
                        lambda: _button(api, tg_id, "r:submit:", used) or _button(api, tg_id, "r:anyway:", used))
    await step(_press(api, tg_id, submit[0], submit[1]),
               lambda: any("案件编号" in m.text or "case <b>" in m.text for m in api.messages(tg_id)))


async def _echo_citizen(api: FakeBotApi, index: int, waits: list[float]) -> None:
    tg_id = 10_000 + index
    for number in range(STEPS):
        started = time.perf_counter()
        count = len(api.messages(tg_id))
        if number % 2:
            await api.push_update(_press(api, tg_id, "echo", 1))
        else:
            await api.push_update(_message(api, tg_id, text=f"hello {number}"))
        await api.wait_for(lambda count=count: len(api.messages(tg_id)) > count, timeout=300)
        waits.append(time.perf_counter() - started)


async def _serve(connection: Any, citizens: int, echo: bool) -> None:
    api = FakeBotApi()
    await api.start()
    loop = asyncio.get_running_loop()
    connection.send(api.url)
    await loop.run_in_executor(None, connection.recv)  # the bot is polling
    waits: list[float] = []
    photo = jpeg(size=(1280, 960))
    started = time.perf_counter()
    if echo:
        await asyncio.gather(*(_echo_citizen(api, i, waits) for i in range(citizens)))
    else:
        await asyncio.gather(*(_citizen(api, i, photo, waits) for i in range(citizens)))
    elapsed = time.perf_counter() - started
    connection.send((elapsed, waits))
    await loop.run_in_executor(None, connection.recv)
    await api.stop()


def _child(connection: Any, citizens: int, echo: bool) -> None:
    asyncio.run(_serve(connection, citizens, echo))


# --- this process: the bot -----------------------------------------------------------------------


async def _run_bot(application: Application, processor: TimedProcessor, connection: Any,
                   webhook: tuple[str, str] | None) -> tuple[float, list[float]]:
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    poller = None
    if webhook:
        await application.bot.set_webhook(webhook[0], secret_token=webhook[1])
    elif "runtime" in application.bot_data:  # Gridline polls as `gridline run` does
        from bot.app import update_poller

        poller = update_poller(application)
        poller.start()
    else:
        await application.updater.start_polling(poll_interval=0, timeout=10)
    connection.send("ready")
    elapsed, waits = await asyncio.get_running_loop().run_in_executor(None, connection.recv)
    if poller is not None:
        await poller.stop()
    elif not webhook:
        await application.updater.stop()
    await application.stop()
    if application.post_stop:
        await application.post_stop(application)
    await application.shutdown()
    connection.send("done")
    return elapsed, waits


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] if len(values) > 1 else values[0]


def _gridline(url: str, token: str, data_dir: Path, processor: TimedProcessor,
              webhook: tuple[str, str] | None = None) -> Application:
    from bot.app import build_application
    from bot.settings import Settings
    from handlers.runtime import Runtime
    from storage.catalog import load_catalog
    from storage.clock import SystemClock
    from storage.db import Store, upgrade_schema

    hook = {"webhook_url": webhook[0], "webhook_secret": webhook[1], "http_port": int(webhook[0].split(":")[2].split("/")[0])} \
        if webhook else {"http_port": 0}
    settings = Settings(_env_file=None, bot_token=token, api_url=url, data_dir=data_dir, **hook)
    upgrade_schema(settings.database_url)
    runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(), catalog=load_catalog())
    application = build_application(runtime)
    application._update_processor = processor  # the same per-chat processor, with a stopwatch
    return application


def _echo(url: str, token: str, processor: TimedProcessor) -> Application:
    async def echo_text(update: Update, context: Any) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    async def echo_button(update: Update, context: Any) -> None:
        await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, "pressed")

    application = (ApplicationBuilder().token(token).base_url(f"{url}/bot").base_file_url(f"{url}/file/bot")
                   .concurrent_updates(processor).build())
    application.add_handler(MessageHandler(filters.TEXT, echo_text))
    application.add_handler(CallbackQueryHandler(echo_button))
    return application


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(citizens: int, echo: bool, webhook: bool = False) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, citizens, echo))
    process.start()
    url = parent.recv()
    token = FakeBotApi().token
    processor = TimedProcessor(256)
    with tempfile.TemporaryDirectory() as folder:
        hook = (f"http://127.0.0.1:{_free_port()}/telegram/hook", "bench-secret") if webhook else None
        application = _echo(url, token, processor) if echo else _gridline(url, token, Path(folder), processor, hook)
        elapsed, waits = asyncio.run(_run_bot(application, processor, parent, hook))
    process.join()
    durations = processor.durations
    return {
        "reports_per_minute": citizens / elapsed * 60,
        "elapsed_s": elapsed,
        "updates": len(durations),
        "p50_ms": _quantile(durations, 0.50) * 1000,
        "p95_ms": _quantile(durations, 0.95) * 1000,
        "wait_p50_ms": _quantile(waits, 0.50) * 1000,
        "wait_p95_ms": _quantile(waits, 0.95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--webhook", action="store_true", help="also run Gridline in webhook mode")
    args = parser.parse_args()
    gridline = measure(args.citizens, echo=False)
    if args.webhook:
        hooked = measure(args.citizens, echo=False, webhook=True)
        print(f"webhook: {hooked['updates'] / hooked['elapsed_s']:.1f} updates/s, {hooked['reports_per_minute']:.0f} "
              f"reports/min; polling: {gridline['updates'] / gridline['elapsed_s']:.1f} updates/s, "
              f"{gridline['reports_per_minute']:.0f} reports/min")
    floor = measure(args.citizens, echo=True)
    print(f"citizens: {args.citizens}, {STEPS} updates each, SQLite, 1 bot process")
    print(f"{'':10} {'reports/min':>12} {'updates':>8} {'p50 ms':>8} {'p95 ms':>8} {'wait p50':>9} {'wait p95':>9}")
    for name, figures in (("gridline", gridline), ("echo", floor)):
        print(f"{name:10} {figures['reports_per_minute']:12.0f} {figures['updates']:8.0f} {figures['p50_ms']:8.1f} "
              f"{figures['p95_ms']:8.1f} {figures['wait_p50_ms']:9.1f} {figures['wait_p95_ms']:9.1f}")
    print(f"p95 per update, gridline / echo: {gridline['p95_ms'] / floor['p95_ms']:.2f}x")


if __name__ == "__main__":
    main()
