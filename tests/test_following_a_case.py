"""After submitting, the citizen hears of every step of their case and rates the result."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage import cases
from storage.models import Case, CaseEvent, OutboundMessage, Photo
from storage.photos import inspect_image, record_photo, write_photo_file
from tests.harness import jpeg
from tests.stories import label, submit_manhole


async def move(world, case_id: int, to: str, note: str | None = None, photos: tuple[int, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        await cases.change_state(session, case_id, to, None, world.clock.now(), note, photos)


async def after_photo(world) -> int:  # type: ignore[no-untyped-def]
    content = jpeg(size=(80, 60))
    facts = inspect_image(content)
    write_photo_file(world.settings.data_dir, content, facts)
    async with world.store.transaction() as session:
        return (await record_photo(session, facts, len(content), world.clock.now())).id


@pytest.mark.parametrize("language_code, language", [("zh-CN", "zh"), ("en-GB", "en")])
async def test_every_step_reaches_the_citizen_and_satisfied_closes_the_case(world, api, language_code, language):
    citizen = world.person(language_code=language_code)
    case = await submit_manhole(citizen, language=language)
    start = citizen.mark()
    await move(world, case.id, "accepted")
    await move(world, case.id, "assigned")
    await move(world, case.id, "in_progress")
    await move(world, case.id, "resolved", "Cover replaced", (await after_photo(world),))
    assert await world.deliver() == 4
    updates = citizen.chat()[start:]
    assert len(updates) == 4 and all(case.number in u.plain for u in updates)
    resolved = updates[-1]
    assert resolved.method == "sendPhoto" and "Cover replaced" in resolved.plain
    await citizen.tap(label(language, "👍 Satisfied"), resolved)
    assert "👍" in citizen.last().plain and case.number in citizen.last().plain
    async with world.store.transaction() as session:
        closed = await session.get(Case, case.id)
    assert (closed.state, closed.rating) == ("closed", 1)
    assert await world.deliver() == 0  # the citizen closed it; no echo of their own step


async def test_not_satisfied_reopens_the_case_and_keeps_the_reason(world):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    for state in ("accepted", "assigned", "resolved"):
        await move(world, case.id, state)
    await world.deliver()
    await citizen.tap("Not satisfied")
    assert "reopened" in citizen.last().plain and "What is still wrong?" in citizen.last().plain
    await citizen.say("The new cover <rattles> & tilts")
    assert "passed it on" in citizen.last().plain
    async with world.store.transaction() as session:
        reopened = await session.get(Case, case.id)
        notes = (await session.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case.id, CaseEvent.kind == "comment"))).all()
    assert (reopened.state, reopened.rating) == ("reopened", 0)
    assert notes == ["The new cover <rattles> & tilts"]


async def test_a_reason_over_2000_characters_is_asked_for_again_never_cut(world):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    for state in ("accepted", "assigned", "resolved"):
        await move(world, case.id, state)
    await world.deliver()
    await citizen.tap("Not satisfied")
    await citizen.say("The cover rattles when a car goes over it. " * 47 + "Flat 301 can hear it all night.")
    assert "That is 2052 characters; please keep it to 2000." in citizen.last().plain
    await citizen.say("The cover rattles; flat 301 can hear it all night.")
    assert "passed it on" in citizen.last().plain
    async with world.store.transaction() as session:
        notes = (await session.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case.id, CaseEvent.kind == "comment"))).all()
    assert notes == ["The cover rattles; flat 301 can hear it all night."]


async def test_a_rating_button_pressed_twice_changes_nothing_the_second_time(world):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    for state in ("accepted", "assigned", "resolved"):
        await move(world, case.id, state)
    await world.deliver()
    resolved = citizen.last()
    data = resolved.buttons()[0]["callback_data"]
    await citizen.tap("Satisfied", resolved)
    await citizen.press_data(data.rsplit(":", 1)[0] + ":0", resolved)
    assert "no longer applies" in world.api.methods("answerCallbackQuery")[-1].params["text"]
    async with world.store.transaction() as session:
        assert (await session.get(Case, case.id)).state == "closed"


async def test_a_rejected_case_tells_the_reason(world):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    await move(world, case.id, "rejected", "Private property <not public>")
    await world.deliver()
    assert "not accepted" in citizen.last().plain
    assert "Reason: Private property <not public>" in citizen.last().plain


async def test_a_citizen_who_added_photos_hears_of_that_case_too(world):
    first = world.person("First", language_code="en")
    case = await submit_manhole(first)
    second = world.person("Second", language_code="zh")
    await second.send_photo()
    await second.send_location(29.8751, 121.5512)
    await second.tap("市政设施")
    await second.tap("井盖")
    await second.tap(label("zh", "Skip ➡️"))
    await second.tap(label("zh", "➕ Add my photos to {number}").format(number=case.number))
    await move(world, case.id, "accepted")
    await world.deliver()
    assert case.number in first.last().plain and case.number in second.last().plain
    assert first.last().plain != second.last().plain  # each in their own language


async def test_state_changes_outside_the_loop_are_refused(world):
    case = await submit_manhole(world.person(language_code="en"))
    with pytest.raises(cases.CaseStateError):
        await move(world, case.id, "closed")
    await move(world, case.id, "rejected", "duplicate")
    with pytest.raises(cases.CaseStateError):
        await move(world, case.id, "accepted")


async def test_queued_messages_survive_a_crash_before_sending(world, api):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    await move(world, case.id, "accepted")  # committed with its message, then the process "dies"
    await world.restart()
    assert await world.deliver() == 1
    assert "was accepted" in citizen.last().plain
    await world.restart()
    assert await world.deliver() == 0  # and it is never sent twice


async def test_flood_control_is_waited_out(world, api, clock):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    api.flood[citizen.tg_id] = 7
    await move(world, case.id, "accepted")
    await world.deliver()
    assert "was accepted" not in citizen.last().plain
    clock.advance(seconds=6)
    assert await world.deliver() == 0
    clock.advance(seconds=2)
    assert await world.deliver() == 1
    assert "was accepted" in citizen.last().plain
    async with world.store.transaction() as session:
        statuses = (await session.scalars(select(OutboundMessage.status))).all()
    assert statuses == ["sent"]


async def test_my_cases_lists_newest_first_ten_to_a_page_with_timelines(world, clock):
    citizen = world.person(language_code="en")
    numbers = []
    for index in range(12):
        clock.advance(minutes=5)
        numbers.append((await submit_manhole(citizen, lat=29.80 + index * 0.01)).number)
    await citizen.say("📋 My reports")
    listing = citizen.last()
    assert "(12), page 1 of 2" in listing.plain
    shown = [b["text"] for b in listing.buttons()]
    assert numbers[-1] in shown[0] and numbers[2] in shown[9]
    await citizen.tap("Older")
    shown = [b["text"] for b in listing.buttons()]
    assert numbers[1] in shown[0] and numbers[0] in shown[1]
    await citizen.tap(numbers[0])
    timeline = listing.plain
    assert f"Case {numbers[0]}" in timeline and "Reported" in timeline
    assert "23 Nov 2026, 10:05" in timeline  # 02:05 UTC is 10:05 in Shanghai
    await citizen.tap("My reports")
    assert "page 1 of 2" in listing.plain


async def test_my_cases_when_there_are_none(world):
    citizen = world.person(language_code="en")
    await citizen.say("/mycases")
    assert "no reports yet" in citizen.last().plain


async def test_photos_of_a_case_are_attached_in_order(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo(jpeg(seed=101))
    await citizen.send_photo(jpeg(seed=102))
    await citizen.send_location(29.87, 121.55)
    await citizen.tap("Other")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    async with world.store.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(Photo))
    assert count == 2
