"""Call-out plans (预案) in the chat: a commander fires a plan in three taps (🚨 or /mobilize → the
plan → 🚨 Send now, the preview saying how many people in which micro-grids), saves any call-out's
preview as a plan, and lists, renames and deletes their areas' plans (/plans).

```mermaid
stateDiagram-v2
    [*] --> Plans: /mobilize or 🚨 (the commander's plans, then New call-out)
    Plans --> Preview: a plan (a call-out draft made from it)
    Plans --> Composer: ✏️ New call-out (callout_compose)
    Composer --> Preview
    Preview --> [*]: 🚨 Send now (callout_compose)
    Preview --> PLAN_NAME: 💾 Save as plan
    PLAN_NAME --> Preview: a name (asked again when taken or too long)
    [*] --> Manage: /plans
    Manage --> PLAN_RENAME: ✏️ Rename
    PLAN_RENAME --> Manage: a new name
    Manage --> Confirm: 🗑 Delete
    Confirm --> Manage: Yes, delete it / « Back
```
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Message

from handlers import callout_compose, keyboards
from handlers.buttons import AskDeletePlan, Button, DeletePlan, FirePlan, ListPlans, NewCallOut, RenamePlan, SavePlan
from handlers.callout_refusals import refusal, typed_words
from handlers.fit import escape
from handlers.i18n import Translate, translator
from handlers.questions import Accepts
from handlers.turn import ButtonOutcome, Outgoing, PressHandler, Replies, Turn, press_step
from storage import areas, callout_drafts, callout_scope, people, plans
from storage.callouts import CallOutError, Refusal
from storage.models import Plan
from storage.plans import PlanError, PlanRefusal
from storage.vocab import CallOutTemplate, Language, Question

log = logging.getLogger(__name__)

B = TypeVar("B", bound=Button)
MAX_SHOWN = 40  # plans listed at once (Telegram shows up to 100 buttons; a phone far fewer)


def plan_refusal(_: Translate, reason: PlanRefusal) -> str:
    return {
        PlanRefusal.GONE: _("This plan no longer exists, or is not one of your areas' plans."),
        PlanRefusal.NO_COMMAND: refusal(_, Refusal.NO_COMMAND),
        PlanRefusal.NAME_TAKEN: _("Your area has a plan with that name already. Type another name."),
        PlanRefusal.BAD_NAME: _("A plan's name is 1 to {limit} characters. Type another name.").format(limit=plans.MAX_NAME),
        PlanRefusal.UNFINISHED: _("This call-out is not complete yet: choose where and what first."),
        PlanRefusal.NO_AREA: _("This call-out spans more than one of your areas; a plan belongs to one area."),
    }[reason]


def _refused_as_alert(step: Callable[[Turn, B], Awaitable[ButtonOutcome]]) -> Callable[[Turn, B], Awaitable[ButtonOutcome]]:
    """The press step, whose refusal by the store (a plan's or a call-out's) is shown as an alert."""

    @wraps(step)
    async def guarded(turn: Turn, pressed: B) -> ButtonOutcome:
        try:
            return await step(turn, pressed)
        except PlanError as error:
            log.info("update %s: %s refused: %s", turn.update_id, pressed.PREFIX, error.reason)
            return ButtonOutcome(notice=plan_refusal(turn._, error.reason), alert=True)
        except CallOutError as error:
            log.info("update %s: %s refused: %s", turn.update_id, pressed.PREFIX, error.reason)
            return ButtonOutcome(notice=refusal(turn._, error.reason), alert=True)

    return guarded


def _entries(found: list[Plan]) -> list[tuple[int, str]]:
    return [(plan.id, plan.name) for plan in found[:MAX_SHOWN]]


def _more(_: Translate, found: list[Plan]) -> str:
    hidden = len(found) - MAX_SHOWN
    return "\n" + _("… and {count} more (gridline plans export lists them all).").format(count=hidden) if hidden > 0 else ""


# --- firing: /mobilize, 🚨, a plan ----------------------------------------------------------------


async def _to_fire(turn: Turn, compose_when_none: bool) -> Replies:
    _ = turn._
    if not await callout_scope.command_of(turn.session, turn.person.id):
        return [Outgoing(refusal(_, Refusal.NO_COMMAND))]
    found = await plans.visible_plans(turn.session, await turn.index(), turn.person.id)
    if not found and compose_when_none:
        return await callout_compose.compose(turn)
    head = _("🚨 <b>Call out responders</b>\nTap a plan to see its call-out before it is sent, or make a new one.") \
        if found else _("🚨 You have no plans yet. Make a call-out and tap 💾 Save as plan under its preview.")
    return [Outgoing(head + _more(_, found), keyboards.plans_to_fire(_, _entries(found)))]


async def mobilize(turn: Turn, _message: Message) -> Replies:
    """/mobilize: the commander's plans first, then a new call-out (straight to it without plans)."""
    return await _to_fire(turn, compose_when_none=True)


async def open_plans(turn: Turn, _message: Message) -> Replies:
    """The 🚨 menu button: the commander's plans, to fire."""
    return await _to_fire(turn, compose_when_none=False)


async def fire(turn: Turn, pressed: FirePlan) -> ButtonOutcome:
    """A call-out draft from the plan, shown as its preview with 🚨 Send now."""
    _ = turn._
    fired = await plans.fire(turn.session, await turn.index(), pressed.plan, turn.person.id, turn.person.language,
                             turn.now)
    messages = []
    if fired.missing:
        messages.append(Outgoing(_("⚠️ No longer on the map, left out: {codes}").format(
            codes=", ".join(escape(code) for code in fired.missing))))
    return ButtonOutcome(messages=[*messages, *await callout_compose.preview(turn, fired.draft)])


async def new_callout(turn: Turn, _pressed: NewCallOut) -> ButtonOutcome:
    if not await callout_scope.command_of(turn.session, turn.person.id):
        raise CallOutError(Refusal.NO_COMMAND)
    return ButtonOutcome(messages=list(await callout_compose.compose(turn)))


# --- saving a preview as a plan -------------------------------------------------------------------


async def save(turn: Turn, pressed: SavePlan) -> ButtonOutcome:
    """💾 Save as plan: asks for its name."""
    _ = turn._
    draft = await callout_drafts.draft_of(turn.session, pressed.draft, turn.person.id)
    if not await callout_scope.command_of(turn.session, turn.person.id):
        raise PlanError(PlanRefusal.NO_COMMAND)
    if not draft.headline or not draft.area_codes:
        raise PlanError(PlanRefusal.UNFINISHED)
    people.await_answer(turn.person, Question.PLAN_NAME, draft.id)
    return ButtonOutcome(messages=[Outgoing(_("💾 Type a name for this plan (up to {limit} characters).").format(
        limit=plans.MAX_NAME))])


def _in_both(draft_template: CallOutTemplate | None, said: str) -> dict[Language, str]:
    """A template's headline in each language; a typed one as typed."""
    if draft_template is None or draft_template == callout_drafts.FREE:
        return dict.fromkeys(Language, said)
    return {language: translator(language)(callout_compose.TEMPLATE_HEADLINES[draft_template]) for language in Language}


async def take_name(turn: Turn, text: str) -> Replies:
    _ = turn._
    words, refused = typed_words(_, text, turn.person.awaiting_ref, plans.MAX_NAME)
    if refused is not None:
        return [refused]
    try:
        draft = await callout_drafts.draft_of(turn.session, turn.person.awaiting_ref or 0, turn.person.id)
        headline = _in_both(draft.template, draft.headline or "")
        instruction: dict[Language, str | None] = dict.fromkeys(Language, draft.instruction)
        for language in Language:  # a call-out fired from a plan keeps that plan's words in each language
            if (kept := await plans.words_for(turn.session, draft, language)) is not None:
                headline[language], instruction[language] = kept
        plan = await plans.save_from_draft(turn.session, await turn.index(), draft, turn.person.id, words, headline,
                                           instruction, turn.now)
    except PlanError as error:
        if error.reason not in (PlanRefusal.NAME_TAKEN, PlanRefusal.BAD_NAME):
            people.stop_awaiting(turn.person)
        return [Outgoing(plan_refusal(_, error.reason))]
    except CallOutError as error:
        people.stop_awaiting(turn.person)
        return [Outgoing(refusal(_, error.reason))]
    people.stop_awaiting(turn.person)
    names = await areas.area_names(turn.session, [plan.area_code])
    return [Outgoing(_("💾 Saved as the plan “{name}” of {area}. Fire it from 🚨 or /mobilize.").format(
        name=escape(plan.name), area=escape(names.get(plan.area_code, plan.area_code))))]


# --- /plans: rename, delete -----------------------------------------------------------------------


async def _manage(turn: Turn) -> tuple[str, InlineKeyboardMarkup | None]:
    _ = turn._
    found = await plans.visible_plans(turn.session, await turn.index(), turn.person.id)
    if not found:
        return _("🚨 You have no plans yet. Make a call-out and tap 💾 Save as plan under its preview."), None
    return _("🚨 <b>Your plans</b> ({count})").format(count=len(found)) + _more(_, found), \
        keyboards.plans_to_manage(_, _entries(found))


async def list_plans(turn: Turn, _message: Message) -> Replies:
    """/plans: the commander's plans, to fire, rename or delete."""
    if not await callout_scope.command_of(turn.session, turn.person.id):
        return [Outgoing(refusal(turn._, Refusal.NO_COMMAND))]
    text, markup = await _manage(turn)
    return [Outgoing(text, markup)]


async def back_to_list(turn: Turn, _pressed: ListPlans) -> ButtonOutcome:
    if not await callout_scope.command_of(turn.session, turn.person.id):
        raise PlanError(PlanRefusal.NO_COMMAND)
    text, markup = await _manage(turn)
    return ButtonOutcome(edit_text=text, markup=markup)


async def ask_rename(turn: Turn, pressed: RenamePlan) -> ButtonOutcome:
    _ = turn._
    plan = await plans.plan_for(turn.session, await turn.index(), pressed.plan, turn.person.id)
    people.await_answer(turn.person, Question.PLAN_RENAME, plan.id)
    return ButtonOutcome(messages=[Outgoing(_("✏️ Type the new name for “{name}”.").format(name=escape(plan.name)))])


async def take_new_name(turn: Turn, text: str) -> Replies:
    _ = turn._
    words, refused = typed_words(_, text, turn.person.awaiting_ref, plans.MAX_NAME)
    if refused is not None:
        return [refused]
    try:
        plan = await plans.rename(turn.session, await turn.index(), turn.person.awaiting_ref or 0, turn.person.id, words,
                                  turn.now)
    except PlanError as error:
        if error.reason not in (PlanRefusal.NAME_TAKEN, PlanRefusal.BAD_NAME):
            people.stop_awaiting(turn.person)
        return [Outgoing(plan_refusal(_, error.reason))]
    people.stop_awaiting(turn.person)
    text, markup = await _manage(turn)
    return [Outgoing(_("✏️ Renamed to “{name}”.").format(name=escape(plan.name))), Outgoing(text, markup)]


async def ask_delete(turn: Turn, pressed: AskDeletePlan) -> ButtonOutcome:
    _ = turn._
    plan = await plans.plan_for(turn.session, await turn.index(), pressed.plan, turn.person.id)
    return ButtonOutcome(edit_text=_("🗑 Delete the plan “{name}”? This cannot be undone.").format(name=escape(plan.name)),
                         markup=keyboards.plan_delete_confirm(_, plan.id))


async def delete(turn: Turn, pressed: DeletePlan) -> ButtonOutcome:
    _ = turn._
    name = await plans.remove(turn.session, await turn.index(), pressed.plan, turn.person.id)
    text, markup = await _manage(turn)
    return ButtonOutcome(notice=_("🗑 The plan “{name}” was deleted.").format(name=name), edit_text=text, markup=markup)


PRESSES: dict[type[Button], PressHandler] = {
    FirePlan: press_step(_refused_as_alert(fire)),
    NewCallOut: press_step(_refused_as_alert(new_callout)),
    SavePlan: press_step(_refused_as_alert(save)),
    ListPlans: press_step(_refused_as_alert(back_to_list)),
    RenamePlan: press_step(_refused_as_alert(ask_rename)),
    AskDeletePlan: press_step(_refused_as_alert(ask_delete)),
    DeletePlan: press_step(_refused_as_alert(delete)),
}
ANSWERS = {
    Question.PLAN_NAME: Accepts(text=take_name),
    Question.PLAN_RENAME: Accepts(text=take_new_name),
}
