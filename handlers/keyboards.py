"""Keyboards, each built by one small function from plain values and the person's language."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from enum import StrEnum
from typing import TypeVar

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)

from handlers import buttons
from handlers.buttons import (
    AddToCase,
    AnswerQuestion,
    AreaCode,
    BackToSummary,
    BackToTopCategories,
    CancelReport,
    ChooseCategory,
    ChooseLanguage,
    ChooseTopCategory,
    InviteAreasInside,
    InviteAt,
    InviteRole,
    ListMyCases,
    MakeInvite,
    OpenMyCase,
    RateCase,
    RedoPart,
    ReportAnyway,
    ShowChanges,
    ShowFullText,
    SkipDescription,
    SkipQuestion,
    SubmitReport,
    UnsureOfCategory,
    UsePhotoPosition,
)
from handlers.fit import shorten
from handlers.i18n import Translate, translator
from storage.catalog import CategoryDef
from storage.category_questions import NO, YES, QuestionDef, QuestionKind
from storage.drafts import DraftStep
from storage.policy import DispatchAction, TaskAction
from storage.vocab import N_, SUPPORTED_LANGUAGES, CallOutAnswer, Language

MENU_REPORT = N_("📷 Report a problem")
MENU_MY_CASES = N_("📋 My reports")
MENU_LANGUAGE = N_("🌐 Language")
MENU_HELP = N_("❓ Help")
MENU_PLANS = "🚨"  # a commander's plans (the same in every language)
SEND_LOCATION = N_("📍 Send my location")
LANGUAGE_NAMES = {Language.ZH: "中文", Language.EN: "English"}


def menu_action(text: str) -> str | None:
    """Which main-menu button a typed text is, in any language (the keyboard may predate a switch)."""
    for language in SUPPORTED_LANGUAGES:
        _ = translator(language)
        for action, label in (("report", MENU_REPORT), ("mycases", MENU_MY_CASES),
                              ("language", MENU_LANGUAGE), ("help", MENU_HELP)):
            if text.strip() == _(label):
                return action
    return "plans" if text.strip() == MENU_PLANS else None


def main_menu(_: Translate, commander: bool = False) -> ReplyKeyboardMarkup:
    """Everyone's menu; a commander's (leader, dispatcher, admin) has 🚨 for their plans beside Report."""
    first = [_(MENU_REPORT), MENU_PLANS] if commander else [_(MENU_REPORT)]
    return ReplyKeyboardMarkup(
        [first, [_(MENU_MY_CASES), _(MENU_LANGUAGE), _(MENU_HELP)]],
        resize_keyboard=True,
        is_persistent=True,
    )


def location_request(_: Translate) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_(SEND_LOCATION), request_location=True)], [_(MENU_HELP)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=_("Or type the address"),
    )


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def top_categories(_: Translate, language: str, draft_id: int, categories: tuple[CategoryDef, ...]) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(c.name(language), callback_data=ChooseTopCategory(draft_id, c.code).pack())
               for c in categories]
    rows = _rows(buttons, 2)
    rows.append([InlineKeyboardButton(_("🤷 Not sure"), callback_data=UnsureOfCategory(draft_id).pack())])
    return InlineKeyboardMarkup(rows)


def sub_categories(_: Translate, language: str, draft_id: int, top: CategoryDef) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(c.name(language), callback_data=ChooseCategory(draft_id, c.code).pack())
               for c in top.children]
    rows = _rows(buttons, 1)
    rows.append([InlineKeyboardButton(_("🤷 Not sure which"), callback_data=ChooseCategory(draft_id, top.code).pack())])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=BackToTopCategories(draft_id).pack())])
    return InlineKeyboardMarkup(rows)


def exif_offer(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("📍 Use where the photo was taken"), callback_data=UsePhotoPosition(draft_id).pack())]]
    )


def skip_description(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip ➡️"), callback_data=SkipDescription(draft_id).pack())]])


def summary(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("✅ Submit"), callback_data=SubmitReport(draft_id).pack())],
            [
                InlineKeyboardButton(_("✏️ Change"), callback_data=ShowChanges(draft_id).pack()),
                InlineKeyboardButton(_("✖️ Cancel"), callback_data=CancelReport(draft_id).pack()),
            ],
        ]
    )


def duplicate_choice(_: Translate, draft_id: int, case_id: int, case_number: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("➕ Add my photos to {number}").format(number=case_number),
                                  callback_data=AddToCase(draft_id, case_id).pack())],
            [InlineKeyboardButton(_("📨 Report anyway"), callback_data=ReportAnyway(draft_id).pack())],
            [
                InlineKeyboardButton(_("✏️ Change"), callback_data=ShowChanges(draft_id).pack()),
                InlineKeyboardButton(_("✖️ Cancel"), callback_data=CancelReport(draft_id).pack()),
            ],
        ]
    )


def change_choice(_: Translate, draft_id: int, answers: bool) -> InlineKeyboardMarkup:
    """What of the report to change; "❓ Answers" too when its category asks questions."""
    rows = [
        [
            InlineKeyboardButton(_("📷 Photos"), callback_data=RedoPart(draft_id, DraftStep.PHOTOS).pack()),
            InlineKeyboardButton(_("📍 Location"), callback_data=RedoPart(draft_id, DraftStep.LOCATION).pack()),
        ],
        [
            InlineKeyboardButton(_("🏷 Category"), callback_data=RedoPart(draft_id, DraftStep.CATEGORY).pack()),
            InlineKeyboardButton(_("📝 Description"), callback_data=RedoPart(draft_id, DraftStep.DESCRIPTION).pack()),
        ],
    ]
    if answers:
        rows.append([InlineKeyboardButton(_("❓ Answers"), callback_data=RedoPart(draft_id, DraftStep.QUESTIONS).pack())])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=BackToSummary(draft_id).pack())])
    return InlineKeyboardMarkup(rows)


def rating(_: Translate, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(_("👍 Satisfied"), callback_data=RateCase(case_id, 1).pack()),
            InlineKeyboardButton(_("👎 Not satisfied"), callback_data=RateCase(case_id, 0).pack()),
        ]]
    )


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(name, callback_data=ChooseLanguage(code).pack()) for code, name in LANGUAGE_NAMES.items()]]
    )


def case_list(_: Translate, entries: list[tuple[int, str]], page: int, has_next: bool) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(label, callback_data=OpenMyCase(case_id).pack())] for case_id, label in entries]
    pager = []
    if page > 0:
        pager.append(InlineKeyboardButton(_("« Newer"), callback_data=ListMyCases(page - 1).pack()))
    if has_next:
        pager.append(InlineKeyboardButton(_("Older »"), callback_data=ListMyCases(page + 1).pack()))
    if pager:
        rows.append(pager)
    return InlineKeyboardMarkup(rows)


def back_to_list(_: Translate, page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("« My reports"), callback_data=ListMyCases(page).pack())]])


def with_full_text(_: Translate, markup: InlineKeyboardMarkup | None, case_id: int, event_id: int) -> InlineKeyboardMarkup:
    """A card's buttons with "Full text" under them, for a card whose words were shortened
    (`event_id` names the step whose note was shortened, 0 the description)."""
    rows = [list(row) for row in markup.inline_keyboard] if markup is not None else []
    rows.append([InlineKeyboardButton(_("📄 Full text"), callback_data=ShowFullText(case_id, event_id).pack())])
    return InlineKeyboardMarkup(rows)


# --- dispatchers' case cards and workers' task cards ----------------------------------------------


_TASK_BUTTONS: dict[TaskAction, tuple[str, Callable[[int], buttons.Button]]] = {
    TaskAction.ACCEPT: (N_("✅ Accept"), buttons.AcceptTask),
    TaskAction.NOT_MINE: (N_("🙅 Not mine"), buttons.NotMyTask),
    TaskAction.ON_SITE: (N_("📍 On site"), buttons.OnSite),
    TaskAction.RESOLVE: (N_("✅ Resolve"), buttons.ResolveTask),
    TaskAction.ESCALATE: (N_("⏫ Escalate"), buttons.EscalateTask),
    TaskAction.HAND_BACK: (N_("↩️ Hand back"), buttons.HandBackTask),
    TaskAction.GIVE: (N_("👷 Give to a worker"), buttons.ChooseWorker),
}
_DISPATCH_BUTTONS: dict[DispatchAction, tuple[str, Callable[[int], buttons.Button]]] = {
    DispatchAction.ACCEPT: (N_("✅ Accept as is"), buttons.AcceptCase),
    DispatchAction.ASSIGN: (N_("👷 Assign"), buttons.ChooseAssignee),
    DispatchAction.REJECT: (N_("⛔ Reject"), buttons.AskRejectReason),
    DispatchAction.DUPLICATE: (N_("🔗 Duplicate of…"), buttons.AskOriginal),
}
# A person on a button: what they are, their name and how much open work they have.
WORKER_ICON, LEADER_ICON = "👷", "🧑‍💼"
A = TypeVar("A", bound=StrEnum)  # a kind of action on a case


def _case_buttons(_: Translate, case_id: int, layout: Sequence[Sequence[A]], allowed: frozenset[A],
                  kinds: dict[A, tuple[str, Callable[[int], buttons.Button]]]) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(_(kinds[action][0]), callback_data=kinds[action][1](case_id).pack())
             for action in row if action in allowed] for row in layout]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def task_card(_: Translate, case_id: int, allowed: frozenset[TaskAction]) -> InlineKeyboardMarkup | None:
    """A task's buttons: exactly what the person may do with it now (`storage.policy.task_actions`).
    Escalating sits beside handing back while the holder is at work, else beside giving it away."""
    at_work = TaskAction.HAND_BACK in allowed
    layout = [
        (TaskAction.ACCEPT, TaskAction.NOT_MINE),
        (TaskAction.ON_SITE, TaskAction.RESOLVE),
        (TaskAction.ESCALATE, TaskAction.HAND_BACK) if at_work else (),
        (TaskAction.GIVE,) if at_work else (TaskAction.GIVE, TaskAction.ESCALATE),
    ]
    return _case_buttons(_, case_id, layout, allowed, _TASK_BUTTONS)


def dispatch_card(_: Translate, case_id: int, allowed: frozenset[DispatchAction]) -> InlineKeyboardMarkup | None:
    """A case's decisions: exactly what its state still allows (`storage.policy.dispatch_actions`)."""
    layout = [(DispatchAction.ACCEPT, DispatchAction.ASSIGN), (DispatchAction.REJECT, DispatchAction.DUPLICATE)]
    return _case_buttons(_, case_id, layout, allowed, _DISPATCH_BUTTONS)


def _person(_: Translate, icon: str, name: str, count: int) -> str:
    return shorten(_("{icon} {name} · {count} open").format(icon=icon, name=name, count=count), 60)


def workers_to_give(_: Translate, case_id: int, workers: Sequence[tuple[int, str, int]]) -> InlineKeyboardMarkup:
    """A grid leader chooses who gets the task: (person id, name, open cases) each, then the way back."""
    rows = [[InlineKeyboardButton(_person(_, WORKER_ICON, name, count),
                                  callback_data=buttons.GiveTaskTo(case_id, person_id).pack())]
            for person_id, name, count in workers]
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=buttons.BackToTaskCard(case_id).pack())])
    return InlineKeyboardMarkup(rows)


def _way_back(_: Translate, case_id: int, up: str | None) -> list[InlineKeyboardButton]:
    last = [InlineKeyboardButton(_("« Back"), callback_data=buttons.BackToDispatchCard(case_id).pack())]
    if up is not None:
        inside = buttons.AssigneesInside(case_id, buttons.AreaCode(up))
        last.insert(0, InlineKeyboardButton(_("⬆️ Up"), callback_data=inside.pack()))
    return last


def grid_people(_: Translate, case_id: int, grid: str, people: Sequence[tuple[int, str, bool, int]],
                up: str | None) -> InlineKeyboardMarkup:
    """Who in a grid can get the case: (person id, name, is a worker, open cases) each; the area
    above (`up`, when the dispatcher covers it) and the way back to the card."""
    rows = [[InlineKeyboardButton(_person(_, WORKER_ICON if worker else LEADER_ICON, name, count),
                                  callback_data=buttons.AssignTo(case_id, person_id).pack())]
            for person_id, name, worker, count in people]
    if not rows:
        here = buttons.AssigneesInside(case_id, buttons.AreaCode(grid))
        rows.append([InlineKeyboardButton(_("Nobody on duty here"), callback_data=here.pack())])
    rows.append(_way_back(_, case_id, up))
    return InlineKeyboardMarkup(rows)


def areas_to_assign_in(_: Translate, case_id: int, areas: Sequence[tuple[str, str]], up: str | None) -> InlineKeyboardMarkup:
    """The areas inside an area, (code, name) each, to go down to the grid that gets the case."""
    inside = [InlineKeyboardButton(shorten(name, 30),
                                   callback_data=buttons.AssigneesInside(case_id, buttons.AreaCode(code)).pack())
              for code, name in areas]
    return InlineKeyboardMarkup([*_rows(inside, 2), _way_back(_, case_id, up)])


def reject_reasons(_: Translate, case_id: int, reasons: Sequence[str]) -> InlineKeyboardMarkup:
    """The usual reasons for not accepting a case (msgids, shown in the dispatcher's language), or typing one."""
    rows = [[InlineKeyboardButton(shorten(_(reason), 60), callback_data=buttons.RejectForReason(case_id, i).pack())]
            for i, reason in enumerate(reasons)]
    rows.append([InlineKeyboardButton(_("✏️ Type a reason"), callback_data=buttons.RejectTypedReason(case_id).pack())])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=buttons.BackToDispatchCard(case_id).pack())])
    return InlineKeyboardMarkup(rows)


def originals(_: Translate, case_id: int, found: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """The earlier cases this one may repeat, (case id, label) each, or typing its number."""
    rows = [[InlineKeyboardButton(shorten(label, 60), callback_data=buttons.DuplicateOf(case_id, original).pack())]
            for original, label in found]
    rows.append([InlineKeyboardButton(_("✏️ Type the number"), callback_data=buttons.DuplicateTypedNumber(case_id).pack())])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=buttons.BackToDispatchCard(case_id).pack())])
    return InlineKeyboardMarkup(rows)


def task_list(tasks: Sequence[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """/tasks: a button per task, (case id, number, overdue) each, that sends its card."""
    return InlineKeyboardMarkup(_rows([
        InlineKeyboardButton(f"{'⚠️ ' if overdue else ''}📂 {number}", callback_data=buttons.SendTaskCard(case_id).pack())
        for case_id, number, overdue in tasks], 2))


def dispatch_queue(waiting: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """/queue: a button per waiting case, (case id, number) each, that sends its card."""
    return InlineKeyboardMarkup(_rows([
        InlineKeyboardButton(f"📂 {number}", callback_data=buttons.SendDispatchCard(case_id).pack())
        for case_id, number in waiting], 3))


# --- call-outs: composing a call-out, a responder's answer, the commander's board -----------------

# A responder's answers, in the order their buttons carry them (AnswerCallOut.answer).
CALLOUT_ANSWERS = (CallOutAnswer.COMING, CallOutAnswer.ARRIVED, CallOutAnswer.CANNOT)


def _press(label: str, pressed: buttons.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=pressed.pack())


def callout_where(_: Translate, draft: int, chosen: Collection[str], whole: tuple[str, str] | None,
                  inside: list[tuple[str, str, bool]], up: str | None) -> InlineKeyboardMarkup:
    """Where a call-out goes: `whole` (code, name) is the area shown, to tick as a whole; `inside`
    (code, name, is a micro-grid) the areas in it, micro-grids to tick and larger ones to open;
    then "Up", "Around a point", and "Next" once something is ticked."""
    def mark(code: str) -> str:
        return "✅" if code in chosen else "⬜"

    rows: list[list[InlineKeyboardButton]] = []
    if whole is not None:
        code, name = whole
        rows.append([_press(shorten(_("{mark} All of {area}").format(mark=mark(code), area=name), 60),
                            buttons.ToggleCallOutArea(draft=draft, area=AreaCode(code)))])
    rows += _rows([_press(shorten(f"{mark(code)} {name}", 40), buttons.ToggleCallOutArea(draft=draft, area=AreaCode(code)))
                   if micro_grid else
                   _press(shorten(f"📂 {name}", 40), buttons.CallOutAreasInside(draft=draft, area=AreaCode(code)))
                   for code, name, micro_grid in inside], 2)
    last = [_press(_("📍 Around a point"), buttons.CallOutAroundPoint(draft=draft))]
    if up is not None:
        last.insert(0, _press(_("⬆️ Up"), buttons.CallOutAreasInside(draft=draft, area=AreaCode(up))))
    rows.append(last)
    if chosen:
        rows.append([_press(_("Next ➡️ ({count} chosen)").format(count=len(chosen)),
                            buttons.ChooseCallOutResponders(draft=draft))])
    return InlineKeyboardMarkup(rows)


def callout_radius(_: Translate, draft: int, radii: Sequence[int]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_press(_("{metres} m").format(metres=metres), buttons.CallOutRadius(draft=draft, metres=metres))
                                  for metres in radii]])


def callout_who(_: Translate, draft: int, tags: list[tuple[str, bool]]) -> InlineKeyboardMarkup:
    """Every responder (ticked when no kind is), then each kind of responder (its label, ticked),
    numbered from 1 in the order given, then Next."""
    everyone = not any(ticked for _label, ticked in tags)
    rows = [[_press(("✅ " if everyone else "⬜ ") + _("All responders"), buttons.ToggleResponderTag(draft=draft, tag=0))]]
    rows += [[_press(f"{'✅' if ticked else '⬜'} {label}", buttons.ToggleResponderTag(draft=draft, tag=number))]
             for number, (label, ticked) in enumerate(tags, 1)]
    rows.append([_press(_("Next ➡️"), buttons.ChooseCallOutMessage(draft=draft))])
    return InlineKeyboardMarkup(rows)


def callout_templates(draft: int, headlines: list[str]) -> InlineKeyboardMarkup:
    """The templates' headlines, numbered from 0 in the order given, two to a row."""
    return InlineKeyboardMarkup(_rows([_press(headline, buttons.UseCallOutTemplate(draft=draft, template=number))
                                       for number, headline in enumerate(headlines)], 2))


def callout_no_meeting_point(_: Translate, draft: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_press(_("No meeting point"), buttons.NoMeetingPoint(draft=draft))]])


def callout_need(_: Translate, draft: int, needs: Sequence[int]) -> InlineKeyboardMarkup:
    """How many people are needed: any (0), or one of `needs`."""
    return InlineKeyboardMarkup([[_press(_("Any"), buttons.PeopleNeeded(draft=draft, number=0)),
                                  *(_press(str(number), buttons.PeopleNeeded(draft=draft, number=number)) for number in needs)]])


def callout_send(_: Translate, draft: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_press(_("🚨 Send now"), buttons.SendCallOut(draft=draft, drill=0))],
        [_press(_("🧪 Send as a drill"), buttons.SendCallOut(draft=draft, drill=1)),
         _press(_("✖️ Cancel"), buttons.DropCallOutDraft(draft=draft))],
    ])


def callout_answer(_: Translate, callout: int, given: str | None) -> InlineKeyboardMarkup:
    """A responder's buttons: Coming or Can't come; once coming, Arrived or Can't come; a ✓ on
    the answer given."""
    def answer(label: str, chosen: CallOutAnswer) -> InlineKeyboardButton:
        return _press(label + (" ✓" if given == chosen else ""),
                      buttons.AnswerCallOut(callout=callout, answer=CALLOUT_ANSWERS.index(chosen)))

    first = answer(_("📍 Arrived"), CallOutAnswer.ARRIVED) if given in (CallOutAnswer.COMING, CallOutAnswer.ARRIVED) \
        else answer(_("✅ Coming"), CallOutAnswer.COMING)
    return InlineKeyboardMarkup([[first, answer(_("❌ Can't come"), CallOutAnswer.CANNOT)]])


def callout_board(_: Translate, callout: int) -> InlineKeyboardMarkup:
    """A live call-out's controls under its roll call."""
    return InlineKeyboardMarkup([
        [_press(_("🔔 Re-alert non-responders"), buttons.RealertCallOut(callout=callout))],
        [_press(_("📢 Update"), buttons.FollowUpCallOut(callout=callout)),
         _press(_("🛑 Stand down"), buttons.StandDown(callout=callout))],
    ])


def callout_widen(_: Translate, callout: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [_press(_("➕ Neighbouring micro-grids"), buttons.WidenCallOut(callout=callout, whole_grids=0))],
        [_press(_("➕ The whole grid"), buttons.WidenCallOut(callout=callout, whole_grids=1))],
    ])


def cap_draft(_: Translate, alert: int) -> InlineKeyboardMarkup:
    """Under a call-out drafted from an official warning: send it as it stands, or dismiss it."""
    return InlineKeyboardMarkup([[_press(_("🚨 Send"), buttons.SendCapDraft(alert=alert)),
                                  _press(_("✖️ Dismiss"), buttons.DismissCapDraft(alert=alert))]])


# --- call-out plans: fired in one tap, saved from a preview, renamed and deleted -------------------


def plans_to_fire(_: Translate, plans: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per plan, (plan id, name) each, that makes its call-out ready to send; then a new one."""
    rows = [[_press(shorten(f"🚨 {name}", 60), buttons.FirePlan(plan=plan))] for plan, name in plans]
    rows.append([_press(_("✏️ New call-out"), buttons.NewCallOut())])
    return InlineKeyboardMarkup(rows)


def plans_to_manage(_: Translate, plans: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """/plans: each plan, (plan id, name), to fire, rename or delete."""
    return InlineKeyboardMarkup([[_press(shorten(f"🚨 {name}", 40), buttons.FirePlan(plan=plan)),
                                  _press(_("✏️ Rename"), buttons.RenamePlan(plan=plan)),
                                  _press(_("🗑 Delete"), buttons.AskDeletePlan(plan=plan))] for plan, name in plans])


def plan_delete_confirm(_: Translate, plan: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_press(_("🗑 Yes, delete it"), buttons.DeletePlan(plan=plan)),
                                  _press(_("« Back"), buttons.ListPlans())]])


def with_save_as_plan(_: Translate, draft: int, markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """A call-out preview's buttons with "Save as plan" under them."""
    return InlineKeyboardMarkup([*(list(row) for row in markup.inline_keyboard),
                                 [_press(_("💾 Save as plan"), buttons.SavePlan(draft=draft))]])


# --- invitations -----------------------------------------------------------------------------------


def invite_roles(offered: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per role the inviter may give: (the role's number, its name in their language)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(name, callback_data=InviteRole(role).pack())]
                                 for role, name in offered])


def invite_areas(_: Translate, role: int, here: tuple[AreaCode, str] | None, inside: Sequence[tuple[AreaCode, str]],
                 up: AreaCode | None, up_to_roles: bool) -> InlineKeyboardMarkup:
    """This area (`here`, when the role may be given for it), the areas inside it two to a row, and
    the way up: to the area above (`up`), or back to the first choice (`up_to_roles`)."""
    rows: list[list[InlineKeyboardButton]] = []
    if here is not None:
        code, name = here
        rows.append([InlineKeyboardButton(shorten(_("✅ {area}").format(area=name), 60),
                                          callback_data=InviteAt(role, code).pack())])
    buttons = [InlineKeyboardButton(shorten(name, 30), callback_data=InviteAreasInside(role, code).pack())
               for code, name in inside]
    rows += _rows(buttons, 2)
    if up is not None:
        rows.append([InlineKeyboardButton(_("⬆️ Up"), callback_data=InviteAreasInside(role, up).pack())])
    elif up_to_roles:
        rows.append([InlineKeyboardButton(_("⬆️ Up"), callback_data=InviteRole(role).pack())])
    return InlineKeyboardMarkup(rows)


def invite_tags(_: Translate, role: int, area: AreaCode, tags: Sequence[str], untagged: bool) -> InlineKeyboardMarkup:
    """Which kind of person: one button per tag (already in the inviter's language), numbered from
    1; "No tag" (0) when the role may go without one."""
    rows = [[InlineKeyboardButton(name, callback_data=MakeInvite(role, number, area).pack())]
            for number, name in enumerate(tags, 1)]
    if untagged:
        rows.append([InlineKeyboardButton(_("No tag"), callback_data=MakeInvite(role, 0, area).pack())])
    return InlineKeyboardMarkup(rows)


# --- a case becomes a call-out, waves, away -------------------------------------------------------

AWAY_DAYS = (0, 3, 7)  # today, 3 days, a week


def _away_label(_: Translate, days: int) -> str:
    return _("Today") if days == 0 else _("A week") if days == 7 else _("{count} days").format(count=days)


def with_case_callout(_: Translate, markup: InlineKeyboardMarkup | None, case_id: int) -> InlineKeyboardMarkup:
    """A case card's buttons with "Call out around this case" under them."""
    rows = [list(row) for row in markup.inline_keyboard] if markup else []
    rows.append([_press(_("🚨 Call out around this case"), buttons.CallOutAroundCase(case=case_id))])
    return InlineKeyboardMarkup(rows)


def case_callout_send(_: Translate, draft: int) -> InlineKeyboardMarkup:
    """The preview of a call-out around a case: send it, or adjust who, the message and the need."""
    sending = callout_send(_, draft)
    return InlineKeyboardMarkup([*sending.inline_keyboard,
                                 [_press(_("✏️ Adjust who, message, how many"), buttons.ChooseCallOutResponders(draft=draft))]])


def callout_board_with_waves(_: Translate, callout: int, waves_running: bool) -> InlineKeyboardMarkup:
    """A live call-out's controls, with "Stop waves" while waves still go out by themselves."""
    board = callout_board(_, callout)
    if not waves_running:
        return board
    return InlineKeyboardMarkup([[_press(_("⏹ Stop waves"), buttons.StopWaves(callout=callout))], *board.inline_keyboard])


def callout_answer_with_away(_: Translate, callout: int, given: str | None) -> InlineKeyboardMarkup:
    """A responder's answer buttons with "I'm away" under them."""
    answers = callout_answer(_, callout, given)
    return InlineKeyboardMarkup([*answers.inline_keyboard, [_press(_("🏖 I'm away"), buttons.AskAway(callout=callout))]])


def away_choices(_: Translate, callout: int, away: bool) -> InlineKeyboardMarkup:
    """Away until when: today, 3 days, a week; and "I'm back" when away."""
    rows = [[_press(_away_label(_, days), buttons.AwayFor(callout=callout, days=days)) for days in AWAY_DAYS]]
    if away:
        rows.append([_press(_("🔙 I'm back"), buttons.BackFromAway())])
    return InlineKeyboardMarkup(rows)


# --- a category's questions in a report ----------------------------------------------------------

def question_buttons(_: Translate, language: str, draft_id: int, question: QuestionDef) -> InlineKeyboardMarkup | None:
    """Yes/No or the options, one tap each; "Skip" under an optional question; None when the answer
    is typed and the question is required."""
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind == QuestionKind.YES_NO:
        rows.append([InlineKeyboardButton(_("Yes"), callback_data=AnswerQuestion(draft_id, question.code, YES).pack()),
                     InlineKeyboardButton(_("No"), callback_data=AnswerQuestion(draft_id, question.code, NO).pack())])
    elif question.kind == QuestionKind.CHOICE:
        rows += [[InlineKeyboardButton(option.label(language),
                                       callback_data=AnswerQuestion(draft_id, question.code, option.code).pack())]
                 for option in question.options]
    if not question.required:
        rows.append([InlineKeyboardButton(_("Skip ➡️"), callback_data=SkipQuestion(draft_id, question.code).pack())])
    return InlineKeyboardMarkup(rows) if rows else None


# --- verification and joint handling ------------------------------------------------------------


def verify_card(_: Translate, case: int) -> InlineKeyboardMarkup:
    """A verifier's buttons: verified as it is, verified with a photo of their own, or sent back."""
    return InlineKeyboardMarkup([
        [_press(_("✅ Verified"), buttons.VerifyCase(case=case)),
         _press(_("📷 Verified, with my photo"), buttons.VerifyWithPhoto(case=case))],
        [_press(_("↩️ Send back"), buttons.SendBackCase(case=case))],
    ])


def part_card(_: Translate, part: int) -> InlineKeyboardMarkup:
    """A co-holder's buttons on their part: done, or cannot (with a reason)."""
    return InlineKeyboardMarkup([[_press(_("✅ My part is done"), buttons.PartDone(part=part)),
                                  _press(_("🙅 Cannot do it"), buttons.PartCannot(part=part))]])


def resolve_anyway(_: Translate, case: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_press(_("✅ Resolve anyway (give a reason)"), buttons.ResolveAnyway(case=case))]])


# --- forgetting a citizen (handlers/forget.py) -----------------------------------------------------

def forget_confirm(_: Translate) -> InlineKeyboardMarkup:
    """/forget's question: forget me, or keep me."""
    return InlineKeyboardMarkup([[_press(_("🗑 Yes, forget me"), buttons.ForgetMe()),
                                  _press(_("✖️ Cancel"), buttons.KeepMe())]])


# --- the command-centre board and the citizens' map picker (issue 17) ------------------------------


def report_location_request(_: Translate, picker_url: str | None) -> ReplyKeyboardMarkup:
    """The report's location step: send my location, and (with a public https address) pick on a map."""
    rows: list[list[KeyboardButton | str]] = [[KeyboardButton(_(SEND_LOCATION), request_location=True)]]
    if picker_url:
        rows.append([KeyboardButton(_(PICK_ON_MAP), web_app=WebAppInfo(picker_url))])
    rows.append([_(MENU_HELP)])
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True,
                               input_field_placeholder=_("Or type the address"))


PICK_ON_MAP = N_("🗺 Pick on a map")


def picker_url(base: str | None, language: str) -> str | None:
    """Where the citizens' map picker opens (a Mini App: only at a public https address)."""
    return f"{base}/board/pick?lang={language}" if base else None
