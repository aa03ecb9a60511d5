"""What Telegram refuses, as the Bot API stand-in checks it: HTML it cannot parse, texts and captions
over their limits (counted in UTF-16 units after the entities are parsed), photos it cannot take."""

from __future__ import annotations

import html
import io
import re

ALLOWED_TAGS = "b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler|span|blockquote|tg-emoji"
TAG = re.compile(rf"</?({ALLOWED_TAGS})(\s[^<>]*)?>")
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
TEXT_LIMIT, CAPTION_LIMIT, CALLBACK_ANSWER_LIMIT = 4096, 1024, 200
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # what a bot may download through the cloud API
PHOTO_LIMIT = 10 * 1024 * 1024


class ApiError(Exception):
    """An answer Telegram gives instead of a result: its code and its words."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def check_html(text: str) -> None:
    """Raise as Telegram does when HTML text has a stray '<' or '&', or unbalanced tags."""
    stack: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = TAG.match(text, position)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag at byte offset {position}")
            name = match.group(1)
            if match.group(0).startswith("</"):
                if not stack or stack.pop() != name:
                    raise ApiError(400, f"Bad Request: can't parse entities: unmatched end tag at byte offset {position}")
            else:
                stack.append(name)
            position = match.end()
        elif char == "&":
            match = ENTITY.match(text, position)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported entity at byte offset {position}")
            position = match.end()
        else:
            position += 1
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: can't find end tag corresponding to start tag")


def utf16_length(text: str) -> int:
    """Telegram counts a text's length in UTF-16 code units: an emoji counts two."""
    return len(text.encode("utf-16-le")) // 2


def plain(text: str) -> str:
    """The text a person sees: tags dropped, entities decoded."""
    return html.unescape(TAG.sub("", text))


def photo_size(content: bytes) -> tuple[int, int]:
    """Width and height of an uploaded photo, refused as Telegram refuses it."""
    from PIL import Image

    if len(content) > PHOTO_LIMIT:
        raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
    except Exception:  # noqa: BLE001 - whatever Pillow cannot open, Telegram cannot either
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from None
    if width + height > 10_000 or max(width, height) > 20 * min(width, height):
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    return width, height
