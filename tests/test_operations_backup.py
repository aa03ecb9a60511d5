"""`gridline db backup FILE` while the bot runs, and `gridline db restore FILE` into an empty store,
checked by counts: the round trip on SQLite and on PostgreSQL gives back every row."""

from __future__ import annotations

import pytest

from storage import backup as backups
from storage import cases
from tests.pg import throwaway_database
from tests.stories import submit_manhole
from tests.test_cli import gridline
from tests.test_db_copy import every_row


async def test_a_backup_made_while_the_bot_runs_restores_every_row(world, tmp_path):
    citizen = world.person("Zhou", language_code="en")
    case = await submit_manhole(citizen)
    async with world.store.transaction() as session:
        await cases.accept_case(session, case.id, None, world.clock.now())  # a message for the citizen, queued
    file = tmp_path / "nightly.backup"
    made = gridline("db", "backup", str(file), env=world.command_env())
    assert made.returncode == 0, made.stderr
    assert "Backed up" in made.stdout and file.exists()
    # The bot carries on; what it writes after the backup is not in it.
    await submit_manhole(world.person("Qian", language_code="en"), lat=29.8505, lon=121.5005)
    again = gridline("db", "backup", str(file), env=world.command_env())
    assert again.returncode == 2 and "exists already" in again.stderr

    source = world.settings.db_url or f"sqlite:///{world.settings.data_dir / 'gridline.sqlite3'}"
    if world.settings.db_url:
        async with throwaway_database("r") as target_url:
            target = target_url.replace("postgresql+asyncpg://", "postgresql://")
            restored = gridline("db", "restore", str(file), env={"GRIDLINE_DB_URL": target})
            assert restored.returncode == 0, restored.stderr
            rows = await every_row(target)
            twice = gridline("db", "restore", str(file), env={"GRIDLINE_DB_URL": target})
    else:
        target = f"sqlite:///{tmp_path / 'restored' / 'gridline.sqlite3'}"
        restored = gridline("db", "restore", str(file), env={"GRIDLINE_DB_URL": target})
        assert restored.returncode == 0, restored.stderr
        rows = await every_row(target)
        twice = gridline("db", "restore", str(file), env={"GRIDLINE_DB_URL": target})
    assert "every table's count matches" in restored.stdout
    assert twice.returncode == 2 and "not empty" in twice.stderr
    now = await every_row(source)
    assert len(rows["cases"]) == 1 == len(now["cases"]) - 1
    assert rows["cases"][0] == now["cases"][0] and rows["cases"][0][1] == case.number
    assert rows["people"] == [row for row in now["people"] if row in rows["people"]]


def test_a_clear_word_when_pg_dump_is_missing(monkeypatch):
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    monkeypatch.setattr(backups, "DEBIAN_POSTGRESQL", "/nowhere")
    with pytest.raises(backups.BackupFailed) as failed:
        backups.postgres_tool("pg_dump")
    assert "pg_dump is not installed" in failed.value.lines[0]


async def test_a_failing_pg_dump_is_an_error_with_its_exit_code(tmp_path, monkeypatch):
    from tests.pg import PG_URL

    if not PG_URL:
        pytest.skip("no PostgreSQL server for the tests")
    monkeypatch.setattr(backups, "postgres_tool", lambda name: "/bin/false")
    async with throwaway_database("b") as url:
        with pytest.raises(backups.BackupFailed) as failed:
            await backups.backup(url, tmp_path / "x.backup")
    assert "exit code 1" in failed.value.lines[0] and not (tmp_path / "x.backup").exists()


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    stranger = tmp_path / "notes.txt"
    stranger.write_text("hello")
    result = gridline("db", "restore", str(stranger), env={"GRIDLINE_DB_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"})
    assert result.returncode == 2 and "not a SQLite backup" in result.stderr
