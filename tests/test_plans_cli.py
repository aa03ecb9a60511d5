"""`gridline plans import` and `export`: plans as a TOML or YAML file, checked whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Plan
from tests.stories import demo_city
from tests.test_cli import gridline

README = Path(__file__).resolve().parent.parent / "README.md"

GOOD_TOML = """\
[[plans]]
area = "HS-01-01-G1"
name = "North gate flood"
areas = ["HS-01-01-G1-M1", "HS-01-01-G1-M2"]
who = ["volunteer", "party_member"]
need = 10
wave_minutes = 15
meeting_point = { lat = 29.8505, lon = 121.5005 }

[plans.message.zh]
headline = "北门进水"
instruction = "带沙袋到北门"

[plans.message.en]
headline = "Water at the north gate"
instruction = "Bring sandbags to the north gate"

[[plans]]
area = "HS-01-01"
name = "Around the old school"
around = { lat = 29.8505, lon = 121.5005, radius_m = 100 }

[plans.message.zh]
headline = "老校舍疏散"

[plans.message.en]
headline = "Evacuate around the old school"
"""

GOOD_YAML = """\
plans:
- area: HS-01-01-G1
  name: River watch
  areas: [HS-01-01-G1]
  message:
    zh: {headline: 河道巡查, instruction: 到河边集合}
    en: {headline: River watch, instruction: Meet at the river}
"""

MAP_BAD_YAML = """\
plans:
- area: HS-01-01-G1
  name: Fine plan
  areas: [HS-01-01-G1-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: HS-01-01-G1
  name: Fine plan
  areas: [HS-01-01-G1-M99, HS-01-01-G2-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: NOWHERE
  name: Lost
  areas: [HS-01-01-G1-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: HS-01-01-G1
  name: Far away
  around: {lat: 29.8505, lon: 121.5005, radius_m: 5000}
  message:
    zh: {headline: 好}
    en: {headline: Fine}
"""

BAD_YAML = """\
plans:
- area: HS-01-01-G1
  name: Fine plan
  areas: [HS-01-01-G1-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: HS-01-01-G1
  name: Broken plan
  areas: [HS-01-01-G1-M1]
  who: [volunteer, firefighter]
  need: 0
  message:
    zh: {headline: ""}
- area: HS-01-01-G1
  name: Fine plan
  areas: [HS-01-01-G1-M99, HS-01-01-G2-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: NOWHERE
  name: Lost
  around: {lat: 29.8751, lon: 121.5512, radius_m: 300}
  areas: [HS-01-01-G1-M1]
  message:
    zh: {headline: 好}
    en: {headline: Fine}
- area: HS-01-01-G1
  name: Far away
  around: {lat: 29.8751, lon: 121.5512, radius_m: 5000}
  message:
    zh: {headline: 好}
    en: {headline: Fine}
"""


async def stored(world) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return [(p.area_code, p.name) for p in (await session.scalars(select(Plan).order_by(Plan.id))).all()]


def run(*args: str, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """The command in a thread: the test's event loop keeps running (the world's store lives in it)."""
    return asyncio.to_thread(gridline, *args, env=env)


async def test_a_toml_and_a_yaml_file_import_and_export_back_unchanged(world, tmp_path: Path):
    await demo_city(world)
    env = world.command_env()
    (tmp_path / "plans.toml").write_text(GOOD_TOML, encoding="utf-8")
    (tmp_path / "more.yml").write_text(GOOD_YAML, encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "plans.toml"), env=env)
    assert done.returncode == 0, done.stderr
    assert "2 plans; 2 added, 0 updated, 0 unchanged." in done.stdout
    done = await run("plans", "import", str(tmp_path / "more.yml"), env=env)
    assert "1 plans; 1 added" in done.stdout
    assert await stored(world) == [("HS-01-01-G1", "North gate flood"), ("HS-01-01", "Around the old school"),
                                   ("HS-01-01-G1", "River watch")]
    for form, suffix in (("toml", "toml"), ("yaml", "yaml")):
        exported = await run("plans", "export", "--format", form, env=env)
        assert exported.returncode == 0, exported.stderr
        path = tmp_path / f"exported.{suffix}"
        path.write_text(exported.stdout, encoding="utf-8")
        again = await run("plans", "import", str(path), env=env)
        assert "3 plans; 0 added, 0 updated, 3 unchanged." in again.stdout, again.stderr
        assert (await run("plans", "export", "--format", form, env=env)).stdout == exported.stdout
    exported = (await run("plans", "export", env=env)).stdout
    assert 'headline = "北门进水"' in exported and "radius_m = 100" in exported


async def test_an_import_updates_a_plan_of_the_same_area_and_name(world, tmp_path: Path):
    await demo_city(world)
    env = world.command_env()
    (tmp_path / "plans.toml").write_text(GOOD_TOML, encoding="utf-8")
    await run("plans", "import", str(tmp_path / "plans.toml"), env=env)
    (tmp_path / "plans.toml").write_text(GOOD_TOML.replace("need = 10", "need = 20"), encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "plans.toml"), env=env)
    assert "2 plans; 0 added, 1 updated, 1 unchanged." in done.stdout
    async with world.store.transaction() as session:
        assert await session.scalar(select(Plan.need).where(Plan.name == "North gate flood")) == 20


async def test_a_bad_file_lists_every_problem_with_its_plan_and_field_and_writes_nothing(world, tmp_path: Path):
    await demo_city(world)
    env = world.command_env()
    (tmp_path / "bad.yaml").write_text(BAD_YAML, encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "bad.yaml"), env=env)
    assert done.returncode == 2
    problems = done.stderr.splitlines()
    for expected in ("plan 2 (Broken plan): who: Value error, unknown firefighter",
                     "plan 2 (Broken plan): message.zh.headline: String should have at least 1 character",
                     "plan 2 (Broken plan): message.en: Field required",
                     "plan 2 (Broken plan): need: Input should be greater than or equal to 1",
                     "plan 4 (Lost): (the plan): Value error, give either areas",
                     "plan 3 (Fine plan): areas: no area with code HS-01-01-G1-M99",
                     "plan 3 (Fine plan): name: the same area and name as plan 1",
                     "plan 5 (Far away): around: reaches outside HS-01-01-G1"):
        assert any(expected in line for line in problems), (expected, problems)
    assert len(problems) == 9
    assert await stored(world) == []
    (tmp_path / "bad.yaml").write_text(MAP_BAD_YAML, encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "bad.yaml"), env=env)
    problems = done.stderr.splitlines()
    for expected in ("plan 2 (Fine plan): areas: no area with code HS-01-01-G1-M99",
                     "plan 2 (Fine plan): areas: HS-01-01-G2-M1 is not inside HS-01-01-G1",
                     "plan 2 (Fine plan): name: the same area and name as plan 1",
                     "plan 3 (Lost): area: no area with code NOWHERE",
                     "plan 4 (Far away): around: reaches outside HS-01-01-G1"):
        assert any(expected in line for line in problems), (expected, problems)
    assert len(problems) == 5
    assert await stored(world) == []


@pytest.mark.parametrize("text, said", [("plans = [", "not valid TOML"), ("[[plans]]\narea = 1\n", "plan 1: area:"),
                                        ("title = 1\n", "plans: a list of plans")])
async def test_a_file_that_is_not_toml_or_not_plans_is_refused(world, tmp_path: Path, text: str, said: str):
    env = world.command_env()
    (tmp_path / "plans.toml").write_text(text, encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "plans.toml"), env=env)
    assert done.returncode == 2 and said in done.stderr
    (tmp_path / "plans.txt").write_text(text, encoding="utf-8")
    done = await run("plans", "import", str(tmp_path / "plans.txt"), env=env)
    assert done.returncode == 2 and "ends in .toml, .yaml or .yml" in done.stderr


async def test_the_readme_examples_import_as_the_same_plan(world, tmp_path: Path):
    import re

    await demo_city(world)
    env = world.command_env()
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("## Call-out plans"):]
    for form in ("toml", "yaml"):
        example = re.search(rf"```{form}\n(.*?)```", section, re.S)
        assert example is not None
        (tmp_path / f"example.{form}").write_text(example.group(1), encoding="utf-8")
    first = await run("plans", "import", str(tmp_path / "example.toml"), env=env)
    assert "1 plans; 1 added" in first.stdout, first.stderr
    second = await run("plans", "import", str(tmp_path / "example.yaml"), env=env)
    assert "1 plans; 0 added, 0 updated, 1 unchanged." in second.stdout, second.stderr
