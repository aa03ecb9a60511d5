"""/invite: admins and grid leaders make one-time invite links for their own areas, in the chat.

```mermaid
stateDiagram-v2
    [*] --> role: /invite (admins and grid leaders)
    role --> area: a role
    area --> area: an area inside, ⬆️ Up
    area --> tag: ✅ this area (a role with kinds)
    area --> link: ✅ this area
    tag --> link: a kind, No tag
    link --> [*]
```

Every press is checked again against the inviter's rights now: an area outside their own, and
not on the way down to them, is not even opened.
"""

from __future__ import annotations

import logging

from telegram import Message

from handlers import keyboards
from handlers.buttons import AreaCode, Button, InviteAreasInside, InviteAt, InviteRole, MakeInvite
from handlers.fit import escape
from handlers.i18n import Translate, local_time
from handlers.onboarding import role_in_area, role_name
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from storage import areas, roles
from storage.map_import import DEPTH
from storage.map_index import AreaIndex
from storage.roles import InviteRights
from storage.vocab import N_, Level, Role

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
CANNOT_INVITE = N_("You cannot invite for that. /whoami shows your roles.")


async def start_invite(turn: Turn, _message: Message) -> Replies:
    _ = turn._
    offered = (await roles.invite_rights(turn.session, turn.person.id)).roles()
    if not offered:
        return [Outgoing(_("Only administrators and grid leaders can invite people. /whoami shows your roles."))]
    choices = [(roles.ROLES.index(role), role_name(_, role)) for role in offered]
    return [Outgoing(_("Whom do you want to invite?"), keyboards.invite_roles(choices))]


def _fits(index: AreaIndex, role: str, code: str) -> bool:
    return index.level_of(code) in roles.ROLE_LEVELS[role]


async def _area_choice(turn: Turn, index: AreaIndex, rights: InviteRights, role: str, code: AreaCode | None) -> ButtonOutcome:
    """This area (when the role belongs at its level), the areas inside it on the way, and the way up."""
    _ = turn._
    role_number = roles.ROLES.index(role)
    deepest = max(DEPTH[level] for level in roles.ROLE_LEVELS[role])
    here = None
    if code is not None and _fits(index, role, code) and rights.allows(role, index.chain(code)):
        names = await areas.area_names(turn.session, [code])
        here = (code, names.get(code, code))
    if code is None and not rights.everywhere:
        inside = rights.home_areas()
    else:
        inside = [c for c in index.children_of(code)
                  if DEPTH[index.level_of(c) or Level.MICROGRID] <= deepest and rights.leads_to(index, role, c)]
    inside = inside[:MAX_AREA_BUTTONS]
    inside_names = await areas.area_names(turn.session, inside)
    up, up_to_roles = None, False
    if code is not None:
        parent = index.parent_of.get(code)
        if parent is not None and rights.allows(role, index.chain(parent)):
            up = AreaCode(parent)
        else:
            up_to_roles = rights.everywhere or len(rights.home_areas()) > 1
    markup = keyboards.invite_areas(_, role_number, here, [(AreaCode(c), inside_names.get(c, c)) for c in inside],
                                    up, up_to_roles)
    return ButtonOutcome(edit_text=_("Invite a {role}: choose the area.").format(role=role_name(_, role)), markup=markup)


def _tag_choice(_: Translate, role: str, code: AreaCode) -> ButtonOutcome:
    tags = [_(TAG_NAMES[tag]) for tag in roles.TAGS[role]]
    markup = keyboards.invite_tags(_, roles.ROLES.index(role), code, tags, untagged=role != Role.WORKER)
    return ButtonOutcome(edit_text=_("Which kind of {role}?").format(role=role_name(_, role)), markup=markup)


async def _make_invite(turn: Turn, role: str, code: AreaCode, tag_number: int) -> ButtonOutcome:
    _ = turn._
    tags = list(roles.TAGS.get(role, ()))
    tag = tags[tag_number - 1] if 0 < tag_number <= len(tags) else None
    invite = await roles.create_invite(turn.session, role, code, [tag] if tag else [], turn.now, created_by=turn.person.id)
    area = await areas.area_by_code(turn.session, code)
    what = role_in_area(_, role, area.name if area else code)
    if tag:
        what += f" ({_(TAG_NAMES[tag])})"
    link = f"https://t.me/{turn.bot_username}?start={invite.token}"
    log.info("update %s: person %s made an invite for %s of %s", turn.update_id, turn.person.id, role, code)
    until = local_time(invite.expires_at, turn.rt.settings.zone, turn.person.language)
    return ButtonOutcome(
        edit_text=_("✉️ An invitation to become {what}. It works once, until {until}. Send this link to the "
                    "person:\n{link}").format(what=what, until=until, link=escape(link)),
        markup=None,
    )


async def _invite(turn: Turn, role_number: int, code: AreaCode | None, pressed: Button) -> ButtonOutcome:
    """Every invite button: checked against the inviter's rights now, then the next choice or the link."""
    _ = turn._
    rights = await roles.invite_rights(turn.session, turn.person.id)
    index = await turn.index()
    role = roles.ROLES[role_number] if role_number < len(roles.ROLES) else None
    if (role is None or role not in rights.roles() or (code is not None and code not in index.position)
            or (code is not None and not rights.leads_to(index, role, code))):
        # An area outside the inviter's own, and not on the way to them, is not even opened.
        return ButtonOutcome(notice=_(CANNOT_INVITE), alert=True)
    if isinstance(pressed, InviteRole | InviteAreasInside):
        if code is None and not rights.everywhere and len(rights.home_areas()) == 1:
            code = AreaCode(rights.home_areas()[0])
        return await _area_choice(turn, index, rights, role, code)
    assert code is not None  # the other buttons name an area
    if not (_fits(index, role, code) and rights.allows(role, index.chain(code))):
        return ButtonOutcome(notice=_(CANNOT_INVITE), alert=True)
    if isinstance(pressed, InviteAt) and roles.TAGS.get(role):
        return _tag_choice(_, role, code)
    return await _make_invite(turn, role, code, pressed.tag if isinstance(pressed, MakeInvite) else 0)


async def choose_role(turn: Turn, pressed: InviteRole) -> ButtonOutcome:
    return await _invite(turn, pressed.role, None, pressed)


async def open_area(turn: Turn, pressed: InviteAreasInside) -> ButtonOutcome:
    return await _invite(turn, pressed.role, pressed.area, pressed)


async def choose_area(turn: Turn, pressed: InviteAt) -> ButtonOutcome:
    return await _invite(turn, pressed.role, pressed.area, pressed)


async def make_invite(turn: Turn, pressed: MakeInvite) -> ButtonOutcome:
    return await _invite(turn, pressed.role, pressed.area, pressed)


PRESSES: dict[type[Button], PressHandler] = {
    InviteRole: press_step(choose_role),
    InviteAreasInside: press_step(open_area),
    InviteAt: press_step(choose_area),
    MakeInvite: press_step(make_invite),
}
