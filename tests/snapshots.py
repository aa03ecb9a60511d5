"""A running world as it stands at one moment, kept and put back into later worlds of the same
test process: its store (a SQLite file, or a PostgreSQL database copied with CREATE DATABASE ...
TEMPLATE), the files of its data folder (photos), what the fake Bot API has seen and said (chats,
calls, files, its ids) and the next person's Telegram id.

A story that builds the same big world for each of many cases (tests/test_forged_buttons.py
builds a small city of ten people, with reports, tasks and a call-out, for each forged button)
builds it for real once per process and store kind; each later case starts from a copy of it.
A world is put back only into a new world of the same kind (fresh from the `world` fixture,
same settings, same clock); anything else builds for real.

Taking or putting back a snapshot stops the world's bot and starts it again without the start's
catch-up run of the timers (it ran when the world first started, on an empty store, and nothing
has fallen due since: the clock has not moved), then gives the fake Bot API its state back,
so the restart leaves no trace there.
"""

from __future__ import annotations

import copy
import itertools
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests import templates
from tests.harness import Harness
from tests.pg import admin_connection

# What the fake Bot API remembers between calls (its server, clock and gates are the new world's own).
API_STATE = ("calls", "chats", "blocked", "never_started", "unknown_chats", "flood", "too_many", "refused",
             "get_updates_calls", "files", "updates", "_sends", "_chat_sends")
API_COUNTERS = ("_update_ids", "_message_ids", "_file_ids")


@dataclass
class WorldSnapshot:
    kind: str  # "sqlite" or "postgresql"
    settings: dict[str, Any]  # every setting but the places (data folder, store, Bot API address)
    now: datetime
    folder: Path  # the data folder (the SQLite store inside it)
    database: str | None  # the PostgreSQL copy
    api: dict[str, Any]
    api_counters: dict[str, int]
    next_user_id: int


def _kind(world: Harness) -> str:
    return "postgresql" if world.settings.db_url else "sqlite"


def _settings(world: Harness) -> dict[str, Any]:
    return world.settings.model_dump(exclude={"data_dir", "db_url", "api_url"})


def _database(world: Harness) -> str:
    name = make_url(world.settings.database_url).database
    assert name
    return name


def _next(holder: Any, attribute: str) -> int:
    """The next number an itertools.count would give (it gives it again afterwards)."""
    value = next(getattr(holder, attribute))
    setattr(holder, attribute, itertools.count(value))
    return value


def _give_back(world: Harness, snapshot: WorldSnapshot) -> None:
    api = world.api
    for name, value in copy.deepcopy(snapshot.api).items():
        setattr(api, name, value)
    for name, value in snapshot.api_counters.items():
        setattr(api, name, itertools.count(value))
    world._user_ids = itertools.count(snapshot.next_user_id)


async def _copy_database(source: str, target: str) -> None:
    connection = await admin_connection()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        await connection.close()


def _copy_folder(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    if source.exists():
        shutil.copytree(source, target)


async def take(world: Harness) -> WorldSnapshot:
    """Keep the world as it stands now (its bot is stopped for the copy and started again)."""
    kind = _kind(world)
    await world.stop()
    folder = templates.folder() / f"world-{uuid.uuid4().hex[:12]}"
    _copy_folder(world.settings.data_dir, folder)
    database = None
    if kind == "postgresql":
        database = f"snapshot_{uuid.uuid4().hex[:16]}"
        await _copy_database(_database(world), database)
        templates.drop_at_the_end(database)
    snapshot = WorldSnapshot(
        kind=kind, settings=_settings(world), now=world.clock.now(), folder=folder, database=database,
        api={name: copy.deepcopy(getattr(world.api, name)) for name in API_STATE},
        api_counters={name: _next(world.api, name) for name in API_COUNTERS},
        next_user_id=_next(world, "_user_ids"))
    await world.start(catch_up=False)
    _give_back(world, snapshot)
    return snapshot


def fits(world: Harness, snapshot: WorldSnapshot) -> bool:
    """Whether `world` is new from the `world` fixture and of the snapshot's kind, settings and time."""
    api = world.api
    return (_kind(world) == snapshot.kind and _settings(world) == snapshot.settings
            and world.clock.now() == snapshot.now and not world.errors and world.app is not None
            and not api.chats and not api.files and not api.updates
            and all(call.method == "getMe" for call in api.calls))


async def put_back(world: Harness, snapshot: WorldSnapshot) -> None:
    """Make `world` what the snapshot's world was (see `fits`)."""
    await world.stop()
    _copy_folder(snapshot.folder, world.settings.data_dir)
    if snapshot.database is not None:
        await _copy_database(snapshot.database, _database(world))
    await world.start(catch_up=False)
    _give_back(world, snapshot)
