"""Every inline button Gridline draws, one small class per kind, packed and parsed here only.

A button's `callback_data` is its family's short prefix and its fields, joined by ":"
(`t:acc:1234`), at most 64 bytes (Telegram's limit, checked when it is packed). `parse_button` turns
a press back into the same typed object, or None when the data is not one we could have made; the
router in `handlers/setup.py` maps each class to the step that handles it.

A button carries a request, never a permission: every step checks it against the store (who
pressed, and the object's state now), so a stale or forged press is refused there.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar, NewType, dataclass_transform, get_type_hints

MAX_BYTES = 64

AreaCode = NewType("AreaCode", str)
"""An area's code from the map (letters, digits, `_.-`, up to 40)."""

_INT = re.compile(r"^(0|[1-9][0-9]{0,11})$")  # as str(int) writes it: no sign, no leading zero
_WORD = re.compile(r"^[a-z0-9_.\-]{1,32}$")
_AREA = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
# Every number in a button is a store id or a small count; the store's ids are 32-bit, and a bigger
# number sent to PostgreSQL is an error rather than "no such row".
MAX_INT = 2**31 - 1


@dataclass_transform(frozen_default=True)
class Button:
    """A kind of button: a prefix and typed fields. A subclass names its prefix
    (`class AcceptTask(Button, prefix="t:acc")`) and its fields, each `int` (a store id or a
    count), `str` (a short lower-case code) or `AreaCode`; it becomes a frozen dataclass."""

    PREFIX: ClassVar[str]

    def __init_subclass__(cls, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if prefix in FAMILIES:
            raise ValueError(f"two button classes use the prefix {prefix!r}")
        dataclass(frozen=True)(cls)
        hints = get_type_hints(cls)
        cls.PREFIX = prefix
        FAMILIES[prefix] = cls
        _PATTERNS[cls] = {f.name: _INT if hints[f.name] is int else _AREA if hints[f.name] is AreaCode else _WORD
                          for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # made a dataclass just above

    def pack(self) -> str:
        """The callback data for this button; a ValueError when it would exceed Telegram's 64 bytes."""
        values = [getattr(self, name) for name in _PATTERNS[type(self)]]
        data = ":".join([self.PREFIX, *(str(value) for value in values)])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
        return data


FAMILIES: dict[str, type[Button]] = {}
_PATTERNS: dict[type[Button], dict[str, re.Pattern[str]]] = {}


def parse_button(data: str | None) -> Button | None:
    """The pressed button, or None when the payload is not one we could have made."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    for size in (2, 1):  # prefixes are one word ("lang") or two ("t:acc")
        cls = FAMILIES.get(":".join(parts[:size]))
        if cls is None:
            continue
        patterns = _PATTERNS[cls]
        values = parts[size:]
        if len(values) != len(patterns):
            return None
        kwargs: dict[str, object] = {}
        for (name, pattern), value in zip(patterns.items(), values, strict=True):
            if not pattern.match(value):
                return None
            if pattern is _INT:
                if int(value) > MAX_INT:
                    return None
                kwargs[name] = int(value)
            else:
                kwargs[name] = value
        return cls(**kwargs)
    return None


# --- a citizen's report draft (handlers/report_*.py) ---------------------------------------------

class UsePhotoPosition(Button, prefix="r:exif"):
    """Use the position in the photo's EXIF data."""
    draft: int


class ChooseTopCategory(Button, prefix="r:top"):
    draft: int
    category: str


class ChooseCategory(Button, prefix="r:cat"):
    draft: int
    category: str


class BackToTopCategories(Button, prefix="r:back"):
    draft: int


class UnsureOfCategory(Button, prefix="r:unsure"):
    draft: int


class SkipDescription(Button, prefix="r:skip"):
    draft: int


class SubmitReport(Button, prefix="r:submit"):
    draft: int


class ShowChanges(Button, prefix="r:change"):
    """Show which parts of the draft can be changed."""
    draft: int


class BackToSummary(Button, prefix="r:summary"):
    draft: int


class RedoPart(Button, prefix="r:redo"):
    """Change one part of the draft: photos, location, category or description."""
    draft: int
    part: str


class CancelReport(Button, prefix="r:cancel"):
    draft: int


class AddToCase(Button, prefix="r:merge"):
    """Add this draft's photos to a nearby open case of the same kind instead of a new report."""
    draft: int
    case: int


class ReportAnyway(Button, prefix="r:anyway"):
    """Report despite a nearby case of the same kind."""
    draft: int


# --- a citizen's own cases (handlers/citizen_cases.py) -------------------------------------------

class OpenMyCase(Button, prefix="c:open"):
    case: int


class ListMyCases(Button, prefix="c:list"):
    page: int


class RateCase(Button, prefix="c:rate"):
    case: int
    satisfied: int  # 1 satisfied, 0 not


class ChooseLanguage(Button, prefix="lang"):
    code: str


# --- a dispatcher's case card (handlers/dispatch_*.py) -------------------------------------------

class AcceptCase(Button, prefix="d:acc"):
    case: int


class ChooseAssignee(Button, prefix="d:asg"):
    case: int


class AssigneesInside(Button, prefix="d:in"):
    """The people and areas inside an area, to give a case to."""
    case: int
    area: AreaCode


class AssignTo(Button, prefix="d:to"):
    case: int
    person: int


class AskRejectReason(Button, prefix="d:rej"):
    case: int


class RejectForReason(Button, prefix="d:rjr"):
    case: int
    reason: int  # the index of a usual reason


class RejectTypedReason(Button, prefix="d:rjt"):
    case: int


class AskOriginal(Button, prefix="d:dup"):
    """Which earlier case this one repeats."""
    case: int


class DuplicateOf(Button, prefix="d:dpo"):
    case: int
    original: int


class DuplicateTypedNumber(Button, prefix="d:dpt"):
    case: int


class BackToDispatchCard(Button, prefix="d:back"):
    case: int


class SendDispatchCard(Button, prefix="d:card"):
    case: int


# --- a grid worker's task card (handlers/task_*.py, handlers/worker.py) --------------------------

class AcceptTask(Button, prefix="t:acc"):
    case: int


class NotMyTask(Button, prefix="t:no"):
    case: int


class OnSite(Button, prefix="t:site"):
    case: int


class ResolveTask(Button, prefix="t:res"):
    case: int


class EscalateTask(Button, prefix="t:esc"):
    case: int


class HandBackTask(Button, prefix="t:back"):
    case: int


class ChooseWorker(Button, prefix="t:give"):
    """A grid leader chooses a worker for the task."""
    case: int


class GiveTaskTo(Button, prefix="t:to"):
    case: int
    person: int


class BackToTaskCard(Button, prefix="t:card"):
    case: int


class SendTaskCard(Button, prefix="t:open"):
    case: int


# --- call-outs (handlers/callout_*.py) -----------------------------------------------------------

class AnswerCallOut(Button, prefix="m:ans"):
    callout: int
    answer: int  # 0 coming, 1 arrived, 2 cannot


class CallOutAreasInside(Button, prefix="m:in"):
    draft: int
    area: AreaCode


class ToggleCallOutArea(Button, prefix="m:tg"):
    draft: int
    area: AreaCode


class CallOutAroundPoint(Button, prefix="m:pt"):
    draft: int


class CallOutRadius(Button, prefix="m:rad"):
    draft: int
    metres: int


class ChooseCallOutResponders(Button, prefix="m:who"):
    draft: int


class ToggleResponderTag(Button, prefix="m:tag"):
    draft: int
    tag: int  # 0 everyone, else the tag's number


class ChooseCallOutMessage(Button, prefix="m:what"):
    draft: int


class UseCallOutTemplate(Button, prefix="m:tpl"):
    draft: int
    template: int


class NoMeetingPoint(Button, prefix="m:nomeet"):
    draft: int


class PeopleNeeded(Button, prefix="m:need"):
    draft: int
    number: int


class SendCallOut(Button, prefix="m:go"):
    draft: int
    drill: int  # 1 for a drill


class DropCallOutDraft(Button, prefix="m:x"):
    draft: int


class RealertCallOut(Button, prefix="m:re"):
    callout: int


class FollowUpCallOut(Button, prefix="m:up"):
    callout: int


class StandDown(Button, prefix="m:end"):
    callout: int


class WidenCallOut(Button, prefix="m:wd"):
    callout: int
    whole_grids: int  # 0 the neighbouring micro-grids, 1 the whole grids


# --- invitations (handlers/invites.py) ------------------------------------------------------------

class InviteRole(Button, prefix="i:role"):
    role: int


class InviteAreasInside(Button, prefix="i:in"):
    role: int
    area: AreaCode


class InviteAt(Button, prefix="i:at"):
    role: int
    area: AreaCode


class MakeInvite(Button, prefix="i:mk"):
    role: int
    tag: int
    area: AreaCode


# --- shortened cards (handlers/full_text.py) -----------------------------------------------------

class ShowFullText(Button, prefix="x:full"):
    case: int
    step: int  # the event's id, or 0 for the description


class SendCapDraft(Button, prefix="cap:go"):
    alert: int  # the official warning (cap_alerts row) whose drafted call-out to send


class DismissCapDraft(Button, prefix="cap:x"):
    alert: int


# --- call-out plans (handlers/callout_plans.py) --------------------------------------------------

class FirePlan(Button, prefix="pl:go"):
    plan: int


class NewCallOut(Button, prefix="pl:new"):
    pass


class SavePlan(Button, prefix="pl:save"):
    draft: int


class RenamePlan(Button, prefix="pl:ren"):
    plan: int


class AskDeletePlan(Button, prefix="pl:del"):
    plan: int


class DeletePlan(Button, prefix="pl:delok"):
    plan: int


class ListPlans(Button, prefix="pl:list"):
    pass


# --- a case becomes a call-out, waves, away (handlers/case_callout.py, handlers/away.py) ---------

class CallOutAroundCase(Button, prefix="w:case"):
    case: int


class StopWaves(Button, prefix="w:stop"):
    callout: int


class AskAway(Button, prefix="w:ask"):
    callout: int  # the call-out whose alert it was under (0: from /away)


class AwayFor(Button, prefix="w:away"):
    callout: int  # the call-out whose alert it was under (0: from /away)
    days: int  # 0 today, or how many days from today


class BackFromAway(Button, prefix="w:back"):
    pass


# --- a category's questions in a report (handlers/report_questions.py) ---------------------------

class AnswerQuestion(Button, prefix="r:ans"):
    """An answer on a button: "yes"/"no" or a choice's option code, to the question named."""
    draft: int
    question: str
    value: str


class SkipQuestion(Button, prefix="r:qskip"):
    """Skip an optional question."""
    draft: int
    question: str


# --- verification and joint handling (handlers/verify.py, handlers/joint.py) ----------------------

class VerifyCase(Button, prefix="v:ok"):
    case: int


class VerifyWithPhoto(Button, prefix="v:ph"):
    case: int


class SendBackCase(Button, prefix="v:back"):
    case: int


class PartDone(Button, prefix="j:done"):
    part: int


class PartCannot(Button, prefix="j:no"):
    part: int


class ResolveAnyway(Button, prefix="j:any"):
    case: int
