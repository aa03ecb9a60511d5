"""Telegram's rules for a photo the bot uploads (sendPhoto, an album), and a kept picture made to
meet them.

A photo may be at most 10 MB, its width and height together at most 10,000 pixels, and one side at
most 20 times the other. A picture a citizen sent as a file may break any of these (a panorama, a
big scan). Such a picture is scaled down to what Telegram would keep of a photo anyway (2,560
pixels on the long side), or, when its shape cannot be a photo at all, sent as a document. Either
way its EXIF (camera, where it was taken) is left out. The work is blocking: run it in a thread.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from storage.photos import clean_copy

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_SIDES = 10_000  # width + height
MAX_RATIO = 20
LONG_SIDE = 2560  # what Telegram keeps of a photo's long side
# Kept pictures Telegram shows as an ordinary photo; a GIF or WEBP a citizen sent as a file is sent
# as a still JPEG instead (an animated GIF by sendPhoto would show one frame, or be refused).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Upload:
    """What to send for a kept picture: `as_photo` False means as a document, named `filename`."""

    content: bytes
    as_photo: bool
    filename: str


def photo_allowed(size_bytes: int, width: int, height: int) -> bool:
    """Whether Telegram takes this picture as a photo."""
    if width <= 0 or height <= 0:
        return False
    return size_bytes <= MAX_PHOTO_BYTES and width + height <= MAX_SIDES and max(width, height) <= MAX_RATIO * min(width, height)


def _on_white(image: Image.Image) -> Image.Image:
    """Transparency laid on white, as a JPEG needs."""
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _rgba(image: Image.Image) -> Image.Image:
    return image.convert("RGBA")


def _jpeg(image: Image.Image) -> bytes:
    """A JPEG of the picture's pixels alone, its transparency laid on white."""
    return clean_copy(image, "JPEG", ("RGB", "L"), _on_white)


def _scaled_photo(path: Path) -> bytes:
    with Image.open(path) as image:
        # Scaled first, on the file as it is decoded (a JPEG decodes straight at a fraction of its
        # size), so the copying that strips the metadata handles 5 MP, not 80.
        image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        return _jpeg(image)


def _document(path: Path) -> bytes:
    with Image.open(path) as image:
        if path.suffix.lower() != ".png":
            return _jpeg(image)
        return clean_copy(image, "PNG", ("RGB", "L", "RGBA", "LA"), _rgba)


def upload_for(data_dir: Path, relative_path: str) -> Upload:
    """What to upload for a kept picture so Telegram takes it (blocking: run it in a thread).

    A JPEG or PNG that already meets the rules goes as it is (Telegram re-encodes a photo and drops its
    EXIF itself). A scaled or document copy is kept beside the photos, so it is made once."""
    path = data_dir / relative_path
    with Image.open(path) as image:
        width, height = image.size
    if photo_allowed(path.stat().st_size, width, height) and path.suffix.lower() in PHOTO_SUFFIXES:
        return Upload(path.read_bytes(), True, path.name)
    if max(width, height) <= MAX_RATIO * min(width, height):
        name = f"{path.stem}.jpg"
        return Upload(_cached(data_dir, "photo-" + name, lambda: _scaled_photo(path)), True, name)
    name = f"{path.stem}.{'png' if path.suffix.lower() == '.png' else 'jpg'}"
    return Upload(_cached(data_dir, "document-" + name, lambda: _document(path)), False, name)


def _cached(data_dir: Path, filename: str, make: Callable[[], bytes]) -> bytes:
    """A derived copy under the data dir, made once and written atomically."""
    path = data_dir / "photos" / "sendable" / filename
    if path.exists():
        return path.read_bytes()
    content = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Named for this call alone: two turns of one process may make the same copy at once.
    temporary = path.with_suffix(path.suffix + f".{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
    return content
