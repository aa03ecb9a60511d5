"""Who calls the board: a Telegram Mini App's `initData`, checked as Telegram's documentation says
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app): the
data-check-string (every field but `hash`, sorted, `key=value` joined by newlines) signed with
HMAC-SHA256 under the key HMAC-SHA256("WebAppData", bot token); and not older than allowed."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from urllib.parse import parse_qsl

FUTURE_SKEW_SECONDS = 60


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would give it for these fields (tests and benchmarks play the Mini App)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    digest = hmac.new(_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


def verified_user(init_data: str, bot_token: str, now: datetime, max_age_seconds: float) -> int | None:
    """The Telegram user id of a genuine, fresh initData; None for a forged, stale or malformed one."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    given = fields.pop("hash", "")
    if len(fields) + 1 != len(pairs) or not given:
        return None  # a field twice is not something Telegram sends
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    expected = hmac.new(_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return None
    try:
        age = now.timestamp() - int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = user["id"]
    except (KeyError, ValueError, TypeError):
        return None
    if age > max_age_seconds or age < -FUTURE_SKEW_SECONDS:
        return None
    return user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None
