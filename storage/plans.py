"""Call-out plans (应急预案): a call-out prepared for an area, fired in one tap when the warning comes.

A plan belongs to the area it is saved for; the leaders, dispatchers and admins of that area or of
an area above it see, fire, rename and delete it (the same rule as calling out: `Command.covers`).
Its scope is micro-grids or whole areas, or around a point; its message is kept in both languages.
Firing a plan makes a call-out draft (`storage/callout_drafts.py`) from it, against the map as it is
now: codes the map no longer has are left out, and the caller is told which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import callout_drafts
from storage.callout_scope import Command, command_of, micro_grids_around, micro_grids_in
from storage.map_index import AreaIndex
from storage.models import Mobilization, Plan
from storage.vocab import SUPPORTED_LANGUAGES, Language

MAX_NAME = 64


class PlanRefusal(StrEnum):
    """Why a plan step cannot be taken."""

    GONE = "gone"  # no such plan, or not one of the person's areas (deleted, or a forged button)
    NO_COMMAND = "no_command"  # the person may not call anyone out
    NAME_TAKEN = "name_taken"  # the area has a plan of that name already
    BAD_NAME = "bad_name"  # empty, or over MAX_NAME characters
    UNFINISHED = "unfinished"  # a draft without a scope or a headline cannot be saved
    NO_AREA = "no_area"  # the draft's scope lies in no single area the person commands


class PlanError(Exception):
    def __init__(self, reason: PlanRefusal) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class PlanFields:
    """A plan's contents as plain values (from the chat, or a file)."""

    area: str
    name: str
    headline: dict[Language, str]
    instruction: dict[Language, str | None]
    areas: list[str]
    around: tuple[float, float, int] | None = None  # lat, lon, radius in metres
    tags: list[str] | None = None
    meeting_point: tuple[float, float] | None = None
    need: int | None = None
    wave_minutes: int | None = None


def clean_name(text: str) -> str:
    """The name as kept: spaces squeezed; PlanError(BAD_NAME) when empty or too long."""
    name = " ".join(text.split())
    if not name or len(name) > MAX_NAME:
        raise PlanError(PlanRefusal.BAD_NAME)
    return name


async def _command(session: AsyncSession, person_id: int) -> Command:
    command = await command_of(session, person_id)
    if not command:
        raise PlanError(PlanRefusal.NO_COMMAND)
    return command


async def visible_plans(session: AsyncSession, index: AreaIndex, person_id: int) -> list[Plan]:
    """The plans of the areas this person commands (and of the areas inside them), by name."""
    command = await command_of(session, person_id)
    if not command:
        return []
    found = (await session.scalars(select(Plan).order_by(Plan.name, Plan.area_code))).all()
    return [plan for plan in found if command.covers(index, plan.area_code)]


async def plan_for(session: AsyncSession, index: AreaIndex, plan_id: int, person_id: int) -> Plan:
    """The plan, if this person may use it (GONE when deleted or of another area)."""
    command = await _command(session, person_id)
    plan = await session.get(Plan, plan_id)
    if plan is None or not command.covers(index, plan.area_code):
        raise PlanError(PlanRefusal.GONE)
    return plan


def _home_area(index: AreaIndex, command: Command, micro: list[str]) -> str:
    """The area a plan with this scope is saved for: the commander's own area holding all of it
    (the deepest), else the deepest area holding all of it that they command."""
    if not micro:
        raise PlanError(PlanRefusal.UNFINISHED)
    common = [code for code in index.chain(micro[0]) if all(code in index.chain(m) for m in micro[1:])]
    own = [code for code in common if code in command.areas]
    if own:
        return own[0]
    covered = [code for code in common if command.covers(index, code)]
    if not covered:
        raise PlanError(PlanRefusal.NO_AREA)
    return covered[0]


async def _name_free(session: AsyncSession, area: str, name: str, plan_id: int | None = None) -> None:
    existing = await session.scalar(select(Plan.id).where(Plan.area_code == area, Plan.name == name))
    if existing is not None and existing != plan_id:
        raise PlanError(PlanRefusal.NAME_TAKEN)


def _write(plan: Plan, fields: PlanFields) -> None:
    plan.area_code, plan.name = fields.area, fields.name
    plan.area_codes = [] if fields.around else list(fields.areas)
    plan.center_lat, plan.center_lon, plan.radius_m = fields.around or (None, None, None)
    plan.tags = list(fields.tags or [])
    plan.headline_zh, plan.headline_en = fields.headline[Language.ZH], fields.headline[Language.EN]
    plan.instruction_zh, plan.instruction_en = fields.instruction.get(Language.ZH), fields.instruction.get(Language.EN)
    plan.meet_lat, plan.meet_lon = fields.meeting_point or (None, None)
    plan.need, plan.wave_minutes = fields.need, fields.wave_minutes


def fields_of(plan: Plan) -> PlanFields:
    """A plan's contents as plain values (what export writes)."""
    around = (plan.center_lat, plan.center_lon, plan.radius_m) \
        if plan.center_lat is not None and plan.center_lon is not None and plan.radius_m else None
    meeting = (plan.meet_lat, plan.meet_lon) if plan.meet_lat is not None and plan.meet_lon is not None else None
    return PlanFields(area=plan.area_code, name=plan.name,
                      headline={Language.ZH: plan.headline_zh, Language.EN: plan.headline_en},
                      instruction={Language.ZH: plan.instruction_zh, Language.EN: plan.instruction_en},
                      areas=list(plan.area_codes), around=around, tags=list(plan.tags), meeting_point=meeting,
                      need=plan.need, wave_minutes=plan.wave_minutes)


async def save_from_draft(session: AsyncSession, index: AreaIndex, draft: Mobilization, person_id: int, name: str,
                          headline: dict[Language, str], instruction: dict[Language, str | None], now: datetime) -> Plan:
    """The draft's scope, tags, meeting point and need as a new plan of the commander's area, with
    its message in both languages (`headline`, `instruction`)."""
    command = await _command(session, person_id)
    name = clean_name(name)
    micro = micro_grids_around(index, draft.center_lat, draft.center_lon, draft.radius_m) \
        if draft.center_lat is not None and draft.center_lon is not None and draft.radius_m \
        else micro_grids_in(index, list(draft.area_codes))
    if not draft.headline:
        raise PlanError(PlanRefusal.UNFINISHED)
    area = _home_area(index, command, micro)
    await _name_free(session, area, name)
    around = (draft.center_lat, draft.center_lon, draft.radius_m) \
        if draft.center_lat is not None and draft.center_lon is not None and draft.radius_m else None
    meeting = (draft.meet_lat, draft.meet_lon) if draft.meet_lat is not None and draft.meet_lon is not None else None
    plan = Plan(created_by=person_id, created_at=now, updated_by=person_id, updated_at=now)
    _write(plan, PlanFields(area=area, name=name, headline=headline, instruction=instruction, areas=list(draft.area_codes),
                            around=around, tags=list(draft.tags), meeting_point=meeting, need=draft.need,
                            wave_minutes=draft.wave_minutes))
    session.add(plan)
    await session.flush()
    return plan


async def rename(session: AsyncSession, index: AreaIndex, plan_id: int, person_id: int, name: str, now: datetime) -> Plan:
    plan = await plan_for(session, index, plan_id, person_id)
    name = clean_name(name)
    await _name_free(session, plan.area_code, name, plan.id)
    plan.name, plan.updated_by, plan.updated_at = name, person_id, now
    return plan


async def remove(session: AsyncSession, index: AreaIndex, plan_id: int, person_id: int) -> str:
    """Delete the plan; returns its name. Call-outs fired from it keep their `plan_id` as a record."""
    plan = await plan_for(session, index, plan_id, person_id)
    await session.execute(delete(Plan).where(Plan.id == plan.id))
    return plan.name


# --- firing -------------------------------------------------------------------------------------


def _language(language: str) -> Language:
    return Language(language) if language in SUPPORTED_LANGUAGES else Language.ZH


@dataclass(frozen=True)
class Fired:
    """A plan made into a call-out draft: the draft, and the codes the map no longer has."""

    draft: Mobilization
    missing: list[str]


async def fire(session: AsyncSession, index: AreaIndex, plan_id: int, person_id: int, language: str,
               now: datetime) -> Fired:
    """A call-out draft from the plan, its message in `language` (the commander's), ready to preview
    and send. A scope by codes keeps those the map still has; around a point is worked out anew."""
    plan = await plan_for(session, index, plan_id, person_id)
    draft = await callout_drafts.start_draft(session, person_id, now)
    missing = [code for code in plan.area_codes if code not in index.position]
    if plan.center_lat is not None and plan.center_lon is not None and plan.radius_m:
        draft.center_lat, draft.center_lon, draft.radius_m = plan.center_lat, plan.center_lon, plan.radius_m
        draft.area_codes = micro_grids_around(index, plan.center_lat, plan.center_lon, plan.radius_m)
    else:
        draft.area_codes = [code for code in plan.area_codes if code in index.position]
    draft.tags = list(plan.tags)
    draft.headline, draft.instruction = _words(plan, _language(language))
    draft.meet_lat, draft.meet_lon = plan.meet_lat, plan.meet_lon
    draft.need = plan.need
    draft.plan_id = plan.id
    draft.wave_minutes = plan.wave_minutes
    return Fired(draft, missing)


def _words(plan: Plan, language: Language) -> tuple[str, str | None]:
    if language == Language.EN:
        return plan.headline_en, plan.instruction_en
    return plan.headline_zh, plan.instruction_zh


async def words_for(session: AsyncSession, mobilization: Mobilization, language: str) -> tuple[str, str | None] | None:
    """The call-out's headline and instruction in `language`, when it was fired from a plan that
    still says what it said then (in the commander's words); None: use the call-out's own words."""
    if mobilization.plan_id is None:
        return None
    plan = await session.get(Plan, mobilization.plan_id)
    if plan is None:
        return None
    said = (mobilization.headline, mobilization.instruction)
    if said not in (_words(plan, Language.ZH), _words(plan, Language.EN)):
        return None  # the plan changed since, or the commander changed the words
    return _words(plan, _language(language))


# --- files --------------------------------------------------------------------------------------


async def all_plans(session: AsyncSession) -> list[Plan]:
    return list((await session.scalars(select(Plan).order_by(Plan.area_code, Plan.name))).all())


async def write_plans(session: AsyncSession, plans: list[PlanFields], now: datetime) -> tuple[int, int, int]:
    """Write checked plans: a plan of an (area, name) already there is updated. Returns (added,
    updated, unchanged)."""
    existing = {(plan.area_code, plan.name): plan for plan in await all_plans(session)}
    added = updated = unchanged = 0
    for fields in plans:
        plan = existing.get((fields.area, fields.name))
        if plan is None:
            plan = Plan(created_at=now, updated_at=now)
            _write(plan, fields)
            session.add(plan)
            added += 1
        elif fields_of(plan) != fields:
            _write(plan, fields)
            plan.updated_at, plan.updated_by = now, None
            updated += 1
        else:
            unchanged += 1
    await session.flush()
    return added, updated, unchanged
