"""Staff join by invite link or roster, see their roles, and bad rosters and links are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import people, roles
from storage.models import Invite, Role
from tests.stories import demo_city, staff_in_chat


async def invite_for(world, role: str, area: str | None, **kwargs) -> str:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return (await roles.create_invite(session, role, area, [], world.clock.now(), **kwargs)).token


@pytest.mark.parametrize("language_code, expected", [("en", "grid worker of HS-01-01-G1 网格"), ("zh", "HS-01-01-G1 网格的网格员")])
async def test_an_invite_link_makes_a_grid_worker_and_says_so(world, language_code, expected):
    await demo_city(world)
    token = await invite_for(world, "worker", "HS-01-01-G1")
    wang = world.person("Wang", language_code=language_code)
    await wang.say(f"/start {token}")
    assert expected in wang.last().plain
    await wang.say("/whoami")
    assert expected in wang.last().plain and "(HS-01-01-G1)" in wang.last().plain


async def test_an_invite_works_once(world):
    await demo_city(world)
    token = await invite_for(world, "leader", "HS-01-01-G1")
    first, second = world.person("A", language_code="en"), world.person("B", language_code="en")
    await first.say(f"/start {token}")
    await first.say(f"/start {token}")
    assert "You already are grid leader" in first.last().plain
    await second.say(f"/start {token}")
    assert "already been used" in second.last().plain
    async with world.store.transaction() as session:
        assert len((await session.scalars(select(Role))).all()) == 1


async def test_an_expired_or_unknown_invite_is_refused(world, clock):
    await demo_city(world)
    token = await invite_for(world, "dispatcher", "HS-01")
    clock.advance(days=7, seconds=1)
    person = world.person(language_code="en")
    await person.say(f"/start {token}")
    assert "has expired" in person.last().plain
    await person.say("/start made-up-token")
    assert "not valid" in person.last().plain
    await person.say("/whoami")
    assert "no staff role" in person.last().plain


async def test_someone_who_already_has_the_role_leaves_the_invite_for_another(world):
    await demo_city(world)
    wang = world.person("Wang", language_code="en")
    await wang.say(f"/start {await invite_for(world, 'worker', 'HS-01-01-G1')}")
    token = await invite_for(world, "worker", "HS-01-01-G1")
    await wang.say(f"/start {token}")
    assert "You already are" in wang.last().plain
    async with world.store.transaction() as session:
        assert (await session.get(Invite, token)).used_at is None


async def test_roles_must_fit_the_level_of_their_area(world):
    await demo_city(world)
    async with world.store.transaction() as session:
        person = await people.ensure_person(session, 1, "X", "zh", world.clock.now())
        for role, area, tags, message in [
            ("worker", "HS-01", [], "a worker belongs to a grid, not a street"),
            ("dispatcher", "HS-01-01-G1", [], "a dispatcher belongs to a community or street or district, not a grid"),
            ("responder", "HS-01-01-G1-M1", ["wizard"], "unknown tag wizard"),
            ("worker", None, [], "a worker needs an area"),
            ("worker", "NOPE", [], "no area with code NOPE"),
        ]:
            with pytest.raises(roles.RoleError, match=message):
                await roles.give_role(session, person.id, role, area, tags, world.clock.now())


def test_a_roster_is_checked_whole_and_each_bad_row_named_by_line():
    areas = {"G1": "grid", "M1": "microgrid", "C1": "community"}
    text = ("tg_id,name,role,area,tags,language\n"
            "1001,Wang,worker,G1,full_time,zh\n"
            "x,Bad,worker,G1,,\n"
            "1002,Li,responder,M1,party_member;volunteer,en\n"
            "1003,Zhao,dispatcher,G1,,\n"
            "1001,Wang,worker,G1,,\n"
            "1004,,worker,G1,,\n"
            "1005,Sun,leader,G9,,\n"
            f"1006,{'Ouyang ' * 29},worker,G1,,\n")  # 202 characters: refused, never cut
    rows, problems = roles.parse_roster(text, areas)
    assert [r.tg_id for r in rows] == [1001, 1002]
    assert problems == [
        "line 3: tg_id must be a Telegram user id (digits), not 'x'",
        "line 5: a dispatcher belongs to a community or street or district, not a grid",
        "line 6: the same person, role and area as line 2",
        "line 7: name is empty",
        "line 8: no area with code G9",
        "line 9: name is longer than 200 characters",
    ]
    assert roles.parse_roster("id,name\n1,x\n", areas)[1] == ["line 1: the header must be tg_id,name,role,area,tags,language"]


def test_a_roster_of_thousands_of_rows_is_read_quickly_and_whole():
    areas = {f"G{i}": "grid" for i in range(100)}
    text = "tg_id,name,role,area,tags,language\n" + "".join(
        f"{100000 + i},Worker {i},worker,G{i % 100},part_time,zh\n" for i in range(3000))
    rows, problems = roles.parse_roster(text, areas)
    assert len(rows) == 3000 and problems == []


async def test_a_grid_leader_invites_a_worker_for_their_grid_in_the_chat(world):
    await demo_city(world)
    leader, _ = await staff_in_chat(world, "Li", "leader", "HS-01-01-G1")
    await leader.say("/invite")
    assert [b["text"] for b in leader.last().buttons()] == ["grid worker", "emergency responder"]
    await leader.tap("grid worker")
    await leader.tap("HS-01-01-G1")
    await leader.tap("part-time")
    link = leader.last().plain.split()[-1]
    assert link.startswith("https://t.me/") and "?start=" in link
    assert "grid worker of HS-01-01-G1 网格 (part-time)" in leader.last().plain
    wang = world.person("Wang", language_code="en")
    await wang.say("/start " + link.split("?start=")[1])
    assert "You are now grid worker of HS-01-01-G1 网格" in wang.last().plain
    async with world.store.transaction() as session:
        granted = await session.scalar(select(Role).where(Role.role == "worker"))
    assert (granted.area_code, granted.tags) == ("HS-01-01-G1", ["part_time"])


async def test_a_leader_walks_down_to_a_micro_grid_to_invite_a_responder(world):
    await demo_city(world)
    leader, _ = await staff_in_chat(world, "Li", "leader", "HS-01-01-G1")
    await leader.say("/invite")
    await leader.tap("emergency responder")
    shown = [b["text"] for b in leader.last().buttons()]
    assert all("HS-01-01-G1-M" in name for name in shown)  # only the micro-grids of their own grid
    await leader.tap("HS-01-01-G1-M2")
    await leader.tap("HS-01-01-G1-M2")
    await leader.tap("volunteer")
    assert "emergency responder of HS-01-01-G1-M2 微网格 (volunteer)" in leader.last().plain


async def test_invites_in_the_chat_stay_within_the_inviters_rights(world):
    await demo_city(world)
    leader, _ = await staff_in_chat(world, "Li", "leader", "HS-01-01-G1")
    citizen = world.person(language_code="en")
    await citizen.say("/invite")
    assert "Only administrators and grid leaders can invite people" in citizen.last().plain
    # Forged: a leader making a leader, or a worker for somebody else's grid.
    for data in ("i:mk:1:0:HS-01-01-G1", "i:mk:0:1:HS-01-01-G2", "i:at:0:HS-01-01-G2", "i:mk:0:1:NOPE"):
        await leader.press_data(data)
        assert world.api.methods("answerCallbackQuery")[-1].params.get("text") == \
            "You cannot invite for that. /whoami shows your roles."
    async with world.store.transaction() as session:
        assert (await session.scalars(select(Invite))).all() == []


async def test_an_admin_invites_a_dispatcher_by_walking_down_from_their_district(world):
    await demo_city(world)
    admin, admin_id = await staff_in_chat(world, "Admin", "admin", "HS")
    await admin.say("/invite")
    await admin.tap("dispatcher")
    await admin.tap("鼓楼街道")
    await admin.tap("青石社区")
    await admin.tap("✅ 青石社区")
    assert "dispatcher of 青石社区" in admin.last().plain
    async with world.store.transaction() as session:
        invite = await session.scalar(select(Invite))
    assert (invite.role, invite.area_code, invite.created_by) == ("dispatcher", "HS-01-01", admin_id)
