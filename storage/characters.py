"""Which characters of the text the store takes in (a typed address, an Open311 request's fields) a
person meant: the one definition of a control character, and of the characters a reader cannot see.

Each rule is one predicate on a single character; `storage/points.py` (addresses) and
`storage/open311.py` (posted fields) say what they do with the characters it picks.
"""

from __future__ import annotations

import unicodedata

# The control characters that belong in text: tab and the line breaks.
LINE_CONTROLS = "\t\n\r"
# The two code points Unicode keeps from ever being characters; no text a person wrote holds them.
NONCHARACTERS = "\ufffe\uffff"


def is_control(char: str) -> bool:
    """A control character: Unicode category Cc (U+0000–U+001F, DEL and U+0080–U+009F), tab and the
    line breaks included."""
    return unicodedata.category(char) == "Cc"


def is_forbidden(char: str) -> bool:
    """Not text a person meant: a control character other than tab and the line breaks, a lone
    surrogate, or U+FFFE/U+FFFF (XML 1.0 cannot carry most of them either)."""
    return (is_control(char) and char not in LINE_CONTROLS) or unicodedata.category(char) == "Cs" or char in NONCHARACTERS


def is_hidden(char: str) -> bool:
    """A control or format (zero-width) character: nothing a reader sees where it stands."""
    return is_control(char) or unicodedata.category(char) == "Cf"


def is_uncounted(char: str) -> bool:
    """What a reader does not count as a character: a control, format, unassigned or private-use
    code point (category C*), a separator (Z*: spaces, line and paragraph separators), or a
    combining mark (M*: an accent sits on a letter, it is no character of its own)."""
    return unicodedata.category(char)[0] in ("C", "Z", "M")
