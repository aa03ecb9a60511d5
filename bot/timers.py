"""The bot's timers: the reminder sweep and the morning digest, run by APScheduler and on start."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.settings import BotRuntime, Settings
from storage import timers, updates
from storage.meters import REMINDER_KINDS
from storage.timers import SweepResult, Timing

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30


def timing_of(settings: Settings) -> Timing:
    return Timing(
        accept_within=timedelta(minutes=settings.accept_within_minutes),
        escalate_after=timedelta(hours=settings.escalate_after_hours),
        auto_close_after=timedelta(days=settings.auto_close_days),
        quiet=settings.quiet_span,
        digest_at=settings.digest_time,
        zone=settings.zone,
    )


async def sweep(runtime: BotRuntime) -> SweepResult:
    """Everything due by now, in batches of one transaction each."""
    timing = timing_of(runtime.settings)
    total = SweepResult()
    while True:
        now = runtime.clock.now()
        async with runtime.store.transaction() as session:
            index = await runtime.map.index(session)
            result = await timers.sweep(session, index, timing, now)
        for name in ("looked_at", "nudged", "to_leader", "reminded", "escalated", "closed"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if not result.more:
            break
    for kind in REMINDER_KINDS:
        if getattr(total, kind):
            runtime.counters.reminders_sent.labels(kind).inc(getattr(total, kind))
    if total.looked_at:
        log.info("timers: %s", {k: v for k, v in vars(total).items() if not k.startswith("_") and v})
    return total


async def digest(runtime: BotRuntime) -> int:
    """The morning digest, once a local day, at or after its time (late after a restart, never twice)."""
    timing = timing_of(runtime.settings)
    now = runtime.clock.now()
    async with runtime.store.transaction() as session:
        if not await timers.claim_daily(session, "digest", timing, timing.digest_at, now):
            return 0
        index = await runtime.map.index(session)
        sent = await timers.queue_digests(session, index, timing, now)
    log.info("digest queued for %s people", sent)
    return sent


async def forget_old_updates(runtime: BotRuntime) -> int:
    """Drops the webhook's update ids older than a day, which Telegram no longer sends again."""
    async with runtime.store.transaction() as session:
        return await updates.forget_old_updates(session, runtime.clock.now())


async def tick(runtime: BotRuntime) -> None:
    await sweep(runtime)
    await digest(runtime)
    await forget_old_updates(runtime)
