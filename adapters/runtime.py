"""What the HTTP adapters need from a running process, said as Protocols.

`bot/` hands them the same `Runtime` it gives the Telegram side; the adapters name only the parts
they use, so they depend on neither `bot/` nor `handlers/`, and mypy checks the fit where `bot/`
composes them.
"""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from storage.catalog import Catalog
from storage.clock import Clock
from storage.db import Store
from storage.map_index import MapCache


class AdapterSettings(Protocol):
    @property
    def zone(self) -> ZoneInfo: ...
    @property
    def default_language(self) -> str: ...
    @property
    def public_base_url(self) -> str: ...
    @property
    def bot_token(self) -> SecretStr | None: ...
    @property
    def media_secret(self) -> SecretStr | None: ...
    @property
    def open311_contact(self) -> str: ...
    @property
    def open311_key_service(self) -> str: ...
    @property
    def open311_public_read(self) -> bool: ...
    @property
    def upstream_url(self) -> str | None: ...
    @property
    def upstream_api_key(self) -> SecretStr | None: ...
    @property
    def upstream_timeout_seconds(self) -> float: ...
    @property
    def sync_alert_minutes(self) -> float: ...
    @property
    def cap_feeds(self) -> list[str]: ...
    @property
    def cap_sender(self) -> str: ...


class SyncCounters(Protocol):
    sync_failures: int
    cap_alerts: int
    cap_feed_failures: int


class AdapterRuntime(Protocol):
    @property
    def settings(self) -> AdapterSettings: ...
    @property
    def store(self) -> Store: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def map(self) -> MapCache: ...
    @property
    def counters(self) -> SyncCounters: ...
