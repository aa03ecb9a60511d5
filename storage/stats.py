"""The figures a city is judged by, for a period: cases by state, on-time rate (按时处置率), closure
rate (结案率), satisfaction (满意度), and median times to accept and to resolve; overall, per grid
and per worker.

Definitions (cases reported in [start, end)):
- on-time rate: of the cases resolved at least once, the share resolved by their deadline;
- closure rate: closed cases over all cases that were not rejected (a case that needs verification
  closes only after it was verified, then rated or left unrated: "verifying" is not closed);
- satisfaction: "satisfied" over all rated cases;
- time to accept / resolve: from the report to the (latest) acceptance / resolution;
- on time per step (工作时限), for the cases whose category limits that step: accepted by the limit
  to accept (the first acceptance), on site by the limit to arrive (the first "On site"), resolved by the deadline (the
  on-time rate above); and overall, of the resolved cases, the share on time at every limited step.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.map_index import AreaIndex
from storage.models import Case, Person, Role
from storage.vocab import CaseState
from storage.vocab import Role as RoleName


@dataclass
class Figures:
    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    on_time_rate: float | None = None
    closure_rate: float | None = None
    satisfaction_rate: float | None = None
    median_to_accept: timedelta | None = None
    median_to_resolve: timedelta | None = None
    accept_on_time_rate: float | None = None
    arrive_on_time_rate: float | None = None
    all_steps_on_time_rate: float | None = None


@dataclass
class Report:
    start: datetime
    end: datetime
    area: str | None
    overall: Figures
    per_area: dict[str, Figures]
    per_worker: dict[str, Figures]  # by name (with the id when two share one)


@dataclass
class _Row:
    state: str
    area_code: str | None
    assignee_id: int | None
    created_at: datetime
    deadline_at: datetime
    accepted_at: datetime | None
    resolved_at: datetime | None
    rating: int | None
    accept_due_at: datetime | None = None
    arrive_due_at: datetime | None = None
    arrived_at: datetime | None = None
    first_accepted_at: datetime | None = None

    def accepted_on_time(self) -> bool | None:
        """None when the step has no limit or has not been taken yet."""
        if self.accept_due_at is None or self.first_accepted_at is None:
            return None
        return self.first_accepted_at <= self.accept_due_at

    def arrived_on_time(self) -> bool | None:
        if self.arrive_due_at is None or self.arrived_at is None:
            return None
        return self.arrived_at <= self.arrive_due_at

    def every_step_on_time(self) -> bool:
        """Resolved by the deadline, and on time at each limited step (a step never taken is late)."""
        assert self.resolved_at is not None
        return (self.resolved_at <= self.deadline_at
                and (self.accept_due_at is None or self.accepted_on_time() is True)
                and (self.arrive_due_at is None or self.arrived_on_time() is True))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(spans: list[timedelta]) -> timedelta | None:
    return timedelta(seconds=statistics.median(s.total_seconds() for s in spans)) if spans else None


def figures_of(rows: Iterable[_Row]) -> Figures:
    rows = list(rows)
    by_state: dict[str, int] = defaultdict(int)
    for row in rows:
        by_state[row.state] += 1
    # (row, when it was resolved) for the rows resolved at least once
    resolved = [(r, r.resolved_at) for r in rows if r.resolved_at is not None]
    rated = [r for r in rows if r.rating is not None]
    not_rejected = len(rows) - by_state.get(CaseState.REJECTED, 0)
    return Figures(
        total=len(rows),
        by_state=dict(sorted(by_state.items())),
        on_time_rate=_share(sum(1 for r, at in resolved if at <= r.deadline_at), len(resolved)),
        closure_rate=_share(by_state.get(CaseState.CLOSED, 0), not_rejected),
        satisfaction_rate=_share(sum(1 for r in rated if r.rating == 1), len(rated)),
        median_to_accept=_median([r.accepted_at - r.created_at for r in rows if r.accepted_at is not None]),
        median_to_resolve=_median([at - r.created_at for r, at in resolved]),
        accept_on_time_rate=_rate([r.accepted_on_time() for r in rows]),
        arrive_on_time_rate=_rate([r.arrived_on_time() for r in rows]),
        all_steps_on_time_rate=_share(sum(1 for r, _at in resolved if r.every_step_on_time()), len(resolved)),
    )


def _rate(verdicts: list[bool | None]) -> float | None:
    judged = [v for v in verdicts if v is not None]
    return _share(sum(judged), len(judged))


async def gather(session: AsyncSession, index: AreaIndex, start: datetime, end: datetime,
                 areas: list[str] | None = None) -> Report:
    """The figures for cases reported in [start, end), within `areas` (and everything inside them)."""
    result = await session.execute(
        select(Case.state, Case.area_code, Case.assignee_id, Case.created_at, Case.deadline_at, Case.accepted_at,
               Case.resolved_at, Case.rating, Case.accept_due_at, Case.arrive_due_at, Case.arrived_at,
               Case.first_accepted_at)
        .where(Case.created_at >= start, Case.created_at < end)
    )
    scope = set(areas) if areas else None
    rows = [_Row(*values) for values in result.all()
            if scope is None or (values[1] is not None and index.within(values[1], scope))]
    per_area: dict[str, list[_Row]] = defaultdict(list)
    per_worker: dict[int, list[_Row]] = defaultdict(list)
    for row in rows:
        per_area[index.grid_of(row.area_code) or row.area_code or "-"].append(row)
        if row.assignee_id is not None:
            per_worker[row.assignee_id].append(row)
    names = dict((await session.execute(
        select(Person.id, Person.name).where(Person.id.in_(list(per_worker)))
    )).tuples().all()) if per_worker else {}
    label_count: dict[str, int] = defaultdict(int)
    for person_id in per_worker:
        label_count[names.get(person_id, str(person_id))] += 1
    workers = {}
    for person_id, worked in per_worker.items():
        name = names.get(person_id, str(person_id))
        workers[name if label_count[name] == 1 else f"{name} #{person_id}"] = figures_of(worked)
    return Report(start, end, ",".join(areas) if areas else None, figures_of(rows),
                  {code: figures_of(found) for code, found in sorted(per_area.items())},
                  dict(sorted(workers.items())))


async def stats_scope(session: AsyncSession, person_id: int) -> list[str] | None:
    """The areas whose figures a person may see: a leader's grids, a dispatcher's or admin's areas;
    an admin without an area sees everything ([]); None when they may see none."""
    rows = (await session.execute(
        select(Role.role, Role.area_code).where(
            Role.person_id == person_id, Role.role.in_((RoleName.LEADER, RoleName.DISPATCHER, RoleName.ADMIN)))
    )).all()
    if not rows:
        return None
    if any(role == RoleName.ADMIN and code is None for role, code in rows):
        return []
    return sorted({code for _role, code in rows if code})


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def hours(value: timedelta | None) -> str:
    return "-" if value is None else f"{value.total_seconds() / 3600:.1f} h"


@dataclass
class _Counts:
    total: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    resolved: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0

    def add(self, state: str, total: int, resolved: int, on_time: int, rated: int, satisfied: int) -> None:
        self.total += total
        self.by_state[state] += total
        self.resolved += resolved
        self.on_time += on_time
        self.rated += rated
        self.satisfied += satisfied

    def figures(self) -> Figures:
        not_rejected = self.total - self.by_state.get(CaseState.REJECTED, 0)
        return Figures(total=self.total, by_state=dict(sorted(self.by_state.items())),
                       on_time_rate=_share(self.on_time, self.resolved),
                       closure_rate=_share(self.by_state.get(CaseState.CLOSED, 0), not_rejected),
                       satisfaction_rate=_share(self.satisfied, self.rated))


async def rates(session: AsyncSession, index: AreaIndex, start: datetime, end: datetime,
                areas: list[str] | None = None) -> tuple[Figures, dict[str, Figures]]:
    """The rates of `gather` (overall and per grid; no medians), counted by the database instead of
    read case by case: for a screen that asks often (the command-centre board, issue 17)."""
    result = await session.execute(
        select(Case.area_code, Case.state, func.count(),
               func.count(Case.resolved_at), func.sum(case((Case.resolved_at <= Case.deadline_at, 1), else_=0)),
               func.count(Case.rating), func.sum(case((Case.rating == 1, 1), else_=0)))
        .where(Case.created_at >= start, Case.created_at < end).group_by(Case.area_code, Case.state)
    )
    scope = set(areas) if areas else None
    overall = _Counts()
    per_area: dict[str, _Counts] = defaultdict(_Counts)
    for area_code, state, total, resolved, on_time, rated, satisfied in result.all():
        if scope is not None and (area_code is None or not index.within(area_code, scope)):
            continue
        counts = (str(state), int(total), int(resolved), int(on_time or 0), int(rated), int(satisfied or 0))
        overall.add(*counts)
        per_area[index.grid_of(area_code) or area_code or "-"].add(*counts)
    return overall.figures(), {code: found.figures() for code, found in sorted(per_area.items())}
