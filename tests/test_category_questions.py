"""A category asks its questions after it is chosen: buttons for yes/no and choices, typed numbers
checked, optional ones skipped, and a stop answer that ends the report with whom to call. The
answers travel with the case: the summary, the worker's card, the exports."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage import cases, export, people, stats
from storage.catalog import load_catalog, sync_categories
from storage.db import MIGRATIONS_DIR, Store, upgrade_schema_async
from storage.models import Case, Category
from tests.stories import demo_city, label, newest_case, open311_client, staff_in_chat
from tests.test_routing import IN_GRID, OUTSIDE
from tests.test_tasks import GRID, case_now

FIRE = {"zh": "消防安全", "en": "Fire safety"}
LANE = {"zh": "消防通道", "en": "fire lane"}
SAFETY = {"zh": "公共安全", "en": "Public safety"}
GAS = {"zh": "燃气", "en": "Gas"}


async def start_report(citizen, top: str, sub: str) -> None:  # type: ignore[no-untyped-def]
    await citizen.send_photo()
    await citizen.send_location(*IN_GRID)
    await citizen.tap(top)
    await citizen.tap(sub)


@pytest.mark.parametrize("language_code, language", [("zh-hans", "zh"), ("en", "en")])
async def test_a_fire_lane_report_asks_what_blocks_it_and_how_many_then_submits_with_the_answers(world, language_code,
                                                                                                  language):
    await demo_city(world)
    citizen = world.person("Zhao", language_code=language_code)
    await start_report(citizen, FIRE[language], LANE[language])
    asked = citizen.last()
    assert asked.plain.startswith(label(language, "❓ ({n}/{count}) {question}").format(n=1, count=2, question=""))
    assert ("是什么堵住了消防通道" if language == "zh" else "What is blocking the fire lane?") in asked.plain
    options = [b["text"] for b in asked.buttons()]
    assert options[0] == ("停放的车辆" if language == "zh" else "Parked vehicles") and len(options) == 4  # required: no Skip

    await citizen.say("what?")  # not an option: asked again
    assert citizen.texts()[-2] == label(language, "Please tap one of the answers.")
    assert citizen.last().plain.startswith(label(language, "❓ ({n}/{count}) {question}").format(n=1, count=2, question=""))
    await citizen.tap("停放的车辆" if language == "zh" else "Parked vehicles")
    asked = citizen.last()
    assert asked.plain.startswith(label(language, "❓ ({n}/{count}) {question}").format(n=2, count=2, question="")) and label(language, "(optional)") in asked.plain
    assert [b["text"] for b in asked.buttons()] == [label(language, "Skip ➡️")]

    await citizen.say("lots")
    assert citizen.texts()[-2] == label(language, "Please type a number from {low} to {high}.").format(low=1, high=50)
    await citizen.say("99")
    assert citizen.texts()[-2] == label(language, "Please type a number from {low} to {high}.").format(low=1, high=50)
    await citizen.say("3")
    assert "📝" in citizen.last().plain  # on to the description
    await citizen.tap(label(language, "Skip ➡️"))
    summary = citizen.last().plain
    assert ("停放的车辆" if language == "zh" else "Parked vehicles") in summary
    assert ("有几辆车" if language == "zh" else "How many vehicles?") in summary and ": 3" in summary

    # Change › Answers asks them again from the first.
    await citizen.tap(label(language, "✏️ Change"))
    await citizen.tap(label(language, "❓ Answers"))
    assert citizen.last().plain.startswith(label(language, "❓ ({n}/{count}) {question}").format(n=1, count=2, question=""))
    await citizen.say("2")  # the second option, by its number in the list
    await citizen.tap(label(language, "Skip ➡️"))
    summary = citizen.last().plain
    assert ("堆放的杂物" if language == "zh" else "Things piled up") in summary

    await citizen.tap(label(language, "✅ Submit"))
    case = await newest_case(world)
    assert case.category_code == "fire.passage" and case.answers == {"blocked_by": "things", "vehicles": None}


@pytest.mark.parametrize("language_code, language", [("zh-hans", "zh"), ("en", "en")])
async def test_a_stop_answer_ends_the_report_with_the_number_to_call(world, language_code, language):
    citizen = world.person("Zhao", language_code=language_code)
    await start_report(citizen, SAFETY[language], GAS[language])
    asked = citizen.last()
    assert [b["text"] for b in asked.buttons()] == [label(language, "Yes"), label(language, "No")]
    await citizen.tap(label(language, "Yes"))
    told = citizen.last().plain
    assert "119" in told and ("请立即离开" if language == "zh" else "Leave now") in told
    assert ("报告未发送" if language == "zh" else "Your report was not sent.") in told
    assert (await newest_case(world)) is None
    # The stopped report is over: its buttons are out of date, and a new report starts afresh.
    await citizen.say("/report")
    assert citizen.last().plain == label(language, "📷 Send a photo of the problem (one to five photos).")


async def test_an_optional_question_is_skipped_and_a_typed_yes_is_an_answer(world):
    citizen = world.person("Zhao", language_code="en")
    await start_report(citizen, "Municipal", "Leaking water")
    assert "Is water still flowing?" in citizen.last().plain
    await citizen.say("yes")
    assert "Is it flooding a road or a building?" in citizen.last().plain
    await citizen.tap("Skip")
    await citizen.say("By the school gate")
    summary = citizen.last().plain
    assert "Is water still flowing?: Yes" in summary and "Is it flooding a road or a building?: skipped" in summary
    await citizen.tap("Submit")
    assert (await newest_case(world)).answers == {"flowing": "yes", "flooding": None}


async def test_a_stale_answer_button_is_refused(world):
    citizen = world.person("Zhao", language_code="en")
    await start_report(citizen, "Municipal", "Leaking water")
    first = citizen.last()
    yes = next(b["callback_data"] for b in first.buttons() if b["text"] == "Yes")
    await citizen.tap("No", first)
    await citizen.press_data(yes, first)  # the first question again, already answered
    assert world.api.methods("answerCallbackQuery")[-1].params.get("text") == "This button is out of date."


@pytest.mark.parametrize("language_code, language", [("zh-hans", "zh"), ("en", "en")])
async def test_the_answers_are_on_the_workers_card_and_in_the_exports(world, language_code, language):
    await demo_city(world)
    zhou, _zhou_id = await staff_in_chat(world, "Zhou", "worker", GRID, language_code=language_code)
    citizen = world.person("Zhao", language_code="en")
    await start_report(citizen, "Fire safety", "fire lane")
    await citizen.tap("Things piled up")
    await citizen.tap("Skip")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    await world.deliver()
    case = await newest_case(world)
    await citizen.say("📋 My reports")
    listing = citizen.last()
    await citizen.tap(case.number)
    assert "❓ What is blocking the fire lane?: Things piled up" in listing.plain  # the citizen's /mycases
    assert "How many vehicles? (Skip if none): skipped" in listing.plain
    card = next(m.plain for m in reversed(zhou.chat()) if case.number in m.plain)
    assert ("是什么堵住了消防通道？: 堆放的杂物" if language == "zh" else "What is blocking the fire lane?: Things piled up") \
        in card
    async with world.store.transaction() as session:
        found = await export.cases_between(session, await world.runtime.map.index(session), case.created_at,
                                           case.created_at.replace(year=case.created_at.year + 1), None)
    csv_text = "".join(export.as_csv(found, world.runtime.settings.zone))
    assert "blocked_by=things" in csv_text
    geojson = "".join(export.as_geojson(found, world.runtime.settings.zone))
    assert '"blocked_by": "things"' in geojson


# --- Open311: the questions as GeoReport v2 attributes -------------------------------------------

LANE_REQUEST = {"service_code": "fire.passage", "lat": str(IN_GRID[0]), "long": str(IN_GRID[1]),
                "description": "Cars in the fire lane again"}


async def test_open311_lists_the_questions_as_attributes_and_says_metadata_true(world):
    await demo_city(world)
    async with open311_client(world) as (http, _key):
        async with http.get("/open311/v2/services.json?locale=en") as response:
            services = {s["service_code"]: s for s in await response.json()}
        assert services["fire.passage"]["metadata"] is True and services["municipal.manhole"]["metadata"] is False
        async with http.get("/open311/v2/services/fire.passage.json?locale=en") as response:
            definition = await response.json()
        blocked, vehicles = definition["attributes"]
        assert blocked == {"variable": True, "code": "blocked_by", "datatype": "singlevaluelist", "required": True,
                           "datatype_description": None, "order": 1, "description": "What is blocking the fire lane?",
                           "values": [{"key": "vehicles", "name": "Parked vehicles"}, {"key": "things", "name": "Things piled up"},
                                      {"key": "gate", "name": "A locked gate or barrier"},
                                      {"key": "other", "name": "Something else"}]}
        assert (vehicles["datatype"], vehicles["required"], vehicles["order"]) == ("number", False, 2)
        assert vehicles["datatype_description"] == "a number at least 1 and at most 50"
        async with http.get("/open311/v2/services/safety.gas.xml", headers={"Accept-Language": "zh-CN"}) as response:
            root = ET.fromstring(await response.text())
        attribute = root.find("attributes/attribute")
        assert attribute.find("code").text == "danger" and attribute.find("datatype").text == "singlevaluelist"
        assert [v.find("name").text for v in attribute.findall("values/value")] == ["是", "否"]


async def test_open311_checks_the_posted_answers_and_stores_them_as_the_chat_does(world):
    await demo_city(world)
    async with open311_client(world) as (http, key):
        async def post(**fields: str) -> tuple[int, object]:
            async with http.post("/open311/v2/requests.json", data={**LANE_REQUEST, "api_key": key, **fields}) as response:
                return response.status, await response.json()

        status, errors = await post()
        assert status == 400 and errors == [{"code": 400, "description": "attribute[blocked_by] is required"}]
        status, errors = await post(**{"attribute[blocked_by]": "tanks", "attribute[vehicles]": "500"})
        assert status == 400 and [e["description"] for e in errors] == [
            "attribute[blocked_by] must be one of vehicles, things, gate, other", "attribute[vehicles] must be at most 50"]
        status, errors = await post(**{"attribute[blocked_by]": "gate", "attribute[colour]": "red"})
        assert status == 400 and errors[0]["description"] == "attribute[colour] is not an attribute of service fire.passage"
        assert (await newest_case(world)) is None  # nothing made of a refused request

        status, created = await post(**{"attribute[blocked_by]": "vehicles", "attribute[vehicles]": "2"})
        assert status == 201 and created[0]["service_notice"] is None
        case = await newest_case(world)
        assert case.answers == {"blocked_by": "vehicles", "vehicles": 2}
        async with http.get(f"/open311/v2/requests/{case.number}.json?api_key={key}&extensions=true") as response:
            served = (await response.json())[0]
        assert served["extended_attributes"]["answers"] == {"blocked_by": "vehicles", "vehicles": 2}

        # A JSON client may nest them; a stop answer is taken, with what the chat would have said.
        async with http.post("/open311/v2/requests.json?locale=en", json={
                "service_code": "safety.gas", "lat": IN_GRID[0], "long": IN_GRID[1], "api_key": key,
                "attribute": {"danger": "yes"}}) as response:
            assert response.status == 201
            notice = (await response.json())[0]["service_notice"]
        assert "119" in notice and notice.startswith("Leave now")


# --- time limits per step ------------------------------------------------------------------------

async def report_fire_lane(citizen, submit: str = "Submit") -> Case:  # type: ignore[no-untyped-def]
    """Fire lane (accept within 2 h, on site within 6 h, resolved within 24 h), in the grid."""
    await start_report(citizen, "Fire safety", "fire lane")
    await citizen.tap("Parked vehicles")
    await citizen.say("2")
    await citizen.tap("Skip")
    await citizen.tap(submit)
    await citizen.world.deliver()
    return await newest_case(citizen.world)


def plain(language: str, message: str) -> str:
    return label(language, message).replace("<b>", "").replace("</b>", "")


@pytest.mark.parametrize("language_code, language", [("zh-hans", "zh"), ("en", "en")])
async def test_a_late_step_reminds_the_worker_and_leader_then_goes_up_and_stats_count_each_step(world, language_code,
                                                                                                  language):
    await demo_city(world)
    wang, _wang_id = await staff_in_chat(world, "Wang", "worker", GRID, language_code=language_code)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID, language_code=language_code)
    citizen = world.person("Zhao", language_code="en")
    late = await report_fire_lane(citizen)
    assert (late.accept_due_at - late.created_at, late.arrive_due_at - late.created_at) == (timedelta(hours=2),
                                                                                             timedelta(hours=6))
    mark_wang, mark_li = wang.mark(), li.mark()
    world.clock.advance(minutes=30)  # the usual nudge; no hand-over to the leader: the step's limit decides
    await world.tick()
    await world.deliver()
    assert (await case_now(world, late.id)).assignee_id != li_id
    world.clock.advance(hours=1, minutes=31)  # 2 h 1 min: past the limit to accept
    await world.tick()
    await world.tick()  # nothing twice
    await world.deliver()
    accept_late = plain(language, "⏰ <b>The time to accept this task is up.</b>")
    assert [t for t in wang.since(mark_wang) if t.startswith(accept_late)] != []
    assert [t.splitlines()[0] for t in li.since(mark_li)] == [accept_late]
    when = "23 Nov 2026, 12:00" if language == "en" else "2026年11月23日 12:00"
    assert label(language, "📥 Accept by {when}").format(when=when) in wang.last().plain
    await wang.tap(label(language, "✅ Accept"))

    world.clock.advance(hours=4)  # 6 h 1 min: nobody on site
    mark_wang, mark_li = wang.mark(), li.mark()
    await world.tick()
    await world.deliver()
    on_site_late = plain(language, "⏰ <b>The time to be on site for this task is up.</b> Tap 📍 On site when you are there.")
    assert [t.splitlines()[0] for t in wang.since(mark_wang)] == [on_site_late]
    assert [t.splitlines()[0] for t in li.since(mark_li)] == [on_site_late]
    world.clock.advance(hours=4)  # escalate_after later: one level up, to the grid's leader
    await world.tick()
    case = await case_now(world, late.id)
    assert (case.state, case.assignee_id) == ("escalated", li_id)

    # A second one done in time: accepted at once, on site in an hour, resolved in two.
    prompt = await report_fire_lane(citizen, "Report anyway")
    await wang.tap(label(language, "✅ Accept"), wang.last())
    world.clock.advance(hours=1)
    await wang.tap(label(language, "📍 On site"), wang.last())
    world.clock.advance(hours=1)
    await wang.tap(label(language, "✅ Resolve"))
    await wang.send_photo(caption="Towed away")
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        report = await stats.gather(session, index, late.created_at - timedelta(days=1),
                                    late.created_at + timedelta(days=2), [GRID])
    overall = report.overall
    assert (overall.accept_on_time_rate, overall.arrive_on_time_rate) == (0.5, 1.0)
    assert (overall.on_time_rate, overall.all_steps_on_time_rate) == (1.0, 1.0)
    assert (await case_now(world, prompt.id)).arrived_at == prompt.created_at + timedelta(hours=1)
    await li.say("/stats")
    assert label(language, "⏱ On time per step: accept {accept} · on site {arrive} · resolve {resolve} · every step {every}") \
        .format(accept="50.0%", arrive="100.0%", resolve="100.0%", every="100.0%") in li.last().plain


# --- an existing store moves forward ------------------------------------------------------------

async def test_a_store_from_before_the_questions_migrates_with_nothing_lost(tmp_path):
    from alembic import command
    from alembic.config import Config

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    await upgrade_schema_async(url)
    store = Store(url)
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    async with store.transaction() as session:
        await sync_categories(session, load_catalog())
        reporter = await people.touch_person(session, 2, "B", "en", now)
        made = await cases.submit_case(session, cases.NewCase(reporter.id, "municipal.manhole", "Cover gone", 29.85, 121.5,
                                                              None, "shared", ()), now, ZoneInfo("Asia/Shanghai"))
        number, deadline = made.number, made.deadline_at
    await store.close()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    await asyncio.to_thread(command.downgrade, config, "0022")  # as a store of the last release was
    await upgrade_schema_async(url)
    store = Store(url)
    async with store.transaction() as session:
        case = await session.scalar(select(Case).where(Case.number == number))
        category = await session.get(Category, "municipal.manhole")
    await store.close()
    assert (case.description, case.deadline_at, case.state) == ("Cover gone", deadline, "reported")
    assert (case.answers, case.accept_due_at, case.arrive_due_at, case.arrived_at, case.step_alerts) == (None,) * 4 + (0,)
    assert category.time_limit_hours == 4 and category.accept_hours is None


# --- gridline categories check -------------------------------------------------------------------

BAD_QUESTIONS = '''
[[category]]
code = "water"
zh = "水"
en = "Water"
hours = 10
level = "grid"
accept_hours = 12
sub = [ { code = "water.leak", zh = "漏水", en = "Leak", arrive_hours = 4, accept_hours = 6 } ]

[[question]]
category = "water.leak"
code = "danger"
kind = "yesno"
zh = "危险吗？"
stop = "maybe"
stop_en = "Call now"

[[question]]
category = "water"
code = "how"
kind = "choice"
zh = "怎样？"
en = "How?"
options = [ { code = "a", zh = "甲", en = "A" }, { code = "a", en = "Again" } ]

[[question]]
category = "water.leak"
code = "litres"
kind = "number"
zh = "多少升？"
en = "How many litres?"
min = 10
max = 1
stop = "yes"

[[question]]
category = "roads"
code = "Big Hole"
kind = "slider"
zh = "坑"
en = "Hole"
'''


def test_categories_check_names_every_problem_of_the_questions_and_step_limits(tmp_path):
    from tests.test_cli import gridline

    bad = tmp_path / "questions.toml"
    bad.write_text(BAD_QUESTIONS, encoding="utf-8")
    result = gridline("categories", "check", str(bad))
    assert result.returncode == 2
    said = [line.removeprefix(f"gridline: {bad}: ") for line in result.stderr.strip().splitlines()]
    assert said == [
        "category 1 (water), field accept_hours: a whole number of hours from 1 to the category's hours (10)",
        "category 1, sub 1 (water.leak), field accept_hours: more than arrive_hours (accepting comes before arriving)",
        "category water.leak, question 1 (danger), field en: missing the text in 'en'",
        "category water.leak, question 1 (danger), field stop: must be one of yes, no",
        "category water.leak, question 1 (danger), field stop_phone: a stop answer needs the number to call "
        "(3-20 digits, + or -)",
        "category water.leak, question 1 (danger), field stop_zh: missing the text in 'zh'",
        "category water, question 2 (how), option 2, field code: 'a' used twice",
        "category water, question 2 (how), option 2 (a), field zh: missing the text in 'zh'",
        "category water.leak, question 3 (litres), field min: greater than max",
        "category water.leak, question 3 (litres), field stop: only a yes/no or a choice question may stop a report",
        "category roads, question 4 (Big Hole), field code: must be 1-16 characters of a-z, 0-9 or '_'",
        "category roads, question 4 (Big Hole), field kind: must be one of yesno, choice, number, text",
        "category roads: questions given for a category the catalog does not have",
    ]
    ok = gridline("categories", "check", "storage/categories.toml")
    assert ok.returncode == 0 and "3 ask questions (5 in all)" in ok.stdout


async def test_the_dispatchers_card_shows_the_answers(world):
    await demo_city(world)
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person("Zhao", language_code="en")
    await citizen.send_photo()
    await citizen.send_location(*OUTSIDE)
    await citizen.tap("Municipal")
    await citizen.tap("Leaking water")
    await citizen.tap("No")
    await citizen.say("y")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    await world.deliver()
    card = sun.last().plain
    assert "❓ Is water still flowing?: No" in card and "❓ Is it flooding a road or a building?: Yes" in card
