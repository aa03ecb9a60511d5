"""Messages from the outbound queue, rendered in the recipient's language when they are sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, InputFile, InputMediaPhoto
from telegram.ext import ExtBot

from handlers import callout_answers, callout_command, cap_drafts, dispatch_card, joint, keyboards, task_card, verify
from handlers.fit import CAPTION_LIMIT, TEXT_LIMIT, fit, telegram_length, user
from handlers.full_text import fitted_card
from handlers.i18n import translator
from handlers.photo_rules import Upload, upload_for
from handlers.runtime import Runtime
from handlers.texts import state_name
from storage import cases, dispatch, outbox, tasks
from storage import verify as storage_verify
from storage.models import Case, CaseEvent, Person, Photo
from storage.vocab import OutboxKind

log = logging.getLogger(__name__)


@dataclass
class Notice:
    text: str
    markup: InlineKeyboardMarkup | None = None
    photos: list[Photo] = field(default_factory=list)
    location: tuple[float, float] | None = None  # (lat, lon), sent as a pin between photos and text


def _case_update_text(person: Person, case: Case, event: CaseEvent, duplicate_of: str | None) -> str:
    _ = translator(person.language)
    number = f"<b>{case.number}</b>"
    visible = cases.note_for_citizens(event)
    note = user(visible) if visible else ""
    texts = {
        "accepted": _("📥 Your report {number} was accepted and is being arranged."),
        "assigned": _("👷 Case {number} was given to a grid worker."),
        "in_progress": _("🚧 Work on case {number} has started."),
        "resolved": _("✅ Case {number} is resolved. Are you satisfied with the result?"),
        "closed": _("🏁 Case {number} is closed. Thank you for helping your neighbourhood."),
        "rejected": _("⛔ Case {number} was not accepted."),
        "reopened": _("🔁 Case {number} was reopened."),
        "escalated": _("⏫ Case {number} was passed to a higher level to handle."),
        "verifying": _("🔎 Case {number} was fixed and is being verified; you will be asked to rate it after that."),
    }
    if cases.closed_unrated(event):
        return _("🏁 Case {number} is closed, as it was not rated within a few days of being resolved. "
                 "Thank you for helping your neighbourhood.").format(number=number)
    if event.kind == "upstream":
        return _("🏙 The city platform updated case {number}: {note}").format(number=number, note=note)
    if event.kind == "on_site":
        return _("📍 A grid worker is on site for case {number}.").format(number=number)
    if event.to_state == "rejected" and duplicate_of is not None:
        return _("🔗 Your report {number} is about the same problem as case {original}, which is already being "
                 "handled. You will hear about {original} from now on.").format(number=number, original=duplicate_of)
    text = texts.get(event.to_state or "", _("Case {number}: {state}")).format(
        number=number, state=state_name(_, event.to_state or "")
    )
    if note:
        if event.to_state in ("rejected", "reopened"):
            text += "\n" + _("Reason: {reason}").format(reason=note)
        else:
            text += "\n" + _("Note: {note}").format(note=note)
    return text


P = TypeVar("P", bound=outbox.OutboxPayload)
Renderer = Callable[[AsyncSession, Runtime, P, Person], Awaitable["Notice | None"]]

# Queued-message kind -> what renders it, filled by `@renders` below.
RENDERERS: dict[OutboxKind, Renderer[Any]] = {}


def renders(payload_type: type[P]) -> Callable[[Renderer[P]], Renderer[P]]:
    """Register a renderer for the messages of `payload_type`'s kind (mypy checks that it takes that payload)."""
    def register(renderer: Renderer[P]) -> Renderer[P]:
        RENDERERS[payload_type.kind] = renderer
        return renderer
    return register


@renders(outbox.CaseUpdatePayload)
async def _case_update(session: AsyncSession, rt: Runtime, payload: outbox.CaseUpdatePayload,
                       person: Person) -> Notice | None:
    case = await cases.case_by_id(session, payload.case)
    event = await outbox.named_event(session, payload.event)
    if case is None or event is None:
        return None
    _ = translator(person.language)
    original = await cases.case_by_id(session, case.duplicate_of_id) if case.duplicate_of_id else None
    text = _case_update_text(person, case, event, original.number if original else None)
    markup = None
    if event.to_state == "resolved" and case.reporter_id == person.id and case.state == "resolved":
        markup = keyboards.rating(_, case.id)
    photos = await cases.event_photos(session, event.id) if event.to_state == "resolved" else []
    if event.to_state == "resolved" and event.from_state == "verifying":
        worker_step = await storage_verify.resolution(session, case.id)  # the fix's photos, not the check's
        photos = await cases.event_photos(session, worker_step.id) if worker_step is not None else []
    text, markup = fitted_card(_, text, markup, case.id, event.id)
    return Notice(text, markup, photos)


@renders(outbox.DispatchCardPayload)
async def _dispatch_card(session: AsyncSession, rt: Runtime, payload: outbox.DispatchCardPayload,
                         person: Person) -> Notice | None:
    """A case for a dispatcher, rendered as it is when sent (a case decided meanwhile says so), and
    only while they may still decide on it: roles change between queueing and sending, and a card
    carries the citizen's words and photos."""
    case = await cases.case_by_id(session, payload.case)
    if case is None:
        return None
    index = await rt.map.index(session)
    if not await dispatch.may_dispatch(session, index, person.id, case):
        log.info("dispatch card of case %s not sent to person %s: they may no longer decide on it", case.id, person.id)
        return None
    _ = translator(person.language)
    text, markup = fitted_card(_, await dispatch_card.card_text(session, rt, index, person, case),
                               dispatch_card.card_buttons(_, case), case.id)
    photos = await cases.report_photos(session, case.id)
    location = (case.lat, case.lon) if case.lat is not None and case.lon is not None else None
    return Notice(text, markup, photos, location)


@renders(outbox.TaskCardPayload)
async def _task_card(session: AsyncSession, rt: Runtime, payload: outbox.TaskCardPayload, person: Person) -> Notice | None:
    """A task for a worker or leader; a nudge only while it still waits for them, and with no photos.

    Sent only to whom it still concerns: a card queued for the task's holder goes only while they
    hold it (it may have been given to someone else meanwhile), one for the grid's leader only while
    they lead the grid, and one a person asked for only while they may see the task."""
    case = await cases.case_by_id(session, payload.case)
    if case is None or case.state not in (*tasks.WORK_STATES, "escalated"):
        return None
    index = await rt.map.index(session)
    who = await tasks.standing(session, index, person.id, case)
    still = who.holder if payload.for_ == "holder" else who.leader if payload.for_ == "leader" else who.may_see(case)
    if not still or (case.state == "escalated" and not who.holder):
        log.info("task card of case %s not sent to person %s: it no longer concerns them", case.id, person.id)
        return None
    _ = translator(person.language)
    nudge = payload.nudge
    if nudge and not (who.holder and case.accepted_at is None):
        return None
    header = task_card.reminder_header(_, None, True) if nudge else None
    text, markup = fitted_card(_, await task_card.card_text(session, rt, index, person, case, header),
                               task_card.card_buttons(_, case, who), case.id)
    if nudge:
        return Notice(text, markup)
    photos = await cases.report_photos(session, case.id)
    location = (case.lat, case.lon) if case.lat is not None and case.lon is not None else None
    return Notice(text, markup, photos, location)


@renders(outbox.ReminderPayload)
async def _reminder(session: AsyncSession, rt: Runtime, payload: outbox.ReminderPayload, person: Person) -> Notice | None:
    """A deadline reminder, unless the case has moved on since it was due (closed, or a later one fired)."""
    case = await cases.case_by_id(session, payload.case)
    stage = payload.stage
    if case is None or case.state not in tasks.WORK_STATES:
        return None
    if stage in tasks.STEP_ALERT_BITS:  # a step's own limit: only while the case is still in that step
        step = tasks.late_step(case)
        if step is None or step[0] != stage:
            return None
    elif case.reminders != stage:
        return None
    index = await rt.map.index(session)
    who = await tasks.standing(session, index, person.id, case)
    if not (who.holder or who.leader):
        return None
    _ = translator(person.language)
    header = task_card.reminder_header(_, stage, False)
    text, markup = fitted_card(_, await task_card.card_text(session, rt, index, person, case, header),
                               task_card.card_buttons(_, case, who), case.id)
    return Notice(text, markup)


@renders(outbox.DigestPayload)
async def _digest(session: AsyncSession, rt: Runtime, payload: outbox.DigestPayload, person: Person) -> Notice | None:
    text = await task_card.digest_text(session, rt, await rt.map.index(session), person)
    return Notice(text) if text else None


@renders(outbox.CitizenCommentPayload)
async def _citizen_comment(session: AsyncSession, rt: Runtime, payload: outbox.CitizenCommentPayload,
                           person: Person) -> Notice | None:
    case = await cases.case_by_id(session, payload.case)
    event = await outbox.named_event(session, payload.event)
    if case is None or event is None or case.assignee_id != person.id:
        return None
    _ = translator(person.language)
    text = _("💬 The citizen of case <b>{number}</b> says: {text}").format(number=case.number, text=user(event.note))
    return Notice(*fitted_card(_, text, None, case.id, event.id))


@renders(outbox.NoticePayload)
async def _plain_notice(session: AsyncSession, rt: Runtime, payload: outbox.NoticePayload, person: Person) -> Notice | None:
    """A short message written in the code (its English text is the msgid), in the person's language."""
    _ = translator(person.language)
    args = {key: user(str(value)) for key, value in (payload.args or {}).items()}
    return Notice(_(payload.text).format(**args))


@renders(outbox.CalloutPayload)
async def _callout(session: AsyncSession, rt: Runtime, payload: outbox.CalloutPayload, person: Person) -> Notice | None:
    rendered = await callout_answers.render_alert(session, rt, person, payload.mobilization, payload.again)
    if rendered is None:
        return None
    text, markup, pin = rendered
    return Notice(text, markup, [], pin)


@renders(outbox.CalloutUpdatePayload)
async def _callout_update(session: AsyncSession, rt: Runtime, payload: outbox.CalloutUpdatePayload,
                          person: Person) -> Notice | None:
    _ = translator(person.language)
    return Notice(_("📢 <b>Update</b>: {text}").format(text=user(payload.text)))


@renders(outbox.CalloutEndPayload)
async def _callout_end(session: AsyncSession, rt: Runtime, payload: outbox.CalloutEndPayload, person: Person) -> Notice | None:
    _ = translator(person.language)
    return Notice(_("✅ <b>Stand down.</b> The call-out is over. Thank you for your help."))


@renders(outbox.CalloutWidenPayload)
async def _callout_widen(session: AsyncSession, rt: Runtime, payload: outbox.CalloutWidenPayload,
                         person: Person) -> Notice | None:
    offer = await callout_command.widen_offer(session, person, payload.mobilization)
    return Notice(*offer) if offer is not None else None


@renders(outbox.CapDraftPayload)
async def _cap_draft(session: AsyncSession, rt: Runtime, payload: outbox.CapDraftPayload, person: Person) -> Notice | None:
    rendered = await cap_drafts.render_draft(session, rt, person, payload.alert)
    return Notice(*rendered) if rendered is not None else None


@renders(outbox.VerifyCardPayload)
async def _verify_card(session: AsyncSession, rt: Runtime, payload: outbox.VerifyCardPayload,
                       person: Person) -> Notice | None:
    """The verifier's card (核查): the before- and after-photos as one album, then the text and buttons."""
    rendered = await verify.render_card(session, rt, person, payload.case)
    if rendered is None:
        return None
    text, markup, photos = rendered
    _ = translator(person.language)
    text, fitted = fitted_card(_, text, markup, payload.case)
    return Notice(text, fitted, photos)


@renders(outbox.PartCardPayload)
async def _part_card(session: AsyncSession, rt: Runtime, payload: outbox.PartCardPayload,
                     person: Person) -> Notice | None:
    """A co-holder's part of a joint case, or its reminder, while the part is open and theirs."""
    rendered = await joint.render_part(session, rt, person, payload.part, payload.stage)
    return Notice(*rendered) if rendered is not None else None


async def render_notice(session: AsyncSession, rt: Runtime, payload: outbox.OutboxPayload, person: Person) -> Notice | None:
    """The notice for one queued message, or None when there is nothing left to say."""
    renderer = RENDERERS.get(payload.kind)
    return await renderer(session, rt, payload, person) if renderer else None


async def _upload(rt: Runtime, photo: Photo) -> str | Upload | None:
    """The photo as Telegram will take it: its file id when Telegram has it, else the kept file,
    scaled or as a document where it breaks sendPhoto's rules (made off the event loop); None when
    the kept file cannot be read, so the message still goes, without it."""
    if photo.channel_file_id:
        return photo.channel_file_id
    try:
        return await asyncio.to_thread(upload_for, Path(rt.settings.data_dir), photo.path)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        log.error("photo %s (%s) cannot be sent: %s", photo.id, photo.path, error)
        return None


def _photo_input(upload: str | Upload) -> str | bytes:
    return upload if isinstance(upload, str) else upload.content


async def deliver_notice(bot: ExtBot[None], rt: Runtime, chat_id: int, notice: Notice,
                         pace: Callable[[bool], Awaitable[None]] | None = None, paid_broadcast: bool = False) -> None:
    """Send a notice: the text alone, one photo with the text as caption, or the photos (one, or an
    album), the pin, then the text with its buttons last, where the thumb is. A picture that cannot
    be a photo goes as a document. The text is made to fit Telegram's limits here, whatever its
    renderer did (the last guard: shortened and logged, never refused). `pace(first)` is awaited
    before each call, to keep to Telegram's limits; `paid_broadcast` sends beyond them with
    Telegram's paid broadcasts (allow_paid_broadcast)."""
    calls = 0
    paid = True if paid_broadcast else None  # None: the parameter is left out of the call

    async def paced() -> None:
        nonlocal calls
        if pace is not None:
            await pace(calls == 0)
        calls += 1

    text = fit(notice.text, TEXT_LIMIT).text
    uploads = [upload for photo in notice.photos[:10] if (upload := await _upload(rt, photo)) is not None]
    photos = [upload for upload in uploads if isinstance(upload, str) or upload.as_photo]
    documents = [upload for upload in uploads if isinstance(upload, Upload) and not upload.as_photo]
    # A caption only when the whole text fits one: better the photo then the full text than a cut.
    if len(photos) == 1 and not documents and notice.location is None and telegram_length(text) <= CAPTION_LIMIT:
        await paced()
        await bot.send_photo(chat_id, _photo_input(photos[0]), caption=text, reply_markup=notice.markup,
                             allow_paid_broadcast=paid)
        return
    if len(photos) == 1:
        await paced()
        await bot.send_photo(chat_id, _photo_input(photos[0]), allow_paid_broadcast=paid)
    elif photos:
        await paced()
        await bot.send_media_group(chat_id, [InputMediaPhoto(_photo_input(p)) for p in photos], allow_paid_broadcast=paid)
    for document in documents:
        await paced()
        await bot.send_document(chat_id, InputFile(document.content, filename=document.filename), allow_paid_broadcast=paid)
    if notice.location is not None:
        await paced()
        await bot.send_location(chat_id, latitude=notice.location[0], longitude=notice.location[1], allow_paid_broadcast=paid)
    await paced()
    await bot.send_message(chat_id, text, reply_markup=notice.markup, allow_paid_broadcast=paid)
