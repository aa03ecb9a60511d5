"""The `gridline` command as an operator scripts it: clear lines, honest exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.catalog import DEFAULT_CATALOG


def gridline(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=clean,
                          cwd=cwd, timeout=60)


def test_run_without_a_token_says_how_to_get_one(tmp_path):
    result = gridline("run", env={"GRIDLINE_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "@BotFather" in lines[0] and ".env" in lines[0]
    assert not (tmp_path / "gridline.sqlite3").exists()


@pytest.mark.parametrize("command", [[], ["run"], ["db"], ["db", "upgrade"], ["demo"], ["categories"], ["categories", "check"], ["grids"], ["grids", "import"]])
def test_every_command_has_help(command):
    result = gridline(*command, "--help")
    assert result.returncode == 0 and "usage: gridline" in result.stdout


def test_db_upgrade_and_demo_build_a_store_in_the_data_dir(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    assert gridline("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    demo = gridline("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0 and "11 categories" in demo.stdout and "405 areas" in demo.stdout
    assert (tmp_path / "data" / "gridline.sqlite3").exists()


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
