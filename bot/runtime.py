"""What every part of a running bot shares: settings, the store, the clock, the catalog, the sender."""

from __future__ import annotations

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
