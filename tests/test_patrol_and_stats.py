"""Workers check in on patrol, leaders see their team, and everyone responsible sees their figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage import stats
from storage.models import CheckIn
from tests.stories import staff_in_chat
from tests.test_cli import gridline
from tests.test_routing import IN_GRID
from tests.test_tasks import GRID, a_task


async def test_a_worker_checks_in_with_a_live_location_and_the_leader_sees_the_team(world):
    grid = await a_task(world)
    zhou, _ = await staff_in_chat(world, "Zhou", "worker", GRID)
    await grid.wang.say("/checkin")
    assert "Share your location to check in" in grid.wang.last().plain
    message_id = 777
    await grid.wang.send(location={"latitude": IN_GRID[0], "longitude": IN_GRID[1], "live_period": 3600})
    assert "Checked in at 23 Nov 2026, 10:00, live until 23 Nov 2026, 11:00" in grid.wang.last().plain
    async with world.store.transaction() as session:
        row = await session.scalar(select(CheckIn))
        message_id = row.message_id
    world.clock.advance(minutes=10)
    await world.process({
        "update_id": world.api.next_update_id(),
        "edited_message": {
            "message_id": message_id, "date": 0, "edit_date": 1,
            "chat": {"id": grid.wang.tg_id, "type": "private", "first_name": "Wang"},
            "from": {"id": grid.wang.tg_id, "is_bot": False, "first_name": "Wang", "language_code": "en"},
            "location": {"latitude": IN_GRID[0] + 0.002, "longitude": IN_GRID[1], "live_period": 3600},
        },
    })
    async with world.store.transaction() as session:
        row = await session.scalar(select(CheckIn))
    assert round(row.lat, 4) == round(IN_GRID[0] + 0.002, 4)
    await grid.li.say("/team")
    team = grid.li.last().plain
    assert "Wang · 📍 out now (live until 23 Nov 2026, 11:00) · 1 open" in team
    assert "Zhou · not checked in today · 0 open" in team
    await grid.citizen.say("/checkin")
    assert "Only grid workers and leaders check in" in grid.citizen.last().plain
    await grid.wang.say("/team")
    assert "Only grid leaders have a team" in grid.wang.last().plain


async def test_statistics_count_on_time_closure_and_satisfaction(world):
    grid = await a_task(world)  # case 1: 4 h limit
    await grid.wang.tap("Accept")
    world.clock.advance(hours=1)
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="Done in an hour")
    await world.deliver()
    await grid.citizen.tap("Satisfied")
    from tests.stories import submit_manhole

    late = await submit_manhole(grid.citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    await world.deliver()
    await grid.wang.tap("Accept", grid.wang.last())
    world.clock.advance(hours=5)  # past its 4 hours
    await grid.wang.tap("Resolve", grid.wang.last())
    await grid.wang.send_photo(caption="Late, sorry")
    await world.deliver()
    await grid.citizen.tap("Not satisfied")
    await grid.citizen.say("Still wobbly")
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        start = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(days=1)
        report = await stats.gather(session, index, start, start + timedelta(days=3), [GRID])
        elsewhere = await stats.gather(session, index, start, start + timedelta(days=3), ["HS-02"])
    overall = report.overall
    assert overall.total == 2 and overall.by_state == {"closed": 1, "reopened": 1}
    assert (overall.on_time_rate, overall.closure_rate, overall.satisfaction_rate) == (0.5, 0.5, 0.5)
    assert overall.median_to_accept == timedelta(0)
    assert overall.median_to_resolve == timedelta(hours=3)  # 1 h and 5 h
    assert list(report.per_worker) == ["Wang"] and elsewhere.overall.total == 0
    await grid.li.say("/stats")
    text = grid.li.last().plain
    assert "All: 2 cases · on time 50.0% · closed 50.0% · satisfied 50.0%" in text and late.number not in text
    assert "Closed 1" in text and "in_progress" not in text  # states and grids by their names, not codes
    assert "HS-01-01-G1 网格:" in text and " h " not in text
    await grid.citizen.say("/stats")
    assert "Only grid leaders, dispatchers and administrators" in grid.citizen.last().plain


def test_gridline_stats_prints_a_table_and_refuses_bad_dates(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path / "data")}
    assert gridline("demo", env=env, cwd=tmp_path).returncode == 0
    table = gridline("stats", "--from", "2026-11-01", "--to", "2026-11-30", "--area", "HS-01", env=env, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "Cases reported 2026-11-01 to 2026-11-30 (Asia/Shanghai), area HS-01" in table.stdout
    assert "on-time" in table.stdout and "per worker" in table.stdout
    bad = gridline("stats", "--from", "November", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == "gridline: --from must be a date like 2026-11-01, not 'November'"
    nowhere = gridline("stats", "--area", "NOPE", env=env, cwd=tmp_path)
    assert nowhere.returncode == 2 and "no area with code NOPE" in nowhere.stderr


async def test_gridline_export_writes_a_periods_cases_as_csv_and_geojson(world):
    import csv
    import io
    import json

    grid = await a_task(world, description="Cover, missing")
    env = world.command_env()
    table = gridline("export", "--from", "2026-11-23", "--to", "2026-11-23", "--area", "HS-01", env=env)
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout.lstrip("\ufeff"))))
    assert [(r["number"], r["state"], r["description"], r["area"]) for r in rows] == \
        [(grid.case.number, "assigned", "Cover, missing", "HS-01-01-G1-M1")]
    assert rows[0]["created_at"] == "2026-11-23T10:00:00+08:00"
    assert gridline("export", "--from", "2026-11-24", "--to", "2026-11-25", env=env).stdout.count("\n") == 1  # header only
    mapped = json.loads(gridline("export", "--format", "geojson", "--from", "2026-11-01", "--to", "2026-11-30", env=env).stdout)
    assert mapped["features"][0]["geometry"]["coordinates"] == [IN_GRID[1], IN_GRID[0]]
    bad = gridline("export", "--format", "xls", env=env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
