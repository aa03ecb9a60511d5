"""More than one `gridline run` on one PostgreSQL store: workers share the queue and the timers
without sending anything twice; web processes share one person's conversation."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, text

from handlers.i18n import N_
from storage import outbox, people
from storage.catalog import load_catalog, sync_categories
from storage.db import Store
from storage.models import Case, OutboundMessage
from tests import templates
from tests.harness import jpeg
from tests.pg import PG_URL, throwaway_database
from tests.test_routing import IN_GRID

pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL server ./run tests starts"),
    # Several new Pythons and 1,200 sends through the fake Bot API: on a busy machine that can take
    # more than the suite's 60 s safety net. The stories' own waits (up to 180 s) are their limits.
    pytest.mark.timeout(300),
]
NOTICE = N_("Nothing is waiting for you. 👍")


@pytest.fixture
async def empty_database():
    async with throwaway_database("p") as url:
        yield url


@pytest.fixture
async def pg_url():
    """A database at the newest schema (a copy of this process's migrated one)."""
    async with templates.migrated_database() as url:
        yield url


async def test_processes_starting_together_migrate_the_store_once(empty_database):
    # Every `gridline run` brings the store up to date as it starts; after a release, all start at once.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")} | {"GRIDLINE_DB_URL": empty_database}
    upgrades = [await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "db", "upgrade", env=env,
                                                     stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                for _ in range(4)]
    outcomes = [await asyncio.wait_for(process.communicate(), timeout=120) for process in upgrades]
    assert [process.returncode for process in upgrades] == [0] * 4, outcomes
    assert all(b"The store is up to date." in stdout for stdout, _ in outcomes)
    store = Store(empty_database)
    async with store.transaction() as session:
        assert (await session.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one() == 1
        assert (await session.scalars(select(OutboundMessage))).all() == []  # the newest tables are there
    await store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start(api, url: str, data_dir: Path, name: str, role: str, **extra: str):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(data_dir),
                "GRIDLINE_DB_URL": url, "GRIDLINE_INSTANCE": name, "GRIDLINE_HTTP_PORT": "0",
                "GRIDLINE_SEND_PER_SECOND": "500", "GRIDLINE_CHAT_INTERVAL_SECONDS": "0", "GRIDLINE_QUIET_HOURS": "",
                **extra})
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", "--role", role, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    if env["GRIDLINE_HTTP_PORT"] != "0":
        await listening(process, int(env["GRIDLINE_HTTP_PORT"]))
    return process


async def listening(process, port: int) -> None:  # type: ignore[no-untyped-def]
    """Wait until the process takes connections on `port` (a new Python on a busy machine may take
    many seconds to get there), or has ended; the stories then talk to a process that is up."""
    deadline = asyncio.get_running_loop().time() + 50  # a safety net only
    while process.returncode is None and asyncio.get_running_loop().time() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def stop(process) -> str:  # type: ignore[no-untyped-def]
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    return log


async def test_two_workers_send_1000_messages_and_200_reminders_exactly_once(api, pg_url, tmp_path):
    store = Store(pg_url)
    now = datetime.now(UTC)
    async with store.transaction() as session:
        await sync_categories(session, load_catalog())
        for i in range(1000):
            person = await people.ensure_person(session, 100_000 + i, f"R{i}", "en", now)
            await outbox.enqueue(session, person.id, outbox.NoticePayload(NOTICE), now)
        for i in range(200):
            worker = await people.ensure_person(session, 200_000 + i, f"W{i}", "en", now)
            created = now - timedelta(hours=2, minutes=30)  # a 4-hour case past half its time
            session.add(Case(number=f"P-{i:04d}", reporter_id=worker.id, state="in_progress",
                             category_code="municipal.manhole", location_verified=True, location_source="shared",
                             lat=IN_GRID[0], lon=IN_GRID[1], created_at=created, deadline_at=created + timedelta(hours=4),
                             updated_at=created, assignee_id=worker.id, assigned_at=created, accepted_at=created,
                             nudges=0, reminders=0, alarm_at=now - timedelta(seconds=1)))
    workers = [await start(api, pg_url, tmp_path / "data", f"worker-{n}", "worker") for n in (1, 2)]
    try:
        await api.wait_for(lambda: len(api.methods("sendMessage")) >= 1200, timeout=180)
    finally:
        logs = [await stop(process) for process in workers]  # each finishes the sends in flight, then stops
    async with store.transaction() as session:
        left = (await session.scalars(select(OutboundMessage).where(OutboundMessage.status == "pending"))).all()
    # What a worker had not begun (today's digests, by the time of day) stays queued, free for the next start.
    assert all(message.claimed_until is None for message in left)
    if left:
        sent_before = len(api.methods("sendMessage"))
        worker = await start(api, pg_url, tmp_path / "data", "worker-1", "worker")
        try:
            await api.wait_for(lambda: len(api.methods("sendMessage")) >= sent_before + len(left), timeout=180)
        finally:
            logs.append(await stop(worker))
    async with store.transaction() as session:
        pending = (await session.scalars(select(OutboundMessage).where(OutboundMessage.status == "pending"))).all()
    await store.close()
    assert pending == []
    per_chat = Counter(int(c.params["chat_id"]) for c in api.methods("sendMessage"))
    assert [per_chat[100_000 + i] for i in range(1000)] == [1] * 1000
    reminders = Counter(int(c.params["chat_id"]) for c in api.methods("sendMessage") if "Half of the time" in c.params["text"])
    assert [reminders[200_000 + i] for i in range(200)] == [1] * 200
    assert all("Gridline stopped" in log for log in logs)


async def test_one_persons_report_steps_alternate_between_two_web_processes(api, pg_url, tmp_path):
    ports = [free_port(), free_port()]
    hooks = [f"http://127.0.0.1:{port}/telegram/hook" for port in ports]
    webs = [await start(api, pg_url, tmp_path / "data", f"web-{n}", "web", GRIDLINE_HTTP_PORT=str(port),
                        GRIDLINE_WEBHOOK_URL=hook, GRIDLINE_WEBHOOK_SECRET="shared-secret")
            for n, (port, hook) in enumerate(zip(ports, hooks, strict=True))]
    chat = 300_001
    turn = 0

    async def send(content: dict) -> None:  # type: ignore[type-arg]
        nonlocal turn
        update_id = api.next_update_id()
        def touched() -> int:  # messages sent to the chat, or edited in it
            return sum(1 for c in api.calls if str(c.params.get("chat_id")) == str(chat))

        before = touched()
        update = {"update_id": update_id, **content}
        async with aiohttp.ClientSession() as http:
            for _attempt in range(100):  # the process may still be starting its HTTP server
                try:
                    async with http.post(hooks[turn % 2], json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "shared-secret"}) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
        turn += 1
        await api.wait_for(lambda: touched() > before, timeout=30)

    def message(**content) -> dict:  # type: ignore[no-untyped-def,type-arg]
        return {"message": {"message_id": api.next_update_id(), "date": int(time.time()),
                            "chat": {"id": chat, "type": "private"},
                            "from": {"id": chat, "is_bot": False, "first_name": "Lin", "language_code": "en"}, **content}}

    def find(label: str):  # type: ignore[no-untyped-def]
        for sent in reversed(api.messages(chat)):
            for button in sent.buttons():
                if label in button["text"] and "callback_data" in button:
                    return sent, button["callback_data"]
        return None

    async def press(label: str) -> dict:  # type: ignore[type-arg]
        await api.wait_for(lambda: find(label) is not None, timeout=30)  # the prompt may follow its reply
        sent, data = find(label)
        return {"callback_query": {"id": str(uuid.uuid4()), "chat_instance": "c", "data": data,
                                   "from": {"id": chat, "is_bot": False, "first_name": "Lin", "language_code": "en"},
                                   "message": api._message_json(sent)}}

    try:
        photo = api.add_file(jpeg())
        await send(message(photo=[{"file_id": photo.file_id, "file_unique_id": photo.file_id, "width": 64, "height": 48,
                                   "file_size": photo.file_size}]))
        await send(message(location={"latitude": IN_GRID[0], "longitude": IN_GRID[1]}))
        await send(await press("Municipal"))
        await send(await press("manhole"))
        await send(await press("Skip"))
        await send(await press("Submit"))
        number = re.compile(r"\d{6}-\d{4}")
        await api.wait_for(lambda: any(number.search(m.plain) for m in api.messages(chat)), timeout=30)
    finally:
        for process in webs:
            await stop(process)
    store = Store(pg_url)
    async with store.transaction() as session:
        cases = (await session.scalars(select(Case))).all()
    await store.close()
    assert len(cases) == 1 and cases[0].category_code == "municipal.manhole" and (cases[0].lat, cases[0].lon) == IN_GRID


async def test_an_update_telegram_resends_to_the_other_web_process_is_answered_once(api, pg_url, tmp_path):
    # nginx gives Telegram's resend of an update to the other web process: the citizen gets one answer.
    ports = [free_port(), free_port()]
    hooks = [f"http://127.0.0.1:{port}/telegram/hook" for port in ports]
    webs = [await start(api, pg_url, tmp_path / "data", f"web-{n}", "web", GRIDLINE_HTTP_PORT=str(port),
                        GRIDLINE_WEBHOOK_URL=hook, GRIDLINE_WEBHOOK_SECRET="shared-secret")
            for n, (port, hook) in enumerate(zip(ports, hooks, strict=True))]
    chat = 300_002

    def command(text: str) -> dict:  # type: ignore[type-arg]
        return {"update_id": api.next_update_id(),
                "message": {"message_id": api.next_update_id(), "date": int(time.time()), "text": text,
                            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
                            "chat": {"id": chat, "type": "private"},
                            "from": {"id": chat, "is_bot": False, "first_name": "Lin", "language_code": "en"}}}

    async def post(hook: str, update: dict) -> int:  # type: ignore[type-arg]
        async with aiohttp.ClientSession() as http:
            for _attempt in range(100):  # the process may still be starting its HTTP server
                try:
                    async with http.post(hook, json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": "shared-secret"}) as response:
                        return response.status
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.1)
        raise AssertionError(f"{hook} never answered")

    try:
        help_update = command("/help")
        statuses = [await post(hooks[0], help_update), await post(hooks[1], help_update)]
        # One chat's updates are handled in order in each process; the second process answers this one
        # after any /help it took, so by its answer a second /help answer would be there.
        await post(hooks[1], command("/mycases"))
        await api.wait_for(lambda: any("no reports yet" in m.plain for m in api.messages(chat)), timeout=30)
        await post(hooks[0], command("/mycases"))
        await api.wait_for(lambda: sum("no reports yet" in m.plain for m in api.messages(chat)) == 2, timeout=30)
    finally:
        for process in webs:
            await stop(process)
    assert statuses == [200, 200]
    answers = [m.plain for m in api.messages(chat)]
    assert len(answers) == 3 and sum("How to report a problem" in answer for answer in answers) == 1, answers


async def test_a_persons_first_updates_in_two_processes_at_once_make_one_person(pg_url):
    # A new citizen's /start and their next message reach two web processes in the same instant: both
    # are answered (before, the second failed on the duplicate Telegram id and the citizen got an apology).
    first, second, watcher = Store(pg_url), Store(pg_url), Store(pg_url)
    now = datetime.now(UTC)

    async def someone_waits_for_a_lock() -> bool:
        async with watcher.transaction() as session:
            return bool((await session.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))).scalar_one())

    async def meet_in_second_process() -> int:
        async with second.transaction() as session:
            return (await people.touch_person(session, 300_003, "Lin", "en", now)).id

    try:
        async with first.transaction() as session:
            met_first = (await people.touch_person(session, 300_003, "Lin", "en", now)).id
            met_second = asyncio.create_task(meet_in_second_process())
            for _ in range(500):  # until the second process's insert waits on the first's row
                if met_second.done() or await someone_waits_for_a_lock():
                    break
                await asyncio.sleep(0.01)
            assert not met_second.done()
        assert await asyncio.wait_for(met_second, timeout=30) == met_first
        async with watcher.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM people WHERE tg_id = 300003"))).scalar_one() == 1
    finally:
        for store in (first, second, watcher):
            await store.close()


async def test_a_worker_hears_at_once_when_another_process_queues_a_message(pg_url):
    from storage.wakeup import QueueListener

    wakes: list[int] = []
    woken = asyncio.Event()

    def wake() -> None:
        wakes.append(1)
        woken.set()

    listener = QueueListener(pg_url, wake)
    listener.start()
    web = Store(pg_url)  # the queueing side: a web process, say

    async def queue_one(rolled_back: bool = False) -> None:
        async with web.transaction() as session:
            person = await people.ensure_person(session, 400_001, "Ma", "en", datetime.now(UTC))
            await outbox.enqueue(session, person.id, outbox.NoticePayload(NOTICE), datetime.now(UTC))
            await session.flush()
            if rolled_back:
                raise RuntimeError("rolled back")

    try:
        await asyncio.wait_for(listener.listening.wait(), timeout=30)
        await asyncio.wait_for(woken.wait(), timeout=30)  # once on connecting, for anything queued while away
        woken.clear()
        await queue_one()
        await asyncio.wait_for(woken.wait(), timeout=30)
        assert len(wakes) == 2
        woken.clear()
        with pytest.raises(RuntimeError):
            await queue_one(rolled_back=True)
        async with web.transaction() as session:  # a commit that queues nothing
            await session.execute(text("SELECT 1"))
        await queue_one()  # notifications arrive in commit order: any for the two above came first
        await asyncio.wait_for(woken.wait(), timeout=30)
        assert len(wakes) == 3
    finally:
        await listener.stop()
        await web.close()
