"""Official warnings in (CAP 1.2): an alert whose area touches micro-grids becomes a drafted call-out
for the dispatchers of those areas to send with one tap. The same identifier is drafted once; an
Update changes the draft (or, once sent, goes to the responders as a follow-up); a Cancel drops the
draft (or stands the call-out down). Reading and validating the XML is `storage/cap_read.py`.

Knows nothing of HTTP or Telegram: the HTTP face and the feed poller hand it a read alert, the
dispatcher's buttons hand it an alert's id and who pressed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import callouts, outbox
from storage.callout_scope import command_of, micro_grids_around, micro_grids_in, people_in_scope
from storage.callouts import CallOutError, Refusal
from storage.cap import record_change
from storage.cap_read import CapAlert, CapArea, CapInfo, CapRefused, read_alert
from storage.map_index import AreaIndex
from storage.models import CapAlertRecord, Mobilization, Person
from storage.models import Role as HeldRole
from storage.vocab import N_, CallOutState, Level, Role

CANCELLED = N_("✖️ {sender} cancelled its warning: the call-out drafted from it was dropped. Nothing was sent.")
ACTED_ON = ("Actual", "Exercise")  # statuses that draft a call-out (Test, System, Draft do not)
MAX_HEADLINE = 200
MAX_INSTRUCTION = 1000


@dataclass(frozen=True)
class Received:
    """What became of an alert: `outcome` is drafted, repeat, updated, followed_up, dropped,
    stood_down or unchanged; the call-out it concerns, and who was asked to confirm."""

    status: int
    outcome: str
    alert_id: int
    mobilization_id: int | None
    dispatchers: int = 0


def _cut(text: str | None, limit: int) -> str | None:
    """An official text longer than our column: cut with an ellipsis (it is not a person's typing)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def micro_grids_of(index: AreaIndex, areas: list[CapArea]) -> list[str]:
    """Every micro-grid the alert's areas touch: polygons and circles by geometry, geocodes whose
    value is the code of an area on our map (the micro-grids inside it)."""
    found: set[str] = set()
    for area in areas:
        for ring in area.polygons:
            shape = shapely.Polygon([(lon, lat) for lat, lon in ring])
            if not shape.is_valid:
                shape = shape.buffer(0)
            hits = index.tree.query(shape, predicate="intersects")
            found |= {index.codes[i] for i in hits.tolist() if index.levels[i] == Level.MICROGRID}
        for lat, lon, km in area.circles:
            found |= set(micro_grids_around(index, lat, lon, max(km * 1000, 1.0)))
        codes = [value for _name, value in area.geocodes if value in index.position]
        found |= set(micro_grids_in(index, codes))
    return sorted(found)


async def dispatchers_of(session: AsyncSession, index: AreaIndex, micro_grids: list[str]) -> list[int]:
    """The dispatchers whose areas hold any of these micro-grids; where there are none, the
    administrators of everywhere."""
    rows = (await session.execute(select(HeldRole.person_id, HeldRole.area_code).join(
        Person, Person.id == HeldRole.person_id).where(HeldRole.role == Role.DISPATCHER, Person.blocked.is_(False)))).all()
    wanted = {person for person, area in rows if area and any(index.within(code, {area}) for code in micro_grids)}
    if not wanted:
        wanted = set((await session.scalars(select(HeldRole.person_id).where(
            HeldRole.role == Role.ADMIN, HeldRole.area_code.is_(None)))).all())
    return sorted(wanted)


async def _record(session: AsyncSession, alert: CapAlert, raw: str, via: str, now: datetime,
                  mobilization_id: int | None) -> CapAlertRecord:
    record = CapAlertRecord(identifier=alert.identifier, sender=alert.sender, msg_type=alert.msg_type,
                            status=alert.status, mobilization_id=mobilization_id, received_at=now, via=via[:80], raw=raw)
    session.add(record)
    await session.flush()
    return record


async def _referenced(session: AsyncSession, alert: CapAlert) -> CapAlertRecord | None:
    """The latest alert we drafted from that this one references; only a sender's own alerts (an
    Update or Cancel from anyone else changes nothing of theirs)."""
    for sender, identifier, _sent in reversed(alert.references):
        if sender != alert.sender:
            continue
        found = await session.scalar(select(CapAlertRecord).where(
            CapAlertRecord.sender == sender, CapAlertRecord.identifier == identifier,
            CapAlertRecord.mobilization_id.is_not(None)))
        if found is not None:
            return found
    return None


async def receive(session: AsyncSession, index: AreaIndex, alert: CapAlert, raw: str, via: str, now: datetime) -> Received:
    """Act on a validated alert (see the module's docstring); CapRefused when it cannot be, with
    nothing drafted."""
    known = await session.scalar(select(CapAlertRecord).where(
        CapAlertRecord.identifier == alert.identifier, CapAlertRecord.sender == alert.sender))
    if known is not None:
        return Received(200, "repeat", known.id, known.mobilization_id)
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        raise CapRefused(422, f"msgType {alert.msg_type} is not a warning to act on (Alert, Update or Cancel)")
    if alert.status not in ACTED_ON:
        raise CapRefused(422, f"status {alert.status} is not acted on (only Actual and Exercise)")
    earlier = await _referenced(session, alert) if alert.msg_type != "Alert" else None
    if alert.msg_type == "Cancel":
        if earlier is None:
            raise CapRefused(422, "the Cancel references no alert we drafted a call-out from")
        return await _cancel(session, index, alert, raw, via, now, earlier)
    if not any(area.polygons or area.circles or area.geocodes for area in alert.areas):
        raise CapRefused(422, "the alert has no area (polygon, circle or geocode)")
    micro = micro_grids_of(index, alert.areas)
    if not micro:
        raise CapRefused(422, "the alert's area is outside the map: it touches no micro-grid")
    if earlier is not None:
        return await _update(session, index, alert, raw, via, now, earlier, micro)
    dispatchers = await dispatchers_of(session, index, micro)
    if not dispatchers:
        raise CapRefused(422, "nobody dispatches the areas this alert touches")
    draft = Mobilization(commander_id=dispatchers[0], state=CallOutState.DRAFT, area_codes=micro, tags=[],
                         drill=alert.status == "Exercise", created_at=now, realerts=0, widen_offered=False)
    _words(draft, alert.info_for(""))
    session.add(draft)
    await session.flush()
    record = await _record(session, alert, raw, via, now, draft.id)
    for person_id in dispatchers:
        await outbox.enqueue(session, person_id, outbox.CapDraftPayload(record.id), now, outbox.EMERGENCY)
    return Received(201, "drafted", record.id, draft.id, len(dispatchers))


def _words(mobilization: Mobilization, info: CapInfo | None) -> None:
    if info is not None:
        mobilization.headline = _cut(info.headline or info.event, MAX_HEADLINE)
        mobilization.instruction = _cut(info.instruction or info.description, MAX_INSTRUCTION)


async def _update(session: AsyncSession, index: AreaIndex, alert: CapAlert, raw: str, via: str, now: datetime,
                  earlier: CapAlertRecord, micro: list[str]) -> Received:
    mobilization = await session.get(Mobilization, earlier.mobilization_id)
    assert mobilization is not None
    record = await _record(session, alert, raw, via, now, mobilization.id)
    if mobilization.state == CallOutState.DRAFT:
        mobilization.area_codes = micro
        _words(mobilization, alert.info_for(""))
        dispatchers = await dispatchers_of(session, index, micro)
        for person_id in dispatchers:
            await outbox.enqueue(session, person_id, outbox.CapDraftPayload(record.id), now, outbox.EMERGENCY)
        return Received(200, "updated", record.id, mobilization.id, len(dispatchers))
    if mobilization.state == CallOutState.ACTIVE:
        commander = await session.get(Person, mobilization.commander_id)
        info = alert.info_for(commander.language if commander else "")
        text = "\n".join(t for t in (info.headline or info.event, info.instruction) if t) if info else ""
        try:
            await callouts.follow_up(session, mobilization.id, mobilization.commander_id,
                                     _cut(text, callouts.MAX_UPDATE) or alert.identifier, now)
        except CallOutError:
            return Received(200, "unchanged", record.id, mobilization.id)
        await record_change(session, mobilization.id, "changed", now)
        return Received(200, "followed_up", record.id, mobilization.id)
    return Received(200, "unchanged", record.id, mobilization.id)


async def _cancel(session: AsyncSession, index: AreaIndex, alert: CapAlert, raw: str, via: str, now: datetime,
                  earlier: CapAlertRecord) -> Received:
    mobilization = await session.get(Mobilization, earlier.mobilization_id)
    assert mobilization is not None
    record = await _record(session, alert, raw, via, now, mobilization.id)
    if mobilization.state == CallOutState.DRAFT:
        mobilization.state = CallOutState.DROPPED
        told = await dispatchers_of(session, index, list(mobilization.area_codes))
        for person_id in told:
            await outbox.enqueue(session, person_id, outbox.NoticePayload(CANCELLED, {"sender": alert.sender}), now,
                                 outbox.EMERGENCY)
        return Received(200, "dropped", record.id, mobilization.id, len(told))
    if mobilization.state == CallOutState.ACTIVE:
        await callouts.stand_down(session, mobilization.id, mobilization.commander_id, now)
        return Received(200, "stood_down", record.id, mobilization.id)
    return Received(200, "unchanged", record.id, mobilization.id)


# --- the dispatcher's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class CapDraft:
    """What a dispatcher is shown: the alert's words in their language, where, how many it reaches."""

    record: CapAlertRecord
    mobilization: Mobilization
    info: CapInfo | None
    area: str
    micro_grids: list[str]
    reached: int
    updated: bool


async def draft_for(session: AsyncSession, index: AreaIndex, alert_id: int, language: str) -> CapDraft | None:
    """The drafted call-out of this alert while it is still a draft (None once sent, dropped, or
    when a later Update or Cancel has replaced this alert)."""
    record = await session.get(CapAlertRecord, alert_id)
    if record is None or record.mobilization_id is None:
        return None
    mobilization = await session.get(Mobilization, record.mobilization_id)
    if mobilization is None or mobilization.state != CallOutState.DRAFT:
        return None
    latest = await _latest(session, mobilization.id)
    if latest is None or latest.id != record.id:
        return None
    alert = read_alert(record.raw.encode())
    micro = list(mobilization.area_codes)
    reached = await people_in_scope(session, index, micro, list(mobilization.tags))
    area = ", ".join(dict.fromkeys(a.desc for a in alert.areas if a.desc))  # each info repeats its areas
    return CapDraft(record, mobilization, alert.info_for(language), area, micro, len(reached), record.msg_type == "Update")


async def _latest(session: AsyncSession, mobilization_id: int) -> CapAlertRecord | None:
    latest: CapAlertRecord | None = await session.scalar(
        select(CapAlertRecord).where(CapAlertRecord.mobilization_id == mobilization_id)
        .order_by(CapAlertRecord.id.desc()).limit(1))
    return latest


async def _draft_to_decide(session: AsyncSession, index: AreaIndex, alert_id: int, person_id: int) -> Mobilization:
    """The alert's drafted call-out, if it is still a draft and the person commands all of it."""
    record = await session.get(CapAlertRecord, alert_id)
    mobilization = await session.get(Mobilization, record.mobilization_id) if record and record.mobilization_id else None
    if mobilization is None:
        raise CallOutError(Refusal.NOT_YOURS)
    command = await command_of(session, person_id)
    if not command or not all(command.covers(index, code) for code in mobilization.area_codes):
        raise CallOutError(Refusal.NOT_YOURS)
    if mobilization.state != CallOutState.DRAFT:
        raise CallOutError(Refusal.ALREADY_SENT if mobilization.state == CallOutState.ACTIVE else Refusal.OVER)
    return mobilization


async def take_draft(session: AsyncSession, index: AreaIndex, alert_id: int, person_id: int, language: str) -> Mobilization:
    """The dispatcher who taps Send becomes the call-out's commander; its words are the alert's in
    their language (or the first). The caller then sends it as the composer's Send does."""
    mobilization = await _draft_to_decide(session, index, alert_id, person_id)
    latest = await _latest(session, mobilization.id)
    if latest is not None:
        _words(mobilization, read_alert(latest.raw.encode()).info_for(language))
    mobilization.commander_id = person_id
    return mobilization


async def dismiss(session: AsyncSession, index: AreaIndex, alert_id: int, person_id: int) -> Mobilization:
    """A dispatcher dismissed the drafted call-out: nothing is sent, for anyone."""
    mobilization = await _draft_to_decide(session, index, alert_id, person_id)
    mobilization.state = CallOutState.DROPPED
    return mobilization
