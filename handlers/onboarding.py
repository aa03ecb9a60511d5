"""Staff join through a one-time invite link (/start <token>) and can ask who they are (/whoami)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message

from handlers.fit import escape
from handlers.i18n import Translate
from handlers.runtime import Runtime
from handlers.turn import Outgoing, Replies, Turn
from storage import outbox, people, roles, routing, waves
from storage.vocab import N_, Role

log = logging.getLogger(__name__)

ROLE_NAMES = {
    Role.WORKER: N_("grid worker"),
    Role.LEADER: N_("grid leader"),
    Role.DISPATCHER: N_("dispatcher"),
    Role.RESPONDER: N_("emergency responder"),
    Role.ADMIN: N_("administrator"),
}

# Staff commands, and the roles that can use them.
STAFF_COMMANDS = (
    ("/queue", {Role.DISPATCHER, Role.ADMIN}),
    ("/invite", {Role.ADMIN, Role.LEADER}),
    ("/tasks", {Role.WORKER, Role.LEADER}),
    ("/checkin", {Role.WORKER, Role.LEADER}),
    ("/team", {Role.LEADER}),
    ("/stats", {Role.LEADER, Role.DISPATCHER, Role.ADMIN}),
    ("/mobilize", {Role.LEADER, Role.DISPATCHER, Role.ADMIN}),
    ("/plans", {Role.LEADER, Role.DISPATCHER, Role.ADMIN}),
    ("/mobilizations", {Role.LEADER, Role.DISPATCHER, Role.ADMIN}),
    ("/away", {Role.RESPONDER, Role.WORKER}),
)


def role_name(_: Translate, role: str) -> str:
    """A role as people say it, in their language."""
    return _(ROLE_NAMES[Role(role)])


def role_in_area(_: Translate, role: str, area_name: str | None) -> str:
    if area_name is None:
        return role_name(_, role)
    return _("{role} of {area}").format(role=role_name(_, role), area=escape(area_name))


NEVER_OPENED = N_("⚠️ {name} (Telegram id {tg_id}) has never opened the bot, so the bot cannot send "
                  "them anything. Open cases passed on to others: {count}. Please ask them to open the bot and press "
                  "Start; their work will be waiting.")


async def staff_never_opened(session: AsyncSession, rt: Runtime, person_id: int) -> None:
    """Telegram said this person never opened the bot: their cases move on, and the first time
    their grid leader (or else an admin) hears of it, so someone can ask them to press Start."""
    found = await routing.holder_never_opened(session, await rt.map.index(session), person_id, rt.clock.now())
    person = await people.person_by_id(session, person_id)
    if person is None:
        return
    for reader in found.tell:
        await outbox.enqueue(session, reader, outbox.NoticePayload(NEVER_OPENED, {
            "name": person.name, "tg_id": person.tg_id, "count": len(found.moved)}), rt.clock.now())


async def work_waiting(turn: Turn) -> Replies:
    """Staff from a roster, opening the bot at last: the tasks that could not reach them come back."""
    if not people.opened_at_last(turn.person):
        return []
    back = await routing.work_back_after_opening(turn.session, await turn.index(), turn.person.id, turn.now)
    if not back:
        return []
    _ = turn._
    return [Outgoing(_("📋 Tasks waiting for you: {count}. Their cards follow; /tasks lists them.").format(count=len(back)))]


async def redeem(turn: Turn, token: str) -> Replies:
    """An invite link opened (/start <token>): the role it gives, or why it gives none."""
    _ = turn._
    result = await roles.redeem_invite(turn.session, token, turn.person.id, turn.now)
    waiting = await work_waiting(turn)
    what = role_in_area(_, result.role, result.area.name if result.area else None) if result.role else ""
    texts = {
        "granted": _("✅ Welcome! You are now {what}. /whoami shows your roles.").format(what=what),
        "already": _("You already are {what}.").format(what=what),
        "used": _("This invitation has already been used. Please ask for a new one."),
        "expired": _("This invitation has expired. Please ask for a new one."),
        "unknown": _("This invitation link is not valid. Please check it or ask for a new one."),
    }
    if result.outcome != "granted":
        log.info("update %s: invite not redeemed: %s", turn.update_id, result.outcome)
    return [Outgoing(texts[result.outcome], await turn.menu()), *waiting]


async def whoami(turn: Turn, _message: Message) -> Replies:
    _ = turn._
    held = await roles.roles_of(turn.session, turn.person.id)
    if not held:
        return [Outgoing(_("You have no staff role. You can report problems as a resident."))]
    lines = [_("<b>{name}</b>, your roles:").format(name=escape(turn.person.name))]
    for role, area in held:
        line = "• " + role_in_area(_, role.role, area.name if area else None)
        if area is not None:
            line += f" ({escape(area.code)})"
        lines.append(line)
    held_roles = {Role(role.role) for role, _area in held}
    commands = [command for command, needs in STAFF_COMMANDS if held_roles & needs]
    if commands:
        lines.append(_("Your commands: {commands}").format(commands=" ".join(commands)))
    away = waves.away_until(turn.person, turn.now)
    if away is not None:
        last_day = (away.astimezone(turn.rt.settings.zone) - timedelta(days=1)).date().isoformat()
        lines.append(_("🏖 Away until {date}: call-outs skip you. /away off when you are back.").format(date=last_day))
    return [Outgoing("\n".join(lines))]
