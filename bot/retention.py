"""Personal-data retention as it runs: the daily job, `gridline retention run`, and removing the
photo files the store no longer uses (storage/retention.py decides what goes)."""

from __future__ import annotations

import logging
from datetime import datetime, time

from bot.settings import BotRuntime, Settings
from bot.timers import timing_of
from storage import retention, timers
from storage.db import Store
from storage.media_store import MediaStore, delete_photos
from storage.retention import RetentionReport

log = logging.getLogger(__name__)

RUN_AT = time(3, 30)  # local time: the quiet of the night
DRY_RUN_LIMIT = 1_000_000


async def remove_due(store: Store, media: MediaStore, settings: Settings, now: datetime,
                     dry_run: bool = False) -> RetentionReport:
    """Every case due for removal, in batches of one transaction each (or, dry, just what would go)."""
    total = RetentionReport()
    limit = DRY_RUN_LIMIT if dry_run else retention.BATCH
    while True:
        async with store.transaction() as session:
            batch = await retention.run_retention(session, now, settings.retention_days, settings.retention_point,
                                                  dry_run=dry_run, limit=limit)
        await delete_photos(media, batch.photo_files)
        total.cases += batch.cases
        total.photo_files += batch.photo_files
        if dry_run or len(batch.cases) < limit:
            return total


async def daily(runtime: BotRuntime) -> int:
    """The daily job: once a local day across all processes (the store's job claim), at or after 03:30."""
    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        if not await timers.claim_daily(session, "retention", timing_of(runtime.settings), RUN_AT, now):
            return 0
    report = await remove_due(runtime.store, runtime.media, runtime.settings, now)
    if report.cases:
        log.info("retention: personal data removed from %s case(s), %s photo(s)", len(report.cases), report.photos)
    return len(report.cases)
