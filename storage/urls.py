"""URLs as they may be shown in output and logs: a password inside one never is.

Operators put credentials in URLs (`postgresql://gridline:pw@db/gridline`,
`https://city:pw@platform/open311/v2`), and those URLs end up in status lines, error messages and
tracebacks. Everything that prints or logs a URL passes it through `redacted_url`.
"""

from __future__ import annotations

import re

# scheme://user:password@ — the password runs to the last "@" before the URL ends, so one that
# holds a raw "@" or "/" is hidden whole (at worst, a little more than the password is hidden).
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:'\"<>]*):[^\s'\"<>]*@")
# ...?password=pw: libpq and asyncpg take a store's password as a query parameter too, and a
# platform's key may ride in its URL the same way.
_SECRET_PARAMETERS = re.compile(
    r"(?P<head>[?&;](?:password|passwd|pwd|sslpassword|api_key|apikey|access_token|token|secret)=)[^&;#\s'\"<>]+",
    re.IGNORECASE)


def redacted_url(text: str | None) -> str:
    """The URL, or any text holding URLs, with every password shown as `***` (user:***@host, and
    ?password=*** in a query)."""
    if not text:
        return ""
    return _SECRET_PARAMETERS.sub(r"\g<head>***", _CREDENTIALS.sub(r"\g<head>:***@", text))
