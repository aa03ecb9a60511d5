"""What every part of a running bot shares: settings, the store, the clock, the catalog, the sender."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage.catalog import Catalog
from storage.clock import Clock
from storage.db import Store
from storage.map_index import MapCache

from bot.metrics import Counters
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.outbound import OutboundSender


@dataclass
class BotApiStatus:
    """Whether the Bot API serves this process now, as whoever spoke to it last found (the poller,
    the sender, the health check); /healthz reports it."""

    problem: str | None = None  # why it does not serve us (never with the token), None when it does
    heard_at: float = float("-inf")  # monotonic time of the last answer or failure (inf: for good)

    def answered(self, now: float) -> None:
        self.problem, self.heard_at = None, now

    def failed(self, problem: str, now: float) -> None:
        self.problem, self.heard_at = problem, now


@dataclass
class Runtime:
    settings: Settings
    store: Store
    clock: Clock
    catalog: Catalog
    sender: OutboundSender | None = field(default=None)
    map: MapCache = field(default_factory=MapCache)
    counters: Counters = field(default_factory=Counters)
    # web: takes updates; worker: sends the queue, runs the timers and the sync; all: both
    role: str = "all"
    bot_api: BotApiStatus = field(default_factory=BotApiStatus)
    # How the process measures short intervals and waits (pacing, backoff, flood control); tests
    # replace both to drive time without sleeping.
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
