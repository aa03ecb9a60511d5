"""Settings from the environment or a `.env` file (names and defaults as DESIGN.md lists them)."""

from __future__ import annotations

import json
import re
import socket
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from handlers.runtime import Runtime
from storage.db import async_driver_url
from storage.media_store import MediaStore, S3Access, media_store_spec, open_media_store
from storage.retention import PointMode
from storage.vocab import Verifier, VerifyMode


def _clock_time(text: str) -> time | None:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def _span(text: str) -> tuple[time, time] | None:
    parts = text.split("-")
    if len(parts) != 2:
        return None
    start, end = _clock_time(parts[0]), _clock_time(parts[1])
    return (start, end) if start is not None and end is not None and start != end else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDLINE_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    api_url: str = "https://api.telegram.org"
    db_url: str | None = None
    data_dir: Path = Path("./var")
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh", "en"] = "zh"
    categories: Path | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_port: int = Field(default=8080, ge=0, le=65535)  # 0: no HTTP server
    http_host: str = "127.0.0.1"
    # How other systems reach the HTTP server (Open311 discovery, media links); default: host and port.
    public_url: str | None = None
    open311_contact: str = "Gridline grid service"
    open311_key_service: str = "Ask the grid service's administrator for an API key (gridline apikey create)."
    # Reading Open311 requests needs an API key; true opens a feed without one that carries no personal
    # data (the point rounded to about 100 m, nothing the reporter typed, no photos).
    open311_public_read: bool = False
    upstream_url: str | None = None
    upstream_api_key: SecretStr | None = None
    upstream_timeout_seconds: float = Field(default=15, gt=0, le=300)
    sync_alert_minutes: float = Field(default=30, gt=0)  # admins hear when cases wait this long for the platform
    media_secret: SecretStr | None = None  # signs /media links; derived from the bot token when unset
    # This process's name among several sharing one store (its queue claims carry it).
    instance: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    # Telegram's limits: messages a second overall, and seconds between two messages to one chat.
    send_per_second: float = Field(default=30, gt=0, le=1000)
    chat_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    # Telegram's paid broadcasts (allow_paid_broadcast, charged in Stars) for emergency messages.
    paid_broadcast: bool = False
    # On PostgreSQL, the sending processes keep to send_per_second together, through slots in the
    # store; false: each process keeps to it alone (as before: split it by hand).
    shared_send_limit: bool = True
    # Call-outs: minutes between automatic re-alerts of those who have not answered, and how many.
    realert_minutes: float = Field(default=5, gt=0, le=120)
    realert_times: int = Field(default=2, ge=0, le=10)
    # Call-out waves (issue 16): a call-out whose commander set a need in the composer waves every N
    # minutes while fewer than needed are coming (0: no waves; a plan brings its own timing), at most
    # this many waves in all.
    callout_wave_minutes: int = Field(default=10, ge=0, le=24 * 60)
    callout_max_waves: int = Field(default=3, ge=1, le=10)
    # Workers' timers (issue: task cards and reminders).
    accept_within_minutes: int = Field(default=15, ge=1, le=24 * 60)
    escalate_after_hours: float = Field(default=4, gt=0, le=24 * 30)
    quiet_hours: str = "22:00-07:00"
    digest_at: str = "08:30"
    auto_close_days: float = Field(default=3, gt=0, le=90)
    # Verification before closing (核查, issue 18): which resolved cases go to a verifier first
    # (none, all, or catalog: the categories with verify = true), and who verifies (leader or dispatcher).
    verify: VerifyMode = VerifyMode.CATALOG
    verifier: Verifier = Verifier.LEADER
    # Official warnings (CAP 1.2): Atom or RSS feeds of alerts to poll (a JSON list, or URLs separated
    # by commas), how often, and the sender id of the alerts Gridline exports.
    cap_feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cap_poll_seconds: float = Field(default=60, ge=5, le=24 * 3600)
    cap_sender: str = Field(default="gridline", min_length=1, max_length=80, pattern=r"^[^\s,<&]+$")
    # Operations (issue 20). Logs: plain text lines, or one JSON object a line for a log store.
    log_format: Literal["text", "json"] = "text"
    # Personal data: days after a case closed when its reporter's identity, exact point and photos
    # go (0: never), and how the point is kept: the grid's centre, or rounded to about 1 km.
    retention_days: int = Field(default=365, ge=0, le=36500)
    retention_point: PointMode = "grid"
    # Where photo files live: empty for the data folder, or s3://bucket/prefix in an S3-compatible
    # store reached at s3_endpoint_url (empty: AWS) with these keys (empty: the usual AWS chain).
    media_store: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    # The command-centre board (issue 17): how old a Mini App's initData may be, the map's tiles (a
    # URL template; empty: no tiles, a blank background) and the coordinates they are drawn in.
    board_initdata_max_age: int = Field(default=86400, ge=10, le=7 * 86400)
    map_tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_coordinates: Literal["wgs84", "gcj02"] = "wgs84"

    @field_validator("cap_feeds", mode="before")
    @classmethod
    def _feed_list(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("cap_feeds")
    @classmethod
    def _feed_urls(cls, value: list[str]) -> list[str]:
        bad = [url for url in value if not re.match(r"^https?://[^\s]+$", url)]
        if bad:
            raise ValueError(f"CAP feeds must be http(s) URLs, not {', '.join(map(repr, bad))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use a name like Asia/Shanghai") from None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("the webhook secret must be 1-256 letters, digits, '_' or '-' (Telegram's rule)")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_span(cls, value: str) -> str:
        if value.strip() and _span(value) is None:
            raise ValueError(f"quiet hours must look like 22:00-07:00 (or be empty for none), not {value!r}")
        return value.strip()

    @field_validator("digest_at")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        if _clock_time(value) is None:
            raise ValueError(f"the digest time must look like 08:30, not {value!r}")
        return value.strip()

    @property
    def quiet_span(self) -> tuple[time, time] | None:
        return _span(self.quiet_hours) if self.quiet_hours else None

    @property
    def digest_time(self) -> time:
        found = _clock_time(self.digest_at)
        assert found is not None
        return found

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def database_url(self) -> str:
        if self.db_url:
            return async_driver_url(self.db_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gridline.sqlite3').resolve()}"

    @property
    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def web_app_base_url(self) -> str | None:
        """The https address Telegram Mini Apps (the board, the citizens' map picker) open at: the
        public URL, else the webhook's origin; None when neither is https (Telegram needs https)."""
        for url in (self.public_url, self.webhook_url):
            if url and url.lower().startswith("https://"):
                parts = urlparse(url)
                return f"https://{parts.netloc}{parts.path if url == self.public_url else ''}".rstrip("/")
        return None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @field_validator("media_store")
    @classmethod
    def _media_store(cls, value: str) -> str:
        return media_store_spec(value)

    def s3_access(self) -> S3Access:
        return S3Access(self.s3_endpoint_url or None, self.s3_region,
                        self.s3_access_key_id.get_secret_value() if self.s3_access_key_id else None,
                        self.s3_secret_access_key.get_secret_value() if self.s3_secret_access_key else None)

    def open_media(self) -> MediaStore:
        """The store GRIDLINE_MEDIA_STORE names (the data folder by default)."""
        return open_media_store(self.media_store, self.data_dir, self.s3_access())


# The runtime `bot/` builds and hands to both sides: the Telegram side's `Runtime`, carrying all of
# the settings (so it is also the `adapters.runtime.AdapterRuntime` the HTTP adapters take).
BotRuntime = Runtime[Settings]
