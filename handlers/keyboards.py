"""Keyboards, each built by one small function from plain values and the person's language."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from handlers.buttons import (
    AddToCase,
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
    SubmitReport,
    UnsureOfCategory,
    UsePhotoPosition,
)
from handlers.fit import shorten
from handlers.i18n import Translate, translator
from storage.catalog import CategoryDef
from storage.drafts import DraftStep
from storage.vocab import N_, SUPPORTED_LANGUAGES, Language

MENU_REPORT = N_("📷 Report a problem")
MENU_MY_CASES = N_("📋 My reports")
MENU_LANGUAGE = N_("🌐 Language")
MENU_HELP = N_("❓ Help")
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


def change_choice(_: Translate, draft_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("📷 Photos"), callback_data=RedoPart(draft_id, DraftStep.PHOTOS).pack()),
                InlineKeyboardButton(_("📍 Location"), callback_data=RedoPart(draft_id, DraftStep.LOCATION).pack()),
            ],
            [
                InlineKeyboardButton(_("🏷 Category"), callback_data=RedoPart(draft_id, DraftStep.CATEGORY).pack()),
                InlineKeyboardButton(_("📝 Description"), callback_data=RedoPart(draft_id, DraftStep.DESCRIPTION).pack()),
            ],
            [InlineKeyboardButton(_("« Back"), callback_data=BackToSummary(draft_id).pack())],
        ]
    )


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
# (staff keyboards: the dispatch card, the task card, choosing a worker or an area)

KEYBOARDS_FOR_STAFF = "dispatch and tasks"


# --- call-outs: composing a call-out, a responder's answer, the commander's board -----------------

KEYBOARDS_FOR_CALLOUTS = "call-outs"


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
