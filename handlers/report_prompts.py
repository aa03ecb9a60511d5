"""What the bot says at each step of a report, and the summary a citizen checks before submitting."""

from __future__ import annotations

from handlers import keyboards
from handlers.fit import escape, user
from handlers.i18n import Translate
from handlers.question_texts import answer_lines, question_text, questions_of
from handlers.texts import area_path, category_label, time_limit
from handlers.turn import Outgoing, Turn
from storage import drafts
from storage.drafts import DraftStep
from storage.models import ReportDraft
from storage.vocab import LocationSource


def where_text(_: Translate, draft: ReportDraft) -> str:
    if draft.location_source == LocationSource.TYPED:
        return _("{address} (typed, not checked on the map)").format(address=user(draft.address))
    point = f"{draft.lat:.5f}, {draft.lon:.5f}"
    if draft.address:
        return f"{user(draft.address)} ({point})"
    if draft.location_source == LocationSource.EXIF:
        return _("{point} (where the photo was taken)").format(point=point)
    return point


def photos_left_line(_: Translate, draft: ReportDraft) -> str:
    return _("You can still add photos ({count} of {limit} so far).").format(
        count=len(draft.photos), limit=drafts.MAX_PHOTOS
    )


async def step_prompt(turn: Turn, draft: ReportDraft) -> list[Outgoing]:
    """The message that asks for what the report lacks now (the summary when nothing is missing)."""
    _ = turn._
    step = drafts.step_of(draft)
    if step == DraftStep.PHOTOS:
        return [Outgoing(_("📷 Send a photo of the problem (one to five photos)."), await turn.menu())]
    if step == DraftStep.LOCATION:
        text = _(
            "📍 Where is it? Tap “Send my location” below, pick a place with 📎 › Location, "
            "or type the address."
        )
        picker = keyboards.picker_url(turn.rt.settings.web_app_base_url, turn.person.language)
        return [Outgoing(text + "\n" + photos_left_line(_, draft), keyboards.report_location_request(_, picker))]
    if step == DraftStep.CATEGORY:
        return [Outgoing(_("🏷 What kind of problem is it?"),
                         keyboards.top_categories(_, turn.person.language, draft.id, turn.rt.catalog.top))]
    if step == DraftStep.QUESTIONS:
        known = tuple(questions_of(turn.rt, draft.category_code))
        if drafts.pending_question(draft) not in known:  # the catalog changed under the report
            drafts.keep_only_questions(draft, known, turn.now)
            drafts.advance(draft, turn.now)
            return await step_prompt(turn, draft)
        return [question_prompt(turn, draft)]
    if step == DraftStep.DESCRIPTION:
        return [Outgoing(_("📝 Add a few words about it (optional, up to {limit} characters), or tap Skip.")
                         .format(limit=drafts.MAX_DESCRIPTION), keyboards.skip_description(_, draft.id))]
    return [await summary(turn, draft)]


def question_prompt(turn: Turn, draft: ReportDraft) -> Outgoing:
    """The question the report waits for, with its buttons (Yes/No, the options, Skip)."""
    _, language = turn._, turn.person.language
    code = drafts.pending_question(draft)
    questions = questions_of(turn.rt, draft.category_code)
    asked = [c for c in draft.questions or () if c in questions]
    question = questions[code or ""]  # step_prompt made sure the catalog has it
    text = question_text(_, language, question, asked.index(question.code) + 1, len(asked))
    return Outgoing(text, keyboards.question_buttons(_, language, draft.id, question))


async def summary(turn: Turn, draft: ReportDraft) -> Outgoing:
    """The report as it will be submitted, with Submit / Change / Cancel, or the nearby case first."""
    _ = turn._
    rt, language = turn.rt, turn.person.language
    assert draft.category_code is not None
    lines = [
        _("<b>Please check your report</b>"),
        _("📷 Photos: {count}").format(count=len(draft.photos)),
        _("📍 Location: {where}").format(where=where_text(_, draft)),
        _("🏷 Category: {category} (time limit {limit})").format(
            category=escape(category_label(rt, draft.category_code, language)),
            limit=time_limit(rt, draft.category_code, language),
        ),
        *answer_lines(_, rt, language, draft.category_code, draft.answers),
        _("📝 Description: {text}").format(text=user(draft.description) if draft.description else "—"),
    ]
    if draft.lat is not None and draft.lon is not None:
        index = await turn.index()
        if len(index):
            placement = index.locate(draft.lon, draft.lat)
            if placement.code is None:
                lines.append(_("⚠️ This place is outside the area we serve. You can still submit it; "
                               "a dispatcher will decide who can help."))
            else:
                lines.append(_("🗺 Area: {area}").format(area=escape(await area_path(turn.session, index, placement.code))))
    nearby = await drafts.merge_candidates(turn.session, draft)  # the same store function checks the merge button
    if nearby:
        case, distance = nearby[0]
        lines.append("")
        where = (_("right here") if distance < 10
                 else _("{distance} m from here").format(distance=round(distance)))
        lines.append(
            _("⚠️ Case <b>{number}</b> of the same kind is already open {where}. "
              "If it is the same problem, add your photos to it.").format(number=case.number, where=where)
        )
        return Outgoing("\n".join(lines), keyboards.duplicate_choice(_, draft.id, case.id, case.number))
    return Outgoing("\n".join(lines), keyboards.summary(_, draft.id))
