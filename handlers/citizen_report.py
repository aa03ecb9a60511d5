"""Snap-and-report (随手拍): a citizen sends photos, a place, a category and a few words.

The report is a conversation whose state is the draft's `step` in the store (`storage/drafts.py`):
always the first thing the report still lacks, so the parts may come in any order, and a photo or
a place sent outside any report starts one. `report_text`, `report_place` and `report_photo` take
what no open question has taken (`handlers/answers.py` asks the questions first); the report's
buttons are in `handlers/report_buttons.py`, submitting in `handlers/report_submit.py`.

```mermaid
stateDiagram-v2
    [*] --> photos: /report, 📷 Report a problem, a place
    [*] --> location: a photo
    photos --> location: a photo
    location --> category: a place, a typed address, 📍 Use where the photo was taken
    category --> description: a category, 🤷 Not sure
    category --> questions: a category that asks questions (handlers/report_questions.py)
    questions --> description: the last answer
    questions --> stopped: a stop answer
    description --> confirm: a few words, Skip
    confirm --> photos: Change › Photos
    confirm --> location: Change › Location
    confirm --> category: Change › Category
    confirm --> description: Change › Description
    confirm --> submitted: Submit, Report anyway
    confirm --> merged: Add my photos to the case nearby
    photos --> cancelled: /cancel, Cancel (at any step)
    submitted --> [*]
    merged --> [*]
    cancelled --> [*]
    stopped --> [*]
```

At every step a photo is added (up to five) and a place replaces the location; the step then
moves to whatever the report still lacks. Typed text is the answer only where `TEXT_AT` says so
(the address, an answer, the description); elsewhere it gets a hint, at most once in a while.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Message

from handlers import keyboards, report_questions
from handlers.questions import PhotoIn, Place
from handlers.report_prompts import step_prompt
from handlers.turn import Outgoing, Replies, Turn
from handlers.typed_text import over_limit, too_long
from storage import drafts, people, tasks
from storage.drafts import DraftStep
from storage.models import ReportDraft
from storage.points import MAX_ADDRESS, cleaned_address, is_meaningful_address
from storage.vocab import DraftStatus


async def start_report(turn: Turn, _message: Message) -> Replies:
    """The menu's "Report a problem" or /report: begin a report, or carry on with the open one."""
    existing = await drafts.open_draft(turn.session, turn.person.id)
    draft = existing or await drafts.start_draft(turn.session, turn.person.id, turn.now)
    messages = await step_prompt(turn, draft)
    if existing is not None and existing.photos:
        _ = turn._
        messages.insert(0, Outgoing(_("You have a report in progress; let us finish it. /cancel starts over.")))
    return messages


async def cancel(turn: Turn, _message: Message) -> Replies:
    """/cancel at any step: the open report and any pending question are dropped."""
    _ = turn._
    draft = await drafts.open_draft(turn.session, turn.person.id)
    had_question = turn.person.awaiting is not None
    people.stop_awaiting(turn.person)
    await tasks.drop_resolving(turn.session, turn.person.id)
    if draft is not None:
        drafts.finish(draft, DraftStatus.CANCELLED, None, turn.now)
        text = _("✖️ Report cancelled. Nothing was sent.")
    elif had_question:
        text = _("OK, never mind.")
    else:
        text = _("There is nothing to cancel.")
    return [Outgoing(text, await turn.menu())]


# --- what each step takes ------------------------------------------------------------------------

DraftText = Callable[[Turn, ReportDraft, str], Awaitable[Replies]]


async def take_typed_address(turn: Turn, draft: ReportDraft, text: str) -> Replies:
    _ = turn._
    address = cleaned_address(text)
    if not is_meaningful_address(address) or over_limit(address, MAX_ADDRESS):
        return [Outgoing(_("Please type the address in 3 to {limit} characters, or send the location.")
                         .format(limit=MAX_ADDRESS))]
    drafts.set_typed_address(draft, address, turn.now)
    return await _moved_on(turn, draft, _("📍 Address noted. It is not checked on the map, so a dispatcher will place it."))


async def take_description(turn: Turn, draft: ReportDraft, text: str) -> Replies:
    refusal = too_long(turn._, text, drafts.MAX_DESCRIPTION)
    if refusal is not None:
        return [refusal]
    drafts.set_description(draft, text.strip() or None, turn.now)
    drafts.advance(draft, turn.now)
    return await step_prompt(turn, draft)


def _hint_due(turn: Turn, draft: ReportDraft) -> bool:
    """Text that answers nothing at this step gets a hint, not one per message."""
    return people.claim_hint(turn.person, f"text_at_{draft.step}", turn.now)


async def _photo_first(turn: Turn, draft: ReportDraft, _text: str) -> Replies:
    if not _hint_due(turn, draft):
        return []
    return [Outgoing(turn._("I need a photo first: tap 📎 and choose a picture of the problem."))]


async def _category_again(turn: Turn, draft: ReportDraft, _text: str) -> Replies:
    return await step_prompt(turn, draft) if _hint_due(turn, draft) else []


async def _ready(turn: Turn, draft: ReportDraft, _text: str) -> Replies:
    if not _hint_due(turn, draft):
        return []
    return [Outgoing(turn._("Your report is ready: tap Submit, Change or Cancel on the summary above."))]


# What typed text is at each step of an open report.
TEXT_AT: dict[DraftStep, DraftText] = {
    DraftStep.PHOTOS: _photo_first,
    DraftStep.LOCATION: take_typed_address,
    DraftStep.CATEGORY: _category_again,
    DraftStep.QUESTIONS: report_questions.take_typed_answer,
    DraftStep.DESCRIPTION: take_description,
    DraftStep.CONFIRM: _ready,
}


async def report_text(turn: Turn, text: str) -> Replies:
    """Typed text that answers no question: the open report's step, or a hint how to report."""
    draft = await drafts.open_draft(turn.session, turn.person.id)
    if draft is not None:
        return await TEXT_AT[drafts.step_of(draft)](turn, draft, text)
    _ = turn._
    if people.claim_hint(turn.person, "idle_text", turn.now):
        return [Outgoing(_("To report a problem, send a photo of it or tap 📷 Report a problem."), await turn.menu())]
    return []


async def report_place(turn: Turn, place: Place) -> Replies:
    """A place (checked to be one on Earth) is the report's location, at any step; it starts a report."""
    draft = await drafts.start_draft(turn.session, turn.person.id, turn.now)
    drafts.set_location(draft, place.lat, place.lon, place.source, place.name, turn.now)
    return await after_location(turn, draft)


async def after_location(turn: Turn, draft: ReportDraft) -> Replies:
    """Say the location was taken, and ask for what the report still lacks."""
    return await _moved_on(turn, draft, turn._("📍 Location received."))


async def _moved_on(turn: Turn, draft: ReportDraft, note: str) -> Replies:
    """`note` on what was taken, and the next step's prompt; while the photos are still missing, in
    one message (the prompt's keyboard is the main menu)."""
    step = drafts.advance(draft, turn.now)
    prompt = await step_prompt(turn, draft)
    if step == DraftStep.PHOTOS:
        return [Outgoing(note + "\n" + prompt[0].text, prompt[0].markup)]
    return [Outgoing(note, await turn.menu()), *prompt]


async def report_photo(turn: Turn, sent: PhotoIn) -> Replies:
    """A photo (checked and stored) joins the open report at any step; it starts a report."""
    _, now = turn._, turn.now
    draft = await drafts.start_draft(turn.session, turn.person.id, now)
    step_before = draft.step
    added = await drafts.add_photo(turn.session, draft, sent.photo.id, sent.media_group, now)
    offer_position = sent.exif_position is not None and drafts.offer_photo_position(draft, *sent.exif_position)
    drafts.describe_from_caption(draft, sent.caption, now)
    step = drafts.advance(draft, now)
    messages: list[Outgoing] = []
    if not added.added:
        full = added.count >= drafts.MAX_PHOTOS
        if people.claim_hint(turn.person, "photo_limit" if full else "photo_again", now):
            messages.append(Outgoing(
                _("You can add at most {limit} photos; this one was not added.").format(limit=drafts.MAX_PHOTOS)
                if full else _("This photo is already in your report.")
            ))
    elif added.answered_album and not offer_position:
        pass  # one answer per album, not one per photo
    elif step != step_before or step == DraftStep.CONFIRM:
        messages.extend(await step_prompt(turn, draft))
    else:
        messages.append(Outgoing(_("📷 Photo added ({count} of {limit}).").format(count=added.count, limit=drafts.MAX_PHOTOS)))
    if offer_position and step in (DraftStep.LOCATION, DraftStep.PHOTOS):
        messages.append(Outgoing(_("This photo carries the place where it was taken."), keyboards.exif_offer(_, draft.id)))
    return messages


# --- what was sent but not taken -----------------------------------------------------------------


async def reminder_of_step(turn: Turn) -> str:
    """A line that says what the open report waits for, to add to a refusal."""
    draft = await drafts.open_draft(turn.session, turn.person.id)
    if draft is None:
        return ""
    _ = turn._
    reminders = {
        DraftStep.PHOTOS: _("Your report is waiting for a photo."),
        DraftStep.LOCATION: _("Your report is waiting for the location."),
        DraftStep.CATEGORY: _("Your report is waiting for you to choose a category above."),
        DraftStep.DESCRIPTION: _("Your report is waiting for a few words, or tap Skip above."),
        DraftStep.CONFIRM: _("Your report is ready: tap Submit above."),
    }
    return "\n" + reminders[drafts.step_of(draft)]


async def refused(turn: Turn, why: str) -> Replies:
    """Say why what was sent (a file, a place) was not taken (`why`, in the person's language), and
    what the open report still waits for."""
    return [Outgoing(why + await reminder_of_step(turn))]
