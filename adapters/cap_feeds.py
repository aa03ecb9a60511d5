"""Polling the Atom or RSS feeds of official warnings (GRIDLINE_CAP_FEEDS) every
GRIDLINE_CAP_POLL_SECONDS: each entry's CAP alert (inline, or fetched from its link) is taken as a
POST to /cap/alerts would be; the same identifier is drafted once, however often a feed lists it.

Nothing here stops the bot: a feed that is down, an entry that cannot be fetched, an alert that is
refused are logged and counted (gridline_cap_feed_failures_total), and the next poll tries again."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urljoin

import aiohttp

from adapters.cap_server import take_alert
from adapters.runtime import AdapterRuntime as Runtime
from storage.cap_read import MAX_BYTES, CapRefused, read_feed

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 15.0
MAX_FEED_BYTES = 4 * 1024 * 1024


class FeedTooLarge(Exception):
    pass


async def _fetch(http: aiohttp.ClientSession, url: str, limit: int) -> bytes:
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT), allow_redirects=True) as response:
        response.raise_for_status()
        body = await response.content.read(limit + 1)
        if len(body) > limit:
            raise FeedTooLarge(f"{url} is over {limit} bytes")
        return body


class FeedPoller:
    """One poll of every feed at a time (the scheduler's job); `polls` and `taken` count what it did."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.polls = 0
        self.taken = 0

    def _failed(self, what: str, url: str, error: BaseException | str) -> None:
        self.runtime.counters.cap_feed_failed()
        log.warning("cap feeds: %s %s: %s", what, url, error)

    async def poll(self, http: aiohttp.ClientSession) -> None:
        """Every feed once; a failure of one feed or entry does not stop the others."""
        self.polls += 1
        for url in self.runtime.settings.cap_feeds:
            await self.poll_feed(http, url)

    async def poll_feed(self, http: aiohttp.ClientSession, url: str) -> None:
        try:
            entries = read_feed(await _fetch(http, url, MAX_FEED_BYTES))
        except (aiohttp.ClientError, TimeoutError, FeedTooLarge, UnicodeError) as error:
            self._failed("could not fetch the feed", url, error)
            return
        except CapRefused as refusal:
            self._failed("the feed is not Atom or RSS XML", url, refusal.reason)
            return
        for entry in entries:
            where = urljoin(url, entry.link) if entry.link else url
            try:
                raw = entry.inline if entry.inline is not None else await _fetch(http, where, MAX_BYTES) if entry.link else None
                if raw is None:
                    self._failed("an entry has no alert and no link in", url, "skipped")
                    continue
                received = await take_alert(self.runtime, raw, url)
            except (aiohttp.ClientError, TimeoutError, FeedTooLarge) as error:
                self._failed("could not fetch the alert", where, error)
            except CapRefused as refusal:
                self._failed("refused the alert", where, refusal.reason)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a store failure: logged, counted, tried again next poll
                self._failed("could not take the alert", where, f"{type(error).__name__}: {error}")
            else:
                self.taken += received.outcome != "repeat"
