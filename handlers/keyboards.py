"""Keyboards, each built by one small function from plain values and the person's language."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from handlers import buttons
from handlers.buttons import AreaCode
from handlers.callbacks import button_data
from handlers.fit import shorten
from handlers.i18n import N_, Translate, translator
from storage.catalog import CategoryDef
from storage.vocab import SUPPORTED_LANGUAGES, CallOutAnswer

MENU_REPORT = N_("📷 Report a problem")
MENU_MY_CASES = N_("📋 My reports")
MENU_LANGUAGE = N_("🌐 Language")
MENU_HELP = N_("❓ Help")
SEND_LOCATION = N_("📍 Send my location")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def menu_action(text: str) -> str | None:
    """Which main-menu button a typed text is, in any language (the keyboard may predate a switch)."""
    for language in SUPPORTED_LANGUAGES:
        _ = translator(language)
        for action, label in (("report", MENU_REPORT), ("mycases", MENU_MY_CASES),
                              ("language", MENU_LANGUAGE), ("help", MENU_HELP)):
            if text.strip() == _(label):
                return action
    return None


def main_menu(_: Translate) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[_(MENU_REPORT)], [_(MENU_MY_CASES), _(MENU_LANGUAGE), _(MENU_HELP)]],
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
    buttons = [InlineKeyboardButton(c.name(language), callback_data=button_data("r:top", draft_id, c.code)) for c in categories]
    rows = _rows(buttons, 2)
    rows.append([InlineKeyboardButton(_("🤷 Not sure"), callback_data=button_data("r:unsure", draft_id))])
    return InlineKeyboardMarkup(rows)


def sub_categories(_: Translate, language: str, draft_id: int, top: CategoryDef) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(c.name(language), callback_data=button_data("r:cat", draft_id, c.code)) for c in top.children]
    rows = _rows(buttons, 1)
    rows.append([InlineKeyboardButton(_("🤷 Not sure which"), callback_data=button_data("r:cat", draft_id, top.code))])
    rows.append([InlineKeyboardButton(_("« Back"), callback_data=button_data("r:back", draft_id))])
    return InlineKeyboardMarkup(rows)


def exif_offer(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("📍 Use where the photo was taken"), callback_data=button_data("r:exif", draft_id))]]
    )


def skip_description(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("Skip ➡️"), callback_data=button_data("r:skip", draft_id))]])


def summary(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("✅ Submit"), callback_data=button_data("r:submit", draft_id))],
            [
                InlineKeyboardButton(_("✏️ Change"), callback_data=button_data("r:change", draft_id)),
                InlineKeyboardButton(_("✖️ Cancel"), callback_data=button_data("r:cancel", draft_id)),
            ],
        ]
    )


def duplicate_choice(_: Translate, draft_id: int, case_id: int, case_number: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("➕ Add my photos to {number}").format(number=case_number),
                                  callback_data=button_data("r:merge", draft_id, case_id))],
            [InlineKeyboardButton(_("📨 Report anyway"), callback_data=button_data("r:anyway", draft_id))],
            [
                InlineKeyboardButton(_("✏️ Change"), callback_data=button_data("r:change", draft_id)),
                InlineKeyboardButton(_("✖️ Cancel"), callback_data=button_data("r:cancel", draft_id)),
            ],
        ]
    )


def change_choice(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("📷 Photos"), callback_data=button_data("r:redo", draft_id, "photos")),
                InlineKeyboardButton(_("📍 Location"), callback_data=button_data("r:redo", draft_id, "location")),
            ],
            [
                InlineKeyboardButton(_("🏷 Category"), callback_data=button_data("r:redo", draft_id, "category")),
                InlineKeyboardButton(_("📝 Description"), callback_data=button_data("r:redo", draft_id, "description")),
            ],
            [InlineKeyboardButton(_("« Back"), callback_data=button_data("r:summary", draft_id))],
        ]
    )


def rating(_: Translate, case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(_("👍 Satisfied"), callback_data=button_data("c:rate", case_id, 1)),
            InlineKeyboardButton(_("👎 Not satisfied"), callback_data=button_data("c:rate", case_id, 0)),
        ]]
    )


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(name, callback_data=button_data("lang", code)) for code, name in LANGUAGE_NAMES.items()]]
    )


def case_list(_: Translate, entries: list[tuple[int, str]], page: int, has_next: bool) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(label, callback_data=button_data("c:open", case_id))] for case_id, label in entries]
    pager = []
    if page > 0:
        pager.append(InlineKeyboardButton(_("« Newer"), callback_data=button_data("c:list", page - 1)))
    if has_next:
        pager.append(InlineKeyboardButton(_("Older »"), callback_data=button_data("c:list", page + 1)))
    if pager:
        rows.append(pager)
    return InlineKeyboardMarkup(rows)


def back_to_list(_: Translate, page: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("« My reports"), callback_data=button_data("c:list", page))]])


# --- dispatchers' case cards and workers' task cards ----------------------------------------------
# (staff keyboards: the dispatch card, the task card, choosing a worker or an area)

KEYBOARDS_FOR_STAFF = "dispatch and tasks"


# --- call-outs: composing a call-out, a responder's answer, the commander's board -----------------

KEYBOARDS_FOR_CALLOUTS = "call-outs"
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


# --- invitations -----------------------------------------------------------------------------------

KEYBOARDS_FOR_INVITES = "invitations"
