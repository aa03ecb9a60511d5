"""Photos people send: kept once under the data dir by content hash, with size and dimensions."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Photo

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
GPS_IFD = 0x8825
MAX_PIXELS = 80_000_000


class NotAnImage(Exception):
    """The bytes are not a picture we can keep (unknown format, broken, or absurdly large)."""


@dataclass(frozen=True)
class ImageFacts:
    sha256: str
    mime: str
    width: int
    height: int
    gps: tuple[float, float] | None


def _rational(value: object) -> float:
    return float(value)  # PIL gives IFDRational, which converts itself


def _gps_from_exif(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001 - EXIF in the wild is often malformed; no position is the answer
        return None
    try:
        lat_ref, lat, lon_ref, lon = gps[1], gps[2], gps[3], gps[4]
        latitude = _rational(lat[0]) + _rational(lat[1]) / 60 + _rational(lat[2]) / 3600
        longitude = _rational(lon[0]) + _rational(lon[1]) / 60 + _rational(lon[2]) / 3600
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return None
    if str(lat_ref).upper().startswith("S"):
        latitude = -latitude
    if str(lon_ref).upper().startswith("W"):
        longitude = -longitude
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None
    return round(latitude, 7), round(longitude, 7)


def inspect_image(content: bytes) -> ImageFacts:
    """What we need to know of an image, or NotAnImage when it is not one we accept."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise NotAnImage(image.format or "unknown")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise NotAnImage("too many pixels")
            gps = _gps_from_exif(image)
            image.verify()
            mime = ACCEPTED_FORMATS[image.format]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise NotAnImage(str(error)) from None
    return ImageFacts(hashlib.sha256(content).hexdigest(), mime, width, height, gps)


def photo_path(facts: ImageFacts) -> Path:
    """Where a photo lives under the data dir: named by its content, so it is written once."""
    extension = facts.mime.split("/")[1].replace("jpeg", "jpg")
    return Path("photos") / facts.sha256[:2] / f"{facts.sha256}.{extension}"


def write_photo_file(data_dir: Path, content: bytes, facts: ImageFacts) -> None:
    """Write the file atomically unless it is already there (blocking: run it in a thread)."""
    path = data_dir / photo_path(facts)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


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
