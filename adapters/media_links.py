"""Photos served over HTTP for other systems (the upstream platform's media_url): a signed token
that names a photo and an expiry, never a path; the copy served has its EXIF (GPS, camera) removed.

A link is made by `photo_url` (the Open311 server and client) and checked by `check_token` (the
HTTP face's /media), both with the key `signing_key` derives from the settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from PIL import Image
from pydantic import SecretStr

from storage.photos import clean_copy

MEDIA_LIFETIME = timedelta(days=30)
_SIGNATURE_BYTES = 16


class MediaSettings(Protocol):
    """The settings a media link is signed with, and the address it is served at."""

    @property
    def bot_token(self) -> SecretStr | None: ...
    @property
    def media_secret(self) -> SecretStr | None: ...
    @property
    def public_base_url(self) -> str: ...


def media_key(bot_token: str, configured: str | None) -> bytes:
    """The signing key: GRIDLINE_MEDIA_SECRET, else one derived from the bot token (stable across restarts)."""
    source = configured if configured else "gridline-media:" + bot_token
    return hashlib.sha256(source.encode()).digest()


def signing_key(settings: MediaSettings) -> bytes:
    """This deployment's key (`media_key` of its settings; no bot token signs as an empty one)."""
    return media_key(settings.bot_token.get_secret_value() if settings.bot_token else "",
                     settings.media_secret.get_secret_value() if settings.media_secret else None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(key: bytes, photo_id: int, expires: datetime) -> str:
    body = struct.pack(">QQ", photo_id, int(expires.timestamp()))
    return _b64(body + hmac.new(key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def photo_url(settings: MediaSettings, photo_id: int, now: datetime) -> str:
    """The link other systems fetch a photo by, good for MEDIA_LIFETIME from `now`."""
    token = sign(signing_key(settings), photo_id, now + MEDIA_LIFETIME)
    return f"{settings.public_base_url}/media/{token}"


def verify(key: bytes, token: str, now: datetime) -> tuple[str, int | None]:
    """("ok", photo id), ("expired", None) or ("invalid", None)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return "invalid", None
    if len(raw) != 16 + _SIGNATURE_BYTES:
        return "invalid", None
    body, signature = raw[:16], raw[16:]
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]):
        return "invalid", None
    photo_id, expires = struct.unpack(">QQ", body)
    if expires < now.timestamp():
        return "expired", None
    return "ok", photo_id


def check_token(settings: MediaSettings, token: str, now: datetime) -> tuple[str, int | None]:
    """`verify` with this deployment's key."""
    return verify(signing_key(settings), token, now)


# Modes each served format can hold as they are; anything else (a GIF's palette, a WEBP's alpha in a
# JPEG) is converted first, so every picture intake accepted can be served.
_SERVED_MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "I", "I;16", "RGB", "RGBA")}


def _as_rgb(image: Image.Image) -> Image.Image:
    return image.convert("RGB")


def _as_rgb_or_rgba(image: Image.Image) -> Image.Image:
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def without_metadata(path: Path | io.BytesIO) -> tuple[bytes, str]:
    """The image re-encoded upright with no EXIF or other metadata (blocking: run it in a thread): a
    JPEG stays a JPEG; PNG, GIF (its first frame) and WEBP are served as PNG, which keeps transparency."""
    with Image.open(path) as image:
        if image.format in ("JPEG", "MPO"):
            return clean_copy(image, "JPEG", _SERVED_MODES["JPEG"], _as_rgb), "image/jpeg"
        return clean_copy(image, "PNG", _SERVED_MODES["PNG"], _as_rgb_or_rgba), "image/png"
