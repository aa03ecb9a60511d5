"""What Telegram refuses, as the Bot API stand-in checks it: HTML it cannot parse, texts and captions
over their limits (counted in UTF-16 units after the entities are parsed), photos it cannot take."""

from __future__ import annotations

import html
import io
import re
from typing import Any

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

    def answer(self) -> dict[str, Any]:
        """The JSON body Telegram answers with (its HTTP status is `code`)."""
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


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


def message_text(params: dict[str, Any], key: str) -> str:
    """A call's `text` or `caption`, refused as Telegram refuses it: an empty text, HTML it cannot parse
    (with parse_mode HTML), or over its limit, counted after the entities are parsed."""
    text = str(params.get(key) or "")
    if key == "text" and not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    html_mode = params.get("parse_mode") == "HTML"
    if html_mode:
        check_html(text)
    if utf16_length(plain(text) if html_mode else text) > (TEXT_LIMIT if key == "text" else CAPTION_LIMIT):
        raise ApiError(400, "Bad Request: message is too long" if key == "text"
                       else "Bad Request: message caption is too long")
    return text


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
