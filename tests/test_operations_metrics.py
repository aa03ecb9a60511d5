"""Operators scrape /metrics with Prometheus: the standard client's text, which its own parser reads,
with the names operators already script against and the new ones (time per update, Bot API
latency and 429s, the queue by priority and its oldest message's wait, store query time)."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.web import HttpFace
from storage import cases
from tests.stories import submit_manhole

KEPT = ("gridline_updates", "gridline_handler_errors", "gridline_sync_failures", "gridline_cap_alerts",
        "gridline_cap_feed_failures", "gridline_cases", "gridline_outbox_messages", "gridline_sync_lag_seconds")


async def scrape(world) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:  # type: ignore[no-untyped-def]
    face = HttpFace(world.runtime, world.app.bot)
    await face.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{face.port}/metrics") as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
            text = await response.text()
    finally:
        await face.stop()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def accepted(world, case) -> None:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        await cases.accept_case(session, case.id, None, world.clock.now())


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples[name][tuple(sorted(labels.items()))]


async def test_a_report_shows_on_metrics_parsed_by_the_clients_own_parser(world, api):
    citizen = world.person(language_code="en")
    # One update goes the way production takes it: through the Application's update processor.
    update = citizen._message(text="/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}])
    from telegram import Update
    parsed = Update.de_json(update, world.app.bot)
    await world.app.update_processor.process_update(parsed, world.app.process_update(parsed))
    case = await submit_manhole(citizen)
    await accepted(world, case)  # which queues a message to the citizen
    api.flood[citizen.tg_id] = 1  # answered 429 once
    await world.deliver()

    samples = await scrape(world)
    for name in KEPT:
        assert any(key.startswith(name) for key in samples), name
    assert value(samples, "gridline_updates_total") >= 6
    assert value(samples, "gridline_updates_by_kind_total", kind="callback_query") >= 3
    assert value(samples, "gridline_handler_errors_total") == 0
    assert value(samples, "gridline_update_seconds_count") == 1  # the one that went through the processor
    assert value(samples, "gridline_cases", state="accepted") == 1
    assert value(samples, "gridline_store_query_seconds_count") > 10
    assert value(samples, "gridline_bot_api_seconds_count", method="sendMessage") >= 1
    assert value(samples, "gridline_bot_api_429_total", method="sendMessage") == 1
    assert value(samples, "gridline_outbox_oldest_due_seconds") >= 0
    assert value(samples, "gridline_sync_lag_seconds") == 0
    assert value(samples, "gridline_callouts_active") == 0
    assert value(samples, "gridline_reminders_sent_total", kind="reminded") == 0
    # Labels stay low-cardinality: no person, chat or case ever names a series.
    for name, series in samples.items():
        for labels in series:
            for key, _ in labels:
                assert key in {"kind", "method", "state", "status", "priority", "answer", "le"}, (name, key)
    # (label values only: a measured value such as 0.05001 s may hold the digits of an id by chance)
    assert not any(str(citizen.tg_id) == value for series in samples.values() for labels in series for _, value in labels)


async def test_the_queue_by_priority_and_its_oldest_wait(world, api):
    citizen = world.person(language_code="en")
    await accepted(world, await submit_manhole(citizen))
    api.flood[citizen.tg_id] = 1
    await world.deliver()  # the 429 leaves a message waiting
    world.clock.advance(seconds=90)
    samples = await scrape(world)
    waiting = samples.get("gridline_outbox_queued", {})
    assert sum(waiting.values()) == value(samples, "gridline_outbox_messages", status="pending") >= 1
    assert value(samples, "gridline_outbox_oldest_due_seconds") >= 60
