"""The bot as it runs for real: `gridline run` polls the (fake) Bot API, answers, sends queued
messages by itself, stops cleanly on SIGTERM, and never shows its token."""

from __future__ import annotations

import asyncio
import os
import socket
import signal
import sys
import time

import aiohttp

from bot.app import start_background, stop_background
from storage import cases
from tests.stories import submit_manhole


def update_from(tg_id: int, update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else [],
            "chat": {"id": tg_id, "type": "private"},
            "from": {"id": tg_id, "is_bot": False, "first_name": "Chen", "language_code": "en"},
        },
    }


async def test_gridline_run_answers_and_stops_cleanly_on_sigterm(api, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    port = free_port()
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(tmp_path),
                "GRIDLINE_HTTP_PORT": str(port)})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.push_update(update_from(777, 1, "/start"))
        await api.wait_for(lambda: any("Hello, Chen" in m.plain for m in api.messages(777)), timeout=30)
        await api.push_update(update_from(777, 2, "/mycases"))
        await api.wait_for(lambda: any("no reports yet" in m.plain for m in api.messages(777)), timeout=30)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                health = (response.status, await response.json())
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "Gridline stopped" in log
    assert api.token not in log and api.token.split(":")[1] not in log
    assert len(api.methods("setMyCommands")) == 3
    assert health == (200, {"status": "ok", "store": True, "bot_api": True, "sync_lag_seconds": None})
    assert "gridline_updates_total 2" in metrics and 'gridline_outbox_messages{status="pending"} 0' in metrics


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_queued_messages_go_out_without_being_asked(world, api):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    await start_background(world.app)
    try:
        async with world.store.transaction() as session:
            await cases.accept_case(session, case.id, None, world.clock.now())
        await api.wait_for(lambda: "was accepted" in citizen.last().plain)
    finally:
        await stop_background(world.app)


def test_the_token_is_cut_out_of_log_lines_and_tracebacks():
    import logging

    from bot.logs import RedactingFormatter

    token = "123456:SECRET-token"
    formatter = RedactingFormatter([token])
    try:
        raise RuntimeError(f"The token `{token}` was rejected by the server.")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "GET /bot%s/getMe", (token,), sys.exc_info())
    text = formatter.format(record)
    assert token not in text and text.count("<redacted>") == 2


async def test_healthz_says_when_the_bot_api_is_down_and_metrics_count_cases(world, api):
    from bot.web import HttpFace

    citizen = world.person(language_code="en")
    await submit_manhole(citizen)
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{face.port}/metrics") as response:
                metrics = await response.text()
            await api.stop()  # Telegram unreachable
            async with http.get(f"http://127.0.0.1:{face.port}/healthz") as response:
                down = (response.status, await response.json())
    finally:
        await face.stop()
        await api.start()
    assert 'gridline_cases{state="reported"} 1' in metrics and "gridline_handler_errors_total 0" in metrics
    assert down[0] == 503 and down[1]["bot_api"] is False and down[1]["store"] is True


async def test_webhook_mode_takes_updates_only_with_the_secret(api, tmp_path):
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(tmp_path),
                "GRIDLINE_HTTP_PORT": str(port), "GRIDLINE_WEBHOOK_URL": hook, "GRIDLINE_WEBHOOK_SECRET": "s3cret-Value_1"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for(lambda: api.webhook is not None, timeout=30)
        assert api.webhook == {"url": hook, "secret_token": "s3cret-Value_1"}
        async with aiohttp.ClientSession() as http:
            refused = []
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with http.post(hook, json=update_from(888, 1, "/start"), headers=headers) as response:
                    refused.append(response.status)
            good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Value_1"}
            async with http.post(hook, data=b"{not json", headers=good) as response:
                refused.append(response.status)
            async with http.post(hook, json=update_from(888, 2, "/start"), headers=good) as response:
                accepted = response.status
        await api.wait_for(lambda: any("Hello, Chen" in m.plain for m in api.messages(888)), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert refused == [403, 403, 400] and accepted == 200
    assert process.returncode == 0, (stdout + stderr).decode()
    assert len([m for m in api.messages(888) if "Hello, Chen" in m.plain]) == 1
    assert "s3cret-Value_1" not in (stdout + stderr).decode()


def test_webhook_mode_without_a_secret_is_refused(tmp_path):
    from tests.test_cli import gridline

    result = gridline("run", env={"GRIDLINE_BOT_TOKEN": "1:x", "GRIDLINE_DATA_DIR": str(tmp_path),
                                  "GRIDLINE_WEBHOOK_URL": "https://bot.example.org/hook"}, cwd=tmp_path)
    assert result.returncode == 2 and "GRIDLINE_WEBHOOK_SECRET is not" in result.stderr


async def test_media_links_are_signed_expire_and_carry_no_exif(world, api):
    import io
    from datetime import timedelta

    from PIL import Image
    from sqlalchemy import select

    from bot import media
    from bot.web import HttpFace
    from storage.models import Photo
    from tests.harness import jpeg

    citizen = world.person(language_code="en")
    await citizen.send_file(jpeg(exif_gps=(29.85, 121.5)), "image/jpeg", "street.jpg")
    async with world.store.transaction() as session:
        photo = (await session.scalars(select(Photo))).one()
    key = media.media_key(api.token, None)
    good = media.sign(key, photo.id, world.clock.now() + timedelta(hours=1))
    old = media.sign(key, photo.id, world.clock.now() - timedelta(seconds=1))
    forged = media.sign(b"another key" * 3, photo.id, world.clock.now() + timedelta(hours=1))
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    statuses = {}
    try:
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{face.port}/media/"
            for name, token in (("good", good), ("old", old), ("forged", forged), ("tampered", good[:-2] + "AA"),
                                ("garbage", "%2e%2e%2fgridline.sqlite3"), ("path", "../gridline.sqlite3")):
                async with http.get(base + token) as response:
                    statuses[name] = response.status
                    if name == "good":
                        served = await response.read()
    finally:
        await face.stop()
    assert statuses == {"good": 200, "old": 410, "forged": 403, "tampered": 403, "garbage": 403, "path": 404}
    with Image.open(io.BytesIO(served)) as image:
        assert image.size == (64, 48) and not image.getexif()
