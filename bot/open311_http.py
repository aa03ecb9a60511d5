"""Gridline as an Open311 GeoReport v2 server, under /open311/: discovery, services, requests (GET
with the spec's filters and paging, POST with an API key) and tokens, each in XML and JSON."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot import media
from bot.runtime import Runtime
from storage import open311, routing
from storage.models import Case
from storage.open311 import NewRequest, Query

log = logging.getLogger(__name__)

SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00Z"
FORMATS = {"json": "application/json", "xml": "text/xml"}


class Problem(Exception):
    def __init__(self, status: int, errors: list[tuple[int, str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _xml(root: str, item: str | None, body: Any) -> str:
    top = ET.Element(root)
    if item is None:
        for key, value in body.items():
            _xml_value(top, key, value)
    else:
        for entry in body:
            _xml_value(top, item, entry) if not isinstance(entry, dict) else _xml_dict(top, item, entry)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode")


def _xml_dict(parent: ET.Element, tag: str, entry: dict[str, Any]) -> None:
    element = ET.SubElement(parent, tag)
    for key, value in entry.items():
        _xml_value(element, key, value)


def _reply(fmt: str, root: str, item: str | None, body: Any, status: int = 200) -> web.Response:
    if fmt == "xml":
        return web.Response(text=_xml(root, item, body), content_type="text/xml", charset="utf-8", status=status)
    return web.json_response(body, status=status)


def _errors(fmt: str, problem: Problem) -> web.Response:
    body = [{"code": code, "description": description} for code, description in problem.errors]
    return _reply(fmt, "errors", "error", body, problem.status)


def _format(request: web.Request) -> str:
    fmt = request.match_info.get("format", "json")
    if fmt not in FORMATS:
        raise web.HTTPNotFound(text="use .json or .xml")
    return fmt


class Open311:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/open311/discovery.{format}", self.discovery)
        app.router.add_get("/open311/v2/services.{format}", self.services)
        app.router.add_get(r"/open311/v2/services/{code}.{format}", self.service_definition)
        app.router.add_get("/open311/v2/requests.{format}", self.requests)
        app.router.add_post("/open311/v2/requests.{format}", self.post_request)
        app.router.add_get(r"/open311/v2/requests/{id}.{format}", self.one_request)
        app.router.add_get(r"/open311/v2/tokens/{token}.{format}", self.token)

    @property
    def base(self) -> str:
        return self.runtime.settings.public_base_url

    def _language(self, request: web.Request) -> str:
        asked = request.query.get("locale") or request.query.get("lang") or request.headers.get("Accept-Language", "")
        return "en" if asked.lower().startswith("en") else "zh" if asked.lower().startswith("zh") else \
            self.runtime.settings.default_language

    async def discovery(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        endpoint = {"specification": SPEC, "url": f"{self.base}/open311/v2", "changeset": CHANGESET, "type": "production",
                    "formats": list(FORMATS.values())}
        body = {"changeset": CHANGESET, "contact": self.runtime.settings.open311_contact,
                "key_service": self.runtime.settings.open311_key_service, "endpoints": [endpoint]}
        if fmt == "json":
            return web.json_response(body)
        root = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            _xml_value(root, key, body[key])
        endpoints = ET.SubElement(root, "endpoints")
        element = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            _xml_value(element, key, endpoint[key])
        formats = ET.SubElement(element, "formats")
        for value in FORMATS.values():
            _xml_value(formats, "format", value)
        return web.Response(text='<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode"),
                            content_type="text/xml", charset="utf-8")

    async def services(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        return _reply(fmt, "services", "service", open311.services(self.runtime.catalog, self._language(request)))

    async def service_definition(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        found = open311.find_service(self.runtime.catalog, request.match_info["code"])
        if found is None:
            return _errors(fmt, Problem(404, [(404, f"service_code {request.match_info['code']} is not a known service")]))
        # No service asks for extra attributes: the definition is empty, as the spec allows.
        return _reply(fmt, "service_definition", None, {"service_code": found[0].code, "attributes": {}})

    def _media_url(self, case_photo_id: int | None) -> str | None:
        if case_photo_id is None:
            return None
        settings = self.runtime.settings
        key = media.media_key(settings.bot_token.get_secret_value() if settings.bot_token else "",
                              settings.media_secret.get_secret_value() if settings.media_secret else None)
        token = media.sign(key, case_photo_id, self.runtime.clock.now() + media.MEDIA_LIFETIME)
        return f"{self.base}/media/{token}"

    async def _as_requests(self, session, found: list[Case], language: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
        photos, notes = await open311.extras_of(session, found)
        return [open311.as_request(case, self.runtime.catalog, language, self.runtime.settings.zone,
                                   self._media_url(photos.get(case.id)) or (case.reporter_contact or {}).get("media_url"),
                                   notes.get(case.id))
                for case in found]

    def _date(self, request: web.Request, name: str) -> datetime | None:
        value = request.query.get(name)
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Problem(400, [(400, f"{name} must be a w3 date-time like 2026-11-01T00:00:00+08:00")]) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.runtime.settings.zone)

    async def requests(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        try:
            query = self._query(request)
        except Problem as problem:
            return _errors(fmt, problem)
        async with self.runtime.store.transaction() as session:
            found = await open311.find_requests(session, query, self.runtime.clock.now())
            body = await self._as_requests(session, found, self._language(request))
        return _reply(fmt, "service_requests", "request", body)

    def _query(self, request: web.Request) -> Query:
        def listed(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in request.query.get(name, "").split(",") if v.strip())

        status = listed("status")
        if any(s not in ("open", "closed") for s in status):
            raise Problem(400, [(400, "status must be open or closed")])
        start, end = self._date(request, "start_date"), self._date(request, "end_date")
        if start and end and end - start > timedelta(days=90):
            raise Problem(400, [(400, "start_date and end_date may be at most 90 days apart")])
        try:
            page = int(request.query.get("page", "1"))
            size = int(request.query.get("page_size", str(open311.MAX_RESULTS)))
        except ValueError:
            raise Problem(400, [(400, "page and page_size must be whole numbers")]) from None
        return Query(listed("service_request_id"), listed("service_code"), tuple(sorted(set(status))) if len(set(status)) == 1 else (),
                     start, end, page, size)

    async def one_request(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        async with self.runtime.store.transaction() as session:
            found = await open311.find_requests(session, Query(ids=(request.match_info["id"],)), self.runtime.clock.now())
            body = await self._as_requests(session, found, self._language(request))
        if not body:
            return _errors(fmt, Problem(404, [(404, f"no service request {request.match_info['id']}")]))
        return _reply(fmt, "service_requests", "request", body)

    async def token(self, request: web.Request) -> web.Response:
        """Requests are numbered at once, so a token is the request's own number."""
        fmt = _format(request)
        token = request.match_info["token"]
        async with self.runtime.store.transaction() as session:
            found = await open311.find_requests(session, Query(ids=(token,)), self.runtime.clock.now())
        if not found:
            return _errors(fmt, Problem(404, [(404, f"no request for token {token}")]))
        return _reply(fmt, "service_requests", "request", [{"service_request_id": found[0].number, "token": token}])

    async def post_request(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        try:
            fields = await self._fields(request)
            rt = self.runtime
            async with rt.store.transaction() as session:
                channel = await open311.key_named(session, fields.get("api_key"))
                if channel is None:
                    raise Problem(403, [(403, "api_key is missing or not valid")])
                new = self._new_request(fields)
                index = await rt.map.index(session)
                problems = open311.request_problems(new, rt.catalog, index)
                if problems:
                    raise Problem(404 if all(code == 404 for code, _ in problems) else 400, problems)
                case = await open311.create_request(session, new, channel, rt.clock.now(), rt.settings.zone)
                await routing.route_case(session, case, index, rt.clock.now())
                number = case.number
        except Problem as problem:
            return _errors(fmt, problem)
        log.info("open311: request %s created through key %s", number, channel)
        body = [{"service_request_id": number, "service_notice": None, "account_id": None}]
        return _reply(fmt, "service_requests", "request", body, 201)

    async def _fields(self, request: web.Request) -> dict[str, str]:
        try:
            if request.content_type == "application/json":
                data = await request.json()
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                return {str(k): "" if v is None else str(v) for k, v in data.items()}
            return {k: str(v) for k, v in (await request.post()).items()}
        except web.HTTPRequestEntityTooLarge:
            raise Problem(413, [(413, "the request body is too large")]) from None
        except (ValueError, UnicodeDecodeError):
            raise Problem(400, [(400, "the body is not a form or a JSON object")]) from None

    @staticmethod
    def _new_request(fields: dict[str, str]) -> NewRequest:
        def number(name: str) -> float | None:
            value = fields.get(name, "").strip()
            if not value:
                return None
            try:
                return float(value)
            except ValueError:
                raise Problem(400, [(400, f"{name} must be a number")]) from None

        contact = {k: fields.get(k, "").strip()[:200] for k in
                   ("email", "phone", "first_name", "last_name", "device_id", "account_id", "media_url")}
        return NewRequest(fields.get("service_code", "").strip() or None, number("lat"), number("long"),
                          fields.get("address_string", "").strip() or None, fields.get("description", "").strip() or None,
                          contact)
