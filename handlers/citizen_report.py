"""Snap-and-report (随手拍): a citizen sends photos, a location, a category and a few words.

The steps may come in either order: a photo or a location sent outside any report starts one.
The draft lives in the store; every message and button is checked against it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.error import BadRequest

from handlers import answers, keyboards
from handlers.callbacks import Pressed
from handlers.common import (
    ButtonOutcome,
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    show_outcome,
    too_long,
    tr,
)
from handlers.i18n import N_, Translate, local_time
from handlers.questions import PhotoIn, Place
from handlers.report_prompts import step_prompt, summary
from handlers.runtime import Runtime
from handlers.texts import category_label, time_limit
from handlers.turn import Turn
from storage import cases, drafts, people, photos, routing, tasks
from storage.models import Person, ReportDraft
from storage.photos import NotAnImage, record_photo, write_photo_file
from storage.points import cleaned_address, is_meaningful_address, is_valid_point

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the cloud Bot API will not hand the bot a bigger file
MAX_ADDRESS = 300
NOT_A_PLACE = N_("📍 That location is not a real place on the map, so it was not taken. Please share your location again.")


async def start_report(update: Update, context: Context) -> None:
    """The menu's "Report a problem" or /report: begin a report, or carry on with the open one."""
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        existing = await drafts.open_draft(session, person.id)
        draft = existing or await drafts.start_draft(session, person.id, rt.clock.now())
        messages = await step_prompt(session, rt, draft, person)
        if existing is not None and existing.photos:
            _ = tr(person)
            messages.insert(0, Outgoing(_("You have a report in progress; let us finish it. /cancel starts over.")))
    await send_all(context.bot, update.effective_chat.id, messages)


async def cancel(update: Update, context: Context) -> None:
    """/cancel at any step: the open report and any pending question are dropped."""
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        draft = await drafts.open_draft(session, person.id)
        had_question = person.awaiting is not None
        people.stop_awaiting(person)
        await tasks.drop_resolving(session, person.id)
        if draft is not None:
            drafts.finish(draft, "cancelled", None, rt.clock.now())
    if draft is not None:
        text = _("✖️ Report cancelled. Nothing was sent.")
    elif had_question:
        text = _("OK, never mind.")
    else:
        text = _("There is nothing to cancel.")
    await send_all(context.bot, update.effective_chat.id, [Outgoing(text, keyboards.main_menu(_))])


# --- photos -----------------------------------------------------------------------------------


async def on_photo(update: Update, context: Context) -> None:
    await _take_picture(update, context, update.effective_message.photo[-1].file_id, from_file=False)


async def on_document(update: Update, context: Context) -> None:
    """A photo sent as a file keeps its EXIF position, which we offer as the location."""
    document = update.effective_message.document
    if not (document.mime_type or "").startswith("image/"):
        await _refuse_picture(update, context, N_("This file is not a picture. Please send a photo."))
    elif document.file_size is not None and document.file_size > MAX_DOWNLOAD_BYTES:
        # Refused before downloading: the cloud Bot API would not hand the bot the file anyway.
        await _refuse_picture(update, context, N_(
            "This file is larger than 20 MB, more than the bot can receive. Please send it as a photo instead."))
    else:
        await _take_picture(update, context, document.file_id, from_file=True)


async def _refuse(update: Update, context: Context, why: Callable[[Translate], str]) -> None:
    """Say why what was sent (a file, a place) was not taken, and what the open report still waits for."""
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        text = why(_) + await reminder_of_step(session, person, _)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(text)])


async def _refuse_picture(update: Update, context: Context, message: str) -> None:
    await _refuse(update, context, lambda _: _(message))


async def _download(context: Context, file_id: str) -> bytes:
    file = await context.bot.get_file(file_id)
    return bytes(await file.download_as_bytearray())


def _why_not_taken(_: Translate, error: NotAnImage | BadRequest) -> str:
    """One sentence (in the person's language) on why a picture was not taken, and what to do."""
    if isinstance(error, NotAnImage) and error.reason == NotAnImage.UNSUPPORTED:
        return _("I can take pictures in {formats}, not {format}. Please send it as a photo instead of a file.").format(
            formats=photos.ACCEPTED_NAMES, format=error.format)
    if isinstance(error, NotAnImage) and error.reason == NotAnImage.TOO_LARGE:
        # The cap (photos.MAX_PIXELS) means nothing to a resident; what to do instead does.
        return _("This picture is too big. Please send it as a photo instead of a file.")
    return _("I could not open this picture: it may be damaged or incomplete. Please send it again as a photo.")


async def _take_picture(update: Update, context: Context, file_id: str, from_file: bool) -> None:
    """A citizen's photo for the report, or a worker's after-photo: kept only once it decoded fully."""
    rt = runtime(context)
    message = update.effective_message
    try:
        content = await _download(context, file_id)
        facts = await photos.check_image(content)
    except (NotAnImage, BadRequest) as error:
        log.info("update %s: picture refused: %s", update.update_id, error)
        await _refuse(update, context, lambda _, refused=error: _why_not_taken(_, refused))
        return
    await asyncio.to_thread(write_photo_file, rt.settings.data_dir, content, facts)

    now = rt.clock.now()
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        turn = Turn(session, person, rt, update.update_id, now)
        if answers.takes_photo(turn):
            photo = await record_photo(session, facts, len(content), now, None if from_file else file_id)
            answered = await answers.answer_photo(turn, PhotoIn(photo, message.caption, message.media_group_id))
            await send_all(context.bot, update.effective_chat.id, answered or [])
            return
        draft = await drafts.start_draft(session, person.id, now)
        step_before = draft.step
        photo = await record_photo(session, facts, len(content), now, None if from_file else file_id)
        added = await drafts.add_photo(session, draft, photo.id, message.media_group_id, now)
        offer_position = from_file and facts.gps is not None and drafts.offer_photo_position(draft, *facts.gps)
        if message.caption and not draft.description_done:
            # People often write the problem under the photo; that is the description.
            drafts.set_description(draft, message.caption.strip()[: drafts.MAX_DESCRIPTION] or None, now)
        step = drafts.advance(draft, now)
        messages: list[Outgoing] = []
        if not added.added:
            full = added.count >= drafts.MAX_PHOTOS
            kind = "photo_limit" if full else "photo_again"
            if people.claim_hint(person, kind, now):
                messages.append(Outgoing(
                    _("You can add at most {limit} photos; this one was not added.").format(limit=drafts.MAX_PHOTOS)
                    if full else _("This photo is already in your report.")
                ))
        elif added.answered_album and not offer_position:
            pass  # one answer per album, not one per photo
        elif step != step_before or step == drafts.CONFIRM:
            messages.extend(await step_prompt(session, rt, draft, person))
        else:
            messages.append(Outgoing(_("📷 Photo added ({count} of {limit}).").format(count=added.count, limit=drafts.MAX_PHOTOS)))
        if offer_position and draft.step in (drafts.LOCATION, drafts.PHOTOS):
            messages.append(Outgoing(_("This photo carries the place where it was taken."), keyboards.exif_offer(_, draft.id)))
    await send_all(context.bot, update.effective_chat.id, messages)


async def reminder_of_step(session: AsyncSession, person: Person, _: Translate) -> str:
    """A line that says what the open report waits for, to add to a refusal."""
    draft = await drafts.open_draft(session, person.id)
    if draft is None:
        return ""
    reminders = {
        drafts.PHOTOS: _("Your report is waiting for a photo."),
        drafts.LOCATION: _("Your report is waiting for the location."),
        drafts.CATEGORY: _("Your report is waiting for you to choose a category above."),
        drafts.DESCRIPTION: _("Your report is waiting for a few words, or tap Skip above."),
        drafts.CONFIRM: _("Your report is ready: tap Submit above."),
    }
    return "\n" + reminders[draft.step]


# --- location ---------------------------------------------------------------------------------


async def on_location(update: Update, context: Context) -> None:
    """A shared location, a pin chosen on the map, or a venue: the report's point."""
    rt = runtime(context)
    message = update.effective_message
    venue = message.venue
    location = venue.location if venue else message.location
    if not is_valid_point(location.latitude, location.longitude):
        # Only a forged or broken client sends these; whatever waits for a location keeps waiting.
        log.warning("update %s: location refused: %r, %r", update.update_id, location.latitude, location.longitude)
        await _refuse(update, context, lambda _: _(NOT_A_PLACE))
        return
    source = "venue" if venue else ("live" if location.live_period else "shared")
    place = ", ".join(part for part in (venue.title, venue.address) if part) if venue else None
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        turn = Turn(session, person, rt, update.update_id, rt.clock.now())
        answered = await answers.answer_place(turn, Place(location.latitude, location.longitude, source, place,
                                                          location.live_period, message.message_id))
        if answered is not None:
            await send_all(context.bot, update.effective_chat.id, answered)
            return
        draft = await drafts.start_draft(session, person.id, rt.clock.now())
        drafts.set_location(draft, location.latitude, location.longitude, source, place, rt.clock.now())
        messages = await _after_location(session, rt, draft, person, _)
    await send_all(context.bot, update.effective_chat.id, messages)


async def _after_location(session: AsyncSession, rt: Runtime, draft: ReportDraft, person: Person, _: Translate) -> list[Outgoing]:
    step = drafts.advance(draft, rt.clock.now())
    prompt = await step_prompt(session, rt, draft, person)
    if step == drafts.PHOTOS:
        return [Outgoing(_("📍 Location received.") + "\n" + prompt[0].text, prompt[0].markup)]
    return [Outgoing(_("📍 Location received."), keyboards.main_menu(_)), *prompt]


async def take_typed_address(session: AsyncSession, rt: Runtime, draft: ReportDraft, person: Person, text: str) -> list[Outgoing]:
    _ = tr(person)
    address = cleaned_address(text)
    if not is_meaningful_address(address) or len(address) > MAX_ADDRESS:
        return [Outgoing(_("Please type the address in 3 to {limit} characters, or send the location.").format(limit=MAX_ADDRESS))]
    drafts.set_typed_address(draft, address, rt.clock.now())
    step = drafts.advance(draft, rt.clock.now())
    note = _("📍 Address noted. It is not checked on the map, so a dispatcher will place it.")
    prompt = await step_prompt(session, rt, draft, person)
    if step == drafts.PHOTOS:
        return [Outgoing(note + "\n" + prompt[0].text, prompt[0].markup)]
    return [Outgoing(note, keyboards.main_menu(_)), *prompt]


async def take_description(session: AsyncSession, rt: Runtime, draft: ReportDraft, person: Person, text: str) -> list[Outgoing]:
    _ = tr(person)
    refusal = too_long(_, text, drafts.MAX_DESCRIPTION)
    if refusal is not None:
        return [refusal]
    drafts.set_description(draft, text.strip() or None, rt.clock.now())
    drafts.advance(draft, rt.clock.now())
    return await step_prompt(session, rt, draft, person)


async def report_text(session: AsyncSession, rt: Runtime, draft: ReportDraft, person: Person, text: str) -> list[Outgoing]:
    """Text typed while a report is open: the answer to the current step, or a hint."""
    _ = tr(person)
    if draft.step == drafts.LOCATION:
        return await take_typed_address(session, rt, draft, person, text)
    if draft.step == drafts.DESCRIPTION:
        return await take_description(session, rt, draft, person, text)
    if not people.claim_hint(person, f"text_at_{draft.step}", rt.clock.now()):
        return []
    if draft.step == drafts.PHOTOS:
        return [Outgoing(_("I need a photo first: tap 📎 and choose a picture of the problem."))]
    if draft.step == drafts.CATEGORY:
        return await step_prompt(session, rt, draft, person)
    return [Outgoing(_("Your report is ready: tap Submit, Change or Cancel on the summary above."))]


# --- buttons ----------------------------------------------------------------------------------

ButtonStep = Callable[[AsyncSession, Runtime, ReportDraft, Person, Pressed], Awaitable[ButtonOutcome]]


async def _use_photo_position(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    if draft.exif_lat is None or draft.exif_lon is None:
        return ButtonOutcome(notice=_("This button is out of date."), markup=None)
    if draft.lat is not None:
        return ButtonOutcome(notice=_("The report already has a location."), markup=None)
    drafts.set_location(draft, draft.exif_lat, draft.exif_lon, "exif", None, rt.clock.now())
    messages = await _after_location(session, rt, draft, person, _)
    return ButtonOutcome(edit_text=_("📍 Using the place where the photo was taken."), markup=None, messages=messages)


async def _choose_top(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    top = rt.catalog.get(pressed.args[1])
    if top is None or top.parent_code is not None:
        return ButtonOutcome(notice=_("This button is out of date."))
    if not top.children:
        return await _choose_category(session, rt, draft, person, pressed)
    return ButtonOutcome(
        edit_text=_("🏷 {category}: which one?").format(category=esc(top.name(person.language))),
        markup=keyboards.sub_categories(_, person.language, draft.id, top),
    )


async def _back_to_top(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    return ButtonOutcome(
        edit_text=_("🏷 What kind of problem is it?"),
        markup=keyboards.top_categories(_, person.language, draft.id, rt.catalog.top),
    )


async def _choose_category(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    code = rt.catalog.fallback_code() if pressed.action == "r:unsure" else pressed.args[1]
    if rt.catalog.get(code) is None:
        return ButtonOutcome(notice=_("This button is out of date."))
    drafts.set_category(draft, code, rt.clock.now())
    drafts.advance(draft, rt.clock.now())
    return ButtonOutcome(
        edit_text=_("🏷 Category: {category}").format(category=esc(category_label(rt, code, person.language))),
        markup=None,
        messages=await step_prompt(session, rt, draft, person),
    )


async def _skip_description(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    drafts.set_description(draft, None, rt.clock.now())
    drafts.advance(draft, rt.clock.now())
    return ButtonOutcome(
        edit_text=_("📝 No description."), markup=None, messages=await step_prompt(session, rt, draft, person)
    )


async def _submit(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    now = rt.clock.now()
    case = await cases.submit_case(
        session,
        cases.NewCase(
            reporter_id=person.id,
            category_code=draft.category_code,
            description=draft.description,
            lat=draft.lat,
            lon=draft.lon,
            address=draft.address,
            location_source=draft.location_source or "typed",
            photo_ids=drafts.photo_ids(draft),
        ),
        now,
        rt.settings.zone,
    )
    drafts.finish(draft, "submitted", case.id, now)
    await routing.route_case(session, case, await rt.map.index(session), now)
    text = _(
        "✅ Thank you! Your report is case <b>{number}</b>.\n"
        "It should be handled within {limit}, by {deadline}.\n"
        "We will message you at every step. See /mycases any time."
    ).format(
        number=case.number,
        limit=time_limit(rt, case.category_code, person.language),
        deadline=local_time(case.deadline_at, rt.settings.zone, person.language),
    )
    return ButtonOutcome(notice=_("Submitted"), markup=None, messages=[Outgoing(text, keyboards.main_menu(_))])


async def _merge(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    now = rt.clock.now()
    try:
        case = await drafts.merge_into_offered_case(session, draft, pressed.int_arg(1), now)
    except drafts.NotOffered:
        # Not a case this report's summary offered: a forged button. Nothing of that case is shown.
        log.warning("merge of draft %s into case %s refused: not offered", draft.id, pressed.args[1])
        return ButtonOutcome(notice=_("This button is not valid."), alert=True)
    except cases.CaseStateError:
        return ButtonOutcome(notice=_("That case is no longer open. Tap “Report anyway” to send yours."), alert=True)
    text = _("➕ Thank you! Your photos were added to case <b>{number}</b>. You will hear of its progress.").format(
        number=case.number
    )
    return ButtonOutcome(notice=_("Added"), markup=None, messages=[Outgoing(text, keyboards.main_menu(_))])


async def _cancel_draft(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    drafts.finish(draft, "cancelled", None, rt.clock.now())
    return ButtonOutcome(edit_text=_("✖️ Report cancelled. Nothing was sent."), markup=None)


async def _offer_changes(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    return ButtonOutcome(markup=keyboards.change_choice(tr(person), draft.id))


async def _back_to_summary(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    return ButtonOutcome(markup=(await summary(session, rt, draft, person)).markup)


async def _change_part(session, rt, draft, person, pressed) -> ButtonOutcome:  # type: ignore[no-untyped-def]
    _ = tr(person)
    part = pressed.args[1]
    if part not in drafts.FIELDS:
        return ButtonOutcome(notice=_("This button is out of date."))
    drafts.reopen_field(draft, part, rt.clock.now())
    messages = await step_prompt(session, rt, draft, person)
    if part == drafts.PHOTOS:
        messages = [Outgoing(_("📷 Send the new photos; the old ones were removed."), keyboards.main_menu(_))]
    return ButtonOutcome(markup=None, messages=messages)


# Which buttons count at which step: a button from an earlier step is out of date.
REPORT_BUTTONS: dict[str, tuple[ButtonStep, tuple[str, ...]]] = {
    "r:exif": (_use_photo_position, (drafts.PHOTOS, drafts.LOCATION)),
    "r:top": (_choose_top, (drafts.CATEGORY,)),
    "r:cat": (_choose_category, (drafts.CATEGORY,)),
    "r:unsure": (_choose_category, (drafts.CATEGORY,)),
    "r:back": (_back_to_top, (drafts.CATEGORY,)),
    "r:skip": (_skip_description, (drafts.DESCRIPTION,)),
    "r:submit": (_submit, (drafts.CONFIRM,)),
    "r:anyway": (_submit, (drafts.CONFIRM,)),
    "r:merge": (_merge, (drafts.CONFIRM,)),
    "r:change": (_offer_changes, (drafts.CONFIRM,)),
    "r:summary": (_back_to_summary, (drafts.CONFIRM,)),
    "r:redo": (_change_part, (drafts.CONFIRM,)),
    "r:cancel": (_cancel_draft, tuple(drafts.FIELDS) + (drafts.CONFIRM,)),
}


async def _closed_draft_outcome(session: AsyncSession, draft: ReportDraft, _: Translate) -> ButtonOutcome:
    if draft.status == "submitted" and draft.case_id:
        case = await cases.case_by_id(session, draft.case_id)
        return ButtonOutcome(notice=_("Already submitted as case {number}.").format(number=case.number), markup=None)
    if draft.status == "merged" and draft.case_id:
        case = await cases.case_by_id(session, draft.case_id)
        return ButtonOutcome(notice=_("Your photos were already added to case {number}.").format(number=case.number), markup=None)
    return ButtonOutcome(notice=_("This report was cancelled."), markup=None)


async def on_report_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    step_handler, valid_steps = REPORT_BUTTONS[pressed.action]
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        draft = await drafts.draft_of(session, pressed.int_arg(0), person.id)
        if draft is None:
            log.warning("update %s: report button for draft %s not theirs", update.update_id, pressed.args[0])
            outcome = ButtonOutcome(notice=_("This button is not valid."))
        elif draft.status != "open":
            outcome = await _closed_draft_outcome(session, draft, _)
        elif draft.step not in valid_steps:
            outcome = ButtonOutcome(notice=_("This button is out of date."))
        else:
            outcome = await step_handler(session, rt, draft, person, pressed)
    await show_outcome(update, context, outcome)
