"""Telegram's length limits, counted the way Telegram counts them, and the one place that makes a
message fit them.

Telegram refuses a text over 4,096 characters and a caption over 1,024, counted after the HTML is
parsed (a tag counts nothing, `&amp;` counts one) and in UTF-16 code units (an emoji counts two).
A renderer puts what a person wrote into a message with `user()` (instead of `esc()`), which marks
it; `fit()` then shortens only the marked parts, longest first, each ending in an ellipsis, so the
message's own words stay whole. Every path that sends a message calls `fit()`, so the marks never
reach Telegram; when a message would still not fit, the whole message is cut (and logged) rather
than refused.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from dataclasses import dataclass

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_ANSWER_LIMIT = 200  # the pop-up answering a button press (answerCallbackQuery's text), plain text
ELLIPSIS = "…"

# Unicode noncharacters, which Unicode keeps for a program's own use: they mark where a person's
# words start and end inside a rendered message. `esc()` removes them from whatever a person typed.
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_MARKED = re.compile(f"{_OPEN}([^{_OPEN}{_CLOSE}]*){_CLOSE}")
_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?([a-zA-Z\-]+)")
_JOINERS = {"\u200d"}


def strip_marks(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def escape(text: str | None) -> str:
    """Whatever a person typed, made safe to put in an HTML message (no marks of ours inside)."""
    return html.escape(strip_marks(text or ""), quote=False)


def user(text: str | None) -> str:
    """A person's words inside a message: escaped, and marked as what `fit()` may shorten."""
    return f"{_OPEN}{escape(text)}{_CLOSE}"


def units(plain: str) -> int:
    """Length in UTF-16 code units, as Telegram counts: a character outside the BMP counts two."""
    return sum(2 if ord(char) > 0xFFFF else 1 for char in plain)


def visible(text: str) -> str:
    """What Telegram counts of an HTML message: tags dropped, entities decoded, marks removed."""
    return html.unescape(re.sub(r"<[^<>]*>", "", strip_marks(text)))


def telegram_length(text: str) -> int:
    return units(visible(text))


@dataclass(frozen=True)
class Fitted:
    text: str
    shortened: bool  # some of a person's words were left out


def _keep_units(raw: str, budget: int) -> str:
    """The longest start of `raw` within `budget` UTF-16 units that does not end inside a
    character a person sees (an emoji's skin tone, a joined emoji, an accent)."""
    used = 0
    end = 0
    for position, char in enumerate(raw):
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > budget:
            break
        used += size
        end = position + 1
    if end < len(raw):
        while end > 0 and (_continues(raw[end]) or raw[end - 1] in _JOINERS):
            end -= 1
    return raw[:end].rstrip()


def _continues(char: str) -> bool:
    """Whether `char` belongs to the character before it (so a cut must not fall just before it)."""
    code = ord(char)
    return (char in _JOINERS or unicodedata.combining(char) != 0 or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0100 <= code <= 0xE01EF or 0xE0020 <= code <= 0xE007F)


def _cap_for(lengths: list[int], budget: int) -> int | None:
    """The largest share C such that every text longer than C, cut to C and given an ellipsis,
    leaves them all within `budget`; None when even empty ellipses do not fit."""
    def cost(cap: int) -> int:
        return sum(length if length <= cap else cap + 1 for length in lengths)

    if cost(0) > budget:
        return None
    low, high = 0, max(lengths)
    while low < high:
        middle = (low + high + 1) // 2
        if cost(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def fit(text: str, limit: int = TEXT_LIMIT) -> Fitted:
    """The message within `limit` as Telegram counts it: the marked words of people shortened
    (longest first) with an ellipsis; as a last resort, the whole message cut."""
    pieces = _MARKED.split(text)  # even indexes: the message's own HTML; odd: a person's words
    structure = "".join(pieces[0::2])
    words = [html.unescape(piece) for piece in pieces[1::2]]
    lengths = [units(w) for w in words]
    room = limit - telegram_length(structure)
    if sum(lengths) <= room:
        return _guarded(strip_marks(text), limit, False)
    cap = _cap_for(lengths, room) if words else None
    if cap is None:
        cap = 0
    shortened = [w if units(w) <= cap else _keep_units(w, cap) + ELLIPSIS for w in words]
    pieces[1::2] = [html.escape(w, quote=False) for w in shortened]
    return _guarded(strip_marks("".join(pieces)), limit, True)


def _guarded(text: str, limit: int, shortened: bool) -> Fitted:
    if telegram_length(text) <= limit:
        return Fitted(text, shortened)
    log.warning("a message of %s characters was cut to Telegram's %s", telegram_length(text), limit)
    return Fitted(cut_html(text, limit), True)


def cut_html(text: str, limit: int) -> str:
    """The start of an HTML message within `limit`, ending in an ellipsis, with its tags closed."""
    opened: list[str] = []
    out: list[str] = []
    used = 0
    room = limit - units(ELLIPSIS)
    for token in _TOKEN.findall(text):
        if token.startswith("<") and token.endswith(">") and len(token) > 1:
            name = _TAG_NAME.match(token)
            if name is None:
                continue
            if token.startswith("</"):
                if opened and opened[-1] == name.group(1):
                    opened.pop()
                    out.append(token)
            elif not token.endswith("/>"):
                opened.append(name.group(1))
                out.append(token)
            continue
        size = units(html.unescape(token))
        if used + size > room:
            break
        used += size
        out.append(token)
    out.append(ELLIPSIS)
    out.extend(f"</{name}>" for name in reversed(opened))
    return "".join(out)


def shorten(raw: str, limit: int) -> str:
    """Plain text within `limit` UTF-16 units: as it is when it fits, else its start and an ellipsis."""
    if units(raw) <= limit:
        return raw
    return _keep_units(raw, limit - units(ELLIPSIS)) + ELLIPSIS


def parts(raw: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A person's long text in pieces of at most `limit` units each, broken at a line or a space
    where there is one near the end; every piece is plain text (escape it to send it)."""
    pieces: list[str] = []
    rest = raw.strip()
    while rest:
        if units(rest) <= limit:
            pieces.append(rest)
            break
        head = _keep_units(rest, limit)
        if not head:  # nothing fits whole (cannot happen above two units); take one character
            head = rest[0]
        for breaker in ("\n", " "):
            at = head.rfind(breaker)
            if at > len(head) // 2:
                head = head[:at]
                break
        pieces.append(head.rstrip())
        rest = rest[len(head):].lstrip()
    return pieces
