"""The tables of the case store, as typed SQLAlchemy models: people and their roles in the areas of
the map, cases with their history, photos and followers, report drafts, queued messages, call-outs,
and a case's sync with the city platform.

A column that holds a word of a vocabulary (`storage/vocab.py`) is stored as text and read back
as the enum's member (`Vocabulary`), so no migration was needed to type it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage import vocab
from storage.vocab import (
    CallOutAnswer,
    CallOutState,
    CallOutTemplate,
    CaseState,
    Channel,
    DraftStatus,
    EventKind,
    Language,
    Level,
    LocationSource,
    OutboxKind,
    OutboxStatus,
    PartState,
    PhotoRole,
    Placement,
    SyncState,
    UpdateState,
)

Word = TypeVar("Word", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Vocabulary(TypeDecorator[Word]):
    """A word of one vocabulary, stored as its plain text (the column stays a VARCHAR, so the schema
    does not change) and read back as the enum's member. A word the vocabulary does not have is
    refused when written, and when read (the store holds none)."""

    impl = String
    cache_ok = True

    def __init__(self, vocabulary: type[Word], length: int) -> None:
        super().__init__(length)
        self.vocabulary = vocabulary
        self.length = length

    def process_bind_param(self, value: Word | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.vocabulary(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Word | None:
        return None if value is None else self.vocabulary(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    tg_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[Language] = mapped_column(Vocabulary(Language, 8))
    # Set once the person picks a language, so Telegram's language_code no longer overrides it.
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Telegram said the person never opened the bot (known only from a roster): with `blocked` they
    # cannot be reached; without it they have written since, and /start gives them back their work.
    never_opened: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A question the bot asked and waits for a typed answer to, e.g. why a citizen is not satisfied.
    # Plain text, not a Vocabulary: a question this release does not know reads back as no question
    # (`people.awaited`) instead of failing the person's every update.
    awaiting: Mapped[str | None] = mapped_column(String(32))
    awaiting_ref: Mapped[int | None] = mapped_column(Integer)
    # When each kind of hint was last shown (ISO time), so a burst of wrong input gets one hint.
    hints: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # A responder away (/away) until this moment (the start of the local day after the date they
    # gave): call-outs, plans and waves skip them meanwhile. None: not away.
    away_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the person asked to be forgotten (/forget): their name is a pseudonym, their chat id gone.
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Category(Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    time_limit_hours: Mapped[int] = mapped_column(Integer)
    handling_level: Mapped[Level] = mapped_column(Vocabulary(Level, 16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Codes that left the catalog stay for the cases that use them, but are no longer offered.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Separate limits (hours from the report) to accept and to arrive on site; None: none set.
    accept_hours: Mapped[int | None] = mapped_column(Integer)
    arrive_hours: Mapped[int | None] = mapped_column(Integer)
    # A resolved case of this category goes to a verifier (核查) before its citizen rates it (GRIDLINE_VERIFY=catalog).
    verify: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Photo(Base):
    """An image file kept under the data dir, named by the SHA-256 of its content."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(40))
    # The chat platform's own handle for the same file, to send it again without uploading it.
    channel_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportDraft(Base):
    """A report a citizen is still putting together; kept in the store so a restart loses nothing."""

    __tablename__ = "report_drafts"
    __table_args__ = (Index("ix_report_drafts_person_status", "person_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[DraftStatus] = mapped_column(Vocabulary(DraftStatus, 12), default=DraftStatus.OPEN)
    step: Mapped[str] = mapped_column(String(16))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    location_source: Mapped[LocationSource | None] = mapped_column(Vocabulary(LocationSource, 12))
    exif_lat: Mapped[float | None] = mapped_column(Float)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    description: Mapped[str | None] = mapped_column(Text)
    description_done: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    last_media_group: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The category's questions (their codes, in order, as the catalog had them when it was chosen)
    # and the answers so far ({code: value}; None for an optional one skipped).
    questions: Mapped[list[str] | None] = mapped_column(JSON)
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    photos: Mapped[list[DraftPhoto]] = relationship(
        order_by="DraftPhoto.position", cascade="all, delete-orphan", lazy="selectin"
    )


class DraftPhoto(Base):
    __tablename__ = "draft_photos"
    __table_args__ = (UniqueConstraint("draft_id", "photo_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("report_drafts.id", ondelete="CASCADE"))
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    position: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_category_state", "category_code", "state"),
        Index("ix_cases_reporter_created", "reporter_id", "created_at"),
        Index("ix_cases_lat", "lat"),
        Index("ix_cases_assignee_state", "assignee_id", "state"),
        Index("ix_cases_area_state", "area_code", "state"),
        Index("ix_cases_created", "created_at"),
        Index("ix_cases_category_created", "category_code", "created_at"),
        # The command-centre board (issue 17): the open cases in a box of the map, read from the index alone.
        Index("ix_cases_board", "state", "lat", "lon", "deadline_at", "area_code", "assignee_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    # The citizen in the chat; None for a case that came from another channel (Open311).
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[Channel] = mapped_column(Vocabulary(Channel, 16), default=Channel.TELEGRAM,
                                             server_default=Channel.TELEGRAM.value)
    # What another channel told us of the reporter (name, e-mail, phone) and the request (media_url…).
    reporter_contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state: Mapped[CaseState] = mapped_column(Vocabulary(CaseState, 16), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    location_verified: Mapped[bool] = mapped_column(Boolean)
    location_source: Mapped[LocationSource] = mapped_column(Vocabulary(LocationSource, 12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 1 satisfied, 0 not satisfied; the latest answer of the reporter.
    rating: Mapped[int | None] = mapped_column(Integer)
    # Where the point fell (inside / near / outside / typed) and the area it was routed by.
    placement: Mapped[Placement | None] = mapped_column(Vocabulary(Placement, 8))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    # Who holds the case now: a worker, a leader, or a dispatcher deciding what to do with it.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # Set when a dispatcher found this to be the same problem as an earlier case; its reporters follow that one.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The task's clock: when its holder got it, took it on, finished it, last passed it up.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far the reminders have gone: nudges to accept (0-2), deadline reminders (0 none, 1 at 50 %,
    # 2 at 80 %, 3 at the deadline, 4 escalated for being overdue).
    nudges: Mapped[int] = mapped_column(Integer, default=0)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    # When the timers must next look at this case (None: nothing pending). A change sets it to "now".
    alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The answers to the category's questions ({code: value}; None for an optional one skipped).
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The limits per step (工作时限), set from the category when the case is made (None: no such
    # limit), and when the holder first said they were on site.
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrive_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first acceptance (accepted_at is the latest, and is cleared when the case changes hands).
    first_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Reminders for the steps before resolving: 1 the holder was told they are late to accept or
    # arrive, 2 the leader was told too (counted afresh for each step).
    step_alerts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Who verifies the fix while the case is "verifying" (核查): a grid leader or a dispatcher.
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # When the reporter's identity, the exact point and the citizens' photos were removed
    # (storage/retention.py); None while they are kept.
    identity_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CasePhoto(Base):
    __tablename__ = "case_photos"
    __table_args__ = (UniqueConstraint("case_id", "photo_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    # report: sent with the report or added by a later reporter; after: proof of the fix.
    role: Mapped[PhotoRole] = mapped_column(Vocabulary(PhotoRole, 8))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class CaseEvent(Base):
    """One thing that happened to a case: the single source of timelines, reminders and sync."""

    __tablename__ = "case_events"
    # ix_case_events_at: the steps since a time, for GET servicerequestupdates (storage/platform_updates.py).
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"), Index("ix_case_events_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[EventKind] = mapped_column(Vocabulary(EventKind, 16))
    from_state: Mapped[CaseState | None] = mapped_column(Vocabulary(CaseState, 16))
    to_state: Mapped[CaseState | None] = mapped_column(Vocabulary(CaseState, 16))
    note: Mapped[str | None] = mapped_column(Text)


class CaseFollower(Base):
    __tablename__ = "case_followers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseCounter(Base):
    """The last case number given out on one local day."""

    __tablename__ = "case_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class OutboundMessage(Base):
    """A message to a person, queued in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "not_before"),
                      Index("ix_outbox_status_priority", "status", "priority", "id"),
                      Index("ix_outbox_person_status", "person_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[OutboxKind] = mapped_column(Vocabulary(OutboxKind, 32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # 0 emergencies, 5 the rest, 9 reminders and digests: lower goes first.
    priority: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[OutboxStatus] = mapped_column(Vocabulary(OutboxStatus, 8), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which sending process holds the claim: a restarted process frees only its own.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class Area(Base):
    """One area of the map: district, street, community, grid or micro-grid, with its boundary."""

    __tablename__ = "areas"
    __table_args__ = (Index("ix_areas_level", "level"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[Level] = mapped_column(Vocabulary(Level, 12))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    # The boundary as WKB (WGS-84 longitude, latitude); its bounding box for cheap filtering in SQL.
    boundary: Mapped[bytes] = mapped_column(LargeBinary)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Role(Base):
    """One hat a person wears in one area: a grid's worker, a community's dispatcher, an admin."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "area_code"), Index("ix_roles_area_role", "area_code", "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[vocab.Role] = mapped_column(Vocabulary(vocab.Role, 12))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    # worker: full_time / part_time; responder: party_member, volunteer, property_staff, building_head
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invite(Base):
    """A one-time deep link that gives whoever opens it first a role in an area."""

    __tablename__ = "invites"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[vocab.Role] = mapped_column(Vocabulary(vocab.Role, 12))
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ResolutionDraft(Base):
    """A worker's after-photos for a case, kept until the note that finishes the resolution."""

    __tablename__ = "resolution_drafts"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckIn(Base):
    """A worker out on patrol: where they were and, for a live location, until when it counts."""

    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_person_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    live_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The chat message a live location keeps editing, so its updates move this row.
    message_id: Mapped[int | None] = mapped_column(BigInteger)


class JobRun(Base):
    """The last local day a once-a-day job ran, so a restart neither skips nor repeats it."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_day: Mapped[str] = mapped_column(String(10))


class Mobilization(Base):
    """An emergency call-out (一键激活) of the responders of some micro-grids, and its roll call."""

    __tablename__ = "mobilizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    commander_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # draft while it is put together, active once sent, over once stood down
    state: Mapped[CallOutState] = mapped_column(Vocabulary(CallOutState, 8), default=CallOutState.DRAFT)
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "around a point": the centre and radius that chose the micro-grids
    center_lat: Mapped[float | None] = mapped_column(Float)
    center_lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every responder
    template: Mapped[CallOutTemplate | None] = mapped_column(Vocabulary(CallOutTemplate, 16))
    headline: Mapped[str | None] = mapped_column(String(200))
    instruction: Mapped[str | None] = mapped_column(Text)
    meet_lat: Mapped[float | None] = mapped_column(Float)
    meet_lon: Mapped[float | None] = mapped_column(Float)
    need: Mapped[int | None] = mapped_column(Integer)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    realerts: Mapped[int] = mapped_column(Integer, default=0)
    widen_offered: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where it came from (issue 16): the plan fired, the case it was called out around; and after
    # how many minutes without enough people coming the next wave goes out (None: no waves).
    plan_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    wave_minutes: Mapped[int | None] = mapped_column(Integer)
    # Waves (issue 16, part B): how many went out (0: it does not wave), when the last one went, how
    # many of its tags (in their order of preference) were called, and whether they were stopped
    # (by the commander). `wave_at` is None once no further wave can go.
    wave: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wave_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wave_tags: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    waves_stopped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The commander's live board: which message, what it last said, when it was last edited.
    board_message_id: Mapped[int | None] = mapped_column(BigInteger)
    board_text: Mapped[str | None] = mapped_column(Text)
    board_edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Responder(Base):
    """One person called out, and how they answered."""

    __tablename__ = "mobilization_responders"
    __table_args__ = (Index("ix_mobilization_responders_person", "person_id"),)

    mobilization_id: Mapped[int] = mapped_column(ForeignKey("mobilizations.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    answer: Mapped[CallOutAnswer | None] = mapped_column(Vocabulary(CallOutAnswer, 8))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    alerts: Mapped[int] = mapped_column(Integer, default=1)
    arrived_lat: Mapped[float | None] = mapped_column(Float)
    arrived_lon: Mapped[float | None] = mapped_column(Float)
    # Which wave called them (1 for a call-out without waves); `away`: in scope but away (/away),
    # so not alerted, and counted apart on the roll call.
    wave: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    away: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ApiKey(Base):
    """A key another system posts Open311 requests with; only its hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UpstreamSync(Base):
    """One case's place in the city platform: its POST (with retries), the id it got, and the last
    status seen there. The row is the sync's durable outbox."""

    __tablename__ = "upstream_sync"
    __table_args__ = (Index("ix_upstream_sync_state_next", "state", "next_at"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    # new → posted (id known) | token (id to ask for) | failed (refused for good); retry after a
    # failure that may be temporary (a post on its way shows as `maybe_posted`)
    state: Mapped[SyncState] = mapped_column(Vocabulary(SyncState, 8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # True when a POST may have reached the platform without its answer reaching us: look before posting again
    maybe_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    upstream_id: Mapped[str | None] = mapped_column(String(64), index=True)
    token: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Plain text: what the platform said, whatever it said.
    upstream_status: Mapped[str | None] = mapped_column(String(16))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SeenUpdate(Base):
    """A Telegram update id a web process took, kept a day: Telegram sends an update again when it
    thinks it was not received, and the load balancer may give the resend to another process."""

    __tablename__ = "seen_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SendSlot(Base):
    """One of the N calls a second a Bot API limit allows, shared by the sending processes
    (PostgreSQL; `storage/send_slots.py`): held by a call from the moment it leaves until a second
    after its answer, or until its lease runs out when its holder died."""

    __tablename__ = "send_slots"

    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    held_until: Mapped[datetime] = mapped_column(UTCDateTime)
    holder: Mapped[str | None] = mapped_column(String(64))


class CapAlertRecord(Base):
    """An official warning received as a CAP 1.2 alert (issue 16): once per identifier and sender,
    with the call-out drafted from it (an Update or Cancel names the call-out its reference drafted)."""

    __tablename__ = "cap_alerts"
    __table_args__ = (UniqueConstraint("identifier", "sender", name="uq_cap_alerts_identifier_sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    msg_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8))
    mobilization_id: Mapped[int | None] = mapped_column(ForeignKey("mobilizations.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    via: Mapped[str] = mapped_column(String(80))  # the API key's name, or the feed's URL
    raw: Mapped[str] = mapped_column(Text)  # the alert as received (at most cap_read.MAX_BYTES)


class CallOutChange(Base):
    """A call-out changed after it was sent (widened, or its message changed): each is a CAP Update
    of the call-out's alert when it is exported."""

    __tablename__ = "callout_changes"

    mobilization_id: Mapped[int] = mapped_column(ForeignKey("mobilizations.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    what: Mapped[str] = mapped_column(String(16))  # widened | changed


class Plan(Base):
    """A call-out plan (应急预案): a call-out prepared in advance for an area, fired in one tap.
    Its scope is micro-grids or whole areas (`area_codes`), or around a point (`center_*`, `radius_m`);
    its message is kept in both languages, so each responder can read it in their own."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("area_code", "name", name="uq_plans_area_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The area it is saved for: its leaders, dispatchers and admins (or theirs above) see and fire it.
    # Not a foreign key: a map imported again may drop an area, and the plan then waits to be fixed.
    area_code: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(64))
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    center_lat: Mapped[float | None] = mapped_column(Float)
    center_lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # in order of preference; empty: everyone
    headline_zh: Mapped[str] = mapped_column(String(200))
    headline_en: Mapped[str] = mapped_column(String(200))
    instruction_zh: Mapped[str | None] = mapped_column(Text)
    instruction_en: Mapped[str | None] = mapped_column(Text)
    meet_lat: Mapped[float | None] = mapped_column(Float)
    meet_lon: Mapped[float | None] = mapped_column(Float)
    need: Mapped[int | None] = mapped_column(Integer)
    wave_minutes: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # None: imported from a file
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasePart(Base):
    """A co-holder's part of a case handled jointly (主协办): the main holder is the case's assignee;
    each co-holder (another grid's worker or leader, or a department's person) marks their part done,
    or says why not. A part has its own reminders and escalation (storage/timers.py)."""

    __tablename__ = "case_parts"
    __table_args__ = (UniqueConstraint("case_id", "holder_id", name="uq_case_parts_case_holder"),
                      Index("ix_case_parts_holder_state", "holder_id", "state"),
                      Index("ix_case_parts_state_alarm", "state", "alarm_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    area_code: Mapped[str | None] = mapped_column(String(40))  # the area it was given for
    state: Mapped[PartState] = mapped_column(Vocabulary(PartState, 8), default=PartState.OPEN)
    note: Mapped[str | None] = mapped_column(Text)  # why it cannot be done, or why it was waived
    given_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 0 none, 1 at half the time, 2 at the deadline, 3 escalated to whoever gave it
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UpstreamUpdate(Base):
    """One step of a posted case on its way to the city platform (Open311 `POST servicerequestupdates`):
    written with the step, sent once the case has its upstream id, in order, retried with backoff.
    `update_id` is stable, so a send whose answer was lost carries the same id again."""

    __tablename__ = "upstream_updates"
    __table_args__ = (Index("ix_upstream_updates_state_next", "state", "next_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("case_events.id"), unique=True)
    update_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(8))  # open | closed
    description: Mapped[str] = mapped_column(Text)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))  # its media link is made when sent
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[UpdateState] = mapped_column(Vocabulary(UpdateState, 8), default=UpdateState.NEW)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BoardPass(Base):
    """The command-centre board's way in (issue 17): a one-time link (`link`, opened once within
    minutes) or the session it started (`session`, hours). Only the SHA-256 of the token is kept."""

    __tablename__ = "board_passes"
    __table_args__ = (Index("ix_board_passes_person", "person_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # link | session
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
