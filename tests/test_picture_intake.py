"""Pictures people send: every common format is taken, anything else gets a clear answer, nothing
broken joins a report, and checking a big picture does not hold up anybody else."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import threading
import zlib
from datetime import timedelta

import aiohttp
import pytest
from PIL import Image, TiffImagePlugin
from sqlalchemy import select

from adapters import media_links as media
from bot.web import HttpFace
from storage import photos
from storage.models import Person, Photo, ReportDraft
from storage.photos import NotAnImage, inspect_image
from tests.harness import jpeg
from tests.test_tasks import a_task

# --- pictures as phones, cameras and editors make them --------------------------------------------


def gps_exif(latitude: tuple[object, object, object], longitude: tuple[object, object, object]) -> Image.Exif:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: latitude, 3: "E", 4: longitude}
    return exif


NINGBO = gps_exif((29.0, 51.0, 36.0), (121.0, 32.0, 24.0))  # 29.86, 121.54


def picture(kind: str, mode: str = "RGB", size: tuple[int, int] = (64, 48), shade: int = 90, **options: object) -> bytes:
    colour = {"L": shade, "P": shade, "1": 1}.get(mode, (shade, 120, 200, 180)[: len(mode)])
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, kind, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (40, 30), shade) for shade in (10, 120, 240)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def mpo() -> bytes:
    """A JPEG with a second picture after the first, as many phones write them."""
    frames = [Image.new("RGB", (64, 48), (shade, 40, 40)) for shade in (60, 200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "MPO", save_all=True, append_images=frames[1:], exif=NINGBO)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    """A real photo-sized JPEG cut off part way, as an interrupted upload leaves it."""
    gradient = Image.linear_gradient("L").resize((640, 480))
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    whole = buffer.getvalue()
    return whole[: len(whole) * 2 // 3]


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header says it is width x height (a decompression bomb's shape)."""
    small = bytearray(picture("PNG", size=(1, 1)))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(small[24:29])
    small[12:29] = header
    small[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(small)


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64

ACCEPTED = {
    "png.png": (picture("PNG"), "image/png"),
    "png-with-exif.png": (picture("PNG", exif=NINGBO), "image/png"),
    "palette.png": (picture("PNG", "P"), "image/png"),
    "transparent.png": (picture("PNG", "RGBA"), "image/png"),
    "grey.png": (picture("PNG", "L"), "image/png"),
    "animated.gif": (animated_gif(), "image/gif"),
    "still.gif": (picture("GIF", "P"), "image/gif"),
    "photo.webp": (picture("WEBP", exif=NINGBO), "image/webp"),
    "transparent.webp": (picture("WEBP", "RGBA", lossless=True), "image/webp"),
    "phone.jpg": (mpo(), "image/jpeg"),
    "camera.jpg": (jpeg(exif_gps=(29.86, 121.54)), "image/jpeg"),
    "cmyk.jpg": (picture("JPEG", "CMYK"), "image/jpeg"),
}
WITH_POSITION = {"png-with-exif.png", "photo.webp", "phone.jpg", "camera.jpg"}


async def draft_of(world, citizen) -> ReportDraft | None:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        person = await session.scalar(select(Person).where(Person.tg_id == citizen.tg_id))
        return await session.scalar(select(ReportDraft).where(ReportDraft.person_id == person.id,
                                                              ReportDraft.status == "open"))


# --- which pictures are taken ----------------------------------------------------------------------


async def test_pictures_of_every_common_format_sent_as_a_file_join_the_report(world):
    for name, (content, mime) in ACCEPTED.items():
        citizen = world.person(name, language_code="en")
        await citizen.send_file(content, mime, name)
        answers = " ".join(citizen.texts())
        assert "Where is it?" in answers, (name, answers)
        assert ("where it was taken" in answers) == (name in WITH_POSITION), (name, answers)
        draft = await draft_of(world, citizen)
        assert len(draft.photos) == 1, name
    async with world.store.transaction() as session:
        kept = {p.mime for p in (await session.scalars(select(Photo))).all()}
    assert kept == {"image/png", "image/gif", "image/webp", "image/jpeg"}


async def test_a_png_photo_offers_its_position_and_the_report_uses_it(world):
    citizen = world.person(language_code="en")
    await citizen.send_file(picture("PNG", exif=NINGBO), "image/png", "Screenshot.png")
    await citizen.tap("Use where the photo was taken")
    await citizen.tap("Other")
    await citizen.tap("Skip")
    assert "29.86000, 121.54000 (where the photo was taken)" in citizen.last().plain


@pytest.mark.parametrize("name, content, mime, named", [
    ("scan.bmp", picture("BMP"), "image/bmp", "BMP"),
    ("scan.tiff", picture("TIFF"), "image/tiff", "TIFF"),
    ("IMG_0001.HEIC", HEIC, "image/heic", "HEIC"),
])
async def test_a_picture_in_another_format_is_refused_naming_the_formats_we_take(world, name, content, mime, named):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_file(content, mime, name)
    refusal = citizen.last().plain
    assert f"I can take pictures in JPEG, PNG, GIF, WEBP, not {named}." in refusal
    assert "send it as a photo instead of a file" in refusal and "waiting for the location" in refusal
    assert len((await draft_of(world, citizen)).photos) == 1


async def test_a_picture_over_the_pixel_cap_is_refused_from_its_header(world):
    bomb = png_claiming(8944, 8944)  # issue 13: 80 MP in a few hundred bytes
    with pytest.raises(NotAnImage) as refused:
        inspect_image(bomb)
    assert refused.value.reason == NotAnImage.TOO_LARGE and refused.value.pixels == 8944 * 8944
    citizen = world.person(language_code="en")
    await citizen.send_file(bomb, "image/png", "map.png")
    assert "This picture is too big. Please send it as a photo instead of a file." in citizen.last().plain
    assert await draft_of(world, citizen) is None
    assert inspect_image(picture("PNG", size=(100, 100))).width == 100  # a sane size is not affected


async def test_a_truncated_jpeg_is_refused_and_the_report_is_unchanged(world):
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    await citizen.send_location(29.87, 121.55)
    before = await draft_of(world, citizen)
    broken = truncated_jpeg()
    await citizen.send_photo(broken)
    refusal = citizen.last().plain
    assert "could not open this picture: it may be damaged or incomplete" in refusal
    assert "waiting for you to choose a category" in refusal
    await citizen.send_file(broken, "image/jpeg", "DSC_0042.JPG")
    assert "could not open this picture" in citizen.last().plain
    after = await draft_of(world, citizen)
    assert (len(after.photos), after.step) == (len(before.photos), before.step) == (1, before.step)
    async with world.store.transaction() as session:
        assert len((await session.scalars(select(Photo))).all()) == 1


def test_whatever_a_decoder_raises_becomes_not_an_image():
    good_png = picture("PNG", size=(200, 200))
    wrong_crc = bytearray(good_png)
    wrong_crc[29] ^= 0xFF
    broken = {
        "empty": b"", "text": b"<svg></svg>", "gif header only": b"GIF89a broken",
        "png signature only": b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "png with a wrong CRC": bytes(wrong_crc),
        "png cut short": good_png[: len(good_png) - 30], "jpeg cut short": truncated_jpeg(),
        "jpeg header only": jpeg()[:200], "webp cut short": picture("WEBP", size=(300, 300))[:120],
    }
    for name, content in broken.items():
        with pytest.raises(NotAnImage) as refused:
            inspect_image(content)
        assert refused.value.reason == NotAnImage.UNREADABLE, name


def test_an_exif_position_that_is_not_on_earth_is_never_offered():
    nan = TiffImagePlugin.IFDRational(1, 0)  # a zero denominator: NaN degrees
    for exif in (gps_exif((nan, 0.0, 0.0), (121.0, 0.0, 0.0)), gps_exif((95.0, 0.0, 0.0), (121.0, 0.0, 0.0)),
                 gps_exif((29.0, 0.0, 0.0), (200.0, 0.0, 0.0)), gps_exif((29.0,), (121.0, 0.0, 0.0))):
        for kind in ("JPEG", "PNG", "WEBP"):
            assert inspect_image(picture(kind, exif=exif)).gps is None, (kind, exif.get_ifd(0x8825))


async def test_a_photo_whose_exif_position_is_nan_is_taken_without_a_position(world):
    citizen = world.person(language_code="en")
    nan = TiffImagePlugin.IFDRational(1, 0)
    await citizen.send_file(picture("JPEG", exif=gps_exif((nan, 0.0, 0.0), (121.0, 0.0, 0.0))), "image/jpeg", "x.jpg")
    assert "Where is it?" in citizen.last().plain and "where it was taken" not in " ".join(citizen.texts())
    draft = await draft_of(world, citizen)
    assert len(draft.photos) == 1 and draft.exif_lat is None and draft.exif_lon is None


# --- a worker's after-photo --------------------------------------------------------------------------


async def test_a_workers_after_photo_gets_the_same_checks(world):
    grid = await a_task(world)
    wang = grid.wang
    await wang.tap("Accept")
    await wang.tap("Resolve")
    await wang.send_photo(truncated_jpeg())
    assert "could not open this picture" in wang.last().plain
    await wang.send_file(png_claiming(9000, 9000), "image/png", "after.png")
    assert "This picture is too big" in wang.last().plain
    await wang.send_file(picture("BMP"), "image/bmp", "after.bmp")
    assert "not BMP" in wang.last().plain
    await wang.send_file(picture("PNG", shade=30), "image/png", "after.png")
    assert "After-photo received (1)" in wang.last().plain
    await wang.say("Replaced the cover")
    assert "is resolved" in wang.last().plain


# --- what is kept can be shown ----------------------------------------------------------------------


async def served(world, api, photo_ids: list[int]) -> list[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    """What a client fetching each photo's signed /media link (Open311's media_url) in turn gets:
    status and body, from one running HTTP face."""
    key = media.media_key(api.token, None)
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    answers = []
    try:
        async with aiohttp.ClientSession() as http:
            for photo_id in photo_ids:
                token = media.sign(key, photo_id, world.clock.now() + timedelta(hours=1))
                async with http.get(f"http://127.0.0.1:{face.port}/media/{token}") as response:
                    answers.append((response.status, await response.read()))
    finally:
        await face.stop()
    return answers


async def kept_photos(world) -> list[Photo]:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return list((await session.scalars(select(Photo).order_by(Photo.id))).all())


async def test_media_links_of_every_accepted_picture_work_and_carry_no_exif(world, api):
    for name, (content, mime) in ACCEPTED.items():
        await world.person(name, language_code="en").send_file(content, mime, name)
    kept = await kept_photos(world)
    assert len(kept) == len(ACCEPTED)
    originals = {hashlib.sha256(content).hexdigest(): content for content, _mime in ACCEPTED.values()}
    answers = await served(world, api, [photo.id for photo in kept])
    for photo, (status, body) in zip(kept, answers, strict=True):
        assert status == 200, photo.mime
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            assert image.size == (photo.width, photo.height) and not image.getexif(), photo.mime
            if photo.mime in ("image/png", "image/gif"):  # lossless: the colours people see are kept
                with Image.open(io.BytesIO(originals[photo.sha256])) as original:
                    assert image.convert("RGBA").getpixel((1, 1)) == original.convert("RGBA").getpixel((1, 1)), photo.mime


def portrait_phone_photo() -> bytes:
    """A portrait photo as a phone stores it: the sensor's landscape pixels (left half red, right
    half blue) and EXIF Orientation 6, "turn a quarter clockwise to show", so red is at the top."""
    sensor = Image.new("RGB", (64, 48), "blue")
    sensor.paste("red", (0, 0, 32, 48))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sensor.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_with_broken_exif() -> bytes:
    """A PNG whose eXIf chunk is not TIFF data (some editors write such): a fine picture otherwise."""
    good = picture("PNG", size=(20, 10))
    body = b"eXIf" + b"not a TIFF header at all"
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return good[:33] + chunk + good[33:]


async def test_a_portrait_phone_photo_is_served_upright_without_its_exif(world, api):
    await world.person("Portrait", language_code="en").send_file(portrait_phone_photo(), "image/jpeg", "IMG_2041.JPG")
    await world.person("Edited", language_code="en").send_file(png_with_broken_exif(), "image/png", "edited.png")
    portrait, edited = await kept_photos(world)
    (status, body), (edited_status, edited_body) = await served(world, api, [portrait.id, edited.id])
    assert status == 200
    with Image.open(io.BytesIO(body)) as image:
        assert image.size == (48, 64) and not image.getexif()  # tall, as it was taken
        red, blue = image.convert("RGB").getpixel((24, 4)), image.convert("RGB").getpixel((24, 60))
        assert red[0] > 200 > red[2] and blue[2] > 200 > blue[0]  # the top of the scene at the top
    assert edited_status == 200  # EXIF that cannot be read leaves the picture as stored, still served
    with Image.open(io.BytesIO(edited_body)) as image:
        assert image.size == (20, 10) and not image.getexif()


async def test_a_stored_photo_that_cannot_be_decoded_answers_404_and_is_logged_once(world, api, caplog):
    """The files under the data dir were damaged after intake (a disk fault, a bad restore): a
    client reading media_url gets 404 as for a photo that is gone, never a server error."""
    for n in range(3):
        await world.person(f"Citizen {n}", language_code="en").send_file(picture("PNG", shade=40 + n), "image/png", "x.png")
    cut_short, swapped, deleted = await kept_photos(world)
    data_dir = world.runtime.settings.data_dir
    stored = (data_dir / cut_short.path).read_bytes()
    (data_dir / cut_short.path).write_bytes(stored[: len(stored) - 30])  # OSError
    (data_dir / swapped.path).write_bytes(png_claiming(20000, 20000))  # DecompressionBombError
    (data_dir / deleted.path).unlink()  # FileNotFoundError
    ids = [cut_short.id, swapped.id, deleted.id]
    assert [status for status, _body in await served(world, api, ids + ids)] == [404] * 6  # each asked twice
    for photo_id in ids:
        logged = [r for r in caplog.records if f"media: photo {photo_id} cannot be served" in r.getMessage()]
        assert len(logged) == 1, photo_id


# --- nobody waits for somebody else's picture -----------------------------------------------------


async def test_other_people_are_answered_while_a_picture_is_being_checked(world, monkeypatch):
    """The check is held open on purpose: if it ran on the event loop, /help could not be answered."""
    checking, go_on = threading.Event(), threading.Event()
    real_inspect = photos.inspect_image

    def held_inspect(content: bytes) -> photos.ImageFacts:
        checking.set()
        go_on.wait(timeout=20)
        return real_inspect(content)

    monkeypatch.setattr(photos, "inspect_image", held_inspect)
    sender, asker = world.person("Sender", language_code="en"), world.person("Asker", language_code="en")
    sending = asyncio.create_task(sender.send_file(picture("PNG"), "image/png", "street.png"))
    try:
        assert await asyncio.to_thread(checking.wait, 20), "the picture never reached the check"
        await asker.say("/help")
        assert "How to report a problem" in asker.last().plain
        assert not sending.done() and sender.texts() == []
    finally:
        go_on.set()
        await sending
    assert "Where is it?" in sender.last().plain
