"""`gridline stats` and `gridline export`: the cases of a period, as figures or as a file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import Commands, Problem, in_store, load_settings
from bot.settings import Settings

if TYPE_CHECKING:
    from storage.map_index import AreaIndex
    from storage.stats import Figures, Report

T = TypeVar("T")


def _day(text: str, zone: ZoneInfo, name: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(0), tzinfo=zone)
    except ValueError:
        raise Problem(f"{name} must be a date like 2026-11-01, not {text!r}") from None


def _period(args: argparse.Namespace, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """--from and --to (both days included) in local time; by default the last 30 days."""
    end = _day(args.to, zone, "--to") + timedelta(days=1) if args.to else \
        datetime.combine(datetime.now(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    start = _day(args.start, zone, "--from") if args.start else end - timedelta(days=30)
    if start >= end:
        raise Problem("--from must be before --to")
    return start, end


def _with_map(settings: Settings, area: str | None, work: Callable[[AsyncSession, AreaIndex], Awaitable[T]]) -> T:
    """Run `work(session, index)` on an up-to-date store, after checking --area names a known area."""
    from storage.map_index import AreaIndex

    async def run(session: AsyncSession) -> T:
        index = await AreaIndex.load(session)
        if area and area not in index.position:
            raise Problem(f"--area: no area with code {area}")
        return await work(session, index)

    return in_store(settings, run)


def command_stats(args: argparse.Namespace) -> None:
    from storage import stats

    settings = load_settings()
    start, end = _period(args, settings.zone)

    async def gather(session: AsyncSession, index: AreaIndex) -> stats.Report:
        return await stats.gather(session, index, start, end, [args.area] if args.area else None)

    print(stats_table(_with_map(settings, args.area, gather), settings.zone))


def stats_table(report: Report, zone: ZoneInfo) -> str:
    from storage.stats import hours, percent

    last_day = (report.end.astimezone(zone) - timedelta(days=1)).date()
    lines = [f"Cases reported {report.start.astimezone(zone).date()} to {last_day} ({zone.key})"
             + (f", area {report.area}" if report.area else "")]
    lines.append("by state: " + (", ".join(f"{k} {v}" for k, v in report.overall.by_state.items()) or "none"))
    header = f"{'':24} {'cases':>6} {'on-time':>8} {'closure':>8} {'satisfied':>9} {'to accept':>10} {'to resolve':>10}"

    def row(label: str, f: Figures) -> str:
        return (f"{label[:24]:24} {f.total:>6} {percent(f.on_time_rate):>8} {percent(f.closure_rate):>8} "
                f"{percent(f.satisfaction_rate):>9} {hours(f.median_to_accept):>10} {hours(f.median_to_resolve):>10}")

    lines += ["", header, row("all", report.overall), "", "per grid"]
    lines += [row(code, f) for code, f in report.per_area.items()] or ["(none)"]
    lines += ["", "per worker"]
    lines += [row(name, f) for name, f in report.per_worker.items()] or ["(none)"]

    def steps(label: str, f: Figures) -> str:
        return (f"{label[:24]:24} {percent(f.accept_on_time_rate):>8} {percent(f.arrive_on_time_rate):>8} "
                f"{percent(f.on_time_rate):>8} {percent(f.all_steps_on_time_rate):>10}")

    lines += ["", "on time per step (steps without a limit in the catalog count nowhere)",
              f"{'':24} {'accept':>8} {'on site':>8} {'resolve':>8} {'every step':>10}", steps("all", report.overall)]
    lines += [steps(code, f) for code, f in report.per_area.items()]
    return "\n".join(lines)


def command_export(args: argparse.Namespace) -> None:
    from storage import export

    settings = load_settings()
    start, end = _period(args, settings.zone)
    found = _with_map(settings, args.area,
                      lambda session, index: export.cases_between(session, index, start, end, args.area))
    chunks = (export.as_csv if args.format == "csv" else export.as_geojson)(found, settings.zone)
    if args.out:
        with Path(args.out).open("w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
        print(f"Wrote {len(found)} cases to {args.out}.", file=sys.stderr)
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)


def add_commands(commands: Commands) -> None:
    stats = commands.add_parser("stats", help="on-time, closure and satisfaction rates for a period",
                                description="Cases reported in a period (default: the last 30 days, local time): "
                                            "by state, on-time rate, closure rate, satisfaction rate, median time "
                                            "to accept and to resolve; overall, per grid and per worker.")
    stats.add_argument("--from", dest="start", metavar="DATE", help="first day, e.g. 2026-11-01")
    stats.add_argument("--to", dest="to", metavar="DATE", help="last day, included")
    stats.add_argument("--area", metavar="CODE", help="only this area and everything inside it")
    stats.set_defaults(handler=command_stats)

    exporting = commands.add_parser("export", help="write the cases of a period as CSV or GeoJSON",
                                    description="Write the cases reported in a period (default: the last 30 days, "
                                                "local time) as CSV (for a spreadsheet) or GeoJSON (for a map).")
    exporting.add_argument("--from", dest="start", metavar="DATE", help="first day, e.g. 2026-11-01")
    exporting.add_argument("--to", dest="to", metavar="DATE", help="last day, included")
    exporting.add_argument("--area", metavar="CODE", help="only this area and everything inside it")
    exporting.add_argument("--format", choices=("csv", "geojson"), default="csv", help="csv (default) or geojson")
    exporting.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    exporting.set_defaults(handler=command_export)
