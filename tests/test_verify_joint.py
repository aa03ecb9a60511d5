"""Verification before closing (核查) and joint handling (主协办), as the people in the chat live them:
a resolved case goes to the grid leader with the before- and after-photos, who verifies it (then the
citizen rates it) or sends it back with a reason; a case handled by several holders resolves only
when every part is done, or anyway with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.buttons import PartDone, SendBackCase, VerifyCase
from storage import stats
from storage.catalog import CatalogError, parse_catalog
from storage.models import Case, CaseEvent, CasePart
from tests.fake_telegram import plain
from tests.harness import Harness, Person, settings_for
from tests.stories import demo_city, label, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID

GRID = "HS-01-01-G1"
OTHER_GRID = "HS-01-01-G2"
LANGUAGES = {"en": "en", "zh": "zh-hans"}


@pytest.fixture
async def verifying(api, clock, tmp_path, store_url):
    """A world where every resolved case goes to a verifier (GRIDLINE_VERIFY=all)."""
    world = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url, verify="all"), clock)
    await world.start()
    yield world
    await world.stop()


@dataclass
class Grid:
    wang: Person
    li: Person
    li_id: int
    citizen: Person
    case: Case
    language: str


async def a_task(world: Harness, language: str) -> Grid:
    await demo_city(world)
    code = LANGUAGES[language]
    wang, _wang_id = await staff_in_chat(world, "Wang", "worker", GRID, language_code=code)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID, language_code=code)
    citizen = world.person("Citizen", language_code=code)
    case = await submit_manhole(citizen, language=language, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    return Grid(wang, li, li_id, citizen, case, language)


async def case_now(world: Harness, case_id: int) -> Case:
    async with world.store.transaction() as session:
        return await session.get(Case, case_id)


def t(grid: Grid, english: str, **values: object) -> str:
    """The person's words for a message, as they read it (tags dropped)."""
    return plain(label(grid.language, english).format(**values))


def labels(sent) -> list[str]:  # type: ignore[no-untyped-def]
    return [b["text"] for b in sent.buttons()]


async def tap_exactly(person: Person, text: str) -> None:
    """Tap the newest button labelled exactly `text` ("✅ Resolve", not "✅ Resolve anyway")."""
    for sent in reversed(person.chat()):
        for button in sent.buttons():
            if button["text"] == text:
                await person.press_data(button["callback_data"], sent)
                return
    raise AssertionError(f"no button {text!r}")


async def resolve(world: Harness, grid: Grid, note: str) -> None:
    await tap_exactly(grid.wang, label(grid.language, "✅ Resolve"))
    await grid.wang.send_photo()
    await grid.wang.say(note)
    await world.deliver()


async def a_resolved_task(world: Harness) -> Grid:
    """A task in English, accepted by its worker and resolved ("Done", with a photo)."""
    grid = await a_task(world, "en")
    await grid.wang.tap("Accept")
    await resolve(world, grid, "Done")
    return grid


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_resolved_case_is_verified_with_photos_before_the_citizen_rates_it(verifying, language):
    world = verifying
    grid = await a_task(world, language)
    await grid.wang.tap(label(language, "✅ Accept"))
    await resolve(world, grid, "Replaced the cover")
    assert t(grid, "✅ Task <b>{number}</b> is resolved and goes to {name} to verify; the citizen is asked to "
                   "rate it once it is verified.", number=grid.case.number, name="Li") in grid.wang.texts()
    assert (await case_now(world, grid.case.id)).state == "verifying"
    # The citizen hears it is being verified, with nothing to rate yet.
    waiting = grid.citizen.last()
    assert grid.case.number in waiting.plain and not waiting.buttons()
    # The leader's card: the before- and after-photos as one album, then the text and buttons.
    album, card = grid.li.chat()[-3:-1], grid.li.last()
    assert [m.method for m in album] == ["sendMediaGroup", "sendMediaGroup"]
    assert t(grid, "🔎 <b>Verify case {number}</b>", number=grid.case.number) in card.plain
    assert "Replaced the cover" in card.plain
    assert labels(card) == [label(language, "✅ Verified"), label(language, "📷 Verified, with my photo"),
                            label(language, "↩️ Send back")]
    await grid.li.tap(label(language, "✅ Verified"))
    assert (await case_now(world, grid.case.id)).state == "resolved"
    await world.deliver()
    rated = grid.citizen.last()
    assert rated.method == "sendPhoto" and "Replaced the cover" in rated.plain
    assert labels(rated)[:1] == [label(language, "👍 Satisfied")]
    await grid.citizen.tap(label(language, "👍 Satisfied"))
    assert (await case_now(world, grid.case.id)).state == "closed"


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_fix_sent_back_reaches_the_worker_with_the_reason_and_counts_as_closed_only_once_verified(
        verifying, language):
    world = verifying
    grid = await a_task(world, language)
    await grid.wang.tap(label(language, "✅ Accept"))
    await resolve(world, grid, "Done")
    await grid.li.tap(label(language, "↩️ Send back"))
    await grid.li.say("The new cover rocks & shakes")
    await world.deliver()
    case = await case_now(world, grid.case.id)
    assert (case.state, case.resolved_at, case.reminders) == ("in_progress", None, 0)
    told = [text for text in grid.wang.texts() if "rocks" in text]
    assert told and t(grid, "↩️ Task <b>{number}</b> was sent back by {name}, who verified it: {reason}",
                      number=grid.case.number, name="Li", reason="The new cover rocks & shakes") in told
    assert labels(grid.wang.last())[:2] == [label(language, "📍 On site"), label(language, "✅ Resolve")]
    assert not any("rocks" in text for text in grid.citizen.texts())  # the verifier's reason is for the worker
    async with world.store.transaction() as session:
        figures = (await stats.gather(session, await world.runtime.map.index(session),
                                      world.clock.now() - timedelta(days=1), world.clock.now() + timedelta(days=1))).overall
    assert figures.closure_rate == 0.0
    # Resolved again, it is verified; rated, it is closed and counts.
    await resolve(world, grid, "Cover fixed firmly")
    await grid.li.tap(label(language, "✅ Verified"))
    async with world.store.transaction() as session:
        figures = (await stats.gather(session, await world.runtime.map.index(session),
                                      world.clock.now() - timedelta(days=1), world.clock.now() + timedelta(days=1))).overall
    assert figures.by_state == {"resolved": 1} and figures.closure_rate == 0.0
    await world.deliver()
    await grid.citizen.tap(label(language, "👍 Satisfied"))
    async with world.store.transaction() as session:
        figures = (await stats.gather(session, await world.runtime.map.index(session),
                                      world.clock.now() - timedelta(days=1), world.clock.now() + timedelta(days=1))).overall
    assert figures.closure_rate == 1.0


async def test_only_the_verifier_may_verify_and_only_once(verifying):
    world = verifying
    grid = await a_task(world, "en")
    await grid.wang.tap("Accept")
    await grid.wang.press_data(VerifyCase(case=grid.case.id).pack())  # forged, before and by the worker
    assert "not yours to verify" in world.api.methods("answerCallbackQuery")[-1].params.get("text")
    await resolve(world, grid, "Done")
    await grid.wang.press_data(SendBackCase(case=grid.case.id).pack())
    assert "not yours to verify" in world.api.methods("answerCallbackQuery")[-1].params.get("text")
    await grid.li.tap("✅ Verified")
    card = [m for m in grid.li.chat() if "Verify case" in m.plain or "is verified" in m.plain][-1]
    await grid.li.press_data(VerifyCase(case=grid.case.id).pack(), card)  # stale: pressed again
    assert "already Resolved" in world.api.methods("answerCallbackQuery")[-1].params.get("text")
    async with world.store.transaction() as session:
        verified = (await session.scalars(select(CaseEvent).where(CaseEvent.case_id == grid.case.id,
                                                                  CaseEvent.to_state == "resolved"))).all()
    assert len(verified) == 1


async def test_the_verifier_may_verify_with_a_photo_of_their_own(verifying):
    world = verifying
    grid = await a_resolved_task(world)
    await grid.li.tap("📷 Verified, with my photo")
    await grid.li.send_photo()
    assert "is verified" in grid.li.last().plain
    assert (await case_now(world, grid.case.id)).state == "resolved"


async def test_without_the_setting_a_resolved_case_goes_straight_to_the_citizen(world):
    grid = await a_resolved_task(world)
    assert (await case_now(world, grid.case.id)).state == "resolved"
    assert not any("Verify case" in text for text in grid.li.texts())


# --- joint handling --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_a_joint_case_resolves_when_every_part_is_done_or_anyway_with_a_reason(world, language):
    grid = await a_task(world, language)
    code = LANGUAGES[language]
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01", language_code=code)
    zhou, zhou_id = await staff_in_chat(world, "Zhou", "worker", OTHER_GRID, language_code=code)
    await grid.wang.tap(label(language, "✅ Accept"))
    await sun.say(f"/cohold {grid.case.number} {OTHER_GRID}")
    assert "Zhou" in sun.last().plain
    await world.deliver()
    part_card = zhou.last()
    assert t(grid, "🤝 <b>Your part of case {number}</b> (main holder: {name})", number=grid.case.number,
             name="Wang") in part_card.plain
    assert labels(part_card) == [label(language, "✅ My part is done"), label(language, "🙅 Cannot do it")]
    # /tasks shows the part to its holder and the count to the main holder.
    await zhou.say("/tasks")
    assert grid.case.number in zhou.last().plain
    await grid.wang.say("/tasks")
    assert t(grid, "🤝 parts done: {done} of {count}", done=0, count=1) in grid.wang.last().plain
    # The main holder cannot resolve before the part is done.
    await grid.wang.tap(label(language, "✅ Resolve"))
    assert labels(grid.wang.last()) == [label(language, "✅ Resolve anyway (give a reason)")]
    async with world.store.transaction() as session:
        part = await session.scalar(select(CasePart))
    # Forged: somebody else marks Zhou's part done.
    await grid.wang.press_data(PartDone(part=part.id).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params.get("text") == label(language, "This part is not yours.")
    await zhou.tap(label(language, "✅ My part is done"))
    await world.deliver()
    assert any(t(grid, "🤝 {name} finished their part of task <b>{number}</b>.", name="Zhou",
                 number=grid.case.number) == text for text in grid.wang.texts())
    await zhou.press_data(PartDone(part=part.id).pack())  # stale
    assert world.api.methods("answerCallbackQuery")[-1].params.get("text") == \
        label(language, "That case or part has moved on; nothing was changed.")
    await resolve(world, grid, "Fixed together")
    assert (await case_now(world, grid.case.id)).state == "resolved"
    assert zhou_id != 0


async def test_the_main_holder_resolves_anyway_with_a_reason_that_is_recorded(world):
    grid = await a_task(world, "en")
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    zhou, _zhou_id = await staff_in_chat(world, "Zhou", "worker", OTHER_GRID)
    await grid.wang.tap("Accept")
    await sun.say(f"/cohold {grid.case.number} {OTHER_GRID}")
    await world.deliver()
    await grid.wang.tap("✅ Resolve")
    await grid.wang.tap("Resolve anyway")
    await grid.wang.say("The water company fixed the pipe themselves")
    await grid.wang.send_photo()
    await grid.wang.say("Cover back")
    assert (await case_now(world, grid.case.id)).state == "resolved"
    async with world.store.transaction() as session:
        part = await session.scalar(select(CasePart))
    assert (part.state, part.note) == ("waived", "The water company fixed the pipe themselves")
    await zhou.tap("My part is done")
    assert "moved on" in world.api.methods("answerCallbackQuery")[-1].params.get("text")


async def test_a_part_has_its_own_reminders_and_escalation(world):
    grid = await a_task(world, "en")
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
    zhou, _zhou_id = await staff_in_chat(world, "Zhou", "worker", OTHER_GRID)
    await grid.wang.tap("Accept")
    await sun.say(f"/cohold {grid.case.number} {OTHER_GRID}")
    await world.deliver()
    world.clock.advance(hours=2.5)  # the manhole's limit is 4 hours: half of it has passed
    await world.tick()
    assert "half the time for your part" in zhou.last().plain
    world.clock.advance(hours=2)
    await world.tick()
    assert "Your part is due now" in zhou.last().plain
    world.clock.advance(hours=5)
    await world.tick()
    assert any("given to Zhou is overdue" in text for text in sun.texts())


async def test_only_a_dispatcher_of_the_case_adds_co_holders(world):
    grid = await a_task(world, "en")
    await grid.wang.say(f"/cohold {grid.case.number} {OTHER_GRID}")
    assert "Only a dispatcher of that case" in grid.wang.last().plain


def test_the_catalog_says_which_categories_are_verified_and_checks_the_field():
    catalog = parse_catalog('[[category]]\ncode = "a"\nzh = "甲"\nen = "A"\nhours = 4\nlevel = "grid"\nverify = true\n'
                            'sub = [{ code = "a.b", zh = "乙", en = "B" }, { code = "a.c", zh = "丙", en = "C", verify = false }]\n')
    assert [(c.code, c.verify) for c in catalog.all()] == [("a", True), ("a.b", True), ("a.c", False)]
    with pytest.raises(CatalogError) as error:
        parse_catalog('[[category]]\ncode = "a"\nzh = "甲"\nen = "A"\nhours = 4\nlevel = "grid"\nverify = "yes"\n')
    assert error.value.problems == ["category 1 (a): verify must be true or false"]


async def test_a_case_verified_late_still_gives_its_citizen_the_days_to_rate_it(verifying):
    world = verifying
    grid = await a_resolved_task(world)
    world.clock.advance(days=4)  # longer than GRIDLINE_AUTO_CLOSE_DAYS (3) in verification
    await world.tick()
    assert (await case_now(world, grid.case.id)).state == "verifying"
    await grid.li.tap("✅ Verified")
    world.clock.advance(days=2)
    await world.tick()
    assert (await case_now(world, grid.case.id)).state == "resolved"
    world.clock.advance(days=1, minutes=1)
    await world.tick()
    assert (await case_now(world, grid.case.id)).state == "closed"


async def test_a_verified_case_the_citizen_is_not_satisfied_with_goes_back_to_its_worker(verifying):
    world = verifying
    grid = await a_resolved_task(world)
    await grid.li.tap("✅ Verified")
    await world.deliver()
    await grid.citizen.tap("👎 Not satisfied")
    await grid.citizen.say("Still broken")
    case = await case_now(world, grid.case.id)
    assert case.state == "reopened" and case.assignee_id != grid.li_id


async def test_with_gridline_verifier_dispatcher_the_dispatcher_verifies(api, clock, tmp_path, store_url):
    world = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url, verify="all", verifier="dispatcher"), clock)
    await world.start()
    try:
        grid = await a_task(world, "en")
        sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")
        await grid.wang.tap("Accept")
        await resolve(world, grid, "Done")
        assert (await case_now(world, grid.case.id)).verifier_id == sun_id
        assert not any("Verify case" in text for text in grid.li.texts())
        await sun.tap("✅ Verified")
        assert (await case_now(world, grid.case.id)).state == "resolved"
    finally:
        await world.stop()


async def test_a_verifier_who_does_not_act_gets_the_card_again_once(verifying):
    world = verifying
    grid = await a_resolved_task(world)
    cards = sum("Verify case" in text for text in grid.li.texts())
    world.clock.advance(hours=4, minutes=1)  # GRIDLINE_ESCALATE_AFTER_HOURS
    await world.tick()
    world.clock.advance(hours=8)
    await world.tick()
    assert sum("Verify case" in text for text in grid.li.texts()) == cards + 1
    await grid.li.tap("✅ Verified")
    assert (await case_now(world, grid.case.id)).state == "resolved"
