"""A citizen who has never seen the bot reports a broken manhole cover and gets a case number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Case, CaseEvent, CasePhoto, Photo, ReportDraft
from tests.harness import jpeg
from tests.stories import CJK, label, newest_case, report_manhole, submit_manhole


@pytest.mark.parametrize("language_code, language", [("zh-hans", "zh"), ("en", "en")])
async def test_a_first_time_citizen_reports_a_manhole_and_gets_a_case_number(world, language_code, language):
    citizen = world.person(language_code=language_code)
    await citizen.say("/start")
    greeting = citizen.last()
    assert citizen.name in greeting.plain
    assert [b["text"] for b in greeting.buttons()][:2] == [label(language, "📷 Report a problem"), label(language, "📋 My reports")]
    if language == "zh":
        assert CJK.search(greeting.plain)

    await citizen.say(label(language, "📷 Report a problem"))
    assert citizen.last().plain == label(language, "📷 Send a photo of the problem (one to five photos).")

    await citizen.send_photo()
    asking_where = citizen.last()
    assert label(language, "📍 Send my location") in [b["text"] for b in asking_where.buttons()]

    await citizen.send_location(29.8751, 121.5512)
    await citizen.tap("市政设施" if language == "zh" else "Municipal facilities")
    await citizen.tap("井盖" if language == "zh" else "manhole")
    await citizen.say("Cover is missing, <deep> hole & dangerous")
    summary = citizen.last().plain
    assert "Cover is missing, <deep> hole & dangerous" in summary
    assert "29.87510, 121.55120" in summary

    await citizen.tap(label(language, "✅ Submit"))
    case = await newest_case(world)
    confirmation = citizen.last().plain
    assert case.number in confirmation
    assert label(language, "4 hours") in confirmation or "4小时" in confirmation
    assert "/mycases" in confirmation
    assert case.state == "reported" and case.category_code == "municipal.manhole"
    assert case.description == "Cover is missing, <deep> hole & dangerous"
    assert (case.lat, case.lon, case.location_verified) == (29.8751, 121.5512, True)
    assert case.deadline_at - case.created_at == __import__("datetime").timedelta(hours=4)


async def test_case_numbers_are_short_unique_and_count_up_per_local_day(world, clock):
    numbers = []
    for block in range(3):
        citizen = world.person(language_code="en")
        numbers.append((await submit_manhole(citizen, lat=29.87 + block * 0.01)).number)
    assert numbers == ["261123-0001", "261123-0002", "261123-0003"]
    clock.advance(hours=14)  # 02:00 UTC + 14 h = 00:00 next day in Shanghai
    assert (await submit_manhole(world.person(language_code="en"), lat=29.9)).number == "261124-0001"


async def test_the_location_may_come_first(world):
    citizen = world.person(language_code="en")
    await citizen.send_location(29.87, 121.55)
    assert "photo" in citizen.last().plain.lower()
    await citizen.send_photo()
    assert "What kind of problem" in citizen.last().plain


async def test_a_venue_is_taken_with_its_name(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_venue(29.87, 121.55, "Tianyi Square", "188 Zhongshan Rd")
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "Tianyi Square, 188 Zhongshan Rd" in citizen.last().plain


async def test_a_typed_address_is_accepted_but_marked_unverified(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.say("Building 3, Lane 77 Baihe Road")
    assert "not checked on the map" in citizen.chat()[-2].plain
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "Building 3, Lane 77 Baihe Road (typed, not checked on the map)" in citizen.last().plain
    await citizen.tap("Submit")
    case = await newest_case(world)
    assert case.location_verified is False and case.lat is None and case.address == "Building 3, Lane 77 Baihe Road"


async def test_a_photo_sent_as_a_file_offers_its_gps_position(world):
    citizen = world.person(language_code="en")
    await citizen.send_file(jpeg(exif_gps=(29.861, 121.543)), "image/jpeg", "IMG_0042.JPG")
    assert "where it was taken" in citizen.last().plain
    await citizen.tap("Use where the photo was taken")
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "29.86100, 121.54300 (where the photo was taken)" in citizen.last().plain


async def test_an_album_of_photos_gets_one_answer_and_all_photos_are_kept(world):
    citizen = world.person(language_code="en")
    await citizen.say("/start")
    before = citizen.mark()
    for _ in range(3):
        await citizen.send_photo(media_group="album-1")
    assert len(citizen.since(before)) == 1
    async with world.store.transaction() as session:
        draft = await session.scalar(select(ReportDraft))
        assert len(draft.photos) == 3


async def test_at_most_five_photos_and_the_sixth_is_refused_once(world):
    citizen = world.person(language_code="en")
    for _ in range(7):
        await citizen.send_photo(media_group="big")
    refusals = [t for t in citizen.texts() if "at most 5 photos" in t]
    assert len(refusals) == 1
    await citizen.send_location(29.87, 121.55)
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "Photos: 5" in citizen.last().plain


async def test_photos_are_kept_under_the_data_dir_by_content_hash(world):
    content = jpeg(size=(120, 90))
    citizen = world.person(language_code="en")
    await citizen.send_photo(content)
    await citizen.send_photo(content)  # the same picture twice is one photo
    assert "already in your report" in citizen.last().plain
    async with world.store.transaction() as session:
        photo = await session.scalar(select(Photo))
        count = await session.scalar(select(func.count()).select_from(Photo))
    assert count == 1
    import hashlib

    assert photo.sha256 == hashlib.sha256(content).hexdigest()
    assert (photo.width, photo.height, photo.size_bytes, photo.mime) == (120, 90, len(content), "image/jpeg")
    assert (world.settings.data_dir / photo.path).read_bytes() == content


async def test_change_the_category_from_the_summary(world):
    citizen = world.person(language_code="en")
    await report_manhole(citizen)
    await citizen.tap("Change")
    await citizen.tap("Category")
    await citizen.tap("Greenery")
    await citizen.tap("Fallen or dead tree")
    assert "Greenery › Fallen or dead tree" in citizen.last().plain  # straight back to the summary
    await citizen.tap("Submit")
    assert (await newest_case(world)).category_code == "greenery.tree"


async def test_not_sure_of_the_category(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_location(29.87, 121.55)
    await citizen.tap("Not sure")
    await citizen.tap("Skip")
    await citizen.tap("Submit")
    assert (await newest_case(world)).category_code == "other"


async def test_cancel_leaves_at_any_step_and_nothing_is_submitted(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.say("/cancel")
    assert "cancelled" in citizen.last().plain
    await citizen.say("/cancel")
    assert "nothing to cancel" in citizen.last().plain
    await report_manhole(citizen)
    await citizen.tap("Cancel")
    async with world.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 0


async def test_a_nearby_open_case_of_the_same_kind_can_take_my_photos(world):
    first = world.person("Wang", language_code="en")
    case = await submit_manhole(first, lat=29.87510, lon=121.55120)
    second = world.person("Zhao", language_code="en")
    await report_manhole(second, lat=29.87530, lon=121.55120)  # about 22 m north
    summary = second.last().plain
    assert case.number in summary and "22 m" in summary
    await second.tap("Add my photos to")
    assert f"added to case {case.number}" in second.last().plain
    async with world.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 1
        photos = await session.scalar(select(func.count()).where(CasePhoto.case_id == case.id))
        kinds = (await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))).all()
    assert photos == 2 and "photos" in kinds


async def test_report_anyway_makes_a_second_case(world):
    await submit_manhole(world.person(language_code="en"))
    second = world.person(language_code="en")
    await report_manhole(second)
    await second.tap("Report anyway")
    async with world.store.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 2


async def test_a_case_farther_than_50_m_or_of_another_kind_is_not_offered(world):
    await submit_manhole(world.person(language_code="en"), lat=29.8751, lon=121.5512)
    second = world.person(language_code="en")
    await report_manhole(second, lat=29.8757, lon=121.5512)  # about 67 m away
    assert "already open" not in second.last().plain


async def test_a_half_finished_report_survives_a_restart(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_photo()
    await citizen.send_location(29.87, 121.55)
    await world.restart()
    await citizen.tap("Municipal")  # the keyboard sent before the restart still works
    await citizen.tap("manhole")
    await citizen.tap("Skip")
    assert "Photos: 2" in citizen.last().plain
    await citizen.tap("Submit")
    case = await newest_case(world)
    assert case.number in citizen.last().plain


async def test_words_written_under_the_photo_are_the_description(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo(caption="Manhole cover gone near the school <gate>")
    await citizen.send_location(29.87, 121.55)
    await citizen.tap("Municipal")
    await citizen.tap("manhole")
    summary = citizen.last().plain  # no question for words: the caption answered it
    assert "Description: Manhole cover gone near the school <gate>" in summary
