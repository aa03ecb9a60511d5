"""Logging that never shows a secret: the token is cut out of every formatted line, tracebacks too,
and a password inside any URL shows as *** (a backstop under the callers' own redaction).

Plain text by default; `GRIDLINE_LOG_FORMAT=json` writes one JSON object a line for a log store:
time (UTC, ISO 8601), level, logger, message, the process's role and instance, and the update id,
person id (the store's, never a chat id or name) and case number of the work in hand where known
(storage/log_context.py, set while an update is handled). Message text, names and phone numbers
are never logged by Gridline's own lines; the fields carry ids only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from storage import log_context
from storage.urls import redacted_url


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return redacted_url(text)

    def format(self, record: logging.LogRecord) -> str:
        return self._clean(super().format(record))


class JsonFormatter(RedactingFormatter):
    """One JSON object a line, secrets cut out as in the plain format."""

    def __init__(self, secrets: list[str], role: str, instance: str) -> None:
        super().__init__(secrets)
        self.process_fields = {"role": role, "instance": instance}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._clean(record.getMessage()),
            **self.process_fields,
            **log_context.known(),
        }
        if record.exc_info:
            entry["exception"] = self._clean(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(secrets: list[str], level: int = logging.INFO, *, json_lines: bool = False,
                      role: str = "all", instance: str = "") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(secrets, role, instance) if json_lines else RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and the Bot API puts the token in the URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # python-telegram-bot's debug lines quote every request, message text included.
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
