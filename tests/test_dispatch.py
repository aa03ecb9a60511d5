"""Dispatchers decide on the cases no rule could place: assign, accept, reject, or merge duplicates."""

from __future__ import annotations

import logging

from sqlalchemy import select

from handlers.buttons import AcceptCase, RejectForReason
from storage import cases as case_store
from storage import roles
from storage.models import Case, CaseEvent, CaseFollower, CasePhoto
from tests.harness import Person
from tests.stories import demo_city, newest_case, staff, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID, OUTSIDE, routed


async def submit_typed_manhole(citizen: Person, address: str) -> Case:
    """A report whose place is a typed address, not a location."""
    await citizen.send_photo()
    await citizen.say(address)
    await citizen.tap("Municipal")
    await citizen.tap("manhole")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    return await newest_case(citizen.world)


def last_answer(world) -> str | None:  # type: ignore[no-untyped-def]
    """What the newest button press said in its little pop-up."""
    return world.api.methods("answerCallbackQuery")[-1].params.get("text")


async def case_now(world, case_id: int) -> Case:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.get(Case, case_id)


async def test_a_case_outside_every_grid_reaches_the_top_dispatcher_as_a_card(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1], description="Cover <gone> & deep")
    await world.deliver()
    card = sun.chat()[-3:]
    assert [m.method for m in card] == ["sendPhoto", "sendLocation", "sendMessage"]
    assert card[1].location == OUTSIDE
    text = card[2].plain
    assert f"Case {case.number}" in text and "manhole" in text and "Cover <gone> & deep" in text
    assert "outside the service area" in text and "Why you: the place is outside every grid" in text
    assert [b["text"] for b in card[2].buttons()] == ["✅ Accept as is", "👷 Assign", "⛔ Reject", "🔗 Duplicate of…"]


async def test_a_dispatcher_who_lost_the_role_before_the_card_went_out_never_gets_it(world, caplog):
    caplog.set_level(logging.INFO, logger="handlers.notices")
    await demo_city(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1], description="Flat 301, call 138 0000 0000")
    async with world.store.transaction() as session:  # the card is queued; the admin takes Sun's role away
        await roles.take_roles(session, sun_id, "dispatcher")
    mark = sun.mark()
    await world.deliver()
    assert sun.since(mark) == []  # no description, no photo, no pin
    assert f"dispatch card of case {case.id} not sent to person {sun_id}" in caplog.text


async def test_a_dispatcher_gives_a_case_to_a_worker_chosen_with_their_open_cases(world):
    await demo_city(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])  # no worker yet: to the street dispatcher
    await world.deliver()
    assert "Why you: no grid worker or leader is on duty for its grid" in sun.last().plain
    wang = await staff(world, 901, "Wang", "worker", "HS-01-01-G1")
    await staff(world, 902, "Zhou", "leader", "HS-01-01-G1")
    await sun.tap("Assign")
    names = [b["text"] for b in sun.last().buttons()]
    assert names[:2] == ["👷 Wang · 0 open", "🧑‍💼 Zhou · 0 open"] and "⬆️ Up" in names
    await sun.tap("Wang")
    case, notes = await routed(world, case.id)
    assert (case.state, case.assignee_id) == ("assigned", wang)
    assert notes[-1] == "dispatcher Sun gave it to worker Wang of grid HS-01-01-G1, 0 open cases"
    assert "With Wang" in sun.last().plain and sun.last().buttons() == []
    await world.deliver()
    assert "given to a grid worker" in citizen.last().plain


async def test_a_typed_address_is_placed_by_walking_down_the_map_to_a_grid(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    wang = await staff(world, 901, "Wang", "worker", "HS-01-01-G2")
    citizen = world.person(language_code="en")
    await submit_typed_manhole(citizen, "Gulou street 12, by the school gate")
    await world.deliver()
    assert "the address was typed" in sun.last().plain and "Gulou street 12" in sun.last().plain
    await sun.tap("Assign")
    await sun.tap("鼓楼街道")
    await sun.tap("青石社区")
    await sun.tap("HS-01-01-G2")
    await sun.tap("Wang")
    async with world.store.transaction() as session:
        case = await session.scalar(select(Case).order_by(Case.id.desc()))
    assert (case.assignee_id, case.area_code, case.state) == (wang, "HS-01-01-G2", "assigned")


async def test_accept_as_is_tells_the_citizen_and_leaves_assign_and_reject(world):
    await demo_city(world)
    sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    await sun.tap("Accept as is")
    assert [b["text"] for b in sun.last().buttons()] == ["👷 Assign", "⛔ Reject", "🔗 Duplicate of…"]
    assert (await case_now(world, case.id)).state == "accepted"
    await world.deliver()
    assert "was accepted" in citizen.last().plain


async def test_a_rejection_reaches_the_citizen_with_its_reason_in_their_language(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS", language_code="zh-hans")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    await sun.tap("不予受理")
    await sun.tap("已经修好")
    assert (await case_now(world, case.id)).state == "rejected"
    await world.deliver()
    assert "was not accepted" in citizen.last().plain and "Reason: It has already been fixed." in citizen.last().plain


async def test_a_typed_rejection_reason_is_kept_as_written_and_escaped(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    await sun.tap("Reject")
    await sun.tap("Type a reason")
    await sun.say("This is the <railway's> land; call 12306")
    assert "is not accepted" in sun.last().plain
    await world.deliver()
    assert "Reason: This is the <railway's> land; call 12306" in citizen.last().plain
    assert (await case_now(world, case.id)).state == "rejected"


async def test_a_typed_rejection_reason_over_500_characters_is_asked_for_again_never_cut(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    await sun.tap("Reject")
    await sun.tap("Type a reason")
    await sun.say("This land belongs to the railway, not to the city. " * 10 + "Call 12306.")  # the point is at the end
    assert "That is 521 characters; please keep it to 500." in sun.last().plain
    assert (await case_now(world, case.id)).state == "reported"  # nothing decided on a reason cut short
    await sun.say("This land belongs to the railway. Call 12306.")
    assert "is not accepted" in sun.last().plain
    await world.deliver()
    assert "Reason: This land belongs to the railway. Call 12306." in citizen.last().plain


async def test_a_duplicate_moves_its_reporter_and_photos_to_the_original(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    first, second = world.person("A", language_code="en"), world.person("B", language_code="en")
    original = await submit_manhole(first, lat=OUTSIDE[0], lon=OUTSIDE[1])
    repeat = await submit_typed_manhole(second, "By the school, Gulou street")  # the map cannot see it is the same place
    await world.deliver()
    await sun.tap("Duplicate of")
    assert "Type the number" in [b["text"] for b in sun.last().buttons()][0]
    await sun.tap("Type the number")
    await sun.say("999999-0001")
    assert "There is no case with that number" in sun.last().plain
    await sun.say(repeat.number)
    assert "this case's own number" in sun.last().plain
    await sun.say(original.number)
    assert f"marked as the same as {original.number}" in sun.last().plain
    await world.deliver()
    assert f"same problem as case {original.number}" in second.last().plain
    async with world.store.transaction() as session:
        followers = set((await session.scalars(select(CaseFollower.person_id).where(CaseFollower.case_id == original.id))).all())
        photos = (await session.scalars(select(CasePhoto).where(CasePhoto.case_id == original.id))).all()
        repeat = await session.get(Case, repeat.id)
        assert repeat.state == "rejected" and repeat.duplicate_of_id == original.id
        assert len(followers) == 2 and len(photos) == 2
        await case_store.accept_case(session, original.id, None, world.clock.now())
    await world.deliver()
    assert f"{original.number} was accepted" in second.last().plain  # B now hears of the original


async def test_an_open_case_nearby_is_offered_as_the_original(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    first, second = world.person("A", language_code="en"), world.person("B", language_code="en")
    original = await submit_manhole(first, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await second.send_photo()
    await second.send_location(OUTSIDE[0] + 0.0003, OUTSIDE[1])
    await second.tap("City appearance")
    await second.tap("Not sure which")
    await second.tap("Skip")
    await second.tap("Submit")
    await world.deliver()
    await sun.tap("Duplicate of")
    await sun.tap(original.number)
    await world.deliver()
    assert f"same problem as case {original.number}" in second.last().plain


async def test_queue_lists_what_waits_and_opens_each_card(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    first = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    second = await submit_manhole(citizen, lat=OUTSIDE[0] + 0.01, lon=OUTSIDE[1])
    await world.deliver()
    await sun.say("/whoami")
    assert "Your commands: /queue" in sun.last().plain
    await sun.say("/queue")
    text = sun.last().plain
    assert "Waiting for you: 2" in text and first.number in text and second.number in text
    mark = sun.mark()
    await sun.tap(f"📂 {first.number}")
    await world.deliver()
    assert any(f"Case {first.number}" in line for line in sun.since(mark))


async def test_a_stranger_has_no_queue_and_cannot_press_dispatcher_buttons(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    other, _ = await staff_in_chat(world, "Qian", "dispatcher", "HS-02")  # another street
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    await citizen.say("/queue")
    assert "Only dispatchers have a queue" in citizen.last().plain
    for presser in (citizen, other):
        await presser.press_data(RejectForReason(case.id, 0).pack())
        assert last_answer(world) == "Only a dispatcher of this case's area can do that."
    await citizen.press_data("d:acc:12:extra")
    assert last_answer(world) == "This button is not valid."
    assert (await case_now(world, case.id)).state == "reported"
    async with world.store.transaction() as session:
        kinds = (await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))).all()
    assert list(kinds) == ["state", "routed"]


async def test_a_card_pressed_after_another_dispatcher_decided_changes_nothing(world):
    await demo_city(world)
    sun, _ = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    zhao, _ = await staff_in_chat(world, "Zhao", "dispatcher", "HS")
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1])
    await world.deliver()
    holder, other = (sun, zhao) if sun.chat()[-1].buttons() else (zhao, sun)
    await holder.tap("Reject")
    await holder.tap("already been fixed")
    await other.press_data(AcceptCase(case.id).pack(), holder.last())
    assert last_answer(world) == f"Case {case.number} is already Not accepted; nothing was changed."
    assert (await case_now(world, case.id)).state == "rejected"


async def test_a_long_name_on_a_button_ends_in_an_ellipsis_not_mid_word(world):
    await demo_city(world)
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    citizen = world.person(language_code="en")
    await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    long_name = "Wang " + "👨‍👩‍👧" * 30  # joined emoji: a cut inside one would show broken glyphs
    await staff(world, 901, long_name, "worker", "HS-01-01-G1")
    await sun.tap("Assign")
    label = sun.last().buttons()[0]["text"]
    assert label.startswith("👷 Wang ") and label.endswith("…")
    assert label[:-1].endswith("👨‍👩‍👧")
