"""Translations (gettext catalogs under locales/, English msgids) and local dates in a person's language."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from storage.vocab import N_, SUPPORTED_LANGUAGES  # noqa: F401 - N_ is used through this module

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}

Translate = Callable[[str], str]


def _compiled(po_path: Path) -> gettext.GNUTranslations:
    # Compiling the .po in memory keeps the catalogs the single source: no stale .mo can be loaded.
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@cache
def translations(language: str) -> gettext.NullTranslations:
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    return _compiled(po_path)


def translator(language: str) -> Translate:
    return translations(language).gettext


def language_from_telegram(language_code: str | None, default: str) -> str:
    """zh* is Chinese, en* English; anything else, or nothing, is the configured default."""
    code = (language_code or "").lower()
    for language in SUPPORTED_LANGUAGES:
        if code == language or code.startswith((language + "-", language + "_")):
            return language
    return default


def local_time(instant: datetime, zone: ZoneInfo, language: str) -> str:
    """A short local date and time, e.g. 2026年11月23日 14:05 or 23 Nov 2026, 14:05."""
    pattern = "yyyy年M月d日 HH:mm" if language == "zh" else "d MMM yyyy, HH:mm"
    return format_datetime(instant, pattern, tzinfo=zone, locale=BABEL_LOCALES[language])


def duration(span: timedelta, language: str) -> str:
    """A span of time as people say it: "3 days", "4小时"."""
    return format_timedelta(span, threshold=1.5, locale=BABEL_LOCALES[language])


def relative(span: timedelta, language: str) -> str:
    """A span from now as people say it: "in 3 hours" / "3小时后", "2 hours ago" / "2小时前"."""
    return format_timedelta(span, threshold=1.5, add_direction=True, locale=BABEL_LOCALES[language])
