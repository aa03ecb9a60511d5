"""Wrong input gets a clear answer, and nothing the person already sent is lost."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Case, Person, ReportDraft
from tests.harness import jpeg
from tests.stories import newest_case, report_manhole, submit_manhole


async def draft_of(world, citizen) -> ReportDraft:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        person = await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))
        return await session.scalar(select(ReportDraft).where(ReportDraft.person_id == person.id, ReportDraft.status == "open"))


async def test_text_where_a_photo_is_expected_gets_a_hint(world):
    citizen = world.person(language_code="en")
    await citizen.say("📷 Report a problem")
    await citizen.say("there is a hole in the road")
    assert "I need a photo first" in citizen.last().plain
    await citizen.send_photo()
    assert "Where is it?" in citizen.last().plain


async def test_stickers_and_voice_are_refused_politely_and_the_report_goes_on(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_sticker()
    refusal = citizen.last().plain
    assert "only take photos, a location and text" in refusal
    assert "waiting for the location" in refusal
    await citizen.send_location(29.87, 121.55)
    assert "What kind of problem" in citizen.last().plain
    assert len((await draft_of(world, citizen)).photos) == 1


async def test_a_file_that_is_not_a_picture_is_refused(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_file(b"%PDF-1.4 not a photo", "application/pdf", "notice.pdf")
    assert "not a picture" in citizen.last().plain
    await citizen.send_file(b"this is not really a jpeg", "image/jpeg", "fake.jpg")
    assert "could not open this picture" in citizen.last().plain
    assert len((await draft_of(world, citizen)).photos) == 1


async def test_a_file_over_20_mb_is_refused_before_any_download(world, api):
    citizen = world.person(language_code="en")
    await citizen.send_file(jpeg(), "image/jpeg", "huge.jpg", size=25 * 1024 * 1024)
    assert "larger than 20 MB" in citizen.last().plain
    assert api.methods("getFile") == []


async def test_a_description_over_2000_characters_is_refused_with_the_limit(world):
    citizen = world.person(language_code="en")
    await report_manhole(citizen, description="x" * 2001)
    assert "2001 characters; please keep it to 2000" in citizen.last().plain
    await citizen.say("short and clear")
    assert "Description: short and clear" in citizen.last().plain


async def test_text_that_looks_like_html_is_shown_exactly_as_typed(world):
    citizen = world.person("<b>Mr & Mrs</b>", language_code="en")
    await citizen.say("/start")
    assert "<b>Mr & Mrs</b>" in citizen.last().plain  # the fake API rejects broken HTML like Telegram
    await citizen.send_photo()
    await citizen.say("<script>alert(1)</script> & Lane <7>")
    await citizen.tap("Other")
    await citizen.say("a < b && c > d </b>")
    assert "Description: a < b && c > d </b>" in citizen.last().plain
    assert "<script>alert(1)</script> & Lane <7> (typed" in citizen.last().plain


async def test_a_button_from_an_already_submitted_summary_changes_nothing(world):
    citizen = world.person(language_code="en")
    await report_manhole(citizen)
    summary = citizen.last()
    submit, change, cancel = (b["callback_data"] for b in summary.buttons())
    await citizen.tap("Submit", summary)
    assert summary.buttons() == []  # the pressed summary loses its buttons
    case = await newest_case(world)
    await citizen.press_data(submit, summary)
    await citizen.press_data(cancel, summary)
    answers = [c.params.get("text") for c in world.api.methods("answerCallbackQuery")]
    assert answers[-2:] == [f"Already submitted as case {case.number}."] * 2
    async with world.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
        assert (await session.get(Case, case.id)).state == "reported"


async def test_forged_or_foreign_buttons_are_answered_and_ignored(world, caplog):
    owner = world.person("Owner", language_code="en")
    case = await submit_manhole(owner)
    stranger = world.person("Stranger", language_code="en")
    await stranger.say("/start")
    for data in ("nonsense", "r:submit:abc", "c:rate:99999:1", f"c:rate:{case.id}:1", f"c:open:{case.id}",
                 "r:submit:1", "x" * 80):
        await stranger.press_data(data)
    answers = [c.params.get("text") for c in world.api.methods("answerCallbackQuery")][-7:]
    assert answers == ["This button is not valid."] * 7
    assert case.number not in " ".join(stranger.texts())
    async with world.store.transaction() as session:
        assert (await session.get(Case, case.id)).state == "reported"
    assert "not theirs" in caplog.text and "unparseable" in caplog.text


async def test_a_person_who_blocked_the_bot_is_marked_and_not_retried(world, api):
    citizen = world.person(language_code="en")
    case = await submit_manhole(citizen)
    api.blocked.add(citizen.tg_id)
    from storage import cases

    async with world.store.transaction() as session:
        await cases.accept_case(session, case.id, None, world.clock.now())
    await world.deliver()
    tries = len(api.methods("sendMessage"))
    async with world.store.transaction() as session:
        await cases.assign_case(session, case.id, None, world.clock.now())
    await world.deliver()
    world.clock.advance(hours=1)
    await world.deliver()
    assert len(api.methods("sendMessage")) == tries  # nothing more is attempted
    async with world.store.transaction() as session:
        person = await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))
    assert person.blocked is True

    api.blocked.discard(citizen.tg_id)
    await citizen.say("/mycases")  # writing again means they unblocked us
    async with world.store.transaction() as session:
        person = await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))
    assert person.blocked is False


async def test_a_reply_to_a_person_who_blocked_the_bot_marks_them(world, api):
    citizen = world.person(language_code="en")
    api.blocked.add(citizen.tg_id)
    world.errors.clear()
    await world.app.process_update(__import__("telegram").Update.de_json(citizen._message(text="hello"), world.app.bot))
    async with world.store.transaction() as session:
        person = await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))
    assert person.blocked is True
    world.errors.clear()


async def test_a_burst_of_30_messages_in_5_seconds_gets_few_replies_and_no_errors(world, clock):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    before = citizen.mark()
    for index in range(30):
        clock.advance(seconds=5 / 30)
        if index % 3 == 0:
            await citizen.send_sticker()
        else:
            await citizen.say(f"hello {index}")  # typed at the location step: an address each time
    replies = citizen.since(before)
    assert len(replies) <= 25
    sticker_refusals = [r for r in replies if "only take photos" in r]
    assert len(sticker_refusals) == 1
    assert world.errors == []


async def test_idle_chatter_gets_one_hint_not_one_per_message(world, clock):
    citizen = world.person(language_code="en")
    for index in range(30):
        clock.advance(seconds=5 / 30)
        await citizen.say(f"hi {index}")
    assert len(citizen.texts()) == 1
    assert "send a photo" in citizen.last().plain


async def test_telegram_saying_the_person_blocked_us_is_recorded_at_once(world):
    citizen = world.person(language_code="en")
    await citizen.say("/start")

    def membership(old: str, new: str) -> dict:
        user = {"id": citizen.tg_id, "is_bot": False, "first_name": citizen.name}
        bot = {"id": 1000, "is_bot": True, "first_name": "Gridline"}
        return {"update_id": world.api.next_update_id(), "my_chat_member": {
            "chat": {"id": citizen.tg_id, "type": "private"}, "from": user, "date": 0,
            "old_chat_member": {"user": bot, "status": old, "until_date": 0}, "new_chat_member": {"user": bot, "status": new, "until_date": 0}}}

    async def blocked() -> bool:
        async with world.store.transaction() as session:
            return (await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))).blocked

    await world.process(membership("member", "kicked"))
    assert await blocked() is True
    await world.process(membership("kicked", "member"))
    assert await blocked() is False
