"""Official warnings over HTTP (CAP 1.2), under /cap/, each call with an API key from `gridline apikey
create` (the `X-Api-Key` header, or `?api_key=`):

- `POST /cap/alerts`: a CAP 1.2 alert (Content-Type application/cap+xml, application/xml or text/xml).
  201 with the drafted call-out, 200 for a repeat, an Update or a Cancel; refused with a JSON
  `{"error": reason, "errors": [schema errors]}` and nothing drafted: 401 (no valid key), 413 (too
  large), 415 (not XML), 400 (not well-formed, or a DTD), 422 (not CAP 1.2, no area, outside the map).
- `GET /cap/feed.atom`: an Atom 1.0 feed of the latest call-outs, each with its CAP alert.
- `GET /cap/callouts/{id}.xml`: one call-out's CAP alert as it stands now.

Also `take_alert`, shared with the feed poller (`adapters/cap_feeds.py`)."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from adapters.runtime import AdapterRuntime as Runtime
from storage import cap, cap_in, open311
from storage.cap_in import Received
from storage.cap_read import MAX_BYTES, CapRefused, read_alert

log = logging.getLogger(__name__)

XML_TYPES = ("application/cap+xml", "application/xml", "text/xml")


def _refused(refusal: CapRefused) -> web.Response:
    body: dict[str, object] = {"error": refusal.reason}
    if refusal.errors:
        body["errors"] = refusal.errors
    return web.json_response(body, status=refusal.status)


async def take_alert(runtime: Runtime, raw: bytes, via: str) -> Received:
    """Read, validate and act on one alert (CapRefused says why not; nothing is drafted then)."""
    alert = read_alert(raw)
    for attempt in (1, 2):
        try:
            async with runtime.store.transaction() as session:
                index = await runtime.map.index(session)
                received = await cap_in.receive(session, index, alert, raw.decode("utf-8", errors="replace"), via,
                                                runtime.clock.now())
            break
        except IntegrityError:
            # The same identifier came twice at once (a POST and a feed, two feeds): the other one
            # drafted it; once more, this one is the repeat.
            if attempt == 2:
                raise
    if received.outcome != "repeat":
        runtime.counters.cap_alert_taken()
    log.info("cap: alert %s from %s (%s) via %s: %s, call-out %s", alert.identifier, alert.sender, alert.msg_type, via,
             received.outcome, received.mobilization_id)
    return received


class CapServer:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/cap/alerts", self.post_alert)
        app.router.add_get("/cap/feed.atom", self.feed)
        app.router.add_get(r"/cap/callouts/{id:\d{1,9}}.xml", self.one_callout)

    async def _key(self, request: web.Request) -> str | None:
        """The name of the caller's live API key, or None."""
        given = request.headers.get("X-Api-Key", "").strip() or request.query.get("api_key", "").strip()
        async with self.runtime.store.transaction() as session:
            return await open311.key_named(session, given or None)

    async def post_alert(self, request: web.Request) -> web.Response:
        channel = await self._key(request)
        if channel is None:
            return web.json_response({"error": "an API key is required (X-Api-Key; gridline apikey create)"}, status=401)
        if request.content_type not in XML_TYPES:
            return web.json_response({"error": f"the body must be a CAP 1.2 alert in XML ({', '.join(XML_TYPES)}), "
                                               f"not {request.content_type or 'untyped'}"}, status=415)
        if (request.content_length or 0) > MAX_BYTES:
            return web.json_response({"error": f"the body is over the limit of {MAX_BYTES} bytes"}, status=413)
        raw = await request.read()  # the app refuses bodies over its client_max_size (1 MiB) itself
        try:
            received = await take_alert(self.runtime, raw, channel)
        except CapRefused as refusal:
            log.info("cap: an alert through key %s was refused: %s", channel, refusal.reason)
            return _refused(refusal)
        return web.json_response({"outcome": received.outcome, "alert": received.alert_id,
                                  "callout": received.mobilization_id, "dispatchers": received.dispatchers},
                                 status=received.status)

    async def feed(self, request: web.Request) -> web.Response:
        if await self._key(request) is None:
            return web.json_response({"error": "an API key is required (X-Api-Key or ?api_key=)"}, status=401)
        rt = self.runtime
        async with rt.store.transaction() as session:
            text = await cap.callout_feed(session, await rt.map.index(session), rt.settings.cap_sender, rt.settings.zone,
                                          rt.settings.public_base_url, rt.clock.now())
        return web.Response(text=text, content_type="application/atom+xml", charset="utf-8")

    async def one_callout(self, request: web.Request) -> web.Response:
        if await self._key(request) is None:
            return web.json_response({"error": "an API key is required (X-Api-Key or ?api_key=)"}, status=401)
        rt = self.runtime
        async with rt.store.transaction() as session:
            text = await cap.sent_callout_alert(session, int(request.match_info["id"]), rt.settings.cap_sender,
                                                rt.settings.zone)
        if text is None:
            return web.json_response({"error": "no such call-out was sent"}, status=404)
        return web.Response(text=text, content_type="application/cap+xml", charset="utf-8")
