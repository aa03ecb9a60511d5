"""The durable outbound queue: messages are written with the change they report, then sent.

Each kind of message (`OutboxKind`) has a payload class here: what it carries, typed, and how it
is stored in the row's JSON. `enqueue` takes a payload, so a kind and its payload cannot disagree;
`read_payload` gives a queued row's payload back as its class (`handlers/notices.py` renders it).
The JSON of every kind is the one earlier releases wrote, so rows queued before an upgrade are
still read and sent after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Self

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from storage.db import changed_rows
from storage.models import CaseEvent, Mobilization, OutboundMessage, Person, Responder
from storage.vocab import OutboxKind, OutboxStatus

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
EMERGENCY, NORMAL, LATER = 0, 5, 9


# --- what each kind of message carries ------------------------------------------------------------


@dataclass(frozen=True)
class _Payload:
    """A payload is stored as its fields, leaving out those at their default (the JSON earlier
    releases wrote); a class whose JSON differs says so by overriding `stored` and `read`."""

    def stored(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.default is MISSING or getattr(self, f.name) != f.default}

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> Self:
        return cls(**{f.name: stored[f.name] for f in fields(cls) if f.name in stored or f.default is MISSING})


@dataclass(frozen=True)
class CaseUpdatePayload(_Payload):
    """A step in a case, for one of its followers."""

    kind: ClassVar[OutboxKind] = OutboxKind.CASE_UPDATE
    case: int
    event: int


@dataclass(frozen=True)
class CitizenCommentPayload(_Payload):
    """What a citizen added to a case (an event with a note), for the worker who holds it."""

    kind: ClassVar[OutboxKind] = OutboxKind.CITIZEN_COMMENT
    case: int
    event: int


@dataclass(frozen=True)
class DispatchCardPayload(_Payload):
    """A case for a dispatcher to decide on."""

    kind: ClassVar[OutboxKind] = OutboxKind.DISPATCH_CARD
    case: int


CardFor = Literal["holder", "leader"]


@dataclass(frozen=True)
class TaskCardPayload(_Payload):
    """A task's card for a worker or leader. `for_` says why they get it, checked again when it is
    sent: "holder" while they hold the task, "leader" while they lead its grid, None while they may
    see it. A `nudge` (not yet accepted) goes only while it still waits for them, and has no photos."""

    kind: ClassVar[OutboxKind] = OutboxKind.TASK_CARD
    case: int
    for_: CardFor | None = None
    nudge: bool = False

    def stored(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"case": self.case}
        if self.for_ is not None:
            stored["for"] = self.for_
        if self.nudge:
            stored["nudge"] = 1  # as the timers have always written it
        return stored

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> Self:
        meant_for = stored.get("for")
        return cls(stored["case"], meant_for if meant_for in ("holder", "leader") else None, bool(stored.get("nudge")))


@dataclass(frozen=True)
class ReminderPayload(_Payload):
    """A deadline reminder of a task, at `stage` (1 at half the time limit, 2 at 80 %, 3 at the deadline)."""

    kind: ClassVar[OutboxKind] = OutboxKind.REMINDER
    case: int
    stage: int


@dataclass(frozen=True)
class DigestPayload(_Payload):
    """The morning digest of a local day (an ISO date), drawn from the store when it is sent."""

    kind: ClassVar[OutboxKind] = OutboxKind.DIGEST
    day: str


@dataclass(frozen=True)
class NoticePayload(_Payload):
    """A short message written in the code: `text` is its English msgid (marked with N_), shown in
    the reader's language when it is sent, with `args` for its named placeholders."""

    kind: ClassVar[OutboxKind] = OutboxKind.NOTICE
    text: str
    args: Mapping[str, str | int] | None = None


@dataclass(frozen=True)
class CalloutPayload(_Payload):
    """A call-out's alert to a responder; `again` when it is a re-alert of one who has not answered."""

    kind: ClassVar[OutboxKind] = OutboxKind.CALLOUT
    mobilization: int
    again: bool = False


@dataclass(frozen=True)
class CalloutWidenPayload(_Payload):
    """An offer to the commander to call more responders, while too few are coming."""

    kind: ClassVar[OutboxKind] = OutboxKind.CALLOUT_WIDEN
    mobilization: int


@dataclass(frozen=True)
class CalloutUpdatePayload(_Payload):
    """The commander's follow-up, as typed, to everyone the call-out reached."""

    kind: ClassVar[OutboxKind] = OutboxKind.CALLOUT_UPDATE
    mobilization: int
    text: str


@dataclass(frozen=True)
class CalloutEndPayload(_Payload):
    """The stand-down, to everyone the call-out reached."""

    kind: ClassVar[OutboxKind] = OutboxKind.CALLOUT_END
    mobilization: int


@dataclass(frozen=True)
class CapDraftPayload(_Payload):
    """A call-out drafted from an official warning (CAP), for a dispatcher to send or dismiss."""

    kind: ClassVar[OutboxKind] = OutboxKind.CAP_DRAFT
    alert: int


@dataclass(frozen=True)
class VerifyCardPayload(_Payload):
    """A resolved case for its verifier (核查): the before- and after-photos and the buttons."""

    kind: ClassVar[OutboxKind] = OutboxKind.VERIFY_CARD
    case: int


@dataclass(frozen=True)
class PartCardPayload(_Payload):
    """A co-holder's part of a joint case (主协办); `stage` > 0 is a reminder of it (1 half-time, 2 due)."""

    kind: ClassVar[OutboxKind] = OutboxKind.PART_CARD
    part: int
    stage: int = 0


OutboxPayload = (CaseUpdatePayload | CitizenCommentPayload | DispatchCardPayload | TaskCardPayload | ReminderPayload
                 | DigestPayload | NoticePayload | CalloutPayload | CalloutWidenPayload | CalloutUpdatePayload
                 | CalloutEndPayload | CapDraftPayload | VerifyCardPayload | PartCardPayload)

# By the kind a row stores (a plain string: rows are read back as they were written).
PAYLOADS: dict[str, type[OutboxPayload]] = {payload.kind.value: payload for payload in (
    CaseUpdatePayload, CitizenCommentPayload, DispatchCardPayload, TaskCardPayload, ReminderPayload, DigestPayload,
    NoticePayload, CalloutPayload, CalloutWidenPayload, CalloutUpdatePayload, CalloutEndPayload, CapDraftPayload,
    VerifyCardPayload, PartCardPayload)}
assert set(PAYLOADS) == set(OutboxKind), "every kind of queued message has its payload class"


def read_payload(message: OutboundMessage) -> OutboxPayload | None:
    """A queued row's payload as its class, or None for a kind this release does not know."""
    payload_type = PAYLOADS.get(message.kind)
    return payload_type.read(message.payload) if payload_type is not None else None


# --- what a payload names, loaded when the message is rendered ------------------------------------


async def named_event(session: AsyncSession, event_id: int) -> CaseEvent | None:
    return await session.get(CaseEvent, event_id)


# --- the queue ------------------------------------------------------------------------------------


async def enqueue(session: AsyncSession, person_id: int, payload: OutboxPayload, now: datetime,
                  priority: int = NORMAL) -> OutboundMessage:
    """Queue a message for a person, sent once this transaction commits (its kind is the payload's)."""
    message = OutboundMessage(
        person_id=person_id,
        kind=payload.kind.value,
        payload=payload.stored(),
        priority=priority,
        status="pending",
        attempts=0,
        created_at=now,
        not_before=now,
    )
    session.add(message)
    session.info["outbox_queued"] = True
    return message


# Held (PostgreSQL, for one claim's transaction) so that claims by several senders go one at a
# time: each sees the claims committed before it ("gridline" and "outbox" in ASCII).
CLAIM_LOCK = 0x6772_6964_6F75_7462


async def claim_due(session: AsyncSession, now: datetime, limit: int, owner: str = "",
                    spacing: timedelta = timedelta(0)) -> list[OutboundMessage]:
    """Take up to `limit` due messages, in the queue's order (priority, then age), under a lease so
    no other sender takes them.

    A person's messages go from one sender at a time, in order: a message is left alone while
    another sender holds a claim on any pending message of the same person, or sent one to them
    less than `spacing` ago (Telegram's interval between two messages to one chat). On PostgreSQL
    the claims of several senders are taken one after the other (an advisory lock for this
    transaction, which should hold the claim only), so a claim sees every claim committed before it;
    a claim's rows are also locked, skipped by whoever else is looking.
    """
    postgres = session.bind.dialect.name == "postgresql"
    if postgres:
        await session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
    other = aliased(OutboundMessage)
    someone_else = or_(other.claimed_by.is_(None), other.claimed_by != owner)
    # Each test is an equality on (person_id, status), the index's two columns: a planner without
    # statistics yet (a call-out's thousands of rows, just queued) otherwise scans every pending
    # row for each candidate, a second per claim at 5,000 rows.
    busy: ColumnElement[bool] = exists().where(other.person_id == OutboundMessage.person_id, other.status == "pending",
                          other.claimed_until >= now, someone_else)
    if spacing > timedelta(0):
        busy = or_(busy, exists().where(other.person_id == OutboundMessage.person_id, other.status == "sent",
                                        other.sent_at > now - spacing, someone_else))
    due = (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.status == "pending",
            OutboundMessage.not_before <= now,
            (OutboundMessage.claimed_until.is_(None)) | (OutboundMessage.claimed_until < now),
            ~busy,
        )
        .order_by(OutboundMessage.priority, OutboundMessage.id)
        .limit(limit)
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    ids = list((await session.scalars(due)).all())
    if not ids:
        return []
    await session.execute(
        update(OutboundMessage).where(OutboundMessage.id.in_(ids)).values(claimed_until=now + LEASE, claimed_by=owner)
    )
    rows = await session.scalars(
        select(OutboundMessage).where(OutboundMessage.id.in_(ids)).order_by(OutboundMessage.priority, OutboundMessage.id)
    )
    return list(rows.all())


@dataclass(frozen=True)
class Claimed:
    """A claimed message and its recipient (None when the person is gone)."""

    message: OutboundMessage
    person: Person | None


async def claimed_for_sending(session: AsyncSession, message_ids: list[int]) -> list[Claimed]:
    """The claimed messages (in the queue's order, those still pending), with their recipients and
    what their call-out alerts name loaded in a query each rather than one per message: rendering
    the messages in this session then finds them there."""
    messages = list(await session.scalars(select(OutboundMessage).where(
        OutboundMessage.id.in_(message_ids), OutboundMessage.status == "pending",
    ).order_by(OutboundMessage.priority, OutboundMessage.id)))
    if not messages:
        return []
    people = {person.id: person for person in await session.scalars(
        select(Person).where(Person.id.in_({message.person_id for message in messages})))}
    alerts: dict[int, set[int]] = {}
    for message in messages:
        if message.kind == OutboxKind.CALLOUT and isinstance(mobilization := message.payload.get("mobilization"), int):
            alerts.setdefault(mobilization, set()).add(message.person_id)
    # The session holds what it loaded only while it is referenced: the rows are kept with it.
    kept: list[object] = session.info.setdefault("outbox_loaded", [])
    if alerts:
        mobilizations = list(await session.scalars(select(Mobilization).where(Mobilization.id.in_(alerts))))
        kept.extend(mobilizations)
        kept.extend(await session.scalars(select(Person).where(
            Person.id.in_({mobilization.commander_id for mobilization in mobilizations}))))
    for mobilization_id, person_ids in alerts.items():
        kept.extend(await session.scalars(select(Responder).where(
            Responder.mobilization_id == mobilization_id, Responder.person_id.in_(person_ids))))
    return [Claimed(message, people.get(message.person_id)) for message in messages]


async def release_claims(session: AsyncSession, owner: str = "") -> int:
    """Free the messages this sender (by its instance name) had claimed when it stopped: a crash
    leaves them leased, and a restarted process sends them at once instead of after the lease.
    Other processes' claims are theirs to keep."""
    return await changed_rows(session, update(OutboundMessage).where(
        OutboundMessage.status == "pending", OutboundMessage.claimed_until.is_not(None), OutboundMessage.claimed_by == owner
    ).values(claimed_until=None))


async def mark_sent(session: AsyncSession, message_ids: list[int], now: datetime) -> None:
    await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(message_ids))
        .values(status="sent", sent_at=now, claimed_until=None, attempts=OutboundMessage.attempts + 1)
    )


async def attempts(session: AsyncSession, message_id: int) -> int:
    """How many times a message was tried (0 when it is gone)."""
    message = await session.get(OutboundMessage, message_id)
    return message.attempts if message else 0


async def mark_retry(session: AsyncSession, message_id: int, error: str, not_before: datetime) -> bool:
    """Put the message back for a later try; False when it has used up its tries and is dead."""
    message = await session.get(OutboundMessage, message_id)
    if message is None:
        return False
    message.attempts += 1
    message.last_error = error[:300]
    message.claimed_until = None
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.DEAD
        return False
    message.not_before = not_before
    return True


async def mark_dead(session: AsyncSession, message_id: int, error: str) -> None:
    """Give up on a message for good (the person blocked the bot, or it can never be sent)."""
    await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(status="dead", last_error=error[:300], claimed_until=None)
    )


async def defer_person(session: AsyncSession, person_id: int, not_before: datetime) -> None:
    """Hold back everything queued for one person, as Telegram's flood control asks."""
    await session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.person_id == person_id,
            OutboundMessage.status == "pending",
            OutboundMessage.not_before < not_before,
        )
        .values(not_before=not_before)
    )


async def release(session: AsyncSession, message_ids: list[int]) -> None:
    """Free these claimed messages, to be claimed again (by any sender) in the queue's order."""
    await session.execute(update(OutboundMessage).where(
        OutboundMessage.id.in_(message_ids), OutboundMessage.status == "pending").values(claimed_until=None))
