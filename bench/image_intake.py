"""Whether other people's answers stay fast while big pictures are being checked.

    .venv/bin/python bench/image_intake.py [--senders 5] [--side 6000] [--rounds 5] [--pool thread|process]

Several people each send a large but legal PNG as a file (default 6000 x 6000 = 36 MP, about 120 KB:
cheap to send, costly to decode), all at once; each round, other people do it again. Meanwhile another person sends
/help again and again (each one after the answer to the one before) and a monitor asks /healthz every
50 ms. The same is measured first for 3 s with no pictures at all.

Prints p50/p95/max of what the /help person waits for the answer and of the /healthz round trip, idle
and while the pictures are checked, and how long the pictures took. The fake Bot API, the people and
the monitor run in a child process, so they do not share the bot's event loop; Gridline runs here
with long polling, a SQLite store in a temporary folder and its HTTP face on a free port.

`--side 8944` is the case issue 13 measured (80 MP, now refused from the header before decoding).
`--pool process` checks pictures in a process pool instead of the default thread pool (for
comparison; the bot uses threads). Run it on an older checkout for the "before" figures: the script
only uses what every version has.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_telegram import FakeBotApi

HELPER = 9_000
SENDERS = 10_000
HEALTH_EVERY = 0.05
IDLE_SECONDS = 3.0


# --- the child process: fake Bot API, the people and the monitor ---------------------------------


def _png(side: int, shade: int) -> bytes:
    """A large PNG that compresses well (a gradient), distinct per sender."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((side, side))
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90), Image.new("L", (side, side), shade)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _message(api: FakeBotApi, tg_id: int, **content: Any) -> dict[str, Any]:
    update_id = api.next_update_id()
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": tg_id, "type": "private"},
        "from": {"id": tg_id, "is_bot": False, "first_name": f"P{tg_id}", "language_code": "en"}, **content}}


def _help(api: FakeBotApi) -> dict[str, Any]:
    return _message(api, HELPER, text="/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}])


async def _ask_help(api: FakeBotApi) -> float:
    before = len(api.messages(HELPER))
    started = time.perf_counter()
    await api.push_update(_help(api))
    await api.wait_for(lambda: len(api.messages(HELPER)) > before, timeout=600)
    return time.perf_counter() - started


async def _ask_health(http: Any, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url) as response:
        await response.read()
    return time.perf_counter() - started


async def _measure_while(api: FakeBotApi, http: Any, health_url: str, busy: asyncio.Future[Any]) -> tuple[list[float], list[float]]:
    """/help and /healthz latencies until `busy` is done."""
    helps: list[float] = []
    healths: list[float] = []

    def going() -> bool:
        return not busy.done()

    async def helper() -> None:
        while going():
            helps.append(await _ask_help(api))

    async def monitor() -> None:
        while going():
            healths.append(await _ask_health(http, health_url))
            await asyncio.sleep(HEALTH_EVERY)

    await asyncio.gather(helper(), monitor())
    return helps, healths


async def _send_pictures(api: FakeBotApi, pictures: list[bytes], round_number: int) -> float:
    started = time.perf_counter()
    counts = {}
    for index, content in enumerate(pictures):
        tg_id = SENDERS + round_number * 1000 + index  # new people each round: each starts a report
        counts[tg_id] = len(api.messages(tg_id))
        fake = api.add_file(content, suffix="png")
        await api.push_update(_message(api, tg_id, document={
            "file_id": fake.file_id, "file_unique_id": fake.file_id, "file_name": f"street-{round_number}.png",
            "mime_type": "image/png", "file_size": fake.file_size}))
    await api.wait_for(lambda: all(len(api.messages(t)) > n for t, n in counts.items()), timeout=600)
    return time.perf_counter() - started


async def _serve(connection: Any, senders: int, side: int, rounds: int) -> None:
    import aiohttp

    api = FakeBotApi()
    await api.start()
    loop = asyncio.get_running_loop()
    pictures = [_png(side, 40 * index % 256) for index in range(senders)]
    connection.send(api.url)
    http_port = await loop.run_in_executor(None, connection.recv)  # the bot is polling
    health_url = f"http://127.0.0.1:{http_port}/healthz"
    results: dict[str, Any] = {"png_bytes": len(pictures[0])}
    async with aiohttp.ClientSession() as http:
        await _ask_help(api)  # warm up: the helper's first /start-like round trip
        results["idle"] = await _measure_while(api, http, health_url, asyncio.ensure_future(asyncio.sleep(IDLE_SECONDS)))
        helps: list[float] = []
        healths: list[float] = []
        picture_times: list[float] = []
        replies: list[str] = []
        for round_number in range(rounds):
            busy = asyncio.ensure_future(_send_pictures(api, pictures, round_number))
            round_helps, round_healths = await _measure_while(api, http, health_url, busy)
            picture_times.append(busy.result())
            helps += round_helps
            healths += round_healths
        for index in range(senders):
            replies.append(api.messages(SENDERS + index)[-1].plain.split("\n")[0][:70])
        results["busy"] = (helps, healths)
        results["picture_seconds"] = picture_times
        results["replies"] = sorted(set(replies))
    connection.send(results)
    await loop.run_in_executor(None, connection.recv)
    await api.stop()


def _child(connection: Any, senders: int, side: int, rounds: int) -> None:
    asyncio.run(_serve(connection, senders, side, rounds))


# --- this process: the bot -----------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _use_process_pool() -> None:
    from concurrent.futures import ProcessPoolExecutor

    from storage import photos

    if not hasattr(photos, "image_checker"):
        sys.exit("this version has no image checker to replace; run without --pool process")
    photos.use_checker(ProcessPoolExecutor(photos.CHECKERS, mp_context=multiprocessing.get_context("forkserver")))


async def _run_bot(url: str, token: str, data_dir: Path, connection: Any) -> dict[str, Any]:
    from bot.app import build_application
    from bot.settings import Settings
    from handlers.runtime import Runtime
    from storage.catalog import load_catalog
    from storage.clock import SystemClock
    from storage.db import Store, upgrade_schema_async

    port = _free_port()
    settings = Settings(_env_file=None, bot_token=token, api_url=url, data_dir=data_dir, http_port=port)
    await upgrade_schema_async(settings.database_url)
    runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(), catalog=load_catalog())
    application = build_application(runtime)
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    try:  # poll as `gridline run` does; a version before bot.app.update_poller used PTB's updater
        from bot.app import update_poller
    except ImportError:
        update_poller = None
    poller = update_poller(application) if update_poller else None
    if poller is not None:
        poller.start()
    else:
        await application.updater.start_polling(poll_interval=0, timeout=10)
    connection.send(port)
    results = await asyncio.get_running_loop().run_in_executor(None, connection.recv)
    if poller is not None:
        await poller.stop()
    else:
        await application.updater.stop()
    await application.stop()
    if application.post_stop:
        await application.post_stop(application)
    await application.shutdown()
    connection.send("done")
    return results


def _figures(values: list[float]) -> str:
    if not values:
        return f"{'-':>8} {'-':>8} {'-':>8} {0:>6}"
    ordered = sorted(values)
    p95 = statistics.quantiles(ordered, n=100, method="inclusive")[94] if len(ordered) > 1 else ordered[0]
    return f"{statistics.median(ordered) * 1000:8.0f} {p95 * 1000:8.0f} {ordered[-1] * 1000:8.0f} {len(ordered):6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--side", type=int, default=6000, help="width and height of each PNG in pixels")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pool", choices=("thread", "process"), default="thread")
    args = parser.parse_args()
    if args.pool == "process":
        _use_process_pool()
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, args.senders, args.side, args.rounds))
    process.start()
    url = parent.recv()
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(_run_bot(url, FakeBotApi().token, Path(folder), parent))
    process.join()
    if args.pool == "process":
        from storage import photos

        photos.image_checker().shutdown()
    megapixels = args.side * args.side / 1e6
    print(f"{args.senders} senders x {args.rounds} rounds, PNG {args.side}x{args.side} ({megapixels:.0f} MP, "
          f"{results['png_bytes'] / 1024:.0f} KB), pool: {args.pool}")
    print(f"{'':16} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'n':>6}")
    print(f"{'/help idle':16} {_figures(results['idle'][0])}")
    print(f"{'/healthz idle':16} {_figures(results['idle'][1])}")
    print(f"{'/help busy':16} {_figures(results['busy'][0])}")
    print(f"{'/healthz busy':16} {_figures(results['busy'][1])}")
    print("seconds until every sender had an answer, per round: "
          + ", ".join(f"{s:.1f}" for s in results["picture_seconds"]))
    print("senders were told: " + " | ".join(results["replies"]))


if __name__ == "__main__":
    main()
