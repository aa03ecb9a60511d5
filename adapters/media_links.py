"""Photos served over HTTP for other systems (the upstream platform's media_url): a signed token
that names a photo and an expiry, never a path; the copy served has its EXIF (GPS, camera) removed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import struct
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from storage.photos import upright

MEDIA_LIFETIME = timedelta(days=30)
_SIGNATURE_BYTES = 16


def media_key(bot_token: str, configured: str | None) -> bytes:
    """The signing key: GRIDLINE_MEDIA_SECRET, else one derived from the bot token (stable across restarts)."""
    source = configured if configured else "gridline-media:" + bot_token
    return hashlib.sha256(source.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(key: bytes, photo_id: int, expires: datetime) -> str:
    body = struct.pack(">QQ", photo_id, int(expires.timestamp()))
    return _b64(body + hmac.new(key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES])


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


# Modes each served format can hold as they are; anything else (a GIF's palette, a WEBP's alpha in a
# JPEG) is converted first, so every picture intake accepted can be served.
_SERVED_MODES = {"JPEG": ("L", "RGB"), "PNG": ("1", "L", "LA", "I", "I;16", "RGB", "RGBA")}


def without_metadata(path: Path) -> tuple[bytes, str]:
    """The image re-encoded upright with no EXIF or other metadata (blocking: run it in a thread): a
    JPEG stays a JPEG; PNG, GIF (its first frame) and WEBP are served as PNG, which keeps transparency."""
    with Image.open(path) as image:
        kind = "JPEG" if image.format in ("JPEG", "MPO") else "PNG"
        pixels = upright(image)
        if pixels.mode not in _SERVED_MODES[kind]:
            pixels = pixels.convert("RGBA" if kind == "PNG" and pixels.has_transparency_data else "RGB")
        # Only the pixels are carried over: no EXIF, no comments, no thumbnails.
        clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
        buffer = io.BytesIO()
        clean.save(buffer, kind, quality=90) if kind == "JPEG" else clean.save(buffer, kind)
    return buffer.getvalue(), "image/jpeg" if kind == "JPEG" else "image/png"
