"""Staff join through a one-time invite link (/start <token>) and can ask who they are (/whoami)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from handlers import keyboards
from handlers.common import (
    Context,
    Outgoing,
    esc,
    person_session,
    runtime,
    send_all,
    tr,
)
from handlers.i18n import N_, Translate
from handlers.runtime import Runtime
from storage import outbox, people, roles, routing
from storage.models import Person

log = logging.getLogger(__name__)

ROLE_NAMES = {
    "worker": N_("grid worker"),
    "leader": N_("grid leader"),
    "dispatcher": N_("dispatcher"),
    "responder": N_("emergency responder"),
    "admin": N_("administrator"),
}

# Staff commands, and the roles that can use them.
STAFF_COMMANDS = (
    ("/queue", {"dispatcher", "admin"}),
    ("/invite", {"admin", "leader"}),
    ("/tasks", {"worker", "leader"}),
    ("/checkin", {"worker", "leader"}),
    ("/team", {"leader"}),
    ("/stats", {"leader", "dispatcher", "admin"}),
    ("/mobilize", {"leader", "dispatcher", "admin"}),
    ("/mobilizations", {"leader", "dispatcher", "admin"}),
)


def role_in_area(_: Translate, role: str, area_name: str | None) -> str:
    if area_name is None:
        return _(ROLE_NAMES[role])
    return _("{role} of {area}").format(role=_(ROLE_NAMES[role]), area=esc(area_name))


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


async def work_waiting(session: AsyncSession, rt: Runtime, person: Person) -> list[Outgoing]:
    """Staff from a roster, opening the bot at last: the tasks that could not reach them come back."""
    if not person.never_opened:
        return []
    person.never_opened = False
    back = await routing.work_back_after_opening(session, await rt.map.index(session), person.id, rt.clock.now())
    if not back:
        return []
    _ = tr(person)
    return [Outgoing(_("📋 Tasks waiting for you: {count}. Their cards follow; /tasks lists them.").format(count=len(back)))]


async def redeem(update: Update, context: Context, token: str) -> None:
    rt = runtime(context)
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        result = await roles.redeem_invite(session, token, person.id, rt.clock.now())
        waiting = await work_waiting(session, rt, person)
    what = role_in_area(_, result.role, result.area.name if result.area else None) if result.role else ""
    texts = {
        "granted": _("✅ Welcome! You are now {what}. /whoami shows your roles.").format(what=what),
        "already": _("You already are {what}.").format(what=what),
        "used": _("This invitation has already been used. Please ask for a new one."),
        "expired": _("This invitation has expired. Please ask for a new one."),
        "unknown": _("This invitation link is not valid. Please check it or ask for a new one."),
    }
    if result.outcome != "granted":
        log.info("update %s: invite not redeemed: %s", update.update_id, result.outcome)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(texts[result.outcome], keyboards.main_menu(_)), *waiting])


async def whoami(update: Update, context: Context) -> None:
    async with person_session(update, context) as (session, person):
        _ = tr(person)
        held = await roles.roles_of(session, person.id)
    if not held:
        text = _("You have no staff role. You can report problems as a resident.")
    else:
        lines = [_("<b>{name}</b>, your roles:").format(name=esc(person.name))]
        for role, area in held:
            line = "• " + role_in_area(_, role.role, area.name if area else None)
            if area is not None:
                line += f" ({esc(area.code)})"
            lines.append(line)
        held_roles = {role.role for role, _area in held}
        commands = [command for command, needs in STAFF_COMMANDS if held_roles & needs]
        if commands:
            lines.append(_("Your commands: {commands}").format(commands=" ".join(commands)))
        text = "\n".join(lines)
    await send_all(context.bot, update.effective_chat.id, [Outgoing(text)])
