"""/forget: a citizen asks the grid service to forget them (PIPL, GDPR). They see what will go and
confirm; then their name and chat go, their closed cases lose them (and their words, photos and
exact place) at once, and their open cases keep only a pseudonym until they close. They are told
exactly what was removed. Staff are removed by an administrator instead. The store's side is
`storage/retention.py`.

```mermaid
stateDiagram-v2
    [*] --> Asked: /forget (what would go; Yes / Cancel)
    Asked --> Forgotten: 🗑 Yes, forget me (what went)
    Asked --> [*]: ✖️ Cancel (nothing removed)
    Forgotten --> [*]: writing again starts a new person
```
"""

from __future__ import annotations

from telegram import Message, Update

from handlers import keyboards
from handlers.buttons import Button, ForgetMe, KeepMe
from handlers.i18n import Translate
from handlers.turn import ButtonOutcome, GridContext, Outgoing, PressHandler, Replies, Turn, press_step, run_turn, show_outcome
from storage import retention
from storage.media_store import delete_photos
from storage.retention import Forgotten


def _staff(_: Translate) -> str:
    return _("You have a role in the grid service, so only your administrator can remove you.")


async def forget_command(turn: Turn, message: Message) -> Replies:
    """/forget: what would be removed, and the question."""
    _ = turn._
    if await retention.has_roles(turn.session, turn.person.id):
        return [Outgoing(_staff(_))]
    closed, open_ = await retention.forget_preview(turn.session, turn.person.id)
    text = _("🗑 <b>Forget me</b>\n"
             "This removes your name and the link to your Telegram account from the grid service:\n"
             "• your {closed} closed case(s) lose your name, your words, your photos and the exact place, at once;\n"
             "• your {open} open case(s) keep you only as a number until they close, then lose that too;\n"
             "• your unfinished report and the cases you follow go.\n"
             "The cases themselves stay, without you, for the city's statistics. "
             "You will hear nothing more about them. This cannot be undone.").format(closed=closed, open=open_)
    return [Outgoing(text, keyboards.forget_confirm(_))]


def _removed(_: Translate, done: Forgotten) -> str:
    lines = [_("✅ You are forgotten. Removed:"),
             _("• your name and the link to your Telegram account;")]
    if done.closed:
        lines.append(_("• from your closed cases {numbers}: your name, your words, your photos and the exact place;").format(
            numbers=", ".join(done.closed)))
    lines.append(_("• {photos} photo(s), {drafts} unfinished report(s), {messages} message(s) not yet sent, "
                   "{follows} followed case(s).").format(photos=done.photos, drafts=done.drafts, messages=done.messages,
                                                         follows=done.follows))
    if done.open:
        lines.append(_("Your open cases {numbers} keep you only as a number until they close; then that goes too.").format(
            numbers=", ".join(done.open)))
    lines.append(_("If you write to the bot again, you start as someone new."))
    return "\n".join(lines)


async def _forget(turn: Turn) -> tuple[ButtonOutcome, list[str]]:
    try:
        done = await retention.forget_person(turn.session, turn.person, turn.now, turn.rt.settings.retention_point)
    except retention.HasRoles:
        return ButtonOutcome(notice=_staff(turn._), alert=True), []
    return ButtonOutcome(edit_text=_removed(turn._, done), markup=None), done.photo_files


async def forget_me(update: Update, context: GridContext, pressed: Button) -> None:
    """🗑 Yes, forget me: done in one transaction; the photo files go once it has committed."""
    outcome, files = await run_turn(update, context, _forget)
    await delete_photos(context.rt.media, files)
    await show_outcome(update, context, outcome)


async def keep_me(turn: Turn, pressed: KeepMe) -> ButtonOutcome:
    return ButtonOutcome(edit_text=turn._("Nothing was removed."), markup=None)


PRESSES: dict[type[Button], PressHandler] = {ForgetMe: forget_me, KeepMe: press_step(keep_me)}
