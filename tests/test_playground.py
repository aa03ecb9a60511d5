"""The playground (issue 19): the real Gridline against the Bot API stand-in, driven from a browser
by clicking and typing only, as a newcomer would; and the stand-in refusing what Telegram refuses."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from adapters.bot_api_standin import TOKEN, BotApiStandIn
from tests.browser import browser_page  # noqa: F401 - a fixture
from tests.test_processes import free_port, listening

pytestmark = pytest.mark.timeout(150)


# --- the stand-in answers like Telegram ---------------------------------------------------------

@pytest.fixture
async def standin():  # type: ignore[no-untyped-def]
    api = BotApiStandIn()
    await api.start()
    api.add_person(2001, "Chen", "en", started=True)
    api.add_person(2002, "Blocker", "en", started=True).blocked = True
    try:
        yield api
    finally:
        await api.stop()


async def call(api: BotApiStandIn, method: str, **params):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http, http.post(f"{api.url}/bot{TOKEN}/{method}", json=params) as response:
        return response.status, await response.json()


async def test_the_stand_in_refuses_what_telegram_refuses(standin):
    ok, sent = await call(standin, "sendMessage", chat_id=2001, text="<b>Case</b> 12 &amp; more", parse_mode="HTML")
    assert ok == 200 and sent["result"]["text"] == "Case 12 & more"
    too_long = await call(standin, "sendMessage", chat_id=2001, text="x" * 4097)
    assert too_long == (400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"})
    # Tags do not count: 4,096 characters inside <b> are fine; one emoji counts two.
    assert (await call(standin, "sendMessage", chat_id=2001, text=f"<b>{'x' * 4096}</b>", parse_mode="HTML"))[0] == 200
    assert (await call(standin, "sendMessage", chat_id=2001, text="😀" * 2049))[0] == 400
    status, body = await call(standin, "sendMessage", chat_id=2001, text="a < b", parse_mode="HTML")
    assert status == 400 and body["description"].startswith("Bad Request: can't parse entities")
    status, body = await call(standin, "sendMessage", chat_id=2001, text="<script>x</script>", parse_mode="HTML")
    assert status == 400 and "unsupported start tag" in body["description"]
    status, body = await call(standin, "sendMessage", chat_id=2001, text="<b>open", parse_mode="HTML")
    assert status == 400 and "can't parse entities" in body["description"]
    button = {"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 65}]]}
    status, body = await call(standin, "sendMessage", chat_id=2001, text="press", reply_markup=button)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    status, body = await call(standin, "sendPhoto", chat_id=2001, photo="no-such-file", caption="c")
    assert status == 400
    assert (await call(standin, "sendMessage", chat_id=999, text="hi"))[1]["description"] == "Bad Request: chat not found"
    assert (await call(standin, "sendMessage", chat_id=2002, text="hi"))[1] == {
        "ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    standin.add_person(2003, "Stranger", None)
    assert (await call(standin, "sendMessage", chat_id=2003, text="hi"))[0] == 403  # never opened the bot
    # Nothing refused reached the chat: the page shows only what Telegram would have shown.
    assert [m.text for m in standin.chat(2001).messages] == ["<b>Case</b> 12 &amp; more", f"<b>{'x' * 4096}</b>"]


async def test_an_edit_that_changes_nothing_is_refused_and_a_real_edit_is_kept(standin):
    markup = {"inline_keyboard": [[{"text": "Accept", "callback_data": "t:acc:1"}]]}
    _, sent = await call(standin, "sendMessage", chat_id=2001, text="Task 1", reply_markup=markup)
    message_id = sent["result"]["message_id"]
    same = await call(standin, "editMessageText", chat_id=2001, message_id=message_id, text="Task 1", reply_markup=markup)
    assert same[0] == 400 and "message is not modified" in same[1]["description"]
    assert (await call(standin, "editMessageReplyMarkup", chat_id=2001, message_id=message_id, reply_markup=markup))[0] == 400
    assert (await call(standin, "editMessageText", chat_id=2001, message_id=message_id, text="Task 1 · accepted"))[0] == 200
    edited = standin.chat(2001).messages[-1]
    assert (edited.text, edited.reply_markup, edited.edits) == ("Task 1 · accepted", None, 1)
    assert (await call(standin, "editMessageText", chat_id=2001, message_id=12345, text="x"))[0] == 400


async def test_what_a_person_does_reaches_the_bot_as_telegram_updates(standin):
    await standin.person_says(2001, "/start")
    _, updates = await call(standin, "getUpdates", timeout=0)
    message = updates["result"][0]["message"]
    assert message["text"] == "/start" and message["entities"][0]["type"] == "bot_command"
    assert message["from"]["language_code"] == "en"
    markup = {"inline_keyboard": [[{"text": "Accept", "callback_data": "t:acc:1"}]]}
    _, sent = await call(standin, "sendMessage", chat_id=2001, text="Task", reply_markup=markup)
    await standin.person_presses(2001, sent["result"]["message_id"], "t:acc:1")
    _, updates = await call(standin, "getUpdates", offset=updates["result"][0]["update_id"] + 1, timeout=0)
    query = updates["result"][0]["callback_query"]
    assert query["data"] == "t:acc:1"
    assert (await call(standin, "answerCallbackQuery", callback_query_id=query["id"], text="x" * 201))[0] == 400
    assert (await call(standin, "answerCallbackQuery", callback_query_id=query["id"], text="Accepted"))[0] == 200
    assert [(n.chat_id, n.text) for n in standin.notices] == [(2001, "Accepted")]
    with pytest.raises(Exception, match="no such button"):  # a forged press cannot be made from the page
        await standin.person_presses(2001, sent["result"]["message_id"], "t:acc:2")


# --- the playground in a browser ------------------------------------------------------------------

async def start_playground(tmp_path: Path, *command: str) -> tuple[asyncio.subprocess.Process, int, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_DATA_DIR": str(tmp_path), "GRIDLINE_HTTP_PORT": str(port), "PYTHONPATH": str(Path.cwd())})
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    log = tmp_path / "playground.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *command, env=env, stdout=out,
                                                       stderr=out, cwd=tmp_path)
    await listening(process, port)
    assert process.returncode is None, log.read_text()
    return process, port, log


async def stop_playground(process: asyncio.subprocess.Process, log: Path) -> str:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=60)
    text = await asyncio.to_thread(log.read_text)
    assert process.returncode == 0, text
    assert "Traceback" not in text and "refused" not in text, text  # the bot never sent what Telegram refuses
    return text


def chat(page):  # type: ignore[no-untyped-def]
    return page.locator("#messages")


async def be(page, tg_id: int) -> None:  # type: ignore[no-untyped-def]
    await page.click(f"[data-person='{tg_id}']")


async def say(page, text: str) -> None:  # type: ignore[no-untyped-def]
    await page.fill("#text", text)
    await page.click("#send")


async def tap(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """Press the newest inline button that says `label` (as a person's thumb would)."""
    from playwright.async_api import expect

    button = page.locator(".inline-btn", has_text=label).last
    await expect(button).to_be_visible(timeout=30_000)
    await button.click()


async def test_a_citizen_reports_by_clicking_and_the_worker_accepting_reaches_them(browser_page, tmp_path):
    from playwright.async_api import expect

    page = browser_page
    process, port, log = await start_playground(tmp_path, "play", "--reset", "--no-browser")
    try:
        await page.goto(f"http://127.0.0.1:{port}/play")
        await expect(page.locator("#banner")).to_contain_text("Telegram")
        await page.click("[data-lang='en']")
        await expect(page.locator("#banner")).to_contain_text("Not connected to Telegram")
        await be(page, 2001)
        await say(page, "/start")
        await expect(chat(page)).to_contain_text("Hello, 小陈 Chen!", timeout=30_000)
        await page.locator(".reply-btn", has_text="Report a problem").click()
        await expect(chat(page)).to_contain_text("Send a photo of the problem", timeout=30_000)
        await page.click("#photo-button")
        await page.click(".sample[data-sample='bin']")
        await expect(chat(page)).to_contain_text("Where is it?", timeout=30_000)
        await page.click("#location-button")
        await page.locator("#picker polygon", has=page.locator("title", has_text="HS-01-01-G1")).first.click()
        await tap(page, "City appearance")
        await tap(page, "Overflowing bins")
        await expect(chat(page)).to_contain_text("Add a few words", timeout=30_000)
        await say(page, "The bin by gate 3 overflows")
        await tap(page, "Submit")
        await expect(chat(page)).to_contain_text("Your report is case", timeout=30_000)
        # What a person typed is shown as text, never run as markup.
        await say(page, "<img src=x onerror=\"window.hacked=1\"> <b>bold?</b>")
        await expect(chat(page)).to_contain_text("<b>bold?</b>")
        assert await page.evaluate("window.hacked") is None
        await expect(chat(page)).to_contain_text("<img src=x onerror=")
        await expect(page.locator("#messages img[src='x']")).to_have_count(0)

        await be(page, 2101)  # worker Wang (Chinese)
        await expect(chat(page)).to_contain_text("任务", timeout=30_000)
        await expect(chat(page)).to_contain_text("The bin by gate 3")
        await expect(page.locator("#messages .location svg").first).to_be_visible()
        if os.environ.get("GRIDLINE_PLAYGROUND_SCREENSHOT"):
            await page.screenshot(path=os.environ["GRIDLINE_PLAYGROUND_SCREENSHOT"])
        await tap(page, "接单")
        await expect(page.locator(".msg.bot").last).to_contain_text("处理中", timeout=30_000)

        await be(page, 2001)
        await expect(chat(page)).to_contain_text("has started", timeout=30_000)
    finally:
        await stop_playground(process, log)


async def test_run_bot_without_a_token_is_the_playground_and_a_call_out_reaches_the_responders(browser_page, tmp_path):
    from playwright.async_api import expect

    page = browser_page
    process, port, log = await start_playground(tmp_path, "run", "--play-without-token")
    try:
        await page.goto(f"http://127.0.0.1:{port}/play#2301")  # commander Zhao
        await say(page, "/mobilize")
        for label in ("鼓楼街道", "青石社区", "📂 HS-01-01-G1 网格", "HS-01-01-G1-M1 微网格", "下一步"):
            await tap(page, label)
        await expect(page.locator(".msg.bot").last).to_contain_text("2/3", timeout=30_000)
        await tap(page, "下一步")
        await tap(page, "汛情")
        await expect(chat(page)).to_contain_text("请输入指令", timeout=30_000)
        await say(page, "带沙袋到北门")
        await tap(page, "不设集合点")
        await tap(page, "不限")
        await tap(page, "立即发送")
        await expect(chat(page)).to_contain_text("未回复: 3", timeout=30_000)

        await be(page, 2401)  # Ann
        await expect(chat(page)).to_contain_text("带沙袋到北门", timeout=30_000)
        await tap(page, "马上到")
        await be(page, 2402)  # Bo reads English
        await tap(page, "Can't come")
        await be(page, 2301)
        await expect(page.locator(".msg.bot", has_text="马上到: 1")).to_contain_text("无法前往: 1", timeout=30_000)
    finally:
        text = await stop_playground(process, log)
    assert "GRIDLINE_BOT_TOKEN is not set, so the playground starts instead" in text


async def test_the_page_api_refuses_what_it_cannot_do(tmp_path):
    process, port, log = await start_playground(tmp_path, "play", "--no-browser")
    base = f"http://127.0.0.1:{port}/play/api"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/people") as response:
                people = (await response.json())["people"]
            roles = {p["role"] for p in people}
            assert roles == {"citizen", "worker", "leader", "dispatcher", "responder"}
            async with http.post(f"{base}/chat/424242/text", json={"text": "hi"}) as response:
                assert response.status == 404
            async with http.post(f"{base}/chat/2001/photo", data=b"not a picture") as response:
                assert response.status == 400 and "IMAGE_PROCESS_FAILED" in (await response.json())["error"]
            async with http.post(f"{base}/chat/2001/press", json={"message_id": 1, "data": "t:acc:1"}) as response:
                assert response.status == 400
            async with http.post(f"{base}/chat/2001/location", json={"lat": "north", "lon": 1}) as response:
                assert response.status == 400
            async with http.get(f"{base}/map") as response:
                assert any(f["code"] == "HS-01-01-G1" for f in json.loads(await response.text())["features"])
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert (await response.json())["bot_api"] is True
            # The demo came staffed with past cases: the commander's /stats counts them, per grid.
            async with http.post(f"{base}/chat/2301/text", json={"text": "/stats"}) as response:
                assert response.status == 200
            version, texts = -1, ""
            while "按网格" not in texts:
                async with http.get(f"{base}/chat/2301", params={"since": version}) as response:
                    answer = await response.json()
                version, texts = answer["version"], " ".join(m["text"] for m in answer["messages"])
            assert "36 件" in texts and "HS-01-01-G1 网格" in texts and "HS-01-01-G2 网格" in texts
    finally:
        await stop_playground(process, log)
    # A restart keeps the store and the chats; --reset starts over.
    for command, kept in ((("play", "--no-browser"), True), (("play", "--reset", "--no-browser"), False)):
        process, port, log = await start_playground(tmp_path, *command)
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/play/api/chat/2301") as response:
                texts = " ".join(m["text"] for m in (await response.json())["messages"])
            assert ("36 件" in texts) is kept
        finally:
            text = await stop_playground(process, log)
        assert ("kept from last time" in text) is kept


async def test_the_page_draws_telegrams_html_and_nothing_else(browser_page, standin, unused_tcp_port):
    """Only Telegram's tags are drawn; a link to javascript: is no link; albums, pins, edits and
    button answers look as in Telegram."""
    from aiohttp import web
    from playwright.async_api import expect

    from adapters.playground_web import PlaygroundWeb, PlayPerson
    from tests.harness import jpeg

    PlaygroundWeb(standin, [PlayPerson(2001, "Chen", "citizen", None, (), "en")]).routes(app := web.Application())
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    page = browser_page
    try:
        await page.goto(f"http://127.0.0.1:{unused_tcp_port}/play#2001")
        await call(standin, "sendMessage", chat_id=2001, parse_mode="HTML",
                   text='<b>Bold</b> <a href="javascript:window.hacked=1">click</a> <tg-spoiler>secret</tg-spoiler> '
                        '&lt;script&gt;window.hacked=2&lt;/script&gt;')
        await expect(page.locator(".msg.bot b")).to_have_text("Bold")
        await expect(page.locator(".msg.bot .spoiler")).to_have_text("secret")
        assert await page.locator(".msg.bot a").get_attribute("href") is None
        await page.locator(".msg.bot a").click()
        await expect(page.locator(".msg.bot")).to_contain_text("<script>window.hacked=2</script>")
        assert await page.evaluate("window.hacked") is None
        first, second = standin.add_file(jpeg()), standin.add_file(jpeg())
        for stored in (first, second):
            stored.width, stored.height = 64, 48
        await call(standin, "sendMediaGroup", chat_id=2001, media=[
            {"type": "photo", "media": first.file_id, "caption": "two photos"}, {"type": "photo", "media": second.file_id}])
        await expect(page.locator(".msg.bot .album img")).to_have_count(2)
        _, sent = await call(standin, "sendLocation", chat_id=2001, latitude=29.8505, longitude=121.5005)
        await expect(page.locator(".msg.bot .location svg .pin")).to_have_count(1)
        markup = {"inline_keyboard": [[{"text": "Accept", "callback_data": "t:acc:1"}]]}
        _, sent = await call(standin, "sendMessage", chat_id=2001, text="Task 1", reply_markup=markup)
        await call(standin, "editMessageText", chat_id=2001, message_id=sent["result"]["message_id"], text="Task 1 · taken")
        await expect(page.locator(".msg.bot").last).to_contain_text("edited")
        await call(standin, "sendMessage", chat_id=2001, text="Pick one",
                   reply_markup={"keyboard": [[{"text": "📷 Report a problem"}]], "resize_keyboard": True})
        await expect(page.locator(".reply-btn")).to_have_text(["📷 Report a problem"])
    finally:
        await runner.cleanup()


def test_the_playground_contacts_nothing_outside_the_machine(tmp_path):
    from pydantic import SecretStr

    from bot.cli.play import playground_settings
    from bot.settings import Settings

    wide = Settings(_env_file=None, data_dir=tmp_path, upstream_url="https://city.example/open311",
                    upstream_api_key=SecretStr("k"), cap_feeds=["https://alerts.example/feed"],
                    webhook_url="https://bot.example/hook", webhook_secret=SecretStr("s"), http_host="0.0.0.0",
                    public_url="https://bot.example", db_url="postgresql://city/db")
    settings = playground_settings(wide, 8080)
    assert (settings.upstream_url, settings.cap_feeds, settings.webhook_url, settings.public_url) == (None, [], None, None)
    assert settings.http_host == "127.0.0.1" and settings.http_port == 8080
    assert settings.database_url.endswith(f"{tmp_path / 'playground' / 'gridline.sqlite3'}")


def test_gridline_play_has_help():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "bot.cli", "play", "--help"], capture_output=True, text=True,
                            env=os.environ | {"PYTHONPATH": str(Path.cwd())}, timeout=60)
    assert result.returncode == 0 and "--reset" in result.stdout and "/play" in result.stdout


async def test_a_photo_over_the_pages_limit_is_refused_in_the_pages_language(browser_page, tmp_path):
    from playwright.async_api import expect

    page = browser_page
    process, port, log = await start_playground(tmp_path, "play", "--reset", "--no-browser")
    try:
        await page.goto(f"http://127.0.0.1:{port}/play")
        await page.click("[data-lang='zh']")
        await be(page, 2001)
        await say(page, "/start")
        await expect(chat(page)).to_contain_text("小陈", timeout=30_000)
        shown = await chat(page).inner_text()
        await page.click("#photo-button")
        await page.locator(".upload input").set_input_files(
            {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8" + b"\0" * (12 * 1024 * 1024)})
        await expect(page.locator("#toasts")).to_contain_text("超过 12 MB")
        assert await chat(page).inner_text() == shown  # nothing was sent
    finally:
        await stop_playground(process, log)
