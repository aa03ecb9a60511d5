"""The verifier in the chat (核查): one card with the citizen's before-photos and the worker's
after-photos, then "✅ Verified" (or with a photo of their own) or "↩️ Send back" with a reason.

```mermaid
stateDiagram-v2
    [*] --> Card: a worker resolves a case that needs verification (the card: photos, then the text)
    Card --> Verified: ✅ Verified (the citizen is asked to rate)
    Card --> VERIFY_PHOTO: 📷 Verified, with my photo
    VERIFY_PHOTO --> Verified: a photo
    Card --> SEND_BACK_REASON: ↩️ Send back
    SEND_BACK_REASON --> SentBack: a reason (the case is back with its worker, who reads it)
    Verified --> [*]
    SentBack --> [*]
```

The states in capitals are questions (`storage.vocab.Question`); /cancel leaves any of them. Every
press and answer is checked against the store (`storage.verify`): only the case's verifier, only
while it waits for verification.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from handlers import keyboards
from handlers.buttons import Button, SendBackCase, VerifyCase, VerifyWithPhoto
from handlers.fit import escape, user
from handlers.i18n import Translate, translator
from handlers.questions import Accepts, PhotoIn
from handlers.runtime import Runtime
from handlers.texts import category_label, state_name
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from handlers.typed_text import too_long
from storage import cases, people, verify
from storage.models import Case, Person, Photo
from storage.verify import VerifyError, VerifyRefusal
from storage.vocab import N_, Question

# The notice storage/verify.py queues, marked here as well: the extraction (babel.cfg) reads handlers/, not storage/.
_QUEUED = N_("↩️ Task <b>{number}</b> was sent back by {name}, who verified it: {reason}")
assert _QUEUED == verify.SENT_BACK

MAX_BEFORE = 5  # an album holds ten: up to five of each side


async def render_card(session: AsyncSession, rt: Runtime, person: Person,
                      case_id: int) -> tuple[str, InlineKeyboardMarkup, list[Photo]] | None:
    """The verifier's card, while the case still waits for them: its text, buttons and photos
    (before, then after)."""
    case = await cases.case_by_id(session, case_id)
    if case is None or case.verifier_id != person.id or case.state != "verifying":
        return None
    _ = translator(person.language)
    step = await verify.resolution(session, case.id)
    before = (await cases.report_photos(session, case.id))[:MAX_BEFORE]
    after = (await cases.event_photos(session, step.id)) if step is not None else []
    worker = await cases.person_name(session, step.actor_id if step else case.assignee_id)
    lines = [
        _("🔎 <b>Verify case {number}</b>").format(number=case.number),
        escape(category_label(rt, case.category_code, person.language)),
    ]
    if case.description:
        lines.append(_("Reported: {text}").format(text=user(case.description)))
    lines.append(_("Resolved by {name}: {note}").format(name=escape(worker), note=user(step.note if step and step.note
                                                                                       else "-")))
    lines.append(_("Photos above: {before} before, {after} after.").format(before=len(before), after=len(after)))
    return "\n".join(lines), keyboards.verify_card(_, case.id), [*before, *after[: 10 - len(before)]]


def _problem(_: Translate, error: VerifyError) -> str:
    if error.reason is VerifyRefusal.NOT_VERIFIER:
        return _("This case is not yours to verify.")
    state = state_name(_, error.case.state) if error.case else ""
    return _("Case {number} is already {state}; nothing was changed.").format(
        number=error.case.number if error.case else "", state=state)


async def _checked(turn: Turn, case_id: int) -> Case | ButtonOutcome:
    try:
        return await verify.may_verify(turn.session, case_id, turn.person.id)
    except (VerifyError, LookupError) as error:
        text = _problem(turn._, error) if isinstance(error, VerifyError) else turn._("This case is not yours to verify.")
        return ButtonOutcome(notice=text, alert=True)


async def verified(turn: Turn, pressed: VerifyCase) -> ButtonOutcome:
    case = await _checked(turn, pressed.case)
    if isinstance(case, ButtonOutcome):
        return case
    await verify.verify(turn.session, case.id, turn.person.id, turn.now)
    done = turn._("✅ Case <b>{number}</b> is verified. The citizen has been asked to rate it.").format(number=case.number)
    return ButtonOutcome(notice=turn._("Verified"), edit_text=done, markup=None)


async def ask_photo(turn: Turn, pressed: VerifyWithPhoto) -> ButtonOutcome:
    case = await _checked(turn, pressed.case)
    if isinstance(case, ButtonOutcome):
        return case
    people.await_answer(turn.person, Question.VERIFY_PHOTO, case.id)
    return ButtonOutcome(messages=[Outgoing(turn._("📷 Send your photo of case <b>{number}</b>; it is verified with it. "
                                                   "/cancel to stop.").format(number=case.number))])


async def ask_reason(turn: Turn, pressed: SendBackCase) -> ButtonOutcome:
    case = await _checked(turn, pressed.case)
    if isinstance(case, ButtonOutcome):
        return case
    people.await_answer(turn.person, Question.SEND_BACK_REASON, case.id)
    return ButtonOutcome(messages=[Outgoing(turn._("Why does case <b>{number}</b> go back to its worker? Type a few "
                                                   "words; the worker reads them. /cancel to stop.").format(
        number=case.number))])


PRESSES: dict[type[Button], PressHandler] = {
    VerifyCase: press_step(verified),
    VerifyWithPhoto: press_step(ask_photo),
    SendBackCase: press_step(ask_reason),
}


async def take_reason(turn: Turn, text: str) -> Replies:
    _ = turn._
    case_id = turn.person.awaiting_ref
    reason = " ".join(text.split())
    if not reason or case_id is None:
        return [Outgoing(_("Please type a few words, or /cancel."))]
    refusal = too_long(_, reason, verify.MAX_REASON)
    if refusal is not None:
        return [refusal]
    people.stop_awaiting(turn.person)
    try:
        case = await verify.send_back(turn.session, case_id, turn.person.id, reason, turn.now)
    except VerifyError as error:
        return [Outgoing(_problem(_, error), await turn.menu())]
    return [Outgoing(_("↩️ Case <b>{number}</b> went back to its worker with your reason.").format(number=case.number),
                     await turn.menu())]


async def take_photo(turn: Turn, sent: PhotoIn) -> Replies:
    _ = turn._
    case_id = turn.person.awaiting_ref
    people.stop_awaiting(turn.person)
    if case_id is None:
        return [Outgoing(_("Please type a few words, or /cancel."))]
    try:
        case = await verify.verify(turn.session, case_id, turn.person.id, turn.now, sent.photo.id)
    except VerifyError as error:
        return [Outgoing(_problem(_, error), await turn.menu())]
    return [Outgoing(_("✅ Case <b>{number}</b> is verified. The citizen has been asked to rate it.").format(
        number=case.number), await turn.menu())]


ANSWERS = {
    Question.SEND_BACK_REASON: Accepts(text=take_reason),
    Question.VERIFY_PHOTO: Accepts(photo=take_photo),
}
