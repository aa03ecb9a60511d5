"""What every part of a running bot shares: settings, the store, the clock, the catalog, the sender.

`bot/` builds one `Runtime` from its `Settings` and hands it to the Telegram side and to the HTTP
adapters. Neither imports `bot/`: each says, as a Protocol, which settings it reads
(`HandlerSettings` here, `adapters.runtime.AdapterSettings` there), and mypy checks that the
composition root's `Settings` has them. `Runtime` is generic in its settings: the Telegram side
sees `Runtime` (its settings read as `HandlerSettings`), while `bot/` holds a `Runtime[Settings]`,
which is also the `adapters.runtime.AdapterRuntime` the adapters ask for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import time as clock_time
from pathlib import Path
from typing import Generic, Protocol
from zoneinfo import ZoneInfo

from typing_extensions import TypeVar

from storage.catalog import Catalog
from storage.clock import Clock
from storage.db import Store
from storage.map_index import MapCache
from storage.media_store import FolderStore, MediaStore
from storage.meters import Meters
from storage.retention import PointMode
from storage.vocab import Verifier, VerifyMode


class HandlerSettings(Protocol):
    """The settings the Telegram side reads (a subset of `bot.settings.Settings`)."""

    @property
    def zone(self) -> ZoneInfo: ...
    @property
    def default_language(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def instance(self) -> str: ...
    @property
    def send_per_second(self) -> float: ...
    @property
    def chat_interval_seconds(self) -> float: ...
    @property
    def paid_broadcast(self) -> bool: ...
    @property
    def shared_send_limit(self) -> bool: ...
    @property
    def realert_minutes(self) -> float: ...
    @property
    def realert_times(self) -> int: ...
    @property
    def callout_wave_minutes(self) -> int: ...
    @property
    def callout_max_waves(self) -> int: ...
    @property
    def quiet_span(self) -> tuple[clock_time, clock_time] | None: ...
    @property
    def public_base_url(self) -> str: ...
    @property
    def web_app_base_url(self) -> str | None: ...
    @property
    def verify(self) -> VerifyMode: ...
    @property
    def verifier(self) -> Verifier: ...
    @property
    def retention_point(self) -> PointMode: ...


class QueueSender(Protocol):
    """The process's sender of queued messages (`handlers.outbound.OutboundSender`), as `bot/` drives it."""

    def wake(self) -> None: ...
    def request_stop(self) -> None: ...
    async def stop(self) -> None: ...
    async def drain(self) -> int: ...
    async def wait_idle(self) -> None: ...


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


# The settings a runtime carries: at least the Telegram side's (covariant: a runtime with richer
# settings is a `Runtime` too; a runtime's settings are never replaced).
SettingsT = TypeVar("SettingsT", bound=HandlerSettings, default=HandlerSettings, covariant=True)


@dataclass
class Runtime(Generic[SettingsT]):
    settings: SettingsT
    store: Store
    clock: Clock
    catalog: Catalog
    sender: QueueSender | None = field(default=None)
    map: MapCache = field(default_factory=MapCache)
    # Prometheus meters of this process (/metrics); one registry per runtime.
    counters: Meters = field(default_factory=Meters)
    # web: takes updates; worker: sends the queue, runs the timers and the sync; all: both
    role: str = "all"
    bot_api: BotApiStatus = field(default_factory=BotApiStatus)
    # How the process measures short intervals and waits (pacing, backoff, flood control); tests
    # replace both to drive time without sleeping.
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    # Where photo files live (GRIDLINE_MEDIA_STORE); None: the data folder.
    media_store: MediaStore | None = None

    @property
    def media(self) -> MediaStore:
        if self.media_store is None:
            self.media_store = FolderStore(self.settings.data_dir)
        return self.media_store
