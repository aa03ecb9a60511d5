"""The `gridline` command: run the bot, upgrade the store, load the demo, check a catalog."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from telegram.error import InvalidToken, NetworkError

from bot.cli_people import add_people_commands
from bot.logs import configure_logging
from bot.settings import Settings
from storage.catalog import CatalogError, load_catalog
from storage.db import upgrade_schema
from storage.urls import redacted_url

log = logging.getLogger("gridline")

NO_TOKEN = (
    "GRIDLINE_BOT_TOKEN is not set: get a token from @BotFather in Telegram (/newbot), "
    "then put GRIDLINE_BOT_TOKEN=<token> in a .env file here or in the environment."
)


class Problem(Exception):
    """Bad input: each line is printed and the command exits non-zero."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise Problem(*(f"setting GRIDLINE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())) from None


def _catalog(settings: Settings):  # type: ignore[no-untyped-def]
    try:
        return load_catalog(settings.categories)
    except CatalogError as error:
        raise Problem(*(f"categories {settings.categories}: {p}" for p in error.problems)) from None


def command_run(args: argparse.Namespace) -> None:
    from bot.app import build_application
    from handlers.runtime import Runtime
    from storage.clock import SystemClock
    from storage.db import Store

    settings = load_settings()
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        raise Problem(NO_TOKEN)
    configure_logging([settings.bot_token.get_secret_value(),
                       *([settings.webhook_secret.get_secret_value()] if settings.webhook_secret else [])])
    catalog = _catalog(settings)
    log.info("store: %s; bringing it up to date", redacted_url(settings.database_url))
    upgrade_schema(settings.database_url)
    store = Store(settings.database_url)
    if settings.upstream_url:
        log.info("upstream: %s (new cases are sent there)", redacted_url(settings.upstream_url))
    runtime = Runtime(settings=settings, store=store, clock=SystemClock(), catalog=catalog, role=args.role)
    if settings.webhook_url and settings.webhook_secret is None and args.role != "worker":
        raise Problem("GRIDLINE_WEBHOOK_URL is set but GRIDLINE_WEBHOOK_SECRET is not: Telegram must prove each call")
    if settings.webhook_url and not settings.http_port and args.role != "worker":
        raise Problem("webhook mode needs the HTTP server: set GRIDLINE_HTTP_PORT")
    application = build_application(runtime)
    try:
        if args.role == "worker":
            log.info("Gridline is starting as a worker (queue, timers, sync; no updates); Ctrl-C stops it")
            asyncio.run(_serve(application, settings, "none"))
        elif settings.webhook_url:
            log.info("Gridline is starting (webhook %s); Ctrl-C stops it", redacted_url(settings.webhook_url))
            asyncio.run(_serve(application, settings, "webhook"))
        else:
            log.info("Gridline is starting (long polling); Ctrl-C stops it")
            asyncio.run(_serve(application, settings, "polling"))
    except InvalidToken:
        raise Problem("the Bot API refused GRIDLINE_BOT_TOKEN: check the token with @BotFather") from None
    except NetworkError as error:
        raise Problem(f"cannot reach the Bot API at {redacted_url(settings.api_url)}: {redacted_url(error.message)}") from None
    log.info("Gridline stopped")


async def _serve(application, settings: Settings, updates: str) -> None:  # type: ignore[no-untyped-def]
    """Background work, then the Application, until SIGINT or SIGTERM. Updates come by long
    polling (`updates="polling"`, our own loop: it outlives 401s and unreadable updates), by
    webhook (Telegram posts to our HTTP server, which checks the secret), or not at all (a worker).

    A stop takes well under 20 s: the queue sender is told first, so its sends in flight finish
    while the updates in hand are handled, and what it has not begun stays queued."""
    from bot.app import ALLOWED_UPDATES, update_poller

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await application.initialize()
    await application.post_init(application)
    await application.start()
    runtime = application.bot_data["runtime"]
    poller = None
    if updates == "webhook":
        await application.bot.set_webhook(settings.webhook_url, secret_token=settings.webhook_secret.get_secret_value(),
                                          allowed_updates=ALLOWED_UPDATES)
    elif updates == "polling":
        poller = update_poller(application)
        poller.start()
    try:
        await stop.wait()
    finally:
        log.info("stopping: sends in flight finish, the rest stays queued")
        if runtime.sender is not None:
            runtime.sender.request_stop()
        # Stop taking updates before the Application stops: PTB drops what is queued after its
        # stop, and Telegram was already told 200 for those, so it would never send them again.
        if poller is not None:
            await poller.stop()
        face = application.bot_data.pop("http", None)
        if face is not None:
            await face.stop()
        await application.stop()  # handles the updates already taken
        if poller is not None:
            await poller.confirm()
        await application.post_stop(application)
        await application.shutdown()
        await application.post_shutdown(application)


def command_db_upgrade(args: argparse.Namespace) -> None:
    settings = load_settings()
    upgrade_schema(settings.database_url)
    print("The store is up to date.")


def command_db_copy(args: argparse.Namespace) -> None:
    import time as clock

    from storage.copy import CopyRefused, copy_store

    started = clock.monotonic()

    def show(table: str, rows: int) -> None:
        print(f"\r{table}: {rows}", end="", file=sys.stderr, flush=True)

    target = args.target
    if target is None:
        target = load_settings().db_url
        if not target:
            raise Problem("say where to copy to: --to URL, or GRIDLINE_DB_URL (which keeps the password off the command line)")
    try:
        report = asyncio.run(copy_store(args.source, target, show))
    except CopyRefused as refused:
        print(file=sys.stderr)
        raise Problem(*refused.lines) from None
    print("\r", end="", file=sys.stderr)
    width = max(map(len, report.source_counts))
    for name, count in report.source_counts.items():
        print(f"{name:<{width}}  {count:>10}  = {report.target_counts[name]}")
    print(f"Copied {report.rows} rows in {clock.monotonic() - started:.1f} s; every table's count matches. "
          "Point GRIDLINE_DB_URL at the new store and start the bot.")


def _progress(stage: str, done: int, total: int) -> None:
    print(f"\r{stage}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


async def _import_map(settings: Settings, path: Path, quiet: bool = False) -> tuple[int, int]:
    from storage.clock import SystemClock
    from storage.db import Store
    from storage.map_import import MapError, known_areas, read_map, write_map

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Problem(f"{path}: cannot read it ({error})") from None
    store = Store(settings.database_url)
    progress = None if quiet else _progress
    try:
        async with store.transaction() as session:
            known = await known_areas(session)
        try:
            features = await asyncio.to_thread(read_map, text, known, progress)
        except MapError as error:
            raise Problem(*(f"{path}: {p}" for p in error.problems)) from None
        async with store.transaction() as session:
            result = await write_map(session, features, SystemClock().now(), progress)
    finally:
        await store.close()
    return result.created, result.updated


def command_grids_import(args: argparse.Namespace) -> None:
    settings = load_settings()
    upgrade_schema(settings.database_url)
    created, updated = asyncio.run(_import_map(settings, Path(args.file)))
    print(f"{args.file}: {created} areas added, {updated} updated.")


def command_demo(args: argparse.Namespace) -> None:
    from storage.catalog import sync_categories
    from storage.db import Store
    from storage.map_import import DEMO_CITY

    settings = load_settings()
    catalog = _catalog(settings)
    upgrade_schema(settings.database_url)

    async def load() -> tuple[int, int]:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                await sync_categories(session, catalog)
        finally:
            await store.close()
        return await _import_map(settings, DEMO_CITY, quiet=True)

    created, updated = asyncio.run(load())
    subs = sum(len(t.children) for t in catalog.top)
    print(f"Demo loaded: {created + updated} areas of the demo city; "
          f"{len(catalog.top)} categories with {subs} sub-categories; no people.")


def command_categories_check(args: argparse.Namespace) -> None:
    path = Path(args.file)
    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        raise Problem(*(f"{path}: {p}" for p in error.problems)) from None
    subs = sum(len(t.children) for t in catalog.top)
    print(f"{path}: OK, {len(catalog.top)} categories with {subs} sub-categories.")


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


def command_stats(args: argparse.Namespace) -> None:
    from storage import stats

    settings = load_settings()
    start, end = _period(args, settings.zone)

    async def gather(session, index) -> stats.Report:  # type: ignore[no-untyped-def]
        return await stats.gather(session, index, start, end, [args.area] if args.area else None)

    print(stats_table(_with_map(settings, args.area, gather), settings.zone))


def _with_map(settings: Settings, area: str | None, work):  # type: ignore[no-untyped-def]
    """Run `work(session, index)` on an up-to-date store, after checking --area names a known area."""
    from storage.db import Store
    from storage.map_index import AreaIndex

    upgrade_schema(settings.database_url)

    async def run():  # type: ignore[no-untyped-def]
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                index = await AreaIndex.load(session)
                if area and area not in index.position:
                    raise Problem(f"--area: no area with code {area}")
                return await work(session, index)
        finally:
            await store.close()

    return asyncio.run(run())


def stats_table(report, zone: ZoneInfo) -> str:  # type: ignore[no-untyped-def]
    from storage.stats import hours, percent

    last_day = (report.end.astimezone(zone) - timedelta(days=1)).date()
    lines = [f"Cases reported {report.start.astimezone(zone).date()} to {last_day} ({zone.key})"
             + (f", area {report.area}" if report.area else "")]
    lines.append("by state: " + (", ".join(f"{k} {v}" for k, v in report.overall.by_state.items()) or "none"))
    header = f"{'':24} {'cases':>6} {'on-time':>8} {'closure':>8} {'satisfied':>9} {'to accept':>10} {'to resolve':>10}"

    def row(label: str, f) -> str:  # type: ignore[no-untyped-def]
        return (f"{label[:24]:24} {f.total:>6} {percent(f.on_time_rate):>8} {percent(f.closure_rate):>8} "
                f"{percent(f.satisfaction_rate):>9} {hours(f.median_to_accept):>10} {hours(f.median_to_resolve):>10}")

    lines += ["", header, row("all", report.overall), "", "per grid"]
    lines += [row(code, f) for code, f in report.per_area.items()] or ["(none)"]
    lines += ["", "per worker"]
    lines += [row(name, f) for name, f in report.per_worker.items()] or ["(none)"]
    return "\n".join(lines)


def command_export(args: argparse.Namespace) -> None:
    from storage import export

    settings = load_settings()
    start, end = _period(args, settings.zone)
    found = _with_map(settings, args.area,
                      lambda session, index: export.cases_between(session, index, start, end, args.area))
    chunks = (export.as_csv if args.format == "csv" else export.as_geojson)(found, settings.zone)
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as file:
            for chunk in chunks:
                file.write(chunk)
        print(f"Wrote {len(found)} cases to {args.out}.", file=sys.stderr)
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)


def command_apikey(args: argparse.Namespace) -> None:
    from storage import open311
    from storage.db import Store

    settings = load_settings()
    upgrade_schema(settings.database_url)

    async def run() -> str | bool:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                now = datetime.now(settings.zone)
                if args.apikey_command == "create":
                    try:
                        return await open311.create_key(session, args.name, now)
                    except ValueError as error:
                        raise Problem(str(error)) from None
                return await open311.revoke_key(session, args.name, now)
        finally:
            await store.close()

    result = asyncio.run(run())
    if args.apikey_command == "create":
        print(f"API key for {args.name} (shown once; keep it secret):\n{result}")
    elif result:
        print(f"Revoked the key of {args.name}.")
    else:
        raise Problem(f"no live key named {args.name}")


def command_sync_status(args: argparse.Namespace) -> None:
    from storage import sync
    from storage.db import Store

    settings = load_settings()
    upgrade_schema(settings.database_url)

    async def run() -> sync.Status:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                return await sync.status(session, datetime.now(settings.zone))
        finally:
            await store.close()

    state = asyncio.run(run())
    where = redacted_url(settings.upstream_url) or "not set (GRIDLINE_UPSTREAM_URL): nothing is sent"
    lag = f"{state.lag.total_seconds() / 60:.1f} min" if state.lag else "none"
    print(f"upstream: {where}\nposted: {state.posted}\npending: {state.pending}\nfailed for good: {state.failed}\n"
          f"lag (oldest case waiting): {lag}")
    for number, error in state.errors:
        print(f"  {number}: {redacted_url(error)}")  # errors kept before URLs were redacted, too


def command_mobilization_export(args: argparse.Namespace) -> None:
    from storage import areas as area_store
    from storage.cap import cap_alert
    from storage.db import Store
    from storage.map_index import AreaIndex
    from storage.models import Mobilization

    settings = load_settings()
    upgrade_schema(settings.database_url)

    async def export() -> str:
        store = Store(settings.database_url)
        try:
            async with store.transaction() as session:
                mobilization = await session.get(Mobilization, args.id)
                if mobilization is None or mobilization.state not in ("active", "over"):
                    raise Problem(f"no call-out {args.id} was sent")
                index = await AreaIndex.load(session)
                shapes = {c: index.boundaries[index.position[c]] for c in mobilization.area_codes if c in index.position}
                names = await area_store.area_names(session, list(mobilization.area_codes))
                return cap_alert(mobilization, shapes, names, args.sender, settings.zone)
        finally:
            await store.close()

    text = asyncio.run(export())
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}.")
    else:
        sys.stdout.write(text)


def _with_settings(command):  # type: ignore[no-untyped-def]
    """Adapt a `command(settings, args)` to the parser's `handler(args)`, turning its problems into ours."""
    from bot.cli_people import PeopleProblem

    def handler(args: argparse.Namespace) -> None:
        try:
            command(load_settings(), args)
        except PeopleProblem as problem:
            raise Problem(*problem.lines) from None

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridline", description="Gridline, the grid-governance Telegram bot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="bring the store up to date and run the bot (long polling, or webhook)",
                              description="Bring the store up to date and run the bot until Ctrl-C or SIGTERM.")
    run.add_argument("--role", choices=("all", "web", "worker"), default="all",
                     help="web: take updates (polling, or webhook for several processes); worker: send the queue, "
                          "run the timers and the sync; all (default): both")
    run.set_defaults(handler=command_run)

    db = commands.add_parser("db", help="the case store", description="Manage the case store.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply every pending migration",
                           description="Apply every pending schema migration to GRIDLINE_DB_URL.").set_defaults(handler=command_db_upgrade)

    copying = db_commands.add_parser(
        "copy", help="copy the whole store into a new, empty database, checked by counts",
        description="Copy every row of one store into another (e.g. SQLite to PostgreSQL), then compare each "
                    "table's row count. The source is read in one snapshot and is never changed; the target "
                    "is brought up to date and must be empty. Photos on disk stay where they are.")
    copying.add_argument("--from", dest="source", required=True, metavar="URL",
                         help="the store now in use, e.g. sqlite:///var/gridline.sqlite3")
    copying.add_argument("--to", dest="target", metavar="URL",
                         help="the new store, e.g. postgresql://gridline@db/gridline (default: GRIDLINE_DB_URL, "
                              "which keeps a password out of the shell's history)")
    copying.set_defaults(handler=command_db_copy)

    grids = commands.add_parser("grids", help="the map of areas", description="Work with the map of areas.")
    grid_commands = grids.add_subparsers(dest="grids_command", required=True, metavar="ACTION")
    grids_import = grid_commands.add_parser(
        "import", help="import areas from a GeoJSON file",
        description="Check a GeoJSON FeatureCollection of areas (code, name, level, parent) and import all of it, "
                    "or nothing if any feature has a problem. Areas already in the store are updated in place.")
    grids_import.add_argument("file", metavar="FILE", help="the GeoJSON file")
    grids_import.set_defaults(handler=command_grids_import)

    demo = commands.add_parser("demo", help="load the demo city and the category catalog",
                               description="Bring the store up to date and load a small synthetic city (grids, "
                                           "micro-grids) and the category catalog; no people.")
    demo.set_defaults(handler=command_demo)

    add_people_commands(commands, _with_settings)

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

    apikey = commands.add_parser("apikey", help="keys other systems post Open311 requests with",
                                 description="Create or revoke the API keys for POST /open311/v2/requests.")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    for action, text in (("create", "make a key for a channel and print it once"), ("revoke", "stop a channel's key")):
        command = apikey_commands.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("name", metavar="NAME", help="the channel, e.g. hotline-12345")
        command.set_defaults(handler=command_apikey)

    syncing = commands.add_parser("sync", help="the sync with the city's platform",
                                  description="The sync with the city's Open311 platform (GRIDLINE_UPSTREAM_URL).")
    sync_commands = syncing.add_subparsers(dest="sync_command", required=True, metavar="ACTION")
    sync_commands.add_parser("status", help="lag, pending and failed cases, recent errors",
                             description="Show the sync's lag, pending and failed cases, and the latest errors."
                             ).set_defaults(handler=command_sync_status)

    mobilization = commands.add_parser("mobilization", help="emergency call-outs", description="Work with call-outs.")
    mobilization_commands = mobilization.add_subparsers(dest="mobilization_command", required=True, metavar="ACTION")
    export = mobilization_commands.add_parser(
        "export", help="write a call-out as a CAP 1.2 alert",
        description="Write a sent call-out as an OASIS CAP 1.2 alert (status Actual or Exercise, msgType Alert, or "
                    "Cancel once stood down; the micro-grids as polygons).")
    export.add_argument("id", type=int, metavar="ID", help="the call-out's number (see /mobilizations)")
    export.add_argument("--cap", action="store_true", required=True, help="as CAP 1.2 XML (the only format)")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    export.add_argument("--sender", default="gridline", help="the CAP sender id (default: gridline)")
    export.set_defaults(handler=command_mobilization_export)

    categories = commands.add_parser("categories", help="the category catalog", description="Work with category catalogs.")
    category_commands = categories.add_subparsers(dest="categories_command", required=True, metavar="ACTION")
    check = category_commands.add_parser("check", help="check a catalog file without loading it",
                                         description="Check a category catalog file and list every problem in it.")
    check.add_argument("file", metavar="FILE", help="the catalog (TOML)")
    check.set_defaults(handler=command_categories_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import DBAPIError, OperationalError

    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (OperationalError, DBAPIError) as error:
        print(f"gridline: cannot use the store: {redacted_url(str(error.orig))}", file=sys.stderr)
        return 1
    except ConnectionError as error:  # asyncpg raises these bare when the server is not there
        print(f"gridline: cannot reach the store: {redacted_url(str(error))}", file=sys.stderr)
        return 1
    except Problem as problem:
        for line in problem.lines:
            print(f"gridline: {redacted_url(line)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
