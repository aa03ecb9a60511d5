"""Gridline as an Open311 client of the city's platform (GRIDLINE_UPSTREAM_URL): every new case is
posted, the id it gets is kept, statuses are pulled, and a platform that is down, slow or answers
nonsense gets retries with backoff, never a second copy of a case."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from adapters import media_links as media
from adapters.runtime import AdapterRuntime as Runtime
from storage import cases as case_store
from storage import outbox, platform_updates, sync
from storage.models import Case
from storage.urls import redacted_url
from storage.vocab import N_

log = logging.getLogger(__name__)

SYNC_SECONDS = 10
ALERT_EVERY = timedelta(hours=1)
LAG_ALERT = N_("⚠️ Cases have not reached the city platform for {minutes} minutes ({pending} waiting). "
               "gridline sync status shows why.")


class Temporary(Exception):
    """Worth trying again; `reached` says whether the platform may have acted on the request."""

    def __init__(self, reason: str, reached: bool) -> None:
        super().__init__(reason)
        self.reached = reached


class Permanent(Exception):
    """The platform refused the request itself: retrying the same would be refused again."""


@dataclass
class UpstreamClient:
    base: str
    api_key: str | None
    http: aiohttp.ClientSession
    timeout: aiohttp.ClientTimeout

    def _key(self) -> dict[str, str]:
        # Reading requests needs the key too on platforms that guard personal data (Gridline does).
        return {"api_key": self.api_key} if self.api_key else {}

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.base.rstrip('/')}/{path}"
        try:
            async with self.http.request(method, url, timeout=self.timeout, **kwargs) as response:
                body = await response.read()
                status = response.status
        except TimeoutError:
            raise Temporary("no answer in time", reached=True) from None
        except aiohttp.ClientConnectorError as error:
            raise Temporary(f"cannot connect: {redacted_url(str(error.os_error))}", reached=False) from None
        except aiohttp.ClientError as error:
            # aiohttp names the whole URL, password included, when it cannot parse it.
            raise Temporary(f"connection broke: {redacted_url(str(error))}", reached=True) from None
        try:
            data = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError):
            data = None
            if 200 <= status < 300:
                raise Temporary(f"HTTP {status} with an answer that is not JSON", reached=True) from None
        if status >= 500 or status in (408, 429):
            raise Temporary(f"HTTP {status}", reached=method == "POST")
        if status >= 400:
            raise Permanent(f"HTTP {status}: {_error_text(data)}")
        return data

    async def post(self, fields: dict[str, str]) -> tuple[str | None, str | None]:
        """(service_request_id, token): one of them, as the platform answers."""
        data = await self._call("POST", "requests.json", data={**fields, **self._key()})
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if first is None or not (first.get("service_request_id") or first.get("token")):
            raise Temporary("the answer to our POST names no request", reached=True)
        return _text(first.get("service_request_id")), _text(first.get("token"))

    async def find_marked(self, mark: str, since: datetime, until: datetime) -> str | None:
        """The request we may already have posted, found by the marker in its description."""
        data = await self._call("GET", "requests.json", params={
            "start_date": since.isoformat(), "end_date": until.isoformat(), **self._key()})
        for request in data if isinstance(data, list) else []:
            if isinstance(request, dict) and mark in str(request.get("description") or ""):
                return _text(request.get("service_request_id"))
        return None

    async def post_update(self, fields: dict[str, str]) -> None:
        """One step of a case (the Open311 service request updates extension). The platform takes
        `update_id` as the update's identity, so the same update sent again is not a second one."""
        await self._call("POST", "servicerequestupdates.json", data={**fields, **self._key()})

    async def by_token(self, token: str) -> str | None:
        data = await self._call("GET", f"tokens/{token}.json")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        return _text(first.get("service_request_id"))

    async def statuses(self, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        data = await self._call("GET", "requests.json", params={"service_request_id": ",".join(ids), **self._key()})
        found = {}
        for request in data if isinstance(data, list) else []:
            if isinstance(request, dict) and request.get("service_request_id") is not None:
                status = request.get("status") if request.get("status") in ("open", "closed") else None
                notes = request.get("status_notes")  # whole: sync.status_seen shortens it, visibly
                found[str(request["service_request_id"])] = (status, str(notes) if notes not in (None, "") else None)
        return found


def _text(value: object) -> str | None:
    return str(value)[:64] if value not in (None, "") else None


def _error_text(data: object) -> str:
    if isinstance(data, list):
        return "; ".join(str(e.get("description", e)) for e in data if isinstance(e, dict))[:250] or "refused"
    return "refused"


class Syncer:
    """One pass at a time: post what is due, resolve tokens, pull statuses, warn admins of lag."""

    def __init__(self, runtime: Runtime, rng: random.Random | None = None) -> None:
        self.runtime = runtime
        self.rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._alerted_at: datetime | None = None

    def _fields(self, case: Case, photo_id: int | None) -> dict[str, str]:
        settings = self.runtime.settings
        fields = {
            "service_code": case.category_code,
            "description": "\n".join(p for p in (case.description or "", sync.marker(case.number)) if p),
        }
        if case.lat is not None and case.lon is not None:
            fields["lat"], fields["long"] = f"{case.lat:.6f}", f"{case.lon:.6f}"
        if case.address:
            fields["address_string"] = case.address
        if photo_id is not None and settings.bot_token is not None:
            fields["media_url"] = media.photo_url(settings, photo_id, self.runtime.clock.now())
        for code, value in (case.answers or {}).items():  # the category's questions, as GeoReport v2 attributes
            if value is not None:
                fields[f"attribute[{code}]"] = str(value)
        contact = case.reporter_contact or {}
        for name in ("email", "phone", "first_name", "last_name"):
            if contact.get(name):
                fields[name] = contact[name]
        return fields

    async def run_once(self, http: aiohttp.ClientSession) -> dict[str, int]:
        settings = self.runtime.settings
        if not settings.upstream_url:
            return {}
        client = UpstreamClient(settings.upstream_url, settings.upstream_api_key.get_secret_value()
                                if settings.upstream_api_key else None, http,
                                aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds,
                                                      connect=min(5.0, settings.upstream_timeout_seconds)))
        async with self._lock:
            done = {"posted": 0, "failed": 0, "updated": 0, "steps_sent": 0, "steps_failed": 0}
            await self._push(client, done)
            await self._push_steps(client, done)
            await self._pull(client, done)
            await self._warn_of_lag()
            return done

    async def _push(self, client: UpstreamClient, done: dict[str, int]) -> None:
        rt = self.runtime
        while True:
            async with rt.store.transaction() as session:
                due = await sync.claim_due(session, rt.clock.now())
                work = []
                for item, case in due:
                    photos = await case_store.report_photos(session, case.id)
                    work.append((item.case_id, item.state, item.token, item.maybe_posted, item.posted_at or item.created_at,
                                 case.number, self._fields(case, photos[0].id if photos else None), item.next_at))
            if not work:
                return
            for case_id, state, token, maybe_posted, since, number, fields, leased_until in work:
                await self._push_one(client, case_id, state, token, maybe_posted, since, number, fields, leased_until, done)

    async def _push_one(self, client: UpstreamClient, case_id: int, state: str, token: str | None, maybe_posted: bool,
                        since: datetime, number: str, fields: dict[str, str], leased_until: datetime,
                        done: dict[str, int]) -> None:
        rt = self.runtime
        try:
            if state == "token" and token:
                upstream_id = await client.by_token(token)
                if upstream_id is None:
                    raise Temporary("the platform has not numbered the request yet", reached=True)
                found: tuple[str | None, str | None] = (upstream_id, None)
            else:
                existing = None
                if maybe_posted:
                    # The last POST may have arrived without its answer reaching us: look first.
                    existing = await client.find_marked(sync.marker(number), since - timedelta(minutes=10),
                                                        rt.clock.now() + timedelta(minutes=10))
                if existing is not None:
                    found = (existing, None)
                else:
                    async with rt.store.transaction() as session:
                        mine = await sync.about_to_post(session, case_id, leased_until, rt.clock.now())
                    if not mine:
                        log.warning("sync: case %s was taken over by another process; not posting it here", number)
                        return
                    found = await client.post(fields)
            async with rt.store.transaction() as session:
                await sync.posted(session, case_id, found[0], found[1], rt.clock.now())
            done["posted"] += 1
        except (Temporary, Permanent) as error:
            permanent = isinstance(error, Permanent)
            reached = getattr(error, "reached", False)
            rt.counters.sync_failed()
            log.warning("sync: case %s not posted (%s): %s", number, "refused" if permanent else "will retry", error)
            async with rt.store.transaction() as session:
                await sync.failed(session, case_id, str(error), rt.clock.now(), permanent=permanent, reached=reached,
                                  rng=self.rng)
            done["failed"] += 1

    async def _push_steps(self, client: UpstreamClient, done: dict[str, int]) -> None:
        """Every step of the cases the platform has numbered, in order, each once (a stable update_id)."""
        rt = self.runtime
        settings = rt.settings
        while True:
            async with rt.store.transaction() as session:
                due = await platform_updates.claim_due(session, rt.clock.now())
            if not due:
                return
            # One step per case at a time (claim_due): a case's next step is claimed once this one is sent.
            for step in due:
                fields = {"update_id": step.update_id, "service_request_id": step.service_request_id,
                          "status": step.status, "updated_datetime": step.updated_at.astimezone(settings.zone).isoformat(),
                          "description": step.description}
                if step.photo_id is not None and settings.bot_token is not None:
                    fields["media_url"] = media.photo_url(settings, step.photo_id, rt.clock.now())
                try:
                    await client.post_update(fields)
                except (Temporary, Permanent) as error:
                    permanent = isinstance(error, Permanent)
                    rt.counters.sync_failed()
                    log.warning("sync: step %s of case %s not sent (%s): %s", step.update_id, step.case_number,
                                "refused" if permanent else "will retry", error)
                    async with rt.store.transaction() as session:
                        await platform_updates.failed(session, step.row_id, str(error), rt.clock.now(),
                                                      permanent=permanent, rng=self.rng)
                    done["steps_failed"] += 1
                    continue
                async with rt.store.transaction() as session:
                    await platform_updates.sent(session, step.row_id, rt.clock.now())
                done["steps_sent"] += 1

    async def _pull(self, client: UpstreamClient, done: dict[str, int]) -> None:
        rt = self.runtime
        async with rt.store.transaction() as session:
            due = await sync.due_for_status(session, rt.clock.now())
            ids = {item.upstream_id: item.case_id for item in due if item.upstream_id}
        if not ids:
            return
        try:
            seen = await client.statuses(list(ids))
        except (Temporary, Permanent) as error:
            rt.counters.sync_failed()
            log.warning("sync: statuses not pulled: %s", error)
            return
        async with rt.store.transaction() as session:
            for upstream_id, case_id in ids.items():
                status, notes = seen.get(upstream_id, (None, None))
                done["updated"] += await sync.status_seen(session, case_id, status, notes, rt.clock.now())

    async def _warn_of_lag(self) -> None:
        """Admins hear when cases wait too long to reach the platform (at most once an hour)."""
        rt = self.runtime
        threshold = timedelta(minutes=rt.settings.sync_alert_minutes)
        now = rt.clock.now()
        async with rt.store.transaction() as session:
            state = await sync.status(session, now)
            if state.lag is None or state.lag < threshold:
                return
            if self._alerted_at is not None and now - self._alerted_at < ALERT_EVERY:
                return
            self._alerted_at = now
            admins = await sync.who_hears_of_lag(session)
            minutes = int(state.lag.total_seconds() // 60)
            for admin in admins:
                await outbox.enqueue(session, admin, outbox.NoticePayload(
                    LAG_ALERT, {"minutes": minutes, "pending": state.pending}), now)
