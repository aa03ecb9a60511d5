"""Every message fits Telegram's limits as Telegram counts them, and every photo the bot uploads
meets sendPhoto's rules: a long description or a panorama reaches the worker, never a refusal."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlalchemy import select, update
from telegram import InputMediaPhoto
from telegram.error import BadRequest

from adapters.telegram_rules import message_text
from handlers import notices
from handlers.fit import fit, parts, units, user
from storage import outbox, people
from storage.models import Area, CaseEvent, OutboundMessage
from tests.fake_telegram import ApiError, FakeBotApi, check_html, plain, utf16_length
from tests.harness import jpeg
from tests.stories import (
    demo_city,
    newest_case,
    open311_client,
    staff,
    staff_in_chat,
    submit_manhole,
)
from tests.test_routing import IN_GRID, OUTSIDE
from tests.test_tasks import GRID, a_task

# Characters Telegram counts differently from Python: outside the BMP (two units each), and the
# two that HTML must escape (one unit each once parsed, five and four in the raw text).
RARE_CJK, EMOJI = "𠀀", "😀"


def fits(sent, limit: int = 4096) -> bool:  # type: ignore[no-untyped-def]
    return utf16_length(sent.plain) <= limit


def full_text_of(person, mark: int, joint: str = "") -> str:  # type: ignore[no-untyped-def]
    """What the "Full text" button sent, its headers dropped, its parts joined."""
    return joint.join(text.split("\n", 1)[1] for text in person.since(mark))


# --- counting as Telegram counts ------------------------------------------------------------------


def test_the_fake_bot_api_counts_after_html_parsing_in_utf16_units():
    assert utf16_length(plain("<b>&amp;</b>" + EMOJI + RARE_CJK + "网")) == 1 + 2 + 2 + 1
    api_text = {"text": "<b>" + "&amp;" * 4096 + "</b>", "parse_mode": "HTML"}
    assert message_text(api_text, "text")  # 20,000 characters of HTML, 4,096 as Telegram counts
    with pytest.raises(ApiError, match="message is too long"):
        message_text({"text": EMOJI * 2049}, "text")
    with pytest.raises(ApiError, match="caption is too long"):
        message_text({"caption": RARE_CJK * 513, "parse_mode": "HTML"}, "caption")


def test_only_a_persons_words_are_shortened_longest_first_and_the_html_stays_whole():
    description, name = "水" * 5000, "Wang & <Li>"
    message = f"<b>Task 1</b>\n📝 {user(description)}\n👷 {user(name)}"
    fitted = fit(message)
    check_html(fitted.text)
    shown = plain(fitted.text)
    assert fitted.shortened and units(shown) == 4096
    assert shown.startswith("Task 1\n📝 水水") and "水…\n👷 Wang & <Li>" in shown
    assert fit(f"<b>ok</b> {user(name)}").text == "<b>ok</b> Wang &amp; &lt;Li&gt;"


def test_a_cut_never_splits_an_emoji_or_a_surrogate_pair():
    family = "👨\u200d👩\u200d👧"  # one emoji a person sees, eight UTF-16 units
    for padding in range(9):
        text = plain(fit(f"x {user('a' * padding + family * 600)}", 100).text)
        kept = text[2:-1]
        assert units(text) <= 100 and text.endswith("…")
        assert kept.replace(family, "").strip("a") == "", kept[-5:]


def test_a_message_too_long_without_any_persons_words_is_cut_with_its_tags_closed():
    fitted = fit("<b>" + "界" * 5000 + "</b>")
    check_html(fitted.text)
    assert units(plain(fitted.text)) == 4096 and plain(fitted.text).endswith("…")


def test_long_text_is_split_into_parts_at_a_line_or_a_space():
    text = ("第一段 " + EMOJI * 30 + "\n") * 200
    pieces = parts(text, 1000)
    assert all(units(piece) <= 1000 for piece in pieces) and len(pieces) > 6
    assert "".join(p + "\n" for p in pieces).split() == text.split()


# --- the stories ----------------------------------------------------------------------------------


@pytest.fixture
async def open311_http(world):
    async with open311_client(world) as client:
        yield client


async def test_a_4000_character_open311_description_reaches_the_worker_whole_one_tap_away(world, open311_http):
    http, key = open311_http
    await demo_city(world)
    wang, _wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    description = ("井盖缺失 & <危险> " + EMOJI + RARE_CJK + " 请尽快处理。\n") * 200
    description = description[:4000]
    async with http.post("/open311/v2/requests.json", data={
            "service_code": "municipal.manhole", "lat": str(IN_GRID[0]), "long": str(IN_GRID[1]),
            "description": description, "api_key": key}) as response:
        assert response.status == 201, await response.text()
    await world.deliver()
    card = wang.last()
    assert card.method == "sendMessage" and fits(card)
    assert "📝 井盖缺失 & <危险>" in card.plain and "…" in card.plain
    assert [b["text"] for b in card.buttons()] == ["✅ Accept", "🙅 Not mine", "📄 Full text"]
    async with world.store.transaction() as session:
        assert (await session.scalars(select(OutboundMessage.status).distinct())).all() == ["sent"]

    mark = wang.mark()
    await wang.tap("Full text", card)
    assert all(fits(m) for m in wang.chat()[mark:]) and len(wang.chat()) - mark == 2
    assert full_text_of(wang, mark, "\n").split() == description.split()  # parts break at a line
    await wang.tap("Accept", card)  # the card's own buttons still work, and its redraw fits too
    assert card.edits == 1 and fits(card) and "Being handled" in card.plain
    assert [b["text"] for b in card.buttons()][-1] == "📄 Full text"


async def test_a_long_chat_description_fits_the_summary_the_card_and_the_citizens_timeline(world):
    description = (RARE_CJK + EMOJI) * 990 + "&<" * 10  # 2,000 characters, 4,000 as Telegram counts
    grid = await a_task(world, description=description)
    card = grid.wang.last()
    assert fits(card) and "…" in card.plain and "📄 Full text" in [b["text"] for b in card.buttons()]
    mark = grid.wang.mark()
    await grid.wang.tap("Full text", card)
    assert full_text_of(grid.wang, mark) == description

    citizen = grid.citizen
    await citizen.say("/mycases")
    await citizen.tap(grid.case.number)
    timeline = citizen.last()
    assert fits(timeline) and "…" in timeline.plain
    mark = citizen.mark()
    await citizen.tap("Full text", timeline)
    assert full_text_of(citizen, mark) == description


async def test_a_dispatch_card_with_a_long_description_fits_and_keeps_its_decisions(world):
    await demo_city(world)
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS")
    citizen = world.person("Citizen", language_code="en")
    description = "井盖 & <盖子> 怎么办" + (EMOJI + RARE_CJK) * 990  # 1,994 characters, 3,974 as Telegram counts
    await submit_manhole(citizen, lat=OUTSIDE[0], lon=OUTSIDE[1], description=description)
    await world.deliver()
    card = sun.last()
    assert fits(card) and "📝 井盖 & <盖子> 怎么办" in card.plain and "…" in card.plain
    assert "Why you: the place is outside every grid" in card.plain  # the card's own lines stay whole
    assert [b["text"] for b in card.buttons()] == ["✅ Accept as is", "👷 Assign", "⛔ Reject", "🔗 Duplicate of…",
                                                   "📄 Full text"]
    mark = sun.mark()
    await sun.tap("Full text", card)
    assert full_text_of(sun, mark) == description


async def test_the_fake_bot_api_refuses_a_button_answer_over_200_as_telegram_counts():
    assert await FakeBotApi()._api_answerCallbackQuery({"text": "网" * 200})
    with pytest.raises(ApiError, match="MESSAGE_TOO_LONG"):
        await FakeBotApi()._api_answerCallbackQuery({"text": EMOJI * 101})  # 101 characters, 202 as Telegram counts


async def test_a_button_answer_naming_a_long_area_is_shortened_not_lost(world):
    """The imported map names a grid at length; pressing Assign answers "Choose who gets it in <name>"."""
    await demo_city(world)
    long_name = "湖畔" + EMOJI + "网格" * 30 + EMOJI * 70  # 133 characters, 204 as Telegram counts
    async with world.store.transaction() as session:
        await session.execute(update(Area).where(Area.code == GRID).values(name=long_name))
    sun, _sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01")
    citizen = world.person("Citizen", language_code="en")
    await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])  # nobody on duty in the grid: to Sun
    await world.deliver()
    await staff(world, 901, "Wang", "worker", GRID)
    await sun.tap("Assign")
    answer = world.api.methods("answerCallbackQuery")[-1].params.get("text")
    # 155 characters with the words around it, 226 as Telegram counts: shortened as Telegram counts.
    assert answer.startswith("Choose who gets it in 湖畔" + EMOJI + "网格网格") and answer.endswith("…")
    assert utf16_length(answer) <= 200
    assert "👷 Wang · 0 open" in [b["text"] for b in sun.last().buttons()]


async def test_full_text_is_only_for_those_who_may_read_it(world):
    grid = await a_task(world, description="Flat 12, call 138 0000 0000")
    await grid.wang.tap("Accept")
    await grid.wang.tap("Escalate")
    await grid.wang.say("Needs a crane & <two> people")
    async with world.store.transaction() as session:
        escalated = await session.scalar(select(CaseEvent).where(CaseEvent.to_state == "escalated"))
    stranger = world.person("Stranger", language_code="en")
    await stranger.say("/start")
    for person, data, shown in [
        (stranger, f"x:full:{grid.case.id}:0", None),
        (grid.citizen, f"x:full:{grid.case.id}:{escalated.id}", None),  # why staff passed it up is for staff
        (grid.citizen, f"x:full:{grid.case.id}:0", "Flat 12, call 138 0000 0000"),
        (grid.li, f"x:full:{grid.case.id}:{escalated.id}", "Needs a crane & <two> people"),
    ]:
        mark = person.mark()
        await person.press_data(data)  # forged onto the newest message in their own chat
        if shown is None:
            assert person.since(mark) == []
            assert world.api.methods("answerCallbackQuery")[-1].params.get("text") == "This button is not valid."
        else:
            assert full_text_of(person, mark) == shown


async def test_a_reopened_task_with_long_words_fits_and_its_full_text_holds_the_citizens_reason(world):
    description = "Cover gone " + EMOJI * 1900
    grid = await a_task(world, description=description)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo(caption="Fixed")
    await world.deliver()
    await grid.citizen.tap("Not satisfied")
    reason = "Still broken & <dangerous> " + RARE_CJK * 1900
    await grid.citizen.say(reason)
    await world.deliver()
    comment, card = grid.wang.chat()[-1], grid.li.last()
    assert fits(comment) and "Still broken & <dangerous>" in comment.plain
    assert fits(card) and "…" in card.plain and "Cover gone" in card.plain and "Still broken & <dangerous>" in card.plain
    mark = grid.li.mark()
    await grid.li.tap("Full text", card)
    whole = full_text_of(grid.li, mark, "\n")
    assert whole.startswith(description + "\n") and whole.split() == (description + " Reason: " + reason).split()


async def test_a_note_too_long_for_a_caption_reaches_the_citizen_under_the_photo(world):
    grid = await a_task(world)
    await grid.wang.tap("Accept")
    await grid.wang.tap("Resolve")
    await grid.wang.send_photo()
    note = "修好了 " + EMOJI * 700  # 704 characters as Python counts, 1,404 as Telegram counts
    await grid.wang.say(note)
    await world.deliver()
    photo, update = grid.citizen.chat()[-2:]
    assert photo.method == "sendPhoto" and update.method == "sendMessage"
    assert note in update.plain and "is resolved" in update.plain
    assert [b["text"] for b in update.buttons()][:1] == ["👍 Satisfied"]


async def test_a_message_that_cannot_fit_is_shortened_by_the_sender_not_dropped(world, monkeypatch):
    await demo_city(world)
    person = world.person("Zhao", language_code="en")
    await person.say("/start")

    async def too_long(session, rt, message, someone):  # type: ignore[no-untyped-def]
        return notices.Notice("<b>" + "界" * 5000 + "</b>")

    monkeypatch.setitem(notices.RENDERERS, "notice", too_long)
    async with world.store.transaction() as session:
        zhao = await people.person_by_tg_id(session, person.tg_id)
        await outbox.enqueue(session, zhao.id, outbox.NoticePayload("x"), world.clock.now())
    await world.deliver()
    assert fits(person.last()) and person.last().plain.endswith("…")


# --- photos ---------------------------------------------------------------------------------------


def big_jpeg() -> bytes:
    """An 11 MB JPEG (noise does not compress) of an ordinary shape."""
    width, height = 2800, 2000
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=100)
    assert len(buffer.getvalue()) > 10 * 1024 * 1024
    return buffer.getvalue()


def panorama() -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # a camera make, which must not travel on
    Image.new("RGB", (12000, 500), (90, 120, 200)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


async def a_report_of_files(world, *files: bytes, deliver: bool = True):  # type: ignore[no-untyped-def]
    """A citizen reports with pictures sent as files, in the grid of worker Wang."""
    await demo_city(world)
    wang, _wang_id = await staff_in_chat(world, "Wang", "worker", GRID)
    citizen = world.person("Citizen", language_code="en")
    for n, content in enumerate(files):
        await citizen.send_file(content, "image/jpeg", f"IMG_{n}.jpg")
    case = await submit_manhole_after_files(citizen)
    if deliver:
        await world.deliver()
    return wang, case


async def submit_manhole_after_files(citizen):  # type: ignore[no-untyped-def]
    await citizen.send_location(*IN_GRID)
    await citizen.tap("Municipal")
    await citizen.tap("manhole")
    await citizen.tap("Skip ➡️")
    await citizen.tap("✅ Submit")
    return await newest_case(citizen.world)


async def test_a_big_photo_sent_as_a_file_reaches_the_worker_scaled(world):
    wang, _case = await a_report_of_files(world, big_jpeg(), jpeg())
    album = [m for m in wang.chat() if m.method == "sendMediaGroup"]
    assert len(album) == 2 and "Task" in wang.last().plain
    sent = world.api.files[album[0].photo].content
    with Image.open(io.BytesIO(sent)) as image:
        assert max(image.size) == 2560 and len(sent) < 10 * 1024 * 1024 and not image.getexif()


async def test_a_panorama_sent_as_a_file_reaches_the_worker_as_a_document_without_its_exif(world):
    wang, _case = await a_report_of_files(world, panorama())
    methods = [m.method for m in wang.chat()]
    assert methods[-3:] == ["sendDocument", "sendLocation", "sendMessage"] and "Task" in wang.last().plain
    sent = world.api.files[wang.chat()[-3].document].content
    with Image.open(io.BytesIO(sent)) as image:
        assert image.size == (12000, 500) and not image.getexif()


async def test_a_card_whose_kept_photo_cannot_be_read_still_reaches_the_worker(world):
    wang, _case = await a_report_of_files(world, panorama(), deliver=False)
    for kept in (world.settings.data_dir / "photos").rglob("*.jpg"):
        kept.write_bytes(b"\xff\xd8 not a picture any more")
    await world.deliver()
    assert [m.method for m in wang.chat()][-2:] == ["sendLocation", "sendMessage"] and "Task" in wang.last().plain


async def test_the_fake_bot_api_refuses_photos_telegram_refuses(world):
    wang = world.person("Wang", language_code="en")
    await wang.say("/start")
    bot = world.app.bot

    with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(wang.tg_id, panorama())
    with pytest.raises(BadRequest, match="(?i)PHOTO_SAVE_FILE_INVALID"):
        await bot.send_photo(wang.tg_id, big_jpeg())
    with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_media_group(wang.tg_id, [InputMediaPhoto(jpeg()), InputMediaPhoto(panorama())])


def animated_gif() -> bytes:
    frames = [Image.new("P", (320, 240), shade) for shade in (10, 200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return buffer.getvalue()


async def test_a_gif_or_webp_sent_as_a_file_reaches_the_worker_as_an_ordinary_photo(world):
    webp = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 120, 0, 128)).save(webp, "WEBP")
    wang, _case = await a_report_of_files(world, animated_gif(), webp.getvalue())
    album = [m for m in wang.chat() if m.method == "sendMediaGroup"]
    assert len(album) == 2 and "Task" in wang.last().plain
    for sent_id in (album[0].photo, album[1].photo):
        with Image.open(io.BytesIO(world.api.files[sent_id].content)) as image:
            assert image.format == "JPEG"


async def test_full_text_under_a_residents_history_holds_the_long_notes_it_shortened(world):
    from tests.test_following_a_case import move

    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, description="Cover gone")
    notes = [f"Step {n}: " + "the crew found more damage under the road & <pipes>. " * 36 for n in (1, 2, 3)]
    for state, note in zip(("accepted", "assigned", "resolved"), notes, strict=True):
        await move(world, case.id, state, note=note)
    await citizen.say("/mycases")
    await citizen.tap(case.number)
    history = citizen.last()
    assert fits(history) and "…" in history.plain and "Cover gone" in history.plain
    mark = citizen.mark()
    await citizen.tap("Full text", history)
    whole = full_text_of(citizen, mark)
    assert whole.startswith("Cover gone") and all(note.strip() in whole for note in notes)
