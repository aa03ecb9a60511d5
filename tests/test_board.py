"""The command-centre board (issue 17): who gets in (Mini App initData, one-time links and their
sessions), what each sees (their own scope only), live changes, /board in the chat, and the
citizens' map picker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from adapters.board_auth import sign_init_data
from bot.web import HttpFace
from storage import board, people
from tests.harness import Harness, Person
from tests.stories import demo_city, label, staff, submit_manhole

IN_G1 = (29.85417, 121.50333)  # HS-01-01-G1
IN_G2 = (29.85417, 121.51)  # HS-01-01-G2, beside it
FAR = (29.8751, 121.5512)  # HS-04-01-G2, another street
CITY = "29.80,121.45,29.95,121.62"


@asynccontextmanager
async def board_server(world: Harness) -> AsyncIterator[str]:
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{face.port}"
    finally:
        await face.stop()


def init_data(world: Harness, tg_id: int, age_seconds: int = 0, token: str | None = None) -> str:
    """What Telegram hands a Mini App opened by this user (signed with the bot's token, or `token`)."""
    fields = {"auth_date": str(int(world.clock.now().timestamp()) - age_seconds), "query_id": "AAE1",
              "user": json.dumps({"id": tg_id, "first_name": "Wang", "language_code": "en"})}
    return sign_init_data(fields, token or world.settings.bot_token.get_secret_value())


async def a_leader_and_cases(world: Harness) -> tuple[int, dict[str, object]]:
    """The demo city; a leader of HS-01-01-G1; a case there, one in the grid beside it and one far away."""
    await demo_city(world)
    leader_tg = 7001
    await staff(world, leader_tg, "Wang Leader", "leader", "HS-01-01-G1")
    cases = {}
    for name, (lat, lon) in (("mine", IN_G1), ("beside", IN_G2), ("far", FAR)):
        citizen = world.person(f"citizen {name}", language_code="en")
        cases[name] = await submit_manhole(citizen, lat=lat, lon=lon)
    return leader_tg, cases


async def test_a_leader_sees_the_cases_of_their_grid_and_gets_404_for_another(world):
    leader_tg, cases = await a_leader_and_cases(world)
    async with board_server(world) as url, aiohttp.ClientSession(url) as http:
        auth = {"Authorization": "tma " + init_data(world, leader_tg)}
        async with http.get(f"/board/api/cases?bbox={CITY}", headers=auth) as response:
            assert response.status == 200
            numbers = {p["number"] for p in (await response.json())["points"]}
        assert numbers == {cases["mine"].number}
        async with http.get(f"/board/api/case/{cases['mine'].id}", headers=auth) as response:
            detail = await response.json()
        assert detail["number"] == cases["mine"].number and detail["history"] and detail["photos"][0]["url"].startswith("/media/")
        async with http.get(detail["photos"][0]["url"]) as response:
            assert response.status == 200 and response.content_type == "image/jpeg"
        for other in ("beside", "far"):
            async with http.get(f"/board/api/case/{cases[other].id}", headers=auth) as response:
                assert response.status == 404
        async with http.get("/board/api/case/999999", headers=auth) as response:
            assert response.status == 404
        async with http.get(f"/board/api/cases?bbox={CITY}&area=HS-04", headers=auth) as response:
            assert response.status == 404
        async with http.get("/board/api/lists", headers=auth) as response:
            lists = await response.json()
        assert lists["totals"]["open"] == 1
        # The page itself carries no case data.
        async with http.get("/board/") as response:
            page = await response.text()
        assert response.status == 200 and cases["mine"].number not in page and "/board/static/board.js" in page


async def test_a_street_dispatcher_sees_the_street_and_an_admin_everything(world):
    _leader, cases = await a_leader_and_cases(world)
    await staff(world, 7002, "Zhao Dispatcher", "dispatcher", "HS-01")
    await staff(world, 7003, "Admin", "admin", None)
    async with board_server(world) as url, aiohttp.ClientSession(url) as http:
        for tg_id, expected in ((7002, {"mine", "beside"}), (7003, {"mine", "beside", "far"})):
            async with http.get(f"/board/api/cases?bbox={CITY}", headers={"Authorization": "tma " + init_data(world, tg_id)}) as response:
                numbers = {p["number"] for p in (await response.json())["points"]}
            assert numbers == {cases[name].number for name in expected}


async def test_forged_stale_or_missing_initdata_gets_401_and_a_citizen_403(world):
    leader_tg, _cases = await a_leader_and_cases(world)
    citizen = world.person("Citizen", language_code="en")
    await citizen.say("/start")
    async with board_server(world) as url, aiohttp.ClientSession(url) as http:
        for headers in ({"Authorization": "tma " + init_data(world, leader_tg, token="123:forged")},
                        {"Authorization": "tma " + init_data(world, leader_tg, age_seconds=2 * 86400)},
                        {"Authorization": "tma " + init_data(world, leader_tg).replace("Wang", "Wong")},
                        {"Authorization": "tma garbage"}, {}):
            for path in ("/board/api/me", f"/board/api/cases?bbox={CITY}", "/board/api/events"):
                async with http.get(path, headers=headers) as response:
                    assert response.status == 401, (path, headers)
        async with http.get("/board/api/me", headers={"Authorization": "tma " + init_data(world, citizen.tg_id)}) as response:
            assert response.status == 403


async def test_a_one_time_link_opens_a_session_once_and_revoke_ends_it(world):
    leader_tg, _cases = await a_leader_and_cases(world)
    async with world.store.transaction() as session:
        person = await people.person_by_tg_id(session, leader_tg)
        token = await board.issue_link(session, person.id, world.clock.now())
        late = await board.issue_link(session, person.id, world.clock.now())
    # A cookie jar that keeps cookies of a numeric host (loopback), as a browser does.
    async with board_server(world) as url, aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"/board/login/{token}") as response:  # a preview or a prefetch spends nothing
            assert response.status == 200
        async with http.post(f"/board/login/{token}", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/board/"
            cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        async with http.get("/board/api/me") as response:
            assert response.status == 200 and (await response.json())["name"] == "Wang Leader"
        async with aiohttp.ClientSession(url) as stranger, stranger.post(f"/board/login/{token}") as response:
            assert response.status == 401  # used
        world.clock.advance(minutes=11)
        async with aiohttp.ClientSession(url) as stranger, stranger.post(f"/board/login/{late}") as response:
            assert response.status == 401  # expired
        async with world.store.transaction() as session:
            assert await board.revoke(session, person.id) == 3  # the session and both links
        async with http.get("/board/api/me") as response:
            assert response.status == 401


async def test_board_in_the_chat_gives_staff_a_link_and_others_a_refusal(world):
    leader_tg, _cases = await a_leader_and_cases(world)
    leader = Person(world, leader_tg, "Wang Leader", "en")
    await leader.say("/board")
    assert "/board/login/" in leader.last().plain
    citizen = world.person("Citizen", language_code="en")
    await citizen.say("/board")
    assert "/board/login/" not in citizen.last().plain
    assert "leaders" in citizen.last().plain


async def test_with_an_https_address_staff_get_the_mini_app_button_and_menu_button(world):
    world.settings.__dict__["public_url"] = "https://grid.example.org"
    leader_tg, _cases = await a_leader_and_cases(world)
    leader = Person(world, leader_tg, "Wang Leader", "en")
    await leader.say("/board")
    buttons = leader.last().buttons()
    assert buttons[0]["web_app"]["url"] == "https://grid.example.org/board/"
    assert "https://grid.example.org/board/login/" in leader.last().plain
    menu = world.api.methods("setChatMenuButton")
    assert menu and menu[-1].params["menu_button"]["web_app"]["url"] == "https://grid.example.org/board/"


async def test_with_an_https_address_staff_get_the_board_menu_button_at_start_and_citizens_do_not(world):
    world.settings.__dict__["public_url"] = "https://grid.example.org"
    leader_tg, _cases = await a_leader_and_cases(world)
    citizen = world.person("Citizen", language_code="en")
    await citizen.say("/start")
    assert not world.api.methods("setChatMenuButton")
    leader = Person(world, leader_tg, "Wang Leader", "en")
    await leader.say("/start")
    menu = world.api.methods("setChatMenuButton")
    assert len(menu) == 1 and int(menu[0].params["chat_id"]) == leader_tg
    assert menu[0].params["menu_button"]["web_app"]["url"] == "https://grid.example.org/board/"


async def test_the_picked_point_becomes_the_drafts_location(world):
    world.settings.__dict__["public_url"] = "https://grid.example.org"
    await demo_city(world)
    citizen = world.person("Li Hua", language_code="en")
    await citizen.send_photo()
    keyboard = citizen.last().reply_markup["keyboard"]
    picker = [b for row in keyboard for b in row if isinstance(b, dict) and "web_app" in b]
    assert picker and picker[0]["web_app"]["url"] == "https://grid.example.org/board/pick?lang=en"
    await citizen.send(web_app_data={"data": json.dumps({"lat": IN_G1[0], "lon": IN_G1[1]}), "button_text": picker[0]["text"]})
    await citizen.tap("Municipal")
    await citizen.tap("manhole")
    await citizen.tap(label("en", "Skip ➡️"))
    assert "29.85417, 121.50333" in citizen.last().plain
    # A point that is no place is refused, as a shared one would be; outside every grid is answered as a shared one is.
    other = world.person("Zhang San", language_code="en")
    await other.send_photo()
    await other.send(web_app_data={"data": json.dumps({"lat": 999, "lon": 0}), "button_text": "x"})
    assert "not a real place" in other.last().plain
    shared = world.person("Shared", language_code="en")
    await shared.send_photo()
    await shared.send_location(0.5, 0.5)
    await other.send(web_app_data={"data": json.dumps({"lat": 0.5, "lon": 0.5}), "button_text": "x"})
    assert other.last().plain == shared.last().plain


async def test_without_https_there_is_no_picker_button(world):
    await demo_city(world)
    citizen = world.person("Li Hua", language_code="en")
    await citizen.send_photo()
    keyboard = citizen.last().reply_markup["keyboard"]
    assert not [b for row in keyboard for b in row if isinstance(b, dict) and "web_app" in b]


async def test_a_change_made_by_another_process_reaches_the_event_stream(world):
    """On PostgreSQL through another store (its own engine, as another process has): NOTIFY; on
    SQLite (one process) through the store's own commit hook."""
    import asyncio

    from storage.db import Store
    from storage.models import Case

    leader_tg, cases = await a_leader_and_cases(world)
    other = Store(world.store.url) if world.settings.db_url else world.store
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    try:
        if world.settings.db_url:
            await asyncio.wait_for(face.board._listener.listening.wait(), 5)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{face.port}") as http:
            auth = {"Authorization": "tma " + init_data(world, leader_tg)}
            async with http.get("/board/api/events", headers=auth) as stream:
                assert stream.status == 200 and stream.content_type == "text/event-stream"

                async def next_change() -> str:
                    while True:
                        line = (await stream.content.readline()).decode()
                        if line.startswith("data: "):
                            return line[6:].strip()

                first = await asyncio.wait_for(next_change(), 5)
                async with other.transaction() as session:
                    (await session.get(Case, cases["mine"].id)).description = "changed elsewhere"
                assert await asyncio.wait_for(next_change(), 2) != first
    finally:
        await face.stop()
        if other is not world.store:
            await other.close()


async def test_the_boards_figures_are_the_numbers_of_stats(world):
    from datetime import timedelta

    from storage import stats
    from storage.models import Case
    from storage.vocab import CaseState

    _leader, cases = await a_leader_and_cases(world)
    now = world.clock.now()
    async with world.store.transaction() as session:
        mine, beside, far = [await session.get(Case, cases[n].id) for n in ("mine", "beside", "far")]
        mine.state, mine.resolved_at, mine.rating = CaseState.CLOSED, now + timedelta(hours=1), 1
        beside.state, beside.resolved_at, beside.rating = CaseState.CLOSED, now + timedelta(days=9), 0
        far.state = CaseState.REJECTED
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        start, end = now - timedelta(days=30), now + timedelta(days=1)
        for areas in (None, ["HS-01"], ["HS-01-01-G1"]):
            report = await stats.gather(session, index, start, end, areas)
            overall, per_area = await stats.rates(session, index, start, end, areas)
            def rates_of(f: stats.Figures) -> tuple[object, ...]:
                return (f.total, f.by_state, f.on_time_rate, f.closure_rate, f.satisfaction_rate)
            assert rates_of(overall) == rates_of(report.overall)
            assert {k: rates_of(v) for k, v in per_area.items()} == {k: rates_of(v) for k, v in report.per_area.items()}


async def test_gridline_board_link_prints_a_link_and_revoke_ends_the_session(world):
    import asyncio

    from tests.test_cli import gridline

    leader_tg, _cases = await a_leader_and_cases(world)
    env = {**world.command_env(), "GRIDLINE_PUBLIC_URL": "https://grid.example.org"}
    printed = await asyncio.to_thread(gridline, "board", "link", "--tg-id", str(leader_tg), env=env)
    assert printed.returncode == 0, printed.stderr
    link = printed.stdout.split()[0]
    assert link.startswith("https://grid.example.org/board/login/")
    async with board_server(world) as url, aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(link.replace("https://grid.example.org", ""), allow_redirects=False) as response:
            assert response.status == 303
        async with http.get("/board/api/me") as response:
            assert response.status == 200
        ended = await asyncio.to_thread(gridline, "board", "revoke", "--tg-id", str(leader_tg), env=env)
        assert ended.returncode == 0, ended.stderr
        async with http.get("/board/api/me") as response:
            assert response.status == 401
    citizen = world.person("Citizen", language_code="en")
    await citizen.say("/start")
    refused = await asyncio.to_thread(gridline, "board", "link", "--tg-id", str(citizen.tg_id), env=env)
    assert refused.returncode == 2 and "no board" in refused.stderr
