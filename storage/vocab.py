"""The words the store is written in: case states, roles, map levels, languages, queued-message kinds.

Each is a `StrEnum`, so a member is stored and compared as its plain string (the columns hold
text, and the rows written before these enums read back unchanged), while a misspelt member is an
error when the module is imported or type-checked rather than a branch that never matches.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"


OPEN_STATES = (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.ASSIGNED, CaseState.IN_PROGRESS,
               CaseState.ESCALATED, CaseState.REOPENED)
FINAL_STATES = (CaseState.CLOSED, CaseState.REJECTED)


class Role(StrEnum):
    """What a person is in an area (a citizen has no role row)."""

    WORKER = "worker"
    LEADER = "leader"
    DISPATCHER = "dispatcher"
    RESPONDER = "responder"
    ADMIN = "admin"


class Level(StrEnum):
    """The levels of the map, from the whole district down to a micro-grid of 50–80 households."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    MICROGRID = "microgrid"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(Language)


class CallOutAnswer(StrEnum):
    """A responder's answer to a call-out."""

    COMING = "coming"
    ARRIVED = "arrived"
    CANNOT = "cannot"


class CallOutState(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    OVER = "over"
    DROPPED = "dropped"


class OutboxKind(StrEnum):
    """What a queued message is; `handlers/notices.py` renders each kind when it is sent."""

    CASE_UPDATE = "case_update"
    DISPATCH_CARD = "dispatch_card"
    TASK_CARD = "task_card"
    REMINDER = "reminder"
    DIGEST = "digest"
    CITIZEN_COMMENT = "citizen_comment"
    NOTICE = "notice"
    CALLOUT = "callout"
    CALLOUT_WIDEN = "callout_widen"
    CALLOUT_UPDATE = "callout_update"
    CALLOUT_END = "callout_end"


def N_(message: str) -> str:
    """Mark an English message for extraction where it is defined and stored (a queued notice keeps
    the msgid); it is translated into the reader's language where it is shown."""
    return message


class Question(StrEnum):
    """What a person's next typed message (or shared place, or photo) answers: `Person.awaiting`.
    `Person.awaiting_ref` is the object the question is about, named in each member's comment.
    Each conversation declares what it accepts at its questions (`handlers/answers.py` routes)."""

    REOPEN_REASON = "reopen_reason"  # a citizen's case: why she is not satisfied
    REJECT_REASON = "reject_reason"  # a case: why the dispatcher does not accept it
    DUPLICATE_NUMBER = "duplicate_number"  # a case: the number of the case it repeats
    RESOLVING = "resolving"  # a task: after-photos, then a note for the citizen
    NOT_MINE = "task_not_mine"  # a task: why it is not the worker's
    HAND_BACK = "task_hand_back"  # a task: why it is handed back
    ESCALATE = "task_escalate"  # a task: why it should go up a level
    ON_SITE = "on_site"  # a task: the worker's position on site (optional)
    CHECKING_IN = "checkin"  # nothing: a worker's patrol check-in position (optional)
    CALLOUT_POINT = "m_point"  # a call-out draft: the centre of "around a point"
    CALLOUT_HEADLINE = "m_headline"  # a call-out draft: what happens
    CALLOUT_INSTRUCTION = "m_instruction"  # a call-out draft: what responders should do
    CALLOUT_MEETING = "m_meeting"  # a call-out draft: the meeting point
    CALLOUT_UPDATE = "m_update"  # a live call-out: a follow-up to everyone
    ARRIVED_WHERE = "m_arrived"  # a live call-out: a responder's position on arrival (optional)
