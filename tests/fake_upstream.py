"""A city platform on loopback that speaks Open311 GeoReport v2 (JSON) and misbehaves on request:
down, 500, an answer that is not JSON, accepting a request and then never answering, refusing it,
or answering with a token instead of an id."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

from aiohttp import web


class FakeUpstream:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.posts = 0
        self.next_answers: list[str] = []  # one per POST: ok, token, 500, garbage, hang_after_accept, refuse
        self.hang_seconds = 5.0
        self.tokens: dict[str, str] = {}
        # Service request updates (POST servicerequestupdates): kept by update_id, so the same update
        # sent again is the same one (the extension's idempotency key); every POST is counted.
        self.updates: dict[str, dict[str, str]] = {}
        self.update_posts = 0
        self.update_answers: list[str] = []  # one per update POST: ok, 500, hang_after_accept
        self._ids = itertools.count(9001)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/requests.json", self._post)
        app.router.add_get("/v2/requests.json", self._list)
        app.router.add_get("/v2/tokens/{token}.json", self._token)
        app.router.add_post("/v2/servicerequestupdates.json", self._post_update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}/v2"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _create(self, fields: dict[str, str]) -> dict[str, Any]:
        request = {"service_request_id": str(next(self._ids)), "status": "open", "status_notes": None,
                   "requested_datetime": datetime.now().astimezone().isoformat(), **fields}
        self.requests.append(request)
        return request

    async def _post(self, request: web.Request) -> web.Response:
        self.posts += 1
        fields = {k: str(v) for k, v in (await request.post()).items()}
        answer = self.next_answers.pop(0) if self.next_answers else "ok"
        if answer == "500":
            return web.json_response([{"code": 500, "description": "database is down"}], status=500)
        if answer == "refuse":
            return web.json_response([{"code": 400, "description": "service_code not accepted here"}], status=400)
        created = self._create(fields)
        if answer == "garbage":
            return web.Response(text="<html>Gateway OK</html>", content_type="text/html")
        if answer == "hang_after_accept":
            await asyncio.sleep(self.hang_seconds)
        if answer == "token":
            token = f"t-{created['service_request_id']}"
            self.tokens[token] = created["service_request_id"]
            return web.json_response([{"token": token}])
        return web.json_response([{"service_request_id": created["service_request_id"]}])

    async def _post_update(self, request: web.Request) -> web.Response:
        self.update_posts += 1
        fields = {k: str(v) for k, v in (await request.post()).items()}
        answer = self.update_answers.pop(0) if self.update_answers else "ok"
        if answer == "500":
            return web.json_response([{"code": 500, "description": "database is down"}], status=500)
        if not fields.get("update_id") or not fields.get("service_request_id"):
            return web.json_response([{"code": 400, "description": "update_id is required"}], status=400)
        self.updates.setdefault(fields["update_id"], fields)
        if answer == "hang_after_accept":
            await asyncio.sleep(self.hang_seconds)
        return web.json_response([{"update_id": fields["update_id"]}])

    async def _list(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("service_request_id", "").split(",") if i]
        found = [r for r in self.requests if not ids or r["service_request_id"] in ids]
        return web.json_response(found)

    async def _token(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        return web.json_response([{"token": token, "service_request_id": self.tokens.get(token)}])

    def close(self, upstream_id: str, notes: str) -> None:
        for request in self.requests:
            if request["service_request_id"] == upstream_id:
                request["status"], request["status_notes"] = "closed", notes
