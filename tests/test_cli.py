"""The `gridline` command as an operator scripts it: clear lines, honest exit codes."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import pytest

from storage.catalog import DEFAULT_CATALOG


def gridline(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`gridline ARGS` with only `env`'s GRIDLINE_ settings, in `cwd`: its exit code, stdout and stderr.

    `gridline run` is a real process (signals, logging, the bot's life). Every other command runs
    its `main` in this process, as the process would (environment, working folder, exit code,
    output with a traceback for a crash); a new Python with Gridline's imports costs seconds.
    tests/test_processes.py runs `gridline db upgrade` as real processes."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    clean.update(env or {})
    if args[:1] == ("run",):
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=clean,
                              cwd=cwd, timeout=60)
    return in_process(list(args), clean, cwd)


_one_at_a_time = threading.Lock()  # the environment and the working folder belong to the whole process


def in_process(argv: list[str], env: dict[str, str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    """`python -m bot.cli ARGV` in a thread of this process (its own event loops, like a process)."""
    from bot.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    outcome: list[int] = []

    def command() -> None:
        # What the interpreter does around `sys.exit(main())`: SystemExit's code, a traceback and 1 for a crash.
        try:
            outcome.append(main(argv))
        except SystemExit as leaving:
            if leaving.code is None or isinstance(leaving.code, int):
                outcome.append(leaving.code or 0)
            else:
                print(leaving.code, file=sys.stderr)
                outcome.append(1)
        except BaseException:  # noqa: BLE001 - a crash is an exit code and a traceback, as in a process
            traceback.print_exc()
            outcome.append(1)

    # A process without logging set up prints warnings alone on stderr (logging's last resort).
    last_resort = logging.StreamHandler(stderr)
    last_resort.setLevel(logging.WARNING)
    with _one_at_a_time:
        saved_env, saved_cwd = dict(os.environ), Path.cwd()
        os.environ.clear()
        os.environ.update(env)
        logging.getLogger().addHandler(last_resort)
        try:
            if cwd is not None:
                os.chdir(cwd)
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                worker = threading.Thread(target=command, name="gridline " + " ".join(argv[:2]))
                worker.start()
                worker.join(timeout=60)
            if worker.is_alive():
                raise subprocess.TimeoutExpired(["gridline", *argv], 60)
        finally:
            logging.getLogger().removeHandler(last_resort)
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)

    def text(captured: io.StringIO) -> str:  # as `text=True` reads a pipe: universal newlines
        return captured.getvalue().replace("\r\n", "\n").replace("\r", "\n")

    return subprocess.CompletedProcess(["gridline", *argv], outcome[0], text(stdout), text(stderr))


def test_run_without_a_token_says_how_to_get_one(tmp_path):
    result = gridline("run", env={"GRIDLINE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "@BotFather" in lines[0] and ".env" in lines[0]
    assert not (tmp_path / "gridline.sqlite3").exists()


@pytest.mark.parametrize("command", [[], ["run"], ["db"], ["db", "upgrade"], ["demo"], ["categories"], ["categories", "check"], ["grids"], ["grids", "import"], ["people"], ["people", "add"], ["people", "import"], ["people", "list"], ["people", "remove"], ["invite"], ["stats"], ["mobilization"], ["mobilization", "export"], ["export"], ["apikey"], ["apikey", "create"], ["apikey", "revoke"], ["sync"], ["sync", "status"]])
def test_every_command_has_help(command):
    result = gridline(*command, "--help")
    assert result.returncode == 0 and "usage: gridline" in result.stdout


def test_db_upgrade_and_demo_build_a_store_in_the_data_dir(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    assert gridline("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    demo = gridline("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0 and "11 categories" in demo.stdout and "405 areas" in demo.stdout
    assert (tmp_path / "data" / "gridline.sqlite3").exists()


def test_a_store_a_newer_gridline_upgraded_is_one_clear_line_and_left_as_it_is(tmp_path):
    import sqlite3

    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    assert gridline("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    store = tmp_path / "data" / "gridline.sqlite3"
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    result = gridline("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()
    assert len(line) == 1 and "migration 0099" in line[0] and "newer version" in line[0]
    with sqlite3.connect(store) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]


def test_categories_check_passes_the_default_and_names_each_problem(tmp_path):
    ok = gridline("categories", "check", str(DEFAULT_CATALOG))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[[category]]\ncode = "x"\nen = "X"\nhours = 0\nlevel = "grid"\n', encoding="utf-8")
    result = gridline("categories", "check", str(bad))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 2
    assert all(line.startswith(f"gridline: {bad}: category 1 (x):") for line in lines)
    missing = gridline("categories", "check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_bad_setting_is_one_clear_line(tmp_path):
    result = gridline("db", "upgrade", env={"GRIDLINE_TIMEZONE": "Mars/Olympus", "GRIDLINE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gridline: setting GRIDLINE_TIMEZONE: Value error, unknown time zone 'Mars/Olympus'; use a name like Asia/Shanghai"
    ]


def test_settings_come_from_a_dot_env_file(tmp_path):
    (tmp_path / ".env").write_text(f"GRIDLINE_DATA_DIR={tmp_path / 'from-env-file'}\n", encoding="utf-8")
    assert gridline("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "from-env-file" / "gridline.sqlite3").exists()


def test_grids_import_is_all_or_nothing_with_one_line_per_problem(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    good = tmp_path / "city.geojson"
    good.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"G1","name":"One",'
                    '"level":"grid"},"geometry":{"type":"Polygon","coordinates":[[[121.5,29.8],[121.51,29.8],'
                    '[121.51,29.81],[121.5,29.8]]]}}]}', encoding="utf-8")
    result = gridline("grids", "import", str(good), env=env, cwd=tmp_path)
    assert result.returncode == 0 and "1 areas added, 0 updated" in result.stdout
    bad = tmp_path / "bad.geojson"
    bad.write_text(good.read_text().replace('"G1"', '"G2"').replace("121.5,", "500000,"), encoding="utf-8")
    result = gridline("grids", "import", str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gridline: {bad}: feature 1 (G2): coordinates are not WGS-84 longitude/latitude (e.g. 500000, 29.8); they look projected"
    ]
    again = gridline("grids", "import", str(good), env=env, cwd=tmp_path)
    assert "0 areas added, 1 updated" in again.stdout  # G2 was never written


def test_people_commands_from_roster_to_removal(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    assert gridline("demo", env=env, cwd=tmp_path).returncode == 0
    added = gridline("people", "add", "--tg-id", "11", "--name", "Wang", "--role", "worker", "--area", "HS-01-01-G1",
                     env=env, cwd=tmp_path)
    assert added.returncode == 0 and "Wang (11) is now a worker of HS-01-01-G1." in added.stdout
    wrong = gridline("people", "add", "--tg-id", "12", "--name", "Li", "--role", "worker", "--area", "HS-01",
                     env=env, cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stderr.strip() == "gridline: a worker belongs to a grid, not a street"
    long = gridline("people", "add", "--tg-id", "12", "--name", "Ouyang " * 29, "--role", "worker", "--area", "HS-01-01-G1",
                    env=env, cwd=tmp_path)
    assert long.returncode == 2 and long.stderr.strip() == "gridline: --name is longer than 200 characters"
    roster = tmp_path / "roster.csv"
    roster.write_text("tg_id,name,role,area,tags,language\n13,Zhao,leader,HS-01-01-G1,,zh\n14,Qian,responder,NOPE,,\n",
                      encoding="utf-8")
    refused = gridline("people", "import", str(roster), env=env, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip() == f"gridline: {roster}: line 3: no area with code NOPE"
    assert "Zhao" not in gridline("people", "list", env=env, cwd=tmp_path).stdout  # nothing half-written
    roster.write_text("tg_id,name,role,area,tags,language\n13,Zhao,leader,HS-01-01-G1,,zh\n", encoding="utf-8")
    assert "1 roles added" in gridline("people", "import", str(roster), env=env, cwd=tmp_path).stdout
    listing = gridline("people", "list", env=env, cwd=tmp_path).stdout
    assert "11\tWang\tworker" in listing and "13\tZhao\tleader" in listing
    removed = gridline("people", "remove", "--tg-id", "11", env=env, cwd=tmp_path)
    assert removed.returncode == 0 and "Removed 1 role(s)" in removed.stdout
    assert "Wang" not in gridline("people", "list", env=env, cwd=tmp_path).stdout


async def test_invite_prints_a_deep_link_with_the_bots_name(api, tmp_path):
    import asyncio

    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data"), "GRIDLINE_BOT_TOKEN": api.token, "GRIDLINE_API_URL": api.url}
    await asyncio.to_thread(gridline, "demo", env=env, cwd=tmp_path)
    result = await asyncio.to_thread(gridline, "invite", "--role", "dispatcher", "--area", "HS-01", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    link = result.stdout.splitlines()[0]
    assert link.startswith("https://t.me/gridline_test_bot?start=") and len(link.split("=")[1]) >= 16


def test_a_postgresql_store_that_is_not_there_gets_one_line(tmp_path):
    result = gridline("db", "upgrade", env={"GRIDLINE_DB_URL": "postgresql://gridline:hush@127.0.0.1:9/none"}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("gridline: cannot reach the store") and len(result.stderr.splitlines()) == 1
    assert "hush" not in result.stderr
