"""Photos people send: checked off the event loop, kept once under the data dir by content hash.

A picture joins a report only after it decoded completely: the format is one we can keep and show,
the size read from the header is under the pixel cap (checked before any pixel is decoded), the
file passes Pillow's own checks, and every pixel of it (the first frame of an animation) decodes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, SupportsFloat

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.media_store import write_once
from storage.models import Photo
from storage.points import is_valid_point

# MPO is how Pillow names a JPEG that carries more pictures after the first (many phones add a depth
# map or an HDR gain map): the file is an ordinary JPEG to everyone who shows it.
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
                    "GIF": "image/gif"}
ACCEPTED_NAMES = "JPEG, PNG, GIF, WEBP"
# A 48 MP phone camera (8064 x 6048) fits; the 80 MP PNG of issue 13 (8944 x 8944, 300 KB) does not.
MAX_PIXELS = 50_000_000
# Pictures checked at once: each check holds up to MAX_PIXELS x 4 bytes of pixels and a CPU core.
CHECKERS = 2
GPS_IFD = 0x8825
# HEIF/HEIC (what iPhones store) is an ISO media file Pillow cannot read: named, so the refusal can say so.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


class NotAnImage(Exception):
    """The bytes are not a picture we can keep. `reason` is what the person is told about:
    UNSUPPORTED (a format we do not take: `format`), TOO_LARGE (`pixels` over MAX_PIXELS) or
    UNREADABLE (not a picture, damaged or cut short); the message is the detail for the log."""

    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"

    def __init__(self, reason: str, detail: str, format: str | None = None, pixels: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.format = format
        self.pixels = pixels


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    mime: str
    width: int
    height: int
    gps: tuple[float, float] | None


def _degrees(value: Sequence[SupportsFloat]) -> float:
    degrees, minutes, seconds = value  # not three values: ValueError, caught below
    # PIL gives IFDRational, which converts itself (a zero denominator becomes NaN, caught below)
    return float(degrees) + float(minutes) / 60 + float(seconds) / 3600


def _reference(value: object) -> str:
    return (value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)).strip().upper()


def _gps_from_exif(image: Image.Image) -> tuple[float, float] | None:
    """The position in the picture's EXIF, or None when there is none or it is not a place on Earth."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
        latitude, longitude = _degrees(gps[2]), _degrees(gps[4])
        if _reference(gps[1]).startswith("S"):
            latitude = -latitude
        if _reference(gps[3]).startswith("W"):
            longitude = -longitude
    except Exception:  # noqa: BLE001 - EXIF in the wild is often malformed; no position is the answer
        return None
    if not is_valid_point(latitude, longitude) or (latitude == 0 and longitude == 0):
        return None  # NaN, infinite or out of range is never offered, so never stored
    return round(latitude, 7), round(longitude, 7)


def _sniffed_format(content: bytes) -> str | None:
    """A format Pillow does not know but people send, named from the first bytes."""
    if content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS:
        return "HEIC"
    return None


def _inspect(content: bytes) -> tuple[str, int, int, tuple[float, float] | None]:
    with Image.open(io.BytesIO(content)) as image:  # reads the header only
        kind = image.format or "unknown"
        if kind not in ACCEPTED_FORMATS:
            raise NotAnImage(NotAnImage.UNSUPPORTED, kind, format=kind)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise NotAnImage(NotAnImage.TOO_LARGE, f"{width}x{height}", pixels=width * height)
        image.verify()  # Pillow's structural checks (PNG chunk CRCs); must come straight after open
    # verify() leaves the image unusable and does not decode pixels: a fresh open decodes them all,
    # so a file cut short fails here (ImageFile.LOAD_TRUNCATED_IMAGES is left False, its default).
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        gps = _gps_from_exif(image)
    return ACCEPTED_FORMATS[kind], width, height, gps


def inspect_image(content: bytes) -> ImageFacts:
    """What we need to know of an image, or NotAnImage when it is not one we accept.
    Blocking and CPU-bound (a large picture takes a second): call check_image from async code."""
    try:
        mime, width, height, gps = _inspect(content)
    except NotAnImage:
        raise
    except Image.DecompressionBombError as error:
        raise NotAnImage(NotAnImage.TOO_LARGE, str(error)) from None
    except Exception as error:  # noqa: BLE001 - decoders raise anything (OSError, SyntaxError, RuntimeError, struct.error...)
        sniffed = _sniffed_format(content)
        if sniffed is not None:
            raise NotAnImage(NotAnImage.UNSUPPORTED, sniffed, format=sniffed) from None
        raise NotAnImage(NotAnImage.UNREADABLE, f"{type(error).__name__}: {error}") from None
    return ImageFacts(hashlib.sha256(content).hexdigest(), mime, width, height, gps)


_checker: Executor | None = None


def image_checker() -> Executor:
    """The threads that check pictures: few, so big pictures cannot take all the memory or cores.
    Pillow releases the GIL while it decodes, so threads keep the event loop free (bench/image_intake.py
    compares them with a process pool)."""
    global _checker
    if _checker is None:
        _checker = ThreadPoolExecutor(CHECKERS, thread_name_prefix="image-check")
    return _checker


def use_checker(executor: Executor) -> None:
    """Check pictures with another executor (the bench compares a process pool)."""
    global _checker
    _checker = executor


async def check_image(content: bytes) -> ImageFacts:
    """inspect_image off the event loop, so other people's answers do not wait for a decode."""
    return await asyncio.get_running_loop().run_in_executor(image_checker(), inspect_image, content)


def photo_path(facts: ImageFacts) -> Path:
    """Where a photo lives under the data dir: named by its content, so it is written once."""
    extension = facts.mime.split("/")[1].replace("jpeg", "jpg")
    return Path("photos") / facts.sha256[:2] / f"{facts.sha256}.{extension}"


def write_photo_file(data_dir: Path, content: bytes, facts: ImageFacts) -> None:
    """The photo's file under the data folder, written once (blocking: run it in a thread)."""
    write_once(data_dir / photo_path(facts), content)


async def record_photo(
    session: AsyncSession,
    facts: ImageFacts,
    size_bytes: int,
    now: datetime,
    channel_file_id: str | None = None,
) -> Photo:
    """The photo's row, after its file was written; the same picture sent twice is one photo."""
    photo = await session.scalar(select(Photo).where(Photo.sha256 == facts.sha256))
    if photo is not None:
        return photo
    photo = Photo(
        sha256=facts.sha256,
        path=str(photo_path(facts)),
        size_bytes=size_bytes,
        width=facts.width,
        height=facts.height,
        mime=facts.mime,
        channel_file_id=channel_file_id,
        created_at=now,
    )
    session.add(photo)
    await session.flush()
    return photo


def upright(image: Image.Image) -> Image.Image:
    """The picture turned as its EXIF Orientation says. A phone stores a portrait photo sideways and
    says so in that tag; the tag goes with the rest of the EXIF when the copy is served, so the turn
    is made on the pixels. EXIF that cannot be read (intake takes such pictures) leaves it as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - EXIF in the wild is often malformed (SyntaxError, struct.error ...)
        return image


# --- a copy with nothing but the pixels ---------------------------------------------------------


COPY_JPEG_QUALITY = 90


def clean_copy(image: Image.Image, kind: Literal["JPEG", "PNG"], keeps: Collection[str],
               convert: Callable[[Image.Image], Image.Image]) -> bytes:
    """The picture re-encoded as `kind` (a JPEG at quality 90, or a PNG), upright, with nothing but
    its pixels: no EXIF (the camera, where it was taken), comments or thumbnails. A mode outside
    `keeps` is first made one by `convert`: a copy served over HTTP and an upload to Telegram keep
    different modes. Used for /media (adapters/media_links.py) and for pictures Telegram would not
    take as they are (handlers/photo_rules.py). Blocking: run it in a thread."""
    pixels = upright(image)
    if pixels.mode not in keeps:
        pixels = convert(pixels)
    # Only the pixels are carried over.
    clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    buffer = io.BytesIO()
    if kind == "JPEG":
        clean.save(buffer, "JPEG", quality=COPY_JPEG_QUALITY)  # (optimize=True holds the GIL throughout)
    else:
        clean.save(buffer, "PNG")
    return buffer.getvalue()


async def photo_by_id(session: AsyncSession, photo_id: int) -> Photo | None:
    return await session.get(Photo, photo_id)


async def photos_after(session: AsyncSession, after_id: int, limit: int) -> list[tuple[int, str, str]]:
    """(id, path, sha256) of the photos after `after_id`, in id order: a walk over every photo kept."""
    rows = await session.execute(select(Photo.id, Photo.path, Photo.sha256).where(Photo.id > after_id)
                                 .order_by(Photo.id).limit(limit))
    return [(photo_id, path, sha256) for photo_id, path, sha256 in rows.tuples()]
