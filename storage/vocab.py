"""The words the store is written in: what a case is and what happened to it, who people are in
which areas of the map, where a reported place came from, what a queued message is, how a call-out
and a case's sync with the city platform stand.

Each is a `StrEnum`, so a member is stored and compared as its plain string (the columns hold
text, and the rows written before these enums read back unchanged), while a misspelt member is an
error when the module is imported or type-checked rather than a branch that never matches.
`storage/models.py` types its columns with them (`Vocabulary`), so a row reads back as members.
"""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    """Where a case is in its closed loop (`storage/cases.py` holds the transitions)."""

    REPORTED = "reported"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    VERIFYING = "verifying"  # resolved by its worker, waiting for the verifier (核查); see storage/verify.py
    CLOSED = "closed"
    REJECTED = "rejected"


# Someone still has to act on a case in these states; a case in a final state never changes again.
OPEN_STATES: tuple[CaseState, ...] = (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.ASSIGNED,
                                      CaseState.IN_PROGRESS, CaseState.ESCALATED, CaseState.REOPENED,
                                      CaseState.VERIFYING)
FINAL_STATES: tuple[CaseState, ...] = (CaseState.CLOSED, CaseState.REJECTED)


class EventKind(StrEnum):
    """What one entry of a case's history (`CaseEvent.kind`) records."""

    STATE = "state"  # a change of state (from_state → to_state)
    PHOTOS = "photos"  # a later reporter's photos joined the case
    COMMENT = "comment"  # a follower's note, such as why they are not satisfied
    ON_SITE = "on_site"  # the worker is on site (the note holds where they stood)
    UPSTREAM = "upstream"  # the city platform's status of the case changed
    ROUTED = "routed"  # the case was given to a person, with the reason
    HANDED_BACK = "handed_back"  # its holder gave it back ("not mine", "hand back"), with the reason
    UNREACHED = "unreached"  # it left a holder Telegram could not reach (they never opened the bot)
    CALLOUT = "callout"  # responders were called out around it (the note: the call-out's number and headline)
    PART = "part"  # joint handling (主协办): a co-holder's part was given, done, declined or waived (the note says)


class LocationSource(StrEnum):
    """Where a report's place came from."""

    SHARED = "shared"  # a location shared in the chat
    LIVE = "live"  # a live location
    VENUE = "venue"  # a venue picked in the chat
    EXIF = "exif"  # the position a photo carried
    TYPED = "typed"  # an address typed by hand: not on the map
    OPEN311 = "open311"  # the lat/long of an Open311 request


class Placement(StrEnum):
    """Where a case's point fell on the map (`AreaIndex.locate`), which decides how it is routed."""

    INSIDE = "inside"  # within an area
    NEAR = "near"  # just outside one, within its reach
    OUTSIDE = "outside"  # outside the service area
    TYPED = "typed"  # no point: a typed address


class PhotoRole(StrEnum):
    """What a photo of a case shows."""

    REPORT = "report"  # the problem, sent with the report or by a later reporter
    AFTER = "after"  # the proof of the fix
    CHECK = "check"  # the verifier's own photo, taken when confirming the fix


class Channel(StrEnum):
    """Where a case came from."""

    TELEGRAM = "telegram"
    OPEN311 = "open311"


class DraftStatus(StrEnum):
    """A citizen's report draft: still being put together, or how it ended."""

    OPEN = "open"
    SUBMITTED = "submitted"
    MERGED = "merged"  # its photos joined a case nearby instead
    CANCELLED = "cancelled"
    STOPPED = "stopped"  # a stop answer ended it: the person was told whom to call instead


class SyncState(StrEnum):
    """A case's place in the sync with the city platform (`UpstreamSync.state`)."""

    NEW = "new"  # not posted yet
    RETRY = "retry"  # a post failed in a way that may pass: posted again later
    POSTED = "posted"  # the platform's id is known; its status is asked now and then
    TOKEN = "token"  # the platform gave a token: the id is still to be asked for
    FAILED = "failed"  # refused for good


# The rows the sync still has to post or ask about.
SYNC_PENDING: tuple[SyncState, ...] = (SyncState.NEW, SyncState.RETRY, SyncState.TOKEN)


class Role(StrEnum):
    """What a person is in an area (a citizen has no role row)."""

    WORKER = "worker"
    LEADER = "leader"
    DISPATCHER = "dispatcher"
    RESPONDER = "responder"
    ADMIN = "admin"


class Tag(StrEnum):
    """What kind of worker or responder a person is (`Role.tags`); a call-out may call only some tags."""

    FULL_TIME = "full_time"
    PART_TIME = "part_time"
    PARTY_MEMBER = "party_member"
    VOLUNTEER = "volunteer"
    PROPERTY_STAFF = "property_staff"
    BUILDING_HEAD = "building_head"


class Level(StrEnum):
    """The levels of the map, from the whole district down to a micro-grid of 50–80 households."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    MICROGRID = "microgrid"


class Language(StrEnum):
    """A language the bot speaks (`Person.language`)."""

    ZH = "zh"
    EN = "en"


SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(Language)


class CallOutAnswer(StrEnum):
    """A responder's answer to a call-out."""

    COMING = "coming"
    ARRIVED = "arrived"
    CANNOT = "cannot"


class CallOutState(StrEnum):
    """A call-out: put together (draft), sent (active), stood down (over), or given up as a draft."""

    DRAFT = "draft"
    ACTIVE = "active"
    OVER = "over"
    DROPPED = "dropped"


class CallOutTemplate(StrEnum):
    """The kind of emergency a call-out is about (its headline and CAP category follow from it)."""

    FLOOD = "flood"
    FIRE = "fire"
    MISSING = "missing"
    EVACUATE = "evacuate"
    DOORS = "doors"
    FREE = "free"  # the commander writes the headline


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
    CAP_DRAFT = "cap_draft"
    VERIFY_CARD = "verify_card"
    PART_CARD = "part_card"


class OutboxStatus(StrEnum):
    """A queued message: waiting to be sent (pending), sent, or given up (dead)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


def N_(message: str) -> str:
    """Mark an English message for extraction where it is defined and stored (a queued notice keeps
    the msgid); it is translated into the reader's language where it is shown."""
    return message


# What a case's state is called, to a person: marked here, translated where it is shown (the chat's
# cards, the board).
STATE_NAMES: dict[str, str] = {  # by CaseState (a StrEnum: a stored state string finds it too)
    CaseState.REPORTED: N_("Reported"),
    CaseState.ACCEPTED: N_("Accepted"),
    CaseState.ASSIGNED: N_("Assigned to a grid worker"),
    CaseState.IN_PROGRESS: N_("Being handled"),
    CaseState.RESOLVED: N_("Resolved"),
    CaseState.CLOSED: N_("Closed"),
    CaseState.REJECTED: N_("Not accepted"),
    CaseState.REOPENED: N_("Reopened"),
    CaseState.ESCALATED: N_("Passed to a higher level"),
    CaseState.VERIFYING: N_("Resolved, being verified"),
}


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
    PLAN_NAME = "p_name"  # a call-out draft: the name to save it as a plan under
    PLAN_RENAME = "p_rename"  # a call-out plan: its new name
    SEND_BACK_REASON = "v_back"  # a case being verified: why the verifier sends it back to its worker
    VERIFY_PHOTO = "v_photo"  # a case being verified: the verifier's own photo
    PART_CANNOT = "j_cannot"  # a co-holder's part: why it cannot be done
    RESOLVE_ANYWAY = "j_anyway"  # a task with open parts: why its main holder resolves it anyway


class PartState(StrEnum):
    """A co-holder's part of a case handled jointly (主协办, `CasePart.state`)."""

    OPEN = "open"
    DONE = "done"
    CANNOT = "cannot"  # the co-holder said why it cannot be done
    WAIVED = "waived"  # the main holder resolved the case without it, with a reason


class UpdateState(StrEnum):
    """A step of a case on its way to the city platform as an Open311 service request update."""

    NEW = "new"
    RETRY = "retry"
    SENT = "sent"
    FAILED = "failed"  # refused for good


class VerifyMode(StrEnum):
    """Which resolved cases go to a verifier (GRIDLINE_VERIFY)."""

    NONE = "none"
    ALL = "all"
    CATALOG = "catalog"  # the categories whose catalog entry says verify = true


class Verifier(StrEnum):
    """Who verifies (GRIDLINE_VERIFIER): the case's grid leader, else a dispatcher over it; or a dispatcher."""

    LEADER = "leader"
    DISPATCHER = "dispatcher"
