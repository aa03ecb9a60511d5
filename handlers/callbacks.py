"""Button payloads: short, structured (`r:cat:12:municipal`), parsed in one place.

A payload only says what was pressed; whether it still means anything is decided by the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_PART = re.compile(r"^[a-z0-9_.\-]{1,32}$")

# action -> its arguments: "i" a whole number, "s" a short word (a code), "a" an area code
ACTIONS: dict[str, str] = {
    "r:exif": "i",  # use the photo's EXIF position (draft)
    "r:top": "is",  # a top category chosen (draft, category)
    "r:cat": "is",  # a final category chosen (draft, category)
    "r:back": "i",  # back to the top categories (draft)
    "r:unsure": "i",  # not sure of the category (draft)
    "r:skip": "i",  # no description (draft)
    "r:submit": "i",
    "r:change": "i",  # show what can be changed (draft)
    "r:summary": "i",  # back from "change" to the summary's buttons (draft)
    "r:redo": "is",  # change one part (draft, part)
    "r:cancel": "i",
    "r:merge": "ii",  # add my photos to that case (draft, case)
    "r:anyway": "i",  # report anyway despite a nearby case (draft)
    "c:open": "i",  # a case's timeline (case)
    "c:list": "i",  # a page of my cases (page)
    "c:rate": "ii",  # satisfied 1 / not 0 (case, verdict)
    "lang": "s",  # choose a language (code)
    "d:acc": "i",  # accept a case as it is (case)
    "d:asg": "i",  # choose whom to give a case to (case)
    "d:in": "ia",  # the people and areas inside an area, to give a case to (case, area)
    "d:to": "ii",  # give a case to a worker or leader (case, person)
    "d:rej": "i",  # why not accept a case (case)
    "d:rjr": "ii",  # not accepted for a usual reason (case, reason)
    "d:rjt": "i",  # not accepted, the reason typed (case)
    "d:dup": "i",  # which earlier case this one repeats (case)
    "d:dpo": "ii",  # a duplicate of that case (case, original case)
    "d:dpt": "i",  # a duplicate, the original's number typed (case)
    "d:back": "i",  # back to a case card's buttons (case)
    "d:card": "i",  # send me the card of a waiting case (case)
    "t:acc": "i",  # accept a task (case)
    "t:no": "i",  # not mine: asks why (case)
    "t:site": "i",  # on site (case)
    "t:res": "i",  # resolve: asks for after-photos and a note (case)
    "t:esc": "i",  # escalate: asks why (case)
    "t:back": "i",  # hand back: asks why (case)
    "t:give": "i",  # a leader chooses a worker (case)
    "t:to": "ii",  # a leader gives the task to a worker (case, person)
    "t:card": "i",  # back to the task's buttons (case)
    "t:open": "i",  # send me the task's card (case)
    "m:ans": "ii",
    "m:in": "ia",  # call-out draft: open an area (draft, area)
    "m:tg": "ia",  # call-out draft: tick or untick an area (draft, area)
    "m:pt": "i",  # call-out draft: around a point (draft)
    "m:rad": "ii",  # call-out draft: the radius in metres (draft, metres)
    "m:who": "i",  # call-out draft: who is called (draft)
    "m:tag": "ii",  # call-out draft: tick a kind of responder (draft, tag)
    "m:what": "i",  # call-out draft: what happens (draft)
    "m:tpl": "ii",  # call-out draft: a template (draft, template)
    "m:nomeet": "i",  # call-out draft: no meeting point (draft)
    "m:need": "ii",  # call-out draft: people needed (draft, number)
    "m:go": "ii",  # send the call-out (draft, 1 for a drill)
    "m:x": "i",  # drop the draft (draft)
    "m:re": "i",  # re-alert those who have not answered (call-out)
    "m:up": "i",  # a follow-up to everyone (call-out)
    "m:end": "i",  # stand down (call-out)
    "m:wd": "ii",  # widen the call-out (call-out, 0 neighbouring micro-grids / 1 the whole grids)
    "i:role": "i",  # invite: which role (role)
    "i:in": "ia",  # invite: the areas inside an area (role, area)
    "i:at": "ia",  # invite: this area (role, area)
    "i:mk": "iia",  # invite: make the link (role, tag, area)
    "x:full": "ii",  # the whole text a card shortened (case, step or 0 for the description)
}
_INT = re.compile(r"^[0-9]{1,12}$")
# Every number we put in a button is a store id or a small count; the store's ids are 32-bit, and a
# bigger number sent to PostgreSQL is an error rather than "no such row".
MAX_INT = 2**31 - 1
_AREA = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
_PATTERNS = {"i": _INT, "s": _PART, "a": _AREA}


@dataclass(frozen=True)
class Pressed:
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int) -> int:
        return int(self.args[index])


def button_data(action: str, *args: object) -> str:
    kinds = ACTIONS.get(action)
    if kinds is None or len(kinds) != len(args):
        raise ValueError(f"{action} takes {kinds!r}")
    data = ":".join([action, *(str(a) for a in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
    return data


def parse_button(data: str | None) -> Pressed | None:
    """The pressed button, or None when the payload is not one we could have made."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    for action, kinds in ACTIONS.items():
        if data.startswith(action + ":"):
            args = tuple(data[len(action) + 1 :].split(":"))
            if len(args) != len(kinds):
                return None
            for kind, arg in zip(kinds, args, strict=True):
                if not _PATTERNS[kind].match(arg) or (kind == "i" and int(arg) > MAX_INT):
                    return None
            return Pressed(action, args)
    return None
