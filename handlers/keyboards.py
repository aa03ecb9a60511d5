"""Keyboards, each built by one small function from plain values and the person's language."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from handlers.callbacks import button_data
from handlers.i18n import N_, Translate, translator
from storage.catalog import CategoryDef
from storage.vocab import SUPPORTED_LANGUAGES

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


# --- invitations -----------------------------------------------------------------------------------

KEYBOARDS_FOR_INVITES = "invitations"
