"""What a person types, held to the store's limits one way.

Every limit on typed text is the store's, a constant beside what it limits (`drafts.MAX_DESCRIPTION`,
`points.MAX_ADDRESS`, `cases.MAX_COMMENT`, `tasks.MAX_NOTE` ...), counted in characters. Text over
its limit is never cut without the person knowing: they are asked to type it again, shorter, and
the question stays open. (`fit.py` is the other direction: what Telegram takes from the bot.)
"""

from __future__ import annotations

from handlers.i18n import Translate
from handlers.turn import Outgoing


def over_limit(text: str, limit: int) -> bool:
    """Whether typed text is longer than the store keeps (`limit` characters)."""
    return len(text) > limit


def too_long(_: Translate, text: str, limit: int) -> Outgoing | None:
    """The answer to typed text over `limit` characters (the person is asked to type it again,
    shorter), or None when it fits."""
    if not over_limit(text, limit):
        return None
    return Outgoing(_("That is {length} characters; please keep it to {limit}.").format(length=len(text), limit=limit))
