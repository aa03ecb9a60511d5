"""The bot as it runs for real: `gridline run` polls the (fake) Bot API, answers, sends queued
messages by itself, stops cleanly on SIGTERM, and never shows its token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

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
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(tmp_path)})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.push_update(update_from(777, 1, "/start"))
        await api.wait_for(lambda: any("Hello, Chen" in m.plain for m in api.messages(777)), timeout=30)
        await api.push_update(update_from(777, 2, "/mycases"))
        await api.wait_for(lambda: any("no reports yet" in m.plain for m in api.messages(777)), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "Gridline stopped" in log
    assert api.token not in log and api.token.split(":")[1] not in log
    assert len(api.methods("setMyCommands")) == 3


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
