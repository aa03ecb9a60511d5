"""What a commander is told when a call-out step cannot be taken: one sentence per reason the store
gives, a refused button press as an alert, and typed text that is empty or too long (asked again,
never cut). Shared by composing a call-out and by its live controls."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TypeVar

from handlers.buttons import Button
from handlers.i18n import Translate
from handlers.turn import ButtonOutcome, Outgoing, Turn
from handlers.typed_text import too_long
from storage.callouts import CallOutError, Refusal

log = logging.getLogger(__name__)

B = TypeVar("B", bound=Button)


def refusal(_: Translate, reason: Refusal) -> str:
    return {
        Refusal.NOT_YOURS: _("This call-out is not yours."),
        Refusal.ALREADY_SENT: _("This call-out has already been sent."),
        Refusal.NOBODY: _("Nobody is in this scope with these tags: nothing was sent. Choose a wider scope or other people."),
        Refusal.OUTSIDE: _("That is outside your area: nothing was sent."),
        Refusal.OVER: _("This call-out is over."),
        Refusal.INVALID: _("This button is not valid."),
        Refusal.NO_COMMAND: _("Only grid leaders, dispatchers and administrators can call out responders."),
    }[reason]


def refused_as_alert(step: Callable[[Turn, B], Awaitable[ButtonOutcome]]) -> Callable[[Turn, B], Awaitable[ButtonOutcome]]:
    """The press step, whose refusal by the store is shown as an alert (and changes nothing)."""

    @wraps(step)
    async def guarded(turn: Turn, pressed: B) -> ButtonOutcome:
        try:
            return await step(turn, pressed)
        except CallOutError as error:
            log.info("update %s: %s refused: %s", turn.update_id, pressed.PREFIX, error.reason)
            return ButtonOutcome(notice=refusal(turn._, error.reason), alert=True)

    return guarded


def typed_words(_: Translate, text: str, about: int | None, limit: int | None) -> tuple[str, Outgoing | None]:
    """The words typed, spaces squeezed, and the reply when they cannot be taken: none at all (or
    the question is `about` nothing any more), or over `limit` characters; the person is still
    asked the same question."""
    words = " ".join(text.split())
    if not words or about is None:
        return words, Outgoing(_("Please type a few words, or /cancel."))
    return words, too_long(_, words, limit) if limit is not None else None
