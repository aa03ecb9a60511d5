"""The command-centre board in a real browser (issue 17): a leader's board shows their grid's open
cases and no others; a case submitted in the chat appears on an open board without a reload; a
forged Mini App and a spent link are turned away; the map picker sends the point it was given."""

from __future__ import annotations

import json
from urllib.parse import quote

from storage import board, people
from tests.harness import Harness
from tests.stories import submit_manhole
from tests.test_board import IN_G1, a_leader_and_cases, board_server, init_data

NO_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens there: the board must do without tiles


async def numbers_on_map(page) -> set[str]:  # type: ignore[no-untyped-def]
    return set(await page.evaluate("window.gridlineBoard.numbers()"))


async def signed_in(world: Harness, page, url: str, tg_id: int) -> None:  # type: ignore[no-untyped-def]
    """Open the board as a wall screen would: the one-time link, its button, then the board."""
    async with world.store.transaction() as session:
        person = await people.person_by_tg_id(session, tg_id)
        token = await board.issue_link(session, person.id, world.clock.now())
    await page.goto(f"{url}/board/login/{token}")
    await page.click("button")
    await page.wait_for_url(f"{url}/board/")
    await page.wait_for_selector("body[data-ready='1']", timeout=15000)


async def test_a_leaders_board_shows_their_open_cases_and_a_new_one_without_reload(world, browser_page):
    world.settings.__dict__["map_tiles"] = NO_TILES
    leader_tg, cases = await a_leader_and_cases(world)
    async with board_server(world) as url:
        await signed_in(world, browser_page, url, leader_tg)
        assert await numbers_on_map(browser_page) == {cases["mine"].number}
        assert await browser_page.text_content("#kpi-open b") == "1"
        # The dot on the map is there to see, and opens the case with its history.
        await browser_page.click(f"[data-case='{cases['mine'].number}'].case-dot")
        await browser_page.wait_for_selector("#detail:not([hidden]) .history li")
        assert cases["mine"].number in await browser_page.text_content("#detail-body")
        await browser_page.click("#detail-close")
        # A citizen reports in the chat; the open board shows it without a reload.
        citizen = world.person("Late reporter", language_code="en")
        fresh = await submit_manhole(citizen, lat=IN_G1[0] + 0.001, lon=IN_G1[1])
        await browser_page.wait_for_function(f"window.gridlineBoard.numbers().indexOf({json.dumps(fresh.number)}) >= 0",
                                             timeout=2000)
        assert await numbers_on_map(browser_page) == {cases["mine"].number, fresh.number}
        await browser_page.wait_for_function("document.querySelector('#kpi-open b').textContent === '2'", timeout=2000)
        await browser_page.check("#f-heat")  # the last 30 days' reports as heat
        await browser_page.wait_for_selector("canvas.leaflet-heatmap-layer", state="attached")
        assert await browser_page.is_visible("#tiles-note")  # no tiles: said so, boundaries drawn
        assert await browser_page.locator("path.leaflet-interactive").count() > 0


async def test_the_mini_app_signs_in_with_initdata_and_a_forged_one_is_turned_away(world, browser_page):
    world.settings.__dict__["map_tiles"] = ""
    leader_tg, cases = await a_leader_and_cases(world)
    async with board_server(world) as url:
        await browser_page.goto(f"{url}/board/#tgWebAppData={quote(init_data(world, leader_tg))}&tgWebAppVersion=8.0")
        await browser_page.wait_for_selector("body[data-ready='1']", timeout=15000)
        assert await numbers_on_map(browser_page) == {cases["mine"].number}
        await browser_page.goto(f"{url}/board/?again#tgWebAppData={quote(init_data(world, leader_tg, token='1:forged'))}")
        await browser_page.wait_for_selector("#denied:not([hidden])", timeout=15000)
        assert await browser_page.evaluate("window.gridlineBoard.numbers().length") == 0


async def test_a_spent_link_gets_401_in_the_browser(world, browser_page):
    leader_tg, _cases = await a_leader_and_cases(world)
    async with world.store.transaction() as session:
        person = await people.person_by_tg_id(session, leader_tg)
        token = await board.issue_link(session, person.id, world.clock.now())
        assert await board.open_link(session, token, world.clock.now()) is not None
    async with board_server(world) as url:
        await browser_page.goto(f"{url}/board/login/{token}")
        async with browser_page.expect_response(lambda r: r.request.method == "POST") as answer:
            await browser_page.click("button")
        assert (await answer.value).status == 401
        assert "/board" in await browser_page.text_content("body")


async def test_the_picker_sends_the_point_that_was_tapped(world, browser_page):
    world.settings.__dict__["map_tiles"] = ""
    leader_tg, _cases = await a_leader_and_cases(world)  # the demo city
    async with board_server(world) as url:
        await browser_page.goto(f"{url}/board/pick?lang=en")
        await browser_page.wait_for_function("window.gridlinePicker && window.gridlinePicker.ready", timeout=15000)
        assert await browser_page.text_content("#send") == "Send this place"
        point = await browser_page.evaluate(
            "([lat, lon]) => { const p = window.gridlinePicker.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            list(IN_G1))
        box = await browser_page.locator("#map").bounding_box()
        await browser_page.mouse.click(box["x"] + point[0], box["y"] + point[1])
        await browser_page.click("#send")
        sent = json.loads((await browser_page.evaluate("window.GridlineTelegram.sent"))[0])
        assert abs(sent["lat"] - IN_G1[0]) < 0.0005 and abs(sent["lon"] - IN_G1[1]) < 0.0005
