"""Settings from the environment or a `.env` file (names and defaults as DESIGN.md lists them)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LANGUAGES = ("zh", "en")


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
    http_port: int = Field(default=8080, ge=1, le=65535)
    upstream_url: str | None = None
    upstream_api_key: SecretStr | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use a name like Asia/Shanghai") from None
        return value

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'gridline.sqlite3').resolve()}"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
