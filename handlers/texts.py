"""Labels every audience shares: state names and icons, category labels, time limits, area paths,
deadlines. One place each, so a citizen, a worker and a dispatcher read the same words."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translate, duration, local_time, relative
from handlers.runtime import Runtime
from storage import areas, cases
from storage.catalog import CategoryDef
from storage.map_index import AreaIndex
from storage.models import Case
from storage.vocab import STATE_NAMES, PartState


def state_name(_: Translate, state: str) -> str:
    name = STATE_NAMES.get(state)
    return _(name) if name else state


def part_label(_: Translate, state: PartState) -> str:
    """A co-holder's part of a joint case (主协办): open, done, cannot be done, waived."""
    labels: dict[PartState, str] = {PartState.OPEN: _("open"), PartState.DONE: _("done"),
                                    PartState.CANNOT: _("cannot be done"), PartState.WAIVED: _("waived")}
    return labels[state]


STATE_ICONS = {
    "reported": "🆕", "accepted": "📥", "assigned": "👷", "in_progress": "🚧", "resolved": "✅",
    "closed": "🏁", "rejected": "⛔", "reopened": "🔁", "escalated": "⏫",
    "verifying": "🔎",
}


def category_label(rt: Runtime, code: str, language: str) -> str:
    """'Municipal facilities › Broken manhole cover', or the top name alone."""
    category = rt.catalog.get(code)
    if category is None:
        return code
    if category.parent_code:
        parent = rt.catalog.get(category.parent_code)
        if parent is not None:
            return f"{parent.name(language)} › {category.name(language)}"
    return category.name(language)


def time_limit(rt: Runtime, code: str, language: str) -> str:
    category: CategoryDef | None = rt.catalog.get(code)
    hours = category.time_limit_hours if category else cases.UNKNOWN_CATEGORY_HOURS
    return duration(timedelta(hours=hours), language)


async def area_path(session: AsyncSession, index: AreaIndex, code: str) -> str:
    """'Community › grid' for the area a point falls in: the names a resident recognises."""
    chain = index.chain(code)
    shown = [c for c in chain if index.level_of(c) in ("community", "grid")] or chain[:1]
    names = await areas.area_names(session, shown)
    return " › ".join(names[c] for c in reversed(shown) if c in names)


def deadline_line(rt: Runtime, _: Translate, language: str, case: Case, now: datetime) -> str:
    due = local_time(case.deadline_at, rt.settings.zone, language)
    if case.deadline_at <= now:
        return _("⚠️ <b>Overdue by {span}</b> (was due {due})").format(span=duration(now - case.deadline_at, language), due=due)
    return _("⏰ Due {due} · {when}").format(due=due, when=relative(case.deadline_at - now, language))
