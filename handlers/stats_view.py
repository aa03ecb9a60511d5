"""/stats for leaders, dispatchers and admins: the last 30 days of their own areas."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from telegram import Message

from handlers.fit import escape
from handlers.i18n import Translate, duration
from handlers.texts import state_name
from handlers.turn import Outgoing, Replies, Turn
from storage import areas, stats
from storage.stats import Figures, percent

PERIOD_DAYS = 30
TOP = 8


async def show_stats(turn: Turn, message: Message) -> Replies:
    """/stats: the figures of the last 30 days (to the end of today) for the areas the person may see."""
    _ = turn._
    scope = await stats.stats_scope(turn.session, turn.person.id)
    if scope is None:
        return [Outgoing(_("Only grid leaders, dispatchers and administrators see statistics. /whoami shows your roles."))]
    zone = turn.rt.settings.zone
    end = datetime.combine(turn.now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    report = await stats.gather(turn.session, await turn.index(), end - timedelta(days=PERIOD_DAYS), end, scope or None)
    names = await areas.area_names(turn.session, list(report.per_area))
    return [Outgoing(_render(_, turn.person.language, report, names))]


def _line(_: Translate, language: str, label: str, figures: Figures) -> str:
    def hours(span: timedelta | None) -> str:
        return "-" if span is None else duration(span, language)

    return _("<b>{label}</b>: {total} cases · on time {on_time} · closed {closed} · satisfied {satisfied} · "
             "accept {accept} · resolve {resolve}").format(
        label=escape(label), total=figures.total, on_time=percent(figures.on_time_rate), closed=percent(figures.closure_rate),
        satisfied=percent(figures.satisfaction_rate), accept=hours(figures.median_to_accept),
        resolve=hours(figures.median_to_resolve))


def _render(_: Translate, language: str, report: stats.Report, names: dict[str, str]) -> str:
    lines = [_("📊 <b>The last {days} days</b>").format(days=PERIOD_DAYS), _line(_, language, _("All"), report.overall)]
    overall = report.overall
    lines.append(_("⏱ On time per step: accept {accept} · on site {arrive} · resolve {resolve} · every step {every}").format(
        accept=percent(overall.accept_on_time_rate), arrive=percent(overall.arrive_on_time_rate),
        resolve=percent(overall.on_time_rate), every=percent(overall.all_steps_on_time_rate)))
    states = ", ".join(f"{state_name(_, state)} {count}" for state, count in report.overall.by_state.items())
    if states:
        lines.append(states)
    biggest = sorted(report.per_area.items(), key=lambda item: -item[1].total)[:TOP]
    if biggest:
        lines += ["", _("<b>Per grid</b>")] + [_line(_, language, names.get(code, code), f) for code, f in biggest]
    busiest = sorted(report.per_worker.items(), key=lambda item: -item[1].total)[:TOP]
    if busiest:
        lines += ["", _("<b>Per person</b>")] + [_line(_, language, name, f) for name, f in busiest]
    return "\n".join(lines)
