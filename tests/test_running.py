"""The bot as it runs for real: `gridline run` polls the (fake) Bot API, answers, sends queued
messages by itself, stops cleanly on SIGTERM, never shows its token, and stays alive when the
Bot API misbehaves (a spell of 401s, an update it cannot read, a 429 on a reply)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from contextlib import asynccontextmanager

import aiohttp

from bot.app import start_background, stop_background, update_poller
from storage import cases
from tests.harness import SteppedTime
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
            # Telegram starts refusing the token: /healthz says so, and a stop meanwhile is clean
            # (the recovery: test_a_spell_of_401s_... below).
            await api.refuse_token()
            await api.wait_for(lambda: api.refused >= 2, timeout=30)  # the second comes after the first was heard
            refused = await healthz(http, port)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "Gridline stopped" in log and "refuses the bot token" in log
    assert refused[0] == 503 and "401" in refused[1]["bot_api_problem"]
    assert api.token not in log and api.token.split(":")[1] not in log
    assert len(api.methods("setMyCommands")) == 3
    menus = {call.params.get("language_code"): call.params["commands"] for call in api.methods("setMyCommands")}
    assert {"command": "forget", "description": "删除我的个人信息"} in menus["zh"]  # a resident finds how to be forgotten
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

    from adapters import media_links as media
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


# --- when the Bot API misbehaves -------------------------------------------------------------

HELP = "How to report a problem"


@asynccontextmanager
async def polling(world):  # type: ignore[no-untyped-def]
    """The world's Application taking updates by long polling, as `gridline run` does."""
    await world.app.start()
    poller = update_poller(world.app)
    poller.start()
    try:
        yield poller
    finally:
        await poller.stop()
        await world.app.stop()


async def healthz(http: aiohttp.ClientSession, port: int) -> tuple[int, dict]:
    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


def answered(api, tg_id: int, text: str) -> bool:  # type: ignore[no-untyped-def]
    return any(text in m.plain for m in api.messages(tg_id))


async def test_a_spell_of_401s_is_waited_out_healthz_says_why_and_people_are_answered_after(world, api):
    """Telegram refuses the token for a while (python-telegram-bot's own polling gives up for good
    on the first 401): we keep asking with a growing, capped wait, /healthz is 503 and says why
    without the token, and when Telegram answers again a person's /help is answered."""
    stepped = SteppedTime().drive(world)
    from bot.web import HttpFace

    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    api.refusing_token = True
    try:
        async with polling(world), aiohttp.ClientSession() as http:
            await api.wait_for(lambda: api.refused >= 8)
            refused = await healthz(http, face.port)
            api.refusing_token = False
            await api.push_update(update_from(771, api.next_update_id(), "/help"))
            await api.wait_for(lambda: answered(api, 771, HELP))
            recovered = await healthz(http, face.port)
    finally:
        await face.stop()
    assert refused[0] == 503 and refused[1]["bot_api"] is False and refused[1]["store"] is True
    assert "401" in refused[1]["bot_api_problem"] and api.token.split(":")[1] not in json.dumps(refused[1])
    assert stepped.slept[:8] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert recovered == (200, {"status": "ok", "store": True, "bot_api": True, "sync_lag_seconds": None})


async def test_an_update_the_library_cannot_read_is_skipped_and_logged_once(world, api, caplog):
    """python-telegram-bot fails the whole getUpdates batch on one update it cannot parse, and
    asks for the same batch again, forever: nobody is answered. We pass over that one update."""
    async with polling(world):
        await api.push_update(update_from(781, api.next_update_id(), "/help"))
        unreadable = api.next_update_id()
        await api.push_update({"update_id": unreadable, "message": {"message_id": 1}})  # no date, no chat
        await api.push_update(update_from(782, api.next_update_id(), "/help"))
        await api.wait_for(lambda: answered(api, 781, HELP) and answered(api, 782, HELP))
    logged = [r for r in caplog.records if f"update {unreadable} cannot be read" in r.getMessage()]
    assert len(logged) == 1 and api.get_updates_calls < 10


async def test_the_webhook_refuses_what_is_not_an_update_and_handles_a_resent_update_once(world, api):
    from bot.web import HttpFace, Webhook

    await world.app.start()
    face = HttpFace(world.runtime, world.app.bot, Webhook("/hook", "s3cret", world.app.update_queue))
    await face.start("127.0.0.1", 0)
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    help_update = update_from(791, api.next_update_id(), "/help")
    try:
        async with aiohttp.ClientSession() as http:
            async def post(body: str) -> int:
                async with http.post(f"http://127.0.0.1:{face.port}/hook", data=body.encode(), headers=secret) as response:
                    return response.status

            not_updates = {name: await post(body) for name, body in (
                ("null", "null"), ("a list", json.dumps([help_update])), ("a number", "5"), ("a string", '"hi"'),
                ("an object without update_id", "{}"), ("a text id", '{"update_id": "7"}'))}
            twice = [await post(json.dumps(help_update)), await post(json.dumps(help_update))]
            unreadable = await post(json.dumps({"update_id": api.next_update_id(), "message": {"message_id": 1}}))
            await post(json.dumps(update_from(791, api.next_update_id(), "/mycases")))
            await api.wait_for(lambda: answered(api, 791, "no reports yet"))
    finally:
        await face.stop()
        await world.app.stop()
    assert set(not_updates.values()) == {400}, not_updates
    assert twice == [200, 200] and unreadable == 200
    # One chat's updates are handled in order: a second /help would have come before this answer.
    answers = [m.plain for m in api.messages(791)]
    assert len(answers) == 2 and HELP in answers[0] and "no reports yet" in answers[1]


async def test_an_update_resent_to_another_web_process_is_handled_once(world, api, clock):
    """Several web processes behind nginx: Telegram sends an update again (it did not hear our 200
    in time) and nginx gives the resend to the other process. The citizen gets one answer."""
    from bot.web import HttpFace, Webhook

    await world.app.start()
    faces = [HttpFace(world.runtime, world.app.bot, Webhook("/hook", "s3cret", world.app.update_queue)) for _ in (1, 2)]
    for face in faces:
        await face.start("127.0.0.1", 0)
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    help_update = update_from(795, api.next_update_id(), "/help")
    try:
        async with aiohttp.ClientSession() as http:
            async def post(face: HttpFace, update: dict) -> int:  # type: ignore[type-arg]
                async with http.post(f"http://127.0.0.1:{face.port}/hook", json=update, headers=secret) as response:
                    return response.status

            statuses = [await post(faces[0], help_update), await post(faces[1], help_update)]
            await post(faces[1], update_from(795, api.next_update_id(), "/mycases"))
            await api.wait_for(lambda: answered(api, 795, "no reports yet"))
            # A day later the store has forgotten the id (Telegram keeps an update 24 hours at most).
            clock.advance(hours=25)
            from bot.timers import forget_old_updates
            forgotten = await forget_old_updates(world.runtime)
    finally:
        for face in faces:
            await face.stop()
        await world.app.stop()
    assert statuses == [200, 200]
    answers = [m.plain for m in api.messages(795)]
    assert len(answers) == 2 and HELP in answers[0] and "no reports yet" in answers[1]
    assert forgotten == 2


async def test_a_429_on_a_direct_reply_is_waited_out_and_the_reply_arrives(world, api):
    stepped = SteppedTime().drive(world)
    citizen = world.person(language_code="en")
    api.flood[citizen.tg_id] = 1  # the next call to this chat answers 429, retry after 1 s
    await citizen.say("/help")
    assert HELP in citizen.last().plain and stepped.slept == [1]
    assert not api.flood and len(api.methods("sendMessage")) == 2  # refused once, then sent


async def test_sigterm_in_a_big_send_ends_within_20_seconds_leaving_the_rest_queued(api, tmp_path):
    """The sends in flight finish; the rest stays queued, unclaimed, for the next start."""
    from sqlalchemy import func, select

    from handlers.i18n import N_
    from storage import outbox, people
    from storage.clock import SystemClock
    from storage.db import Store, upgrade_schema_async
    from storage.models import OutboundMessage

    url = f"sqlite+aiosqlite:///{tmp_path / 'gridline.sqlite3'}"
    await upgrade_schema_async(url)
    store = Store(url)
    recipients = list(range(980_001, 980_101))
    now = SystemClock().now()
    async with store.transaction() as session:
        for tg_id in recipients:
            person = await people.ensure_person(session, tg_id, f"P{tg_id}", "en", now)
            await outbox.enqueue(session, person.id, outbox.NoticePayload(N_("Nothing is waiting for you. 👍")), now)

    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(tmp_path),
                "GRIDLINE_HTTP_PORT": "0", "GRIDLINE_INSTANCE": "worker-1"})

    gate = api.hold_sends()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await api.wait_for(lambda: api.sends_waiting >= 1, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        asked_at = time.monotonic()
        gate.set()
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    stopped_in = time.monotonic() - asked_at
    first_run = (stdout + stderr).decode()
    delivered = sum(len(api.messages(tg_id)) for tg_id in recipients)
    async with store.transaction() as session:
        rows = dict((await session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status))).all())
        claimed = await session.scalar(select(func.count()).where(OutboundMessage.claimed_until.is_not(None)))
    await store.close()
    assert process.returncode == 0
    assert stopped_in < 20 and "Gridline stopped" in first_run, first_run
    assert 1 <= delivered < len(recipients) and rows == {"sent": delivered, "pending": len(recipients) - delivered}
    assert claimed == 0  # free for the next start (tests/test_sending.py: sent once after it)
