"""Call-out plans: how fast a plan's tap reaches the first responder, and how long importing 1,000
plans takes.

    .venv/bin/python bench/plans.py [--runs 20] [--responders 5] [--plans 1000] [--jitter MS]

(a) The real Application (handlers, store on SQLite, the outbound sender) against the fake Bot API
(tests/fake_telegram.py; 30 messages a second overall, as Telegram). A commander taps a plan
(preview with the count comes back), then 🚨 Send now; the commit wakes the sender, as in
`gridline run`, while the tap's own answer and board edit are still on their way. Printed per run and as median / p95: the plan tap's
handling (press → preview sent), the Send tap → the first alert delivered to a responder, and the
two together (the bot's part of "plan tap → first delivery", the commander's reading time left out).
`--jitter MS` adds a uniform random 0..MS ms network delay to each Bot API call.

(b) `gridline plans import` of a TOML file of N plans (one per micro-grid, round robin) into a new
SQLite store, run as the command runs (in this process, through `bot.cli.main`); then the same file
again (every plan unchanged) and `gridline plans export`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update

from bot.app import build_application, prepare_store
from handlers.runtime import Runtime
from storage import people, plans, roles
from storage.catalog import load_catalog
from storage.clock import SystemClock
from storage.db import Store, upgrade_schema_async
from storage.map_import import DEMO_CITY, read_map, write_map
from storage.map_index import AreaIndex
from storage.plans import PlanFields
from storage.vocab import Language, Level
from tests.fake_telegram import FakeBotApi
from tests.harness import Person, settings_for

FIRST_RESPONDER = 7_000_000


class Bench:
    """Enough of tests.harness.Harness for `Person` to talk to the real Application."""

    def __init__(self, api: FakeBotApi, runtime: Runtime, app: Any) -> None:
        self.api, self.runtime, self.app = api, runtime, app

    async def process(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))


def _plan(area: str, micro: str, name: str) -> PlanFields:
    return PlanFields(area=area, name=name, areas=[micro],
                      headline={Language.ZH: "北门进水", Language.EN: "Water at the north gate"},
                      instruction={Language.ZH: "带沙袋到北门", Language.EN: "Bring sandbags to the north gate"},
                      tags=["volunteer"], need=5, wave_minutes=10)


async def city(runtime: Runtime, runs: int, per_plan: int) -> list[str]:
    """The demo city, an admin, and per run a plan of one micro-grid with its own responders; the plans' names."""
    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), now)
    names = []
    async with runtime.store.transaction() as session:
        index = await AreaIndex.load(session)
        micro = [c for c in index.codes if index.level_of(c) == Level.MICROGRID][:runs]
        commander = await people.ensure_person(session, 1, "Commander", "en", now)
        await roles.give_role(session, commander.id, "admin", None, [], now)
        found = []
        for run, code in enumerate(micro):
            for i in range(per_plan):
                tg_id = FIRST_RESPONDER + run * per_plan + i
                person = await people.ensure_person(session, tg_id, f"R{run}-{i}", "zh", now)
                await roles.give_role(session, person.id, "responder", code, ["volunteer"], now)
            names.append(f"Plan {run:03d}")
            found.append(_plan(index.parent_of[code] or code, code, names[-1]))
        await plans.write_plans(session, found, now)
    return names


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def plan_tap(runs: int, per_plan: int, jitter_ms: float) -> None:
    api = FakeBotApi()
    api.per_second, api.jitter = 30, jitter_ms / 1000
    await api.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(api, Path(folder), send_per_second=30, chat_interval_seconds=1.0)
        await upgrade_schema_async(settings.database_url)
        runtime = Runtime(settings=settings, store=Store(settings.database_url), clock=SystemClock(),
                          catalog=load_catalog())
        app = build_application(runtime)
        await app.initialize()
        await prepare_store(runtime)
        names = await city(runtime, runs, per_plan)
        assert runtime.sender is not None
        runtime.store.on_outbox_commit(runtime.sender.wake)  # as `gridline run` does: the commit wakes the sender
        bench = Bench(api, runtime, app)
        commander = Person(bench, 1, "Commander", "en")  # type: ignore[arg-type]  # a Harness in all it uses
        await commander.say("/start")
        previews, sends, totals = [], [], []
        for run, name in enumerate(names):
            await asyncio.sleep(1.1)  # a commander's pace: the last run's messages leave Telegram's 30/s window
            await commander.say("🚨")  # tap 1: the plans
            started = time.monotonic()
            await commander.tap(f"🚨 {name}")  # tap 2: the preview
            previewed = time.monotonic()
            assert f"This will alert {per_plan} people" in commander.last().plain, commander.last().plain
            summary = commander.last()
            calls_before = len(api.calls)
            tapped = time.monotonic()
            await commander.tap("Send now", summary)  # tap 3
            await runtime.sender.wait_idle()
            first = min(c.at for c in api.calls[calls_before:] if c.method in ("sendMessage", "sendLocation")
                        and int(c.params["chat_id"]) >= FIRST_RESPONDER + run * per_plan)
            preview_ms, send_ms = (previewed - started) * 1000, (first - tapped) * 1000
            previews.append(preview_ms)
            sends.append(send_ms)
            totals.append(preview_ms + send_ms)
        await app.shutdown()
        await runtime.store.close()
    await api.stop()
    print(f"(a) plan tap → first delivery, {runs} plans of {per_plan} responders, SQLite, jitter {jitter_ms:g} ms")
    for label, values in (("plan tap → preview sent", previews), ("Send tap → first alert delivered", sends),
                          ("both (the bot's part)", totals)):
        print(f"  {label:34} median {statistics.median(values):6.1f} ms   p95 {_p(values, 0.95):6.1f} ms   "
              f"max {max(values):6.1f} ms")
    print(f"  429s from the fake Bot API (the commander's replies and the alerts share its 30/s): {api.too_many}")


def gridline(*args: str) -> tuple[int, str, str]:
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


async def _micro_grids(url: str) -> list[tuple[str, str]]:
    store = Store(url)
    try:
        async with store.transaction() as session:
            await write_map(session, read_map(DEMO_CITY.read_text(encoding="utf-8")), SystemClock().now())
        async with store.transaction() as session:
            index = await AreaIndex.load(session)
            return [(index.parent_of[c] or c, c) for c in index.codes if index.level_of(c) == Level.MICROGRID]
    finally:
        await store.close()


def plan_import(count: int) -> None:
    from storage.plan_files import dump_plans

    with tempfile.TemporaryDirectory() as folder:
        os.environ["GRIDLINE_DATA_DIR"] = folder
        os.environ.pop("GRIDLINE_DB_URL", None)
        from bot.settings import Settings

        url = Settings().database_url
        code, _out, err = gridline("db", "upgrade")
        assert code == 0, err
        micro = asyncio.run(_micro_grids(url))
        text = dump_plans([_plan(area, code, f"Plan {i:04d}") for i, (area, code) in
                           enumerate(micro[i % len(micro)] for i in range(count))], "toml")
        path = Path(folder) / "plans.toml"
        path.write_text(text, encoding="utf-8")
        print(f"(b) gridline plans import of {count} plans ({len(text) / 1024:.0f} KiB of TOML), SQLite")
        for label in ("new store", "again, all unchanged"):
            started = time.monotonic()
            code, out, err = gridline("plans", "import", str(path))
            assert code == 0, err
            print(f"  {label:22} {time.monotonic() - started:6.2f} s   {out.strip()}")
        started = time.monotonic()
        code, out, err = gridline("plans", "export")
        assert code == 0 and out.count("[[plans]]") == count, err
        print(f"  {'export':22} {time.monotonic() - started:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--responders", type=int, default=5, help="responders per plan")
    parser.add_argument("--plans", type=int, default=1000, help="plans in the imported file")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="MS")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the sender's flood-control notes are counted, not printed
    asyncio.run(plan_tap(args.runs, args.responders, args.jitter))
    plan_import(args.plans)


if __name__ == "__main__":
    main()
