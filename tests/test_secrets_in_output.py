"""A password inside a URL (the city platform's, the store's) never shows: not in `gridline sync
status`, not in `gridline run`'s lines, not in what the upstream client logs or keeps as an error."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import sys

import aiohttp
import pytest

from adapters.open311_client import Syncer
from bot.logs import RedactingFormatter
from storage import sync
from storage.urls import redacted_url
from tests.harness import Harness, settings_for
from tests.pg import PG_URL, throwaway_database
from tests.stories import submit_manhole
from tests.test_cli import gridline
from tests.test_running import free_port, update_from

PASSWORD = "Pl4tform-Pw"
DB_PASSWORD = "St0re-Pw"


@pytest.mark.parametrize("url, shown", [
    ("postgresql://gridline:hush@db:5432/gridline", "postgresql://gridline:***@db:5432/gridline"),
    ("postgresql+asyncpg://u:p@ss/w@h/db", "postgresql+asyncpg://u:***@h/db"),
    ("https://city:s3cret@platform.example/open311/v2", "https://city:***@platform.example/open311/v2"),
    ("https://platform.example/open311/v2", "https://platform.example/open311/v2"),
    ("http://city@platform.example:8080/v2", "http://city@platform.example:8080/v2"),
    ("sqlite:///var/gridline.sqlite3", "sqlite:///var/gridline.sqlite3"),
    ("refused: http://a:b@h/x and postgresql://c:d@e/f.", "refused: http://a:***@h/x and postgresql://c:***@e/f."),
    # libpq and asyncpg also take the password as a query parameter; a platform's key may ride there too
    ("postgresql+asyncpg://gridline@db/gridline?password=hush&ssl=require",
     "postgresql+asyncpg://gridline@db/gridline?password=***&ssl=require"),
    ("https://platform.example/open311/v2?api_key=k3y", "https://platform.example/open311/v2?api_key=***"),
])
def test_a_password_in_a_url_is_shown_as_stars(url, shown):
    assert redacted_url(url) == shown


def test_log_lines_and_tracebacks_hide_passwords_in_urls():
    formatter = RedactingFormatter([])
    try:
        raise ConnectionError(f"cannot reach postgresql://gridline:{DB_PASSWORD}@db/gridline")
    except ConnectionError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "posting to %s failed", (
            f"https://city:{PASSWORD}@platform.example/v2",), sys.exc_info())
    text = formatter.format(record)
    assert PASSWORD not in text and DB_PASSWORD not in text
    assert "https://city:***@platform.example/v2" in text and "postgresql://gridline:***@db/gridline" in text


async def test_an_upstream_url_with_a_typo_leaks_its_password_nowhere(api, clock, tmp_path, caplog):
    """aiohttp names the whole URL when it cannot parse it: the log line, the kept error and
    `gridline sync status` show it without the password."""
    upstream = f"http://city:{PASSWORD}@[platform.example/v2"  # the typo: an unclosed "["
    world = Harness(api, settings_for(api, tmp_path / "var", upstream_url=upstream, upstream_timeout_seconds=0.5), clock)
    await world.start()
    try:
        case = await submit_manhole(world.person(language_code="en"))
        caplog.set_level(logging.INFO)
        async with aiohttp.ClientSession() as http:
            await Syncer(world.runtime, random.Random(1)).run_once(http)
        async with world.store.transaction() as session:
            state = await sync.status(session, clock.now())
        env = {**world.command_env(), "GRIDLINE_UPSTREAM_URL": upstream}
        status = await asyncio.to_thread(gridline, "sync", "status", env=env, cwd=tmp_path)
    finally:
        await world.stop()
    assert "sync: case" in caplog.text and "city:***@" in caplog.text
    assert PASSWORD not in caplog.text
    assert state.errors and all(PASSWORD not in error for _number, error in state.errors)
    assert status.returncode == 0, status.stderr
    assert "upstream: http://city:***@[platform.example/v2" in status.stdout
    assert f"{case.number}: connection broke: http://city:***@" in status.stdout
    assert PASSWORD not in status.stdout + status.stderr


async def test_sync_status_hides_a_password_kept_in_an_older_error(world):
    case = await submit_manhole(world.person(language_code="en"))
    async with world.store.transaction() as session:
        await sync.failed(session, case.id, f"HTTP 401 from https://city:{PASSWORD}@platform.example/v2",
                          world.clock.now(), permanent=True, reached=True, rng=random.Random(1))
    env = {**world.command_env(), "GRIDLINE_UPSTREAM_URL": f"https://city:{PASSWORD}@platform.example/v2"}
    status = await asyncio.to_thread(gridline, "sync", "status", env=env, cwd=world.settings.data_dir.parent)
    assert status.returncode == 0, status.stderr
    assert "upstream: https://city:***@platform.example/v2" in status.stdout
    assert PASSWORD not in status.stdout


async def test_gridline_run_names_its_store_and_platform_without_their_passwords(api, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env.update({"GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url, "GRIDLINE_DATA_DIR": str(tmp_path),
                "GRIDLINE_HTTP_PORT": str(free_port()),
                "GRIDLINE_UPSTREAM_URL": f"https://city:{PASSWORD}@127.0.0.1:9/open311/v2"})
    async with _store_with_password() as db_url:
        if db_url:
            env["GRIDLINE_DB_URL"] = db_url
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            await api.push_update(update_from(778, 1, "/start"))
            await api.wait_for(lambda: any("Hello, Chen" in m.plain for m in api.messages(778)), timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (stdout + stderr).decode()
    assert process.returncode == 0, log
    assert "upstream: https://city:***@127.0.0.1:9/open311/v2" in log
    assert "store: " in log
    if PG_URL:
        assert "gridline:***@" in log
    assert PASSWORD not in log and DB_PASSWORD not in log


class _store_with_password:
    """A PostgreSQL database reached with a password in its URL (the test server trusts loopback,
    so any password is accepted), or None for the SQLite default when there is no server."""

    async def __aenter__(self) -> str | None:
        if not PG_URL:
            self._database = None
            return None
        self._database = throwaway_database("pw")
        url = await self._database.__aenter__()
        return url.replace("://gridline@", f"://gridline:{DB_PASSWORD}@")

    async def __aexit__(self, *exc: object) -> None:
        if self._database is not None:
            await self._database.__aexit__(*exc)


def test_db_commands_that_fail_do_not_show_the_password(tmp_path):
    source = f"postgresql://gridline:{DB_PASSWORD}@127.0.0.1:9/none"
    copy = gridline("db", "copy", "--from", source, "--to", f"sqlite:///{tmp_path}/new.sqlite3", cwd=tmp_path)
    upgrade = gridline("db", "upgrade", env={"GRIDLINE_DB_URL": source}, cwd=tmp_path)
    for result in (copy, upgrade):
        assert result.returncode != 0
        assert DB_PASSWORD not in result.stdout + result.stderr
