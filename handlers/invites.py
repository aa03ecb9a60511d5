"""/invite: admins and grid leaders make one-time invite links for their own areas, in the chat."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.callbacks import Pressed, button_data
from handlers.common import (
    ButtonOutcome,
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    show_outcome,
    tr,
)
from handlers.fit import shorten
from handlers.i18n import N_, Translate, local_time
from handlers.onboarding import ROLE_NAMES, role_in_area
from storage import areas, roles
from storage.map_import import DEPTH
from storage.map_index import AreaIndex
from storage.roles import InviteRights

log = logging.getLogger(__name__)

MAX_AREA_BUTTONS = 40
TAG_NAMES = {
    "full_time": N_("full-time"),
    "part_time": N_("part-time"),
    "party_member": N_("party member"),
    "volunteer": N_("volunteer"),
    "property_staff": N_("property staff"),
    "building_head": N_("building head"),
}


async def start_invite(update: Update, context: Context) -> None:
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        rights = await roles.invite_rights(session, person.id)
    offered = rights.roles()
    if not offered:
        message = Outgoing(_("Only administrators and grid leaders can invite people. /whoami shows your roles."))
    else:
        buttons = [[InlineKeyboardButton(_(ROLE_NAMES[role]), callback_data=button_data("i:role", roles.ROLES.index(role)))]
                   for role in offered]
        message = Outgoing(_("Whom do you want to invite?"), InlineKeyboardMarkup(buttons))
    await send_all(context.bot, update.effective_chat.id, [message])


def _fits(index: AreaIndex, role: str, code: str) -> bool:
    return index.level_of(code) in roles.ROLE_LEVELS[role]


async def _area_choice(session: AsyncSession, index: AreaIndex, rights: InviteRights, _: Translate, role: str,
                       code: str | None) -> InlineKeyboardMarkup:
    """This area (when the role belongs at its level), the areas inside it on the way, and the way up."""
    role_number = roles.ROLES.index(role)
    deepest = max(DEPTH[level] for level in roles.ROLE_LEVELS[role])
    rows: list[list[InlineKeyboardButton]] = []
    names = await areas.area_names(session, [code] if code else [])
    if code is not None and _fits(index, role, code) and rights.allows(role, index.chain(code)):
        rows.append([InlineKeyboardButton(shorten(_("✅ {area}").format(area=names.get(code, code)), 60),
                                          callback_data=button_data("i:at", role_number, code))])
    if code is None and not rights.everywhere:
        inside = rights.home_areas()
    else:
        inside = [c for c in index.children_of(code)
                  if DEPTH[index.level_of(c) or "microgrid"] <= deepest and rights.leads_to(index, role, c)]
    inside = inside[:MAX_AREA_BUTTONS]
    inside_names = await areas.area_names(session, inside)
    buttons = [InlineKeyboardButton(shorten(inside_names.get(c, c), 30), callback_data=button_data("i:in", role_number, c))
               for c in inside]
    rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if code is not None:
        parent = index.parent_of.get(code)
        if parent is not None and rights.allows(role, index.chain(parent)):
            rows.append([InlineKeyboardButton(_("⬆️ Up"), callback_data=button_data("i:in", role_number, parent))])
        elif rights.everywhere or len(rights.home_areas()) > 1:
            rows.append([InlineKeyboardButton(_("⬆️ Up"), callback_data=button_data("i:role", role_number))])
    return InlineKeyboardMarkup(rows)


def _tag_choice(_: Translate, role: str, code: str) -> InlineKeyboardMarkup:
    role_number = roles.ROLES.index(role)
    rows = [[InlineKeyboardButton(_(TAG_NAMES[tag]), callback_data=button_data("i:mk", role_number, i + 1, code))]
            for i, tag in enumerate(roles.TAGS[role])]
    if role != "worker":
        rows.append([InlineKeyboardButton(_("No tag"), callback_data=button_data("i:mk", role_number, 0, code))])
    return InlineKeyboardMarkup(rows)


async def on_invite_button(update: Update, context: Context, pressed: Pressed) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        rights = await roles.invite_rights(session, person.id)
        index = await rt.map.index(session)
        role_number = pressed.int_arg(0)
        role = roles.ROLES[role_number] if role_number < len(roles.ROLES) else None
        code = pressed.args[-1] if pressed.action != "i:role" else None
        if (role is None or role not in rights.roles() or (code is not None and code not in index.position)
                or (code is not None and not rights.leads_to(index, role, code))):
            # An area outside the inviter's own, and not on the way to them, is not even opened.
            outcome = ButtonOutcome(notice=_("You cannot invite for that. /whoami shows your roles."), alert=True)
        elif pressed.action in ("i:role", "i:in"):
            if code is None and not rights.everywhere and len(rights.home_areas()) == 1:
                code = rights.home_areas()[0]
            outcome = ButtonOutcome(edit_text=_("Invite a {role}: choose the area.").format(role=_(ROLE_NAMES[role])),
                                    markup=await _area_choice(session, index, rights, _, role, code))
        elif not (_fits(index, role, code) and rights.allows(role, index.chain(code))):
            outcome = ButtonOutcome(notice=_("You cannot invite for that. /whoami shows your roles."), alert=True)
        elif pressed.action == "i:at" and roles.TAGS.get(role):
            outcome = ButtonOutcome(edit_text=_("Which kind of {role}?").format(role=_(ROLE_NAMES[role])),
                                    markup=_tag_choice(_, role, code))
        else:
            tag_number = pressed.int_arg(1) if pressed.action == "i:mk" else 0
            tags = list(roles.TAGS.get(role, ()))
            tag = tags[tag_number - 1] if 0 < tag_number <= len(tags) else None
            invite = await roles.create_invite(session, role, code, [tag] if tag else [], rt.clock.now(), created_by=person.id)
            area = await areas.area_by_code(session, code)
            what = role_in_area(_, role, area.name if area else code)
            if tag:
                what += f" ({_(TAG_NAMES[tag])})"
            link = f"https://t.me/{context.bot.username}?start={invite.token}"
            log.info("update %s: person %s made an invite for %s of %s", update.update_id, person.id, role, code)
            outcome = ButtonOutcome(
                edit_text=_("✉️ An invitation to become {what}. It works once, until {until}. Send this link to the "
                            "person:\n{link}").format(what=what, until=local_time(invite.expires_at, rt.settings.zone, person.language),
                                                      link=esc(link)),
                markup=None,
            )
    await show_outcome(update, context, outcome)
