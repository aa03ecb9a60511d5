"""The process's Prometheus meters, one registry per running bot (prometheus_client).

Every floor counts here (the Telegram side, the HTTP adapters, `bot/`, and the store's own query
timer), so the meters live on the lowest floor; they hold no SQL. Labels are low-cardinality only:
update kinds, Bot API method names, priorities, answers, reminder kinds, never a person or a case.

What changes in the store (the queue, call-outs, sync lag, reminders due) is read at scrape time
by `storage.metrics.gauges` and set on the gauges here just before the text is written, so a
counter kept in one process never disagrees with the store another process writes.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.metrics import Gauges

# `*_created` series double the output and no alert uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated

# Seconds: a handled update, a Bot API call, a store query.
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

UPDATE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member", "other")
REMINDER_KINDS = ("nudged", "to_leader", "reminded", "escalated", "closed")


class Meters:
    """The counters, histograms and gauges one process exposes on /metrics."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        # The total stays unlabelled as it always was (dashboards sum it); the kinds are beside it.
        self.updates_total = Counter("gridline_updates", "Telegram updates handled.", registry=registry)
        self.updates = Counter("gridline_updates_by_kind", "Telegram updates handled, by kind.", ["kind"], registry=registry)
        self.handler_errors_total = Counter("gridline_handler_errors", "Updates whose handling failed.", registry=registry)
        self.update_seconds = Histogram("gridline_update_seconds", "Time to handle one update (the handlers' work).",
                                        buckets=UPDATE_BUCKETS, registry=registry)
        self.sync_failures_total = Counter("gridline_sync_failures", "Failed attempts to sync with the upstream platform.",
                                           registry=registry)
        self.cap_alerts_total = Counter("gridline_cap_alerts", "Official warnings (CAP) taken, posted or polled.",
                                        registry=registry)
        self.cap_feed_failures_total = Counter("gridline_cap_feed_failures", "CAP feed polls or feed alerts that failed.",
                                               registry=registry)
        self.bot_api_seconds = Histogram("gridline_bot_api_seconds", "Time of one Bot API call (send latency), by method.",
                                         ["method"], buckets=UPDATE_BUCKETS, registry=registry)
        self.bot_api_429 = Counter("gridline_bot_api_429", "Bot API calls answered 429 (flood control), by method.",
                                   ["method"], registry=registry)
        self.reminders_sent = Counter("gridline_reminders_sent", "Reminders, nudges and timed escalations queued, by kind.",
                                      ["kind"], registry=registry)
        self.query_seconds = Histogram("gridline_store_query_seconds", "Time of one store query (SQL statement).",
                                       buckets=QUERY_BUCKETS, registry=registry)
        # Read from the store at scrape time.
        self.cases = Gauge("gridline_cases", "Cases in the store by state.", ["state"], registry=registry)
        self.outbox = Gauge("gridline_outbox_messages", "Outbound messages waiting (pending) or given up (dead).",
                            ["status"], registry=registry)
        self.queued = Gauge("gridline_outbox_queued", "Outbound messages waiting to be sent, by priority (0 first).",
                            ["priority"], registry=registry)
        self.oldest_age = Gauge("gridline_outbox_oldest_due_seconds",
                                "How long the oldest due message has waited to be sent (0: none waits).", registry=registry)
        self.sync_lag = Gauge("gridline_sync_lag_seconds", "Age of the oldest case change not yet synced upstream.",
                              registry=registry)
        self.callouts_active = Gauge("gridline_callouts_active", "Call-outs under way (sent, not stood down).",
                                     registry=registry)
        self.callout_responders = Gauge("gridline_callout_responders",
                                        "People called out by call-outs under way, by answer (none: not yet).",
                                        ["answer"], registry=registry)
        self.callout_delivered = Gauge("gridline_callout_delivered", "People a call-out under way has reached.",
                                       registry=registry)
        self.reminders_due = Gauge("gridline_reminders_due", "Cases whose timers are due and not yet looked at.",
                                   registry=registry)
        # Children looked up once: `labels()` costs more than the increment itself.
        self._by_kind = {kind: self.updates.labels(kind) for kind in UPDATE_KINDS}
        self._api_seconds: dict[str, Any] = {}
        self._api_429: dict[str, Any] = {}
        for kind in REMINDER_KINDS:
            self.reminders_sent.labels(kind)

    # The counts tests read back (what `Counters` held before).
    @property
    def sync_failures(self) -> int:
        return self._count("gridline_sync_failures")

    @property
    def cap_feed_failures(self) -> int:
        return self._count("gridline_cap_feed_failures")

    def _count(self, counter: str) -> int:
        return int(self.registry.get_sample_value(f"{counter}_total") or 0)

    def update_seen(self, kind: str) -> None:
        self.updates_total.inc()
        self._by_kind.get(kind, self._by_kind["other"]).inc()

    def sync_failed(self) -> None:
        self.sync_failures_total.inc()

    def cap_alert_taken(self) -> None:
        self.cap_alerts_total.inc()

    def cap_feed_failed(self) -> None:
        self.cap_feed_failures_total.inc()

    def handler_failed(self) -> None:
        self.handler_errors_total.inc()

    def bot_api_called(self, method: str, seconds: float, status: int | None) -> None:
        timed = self._api_seconds.get(method)
        if timed is None:
            timed = self._api_seconds[method] = self.bot_api_seconds.labels(method)
        timed.observe(seconds)
        if status == 429:
            flooded = self._api_429.get(method)
            if flooded is None:
                flooded = self._api_429[method] = self.bot_api_429.labels(method)
            flooded.inc()

    def text(self, gauges: Gauges, sync_lag: float) -> bytes:
        """The Prometheus text exposition of every meter, with the store's gauges as just read."""
        self.cases.clear()
        for state, count in gauges.cases_by_state.items():
            self.cases.labels(state).set(count)
        self.outbox.labels("pending").set(gauges.queued)
        self.outbox.labels("dead").set(gauges.given_up)
        self.queued.clear()
        for priority, count in gauges.queued_by_priority.items():
            self.queued.labels(str(priority)).set(count)
        self.oldest_age.set(gauges.oldest_due_seconds)
        self.callouts_active.set(gauges.callouts_active)
        self.callout_responders.clear()
        for answer, count in gauges.callout_answers.items():
            self.callout_responders.labels(answer).set(count)
        self.callout_delivered.set(gauges.callout_delivered)
        self.reminders_due.set(gauges.reminders_due)
        self.sync_lag.set(sync_lag)
        return generate_latest(self.registry)

    def time_queries(self, engine: AsyncEngine) -> None:
        """Observe every SQL statement's time on `engine` (SQLAlchemy's cursor events)."""
        sync_engine = engine.sync_engine
        histogram = self.query_seconds

        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            conn.info.setdefault("gridline_query_started", []).append(time.perf_counter())

        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            started = conn.info.get("gridline_query_started")
            if started:
                histogram.observe(time.perf_counter() - started.pop())

        def failed(context: Any) -> None:
            started = context.connection.info.get("gridline_query_started") if context.connection is not None else None
            if started:
                started.pop()

        event.listen(sync_engine, "before_cursor_execute", before)
        event.listen(sync_engine, "after_cursor_execute", after)
        event.listen(sync_engine, "handle_error", failed)
