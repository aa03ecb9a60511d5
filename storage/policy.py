"""Who may do what with a case now, answered once for the card that draws the buttons and again,
by the same functions, for the service that carries a press out: a button and its check cannot
disagree.

The answers depend on plain values only (the case's state, whether it was taken on, how the person
stands to it), so they are pure: `task_actions` for a grid worker's or leader's task card,
`dispatch_actions` for a dispatcher's case card. `task_refusal` and `dispatch_refusal` say why an
action is not allowed, in the words the person will read (see `TaskRefusal`, `DispatchRefusal`).

A task's buttons, by the person's standing (✓ while the case is in that state):

| action     | who                          | when                                                        |
|------------|------------------------------|-------------------------------------------------------------|
| accept     | holder, leader, colleague    | waiting (assigned, reopened; escalated for its holder only) |
| not mine   | holder                       | waiting, not escalated                                      |
| on site    | holder                       | in progress                                                 |
| resolve    | holder                       | in progress                                                 |
| hand back  | holder                       | in progress                                                 |
| escalate   | holder                       | in progress; or waiting, when the holder leads the grid     |
| give       | leader                       | waiting; or any open work they hold themselves              |

"Not mine" and "hand back" are one step (the task goes back to whoever sent it), worded by whether
it was taken on: either press is allowed while either button would be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from storage.cases import TRANSITIONS
from storage.vocab import CaseState

if TYPE_CHECKING:
    from storage.models import Case

# A task is work in its grid in these states.
WORK_STATES = (CaseState.ASSIGNED, CaseState.IN_PROGRESS, CaseState.REOPENED)
# A task waits to be taken on in these; "escalated" only for the leader it was passed up to.
WAITING_STATES = (CaseState.ASSIGNED, CaseState.REOPENED, CaseState.ESCALATED)
# A case waits for a dispatcher's decision in these.
DISPATCH_STATES = (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.ESCALATED, CaseState.REOPENED)


@dataclass(frozen=True)
class Standing:
    """How a person stands to a task: holding it, leading its grid, or working in its grid."""

    holder: bool
    leader: bool
    colleague: bool

    def sees(self, state: str) -> bool:
        """Whether the task's card and buttons are theirs in this state: its holder's and its grid
        leader's, and a fellow worker's of its grid only while it is open work there, not its
        closed history (descriptions hold flat and phone numbers)."""
        return self.holder or self.leader or (self.colleague and state in WORK_STATES)

    def may_see(self, case: Case) -> bool:
        return self.sees(case.state)


class TaskAction(StrEnum):
    """What a grid worker or leader can do with a task: one button each."""

    ACCEPT = "accept"
    NOT_MINE = "not_mine"
    ON_SITE = "on_site"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    HAND_BACK = "hand_back"
    GIVE = "give"  # a leader gives it to a worker of the grid


GIVE_BACK = frozenset({TaskAction.NOT_MINE, TaskAction.HAND_BACK})


class TaskRefusal(StrEnum):
    """Why a step on a task is refused (`storage.tasks.TaskError.reason`). The first four are the
    policy's; the others come from the step itself."""

    NOT_YOURS = "not_yours"  # neither its holder nor of its grid (or no longer open work there)
    NOT_HOLDER = "not_holder"  # of its grid, but the step is its holder's (or its leader's)
    TAKEN = "taken"  # someone has taken it on already
    STATE = "state"  # the task has moved on since the button was drawn
    NOBODY_ABOVE = "nobody_above"
    NOT_ASSIGNABLE = "not_assignable"
    UNREACHABLE = "unreachable"
    NEVER_OPENED = "never_opened"
    NO_PHOTO = "no_photo"
    NO_DRAFT = "no_draft"
    PARTS_OPEN = "parts_open"  # co-holders' parts are not all done (joint handling, storage/joint.py)


def task_actions(state: str, accepted: bool, who: Standing) -> frozenset[TaskAction]:
    """What this person may do with a task in `state`, taken on (`accepted`) or not."""
    if not who.sees(state):
        return frozenset()
    allowed: set[TaskAction] = set()
    escalated = state == CaseState.ESCALATED
    waiting = state in WAITING_STATES and not accepted and (who.holder or not escalated)
    if waiting:
        allowed.add(TaskAction.ACCEPT)
        if who.holder and not escalated:
            allowed.add(TaskAction.NOT_MINE)
    if who.holder and state == CaseState.IN_PROGRESS:
        allowed |= {TaskAction.ON_SITE, TaskAction.RESOLVE, TaskAction.ESCALATE, TaskAction.HAND_BACK}
    if who.leader and state in (*WORK_STATES, CaseState.ESCALATED) and (waiting or who.holder):
        allowed.add(TaskAction.GIVE)
        if who.holder and waiting:
            allowed.add(TaskAction.ESCALATE)
    return frozenset(allowed)


def task_refusal(action: TaskAction, state: str, accepted: bool, who: Standing) -> TaskRefusal | None:
    """Why this person may not take `action` on a task now, or None when they may."""
    allowed = task_actions(state, accepted, who)
    if action in allowed or (action in GIVE_BACK and allowed & GIVE_BACK):
        return None
    if not who.sees(state):
        return TaskRefusal.NOT_YOURS
    if action is TaskAction.ACCEPT:
        taken = state == CaseState.IN_PROGRESS or (accepted and state in WORK_STATES)
        return TaskRefusal.TAKEN if taken else TaskRefusal.STATE
    # Whether the step could be theirs at all, in some state: else it is the state that stops it.
    could = {TaskAction.GIVE: who.leader, TaskAction.ESCALATE: who.holder or who.leader}.get(action, who.holder)
    return TaskRefusal.STATE if could else TaskRefusal.NOT_HOLDER


class DispatchAction(StrEnum):
    """What a dispatcher can decide on a case: one button each."""

    ACCEPT = "accept"  # accept it as it is, to assign later
    ASSIGN = "assign"
    REJECT = "reject"
    DUPLICATE = "duplicate"  # not accepted: the same problem as an earlier case


# The state each decision moves the case to; allowed where the case's life allows that move.
_DECIDES = {
    DispatchAction.ACCEPT: CaseState.ACCEPTED,
    DispatchAction.ASSIGN: CaseState.ASSIGNED,
    DispatchAction.REJECT: CaseState.REJECTED,
    DispatchAction.DUPLICATE: CaseState.REJECTED,
}


class DispatchRefusal(StrEnum):
    """Why a dispatcher's decision is refused (`storage.dispatch.DispatchError.reason`). The first
    two are the policy's; the others come from the decision itself."""

    NOT_YOURS = "not_yours"  # not a dispatcher of the case's area, nor holding it
    STATE = "state"  # the case has moved on since the card was drawn
    NOT_ASSIGNABLE = "not_assignable"
    UNREACHABLE = "unreachable"
    NEVER_OPENED = "never_opened"
    NO_SUCH_CASE = "no_such_case"
    SAME_CASE = "same_case"
    ORIGINAL_CLOSED = "original_closed"


def dispatch_actions(state: CaseState, decides: bool) -> frozenset[DispatchAction]:
    """What a person may decide on a case in `state`; `decides` is whether they dispatch its area
    or hold it (`storage.dispatch.may_dispatch`). None once the case has left the dispatchers."""
    if not decides or state not in DISPATCH_STATES:
        return frozenset()
    return frozenset(action for action, to in _DECIDES.items() if to in TRANSITIONS[state])


def dispatch_refusal(action: DispatchAction, state: CaseState, decides: bool) -> DispatchRefusal | None:
    """Why this person may not decide `action` on a case now, or None when they may."""
    if not decides:
        return DispatchRefusal.NOT_YOURS
    return None if action in dispatch_actions(state, decides) else DispatchRefusal.STATE
