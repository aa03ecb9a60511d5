"""Gridline as an Open311 GeoReport v2 server, under /open311/: discovery, services, requests (GET
with the spec's filters and paging, POST with an API key) and tokens, each in XML and JSON.

Discovery and services are public. Reading requests needs an API key (`gridline apikey create`);
with GRIDLINE_OPEN311_PUBLIC_READ a reader without a key gets a feed with no personal data.
Whatever goes wrong under /open311/ is answered with the spec's error list, in the format asked."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from adapters import media_links as media
from adapters.runtime import AdapterRuntime as Runtime
from storage import open311, platform_updates, routing
from storage.models import Case
from storage.open311 import NewRequest, Query

log = logging.getLogger(__name__)

SPEC = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json", "xml": "text/xml"}
# Dates a client may filter by: wide enough for any real query, narrow enough that no arithmetic on
# them overflows Python's or a database's date range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
# Characters XML 1.0 does not allow anywhere in a document (controls, lone surrogates, U+FFFE/FFFF).
XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
UNENCODED_OFFSET = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")
# A posted answer to a service's question: attribute[code] (a list's attribute[code][] is not needed:
# no question takes several values).
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\]$")
Handler = Callable[[web.Request], Awaitable[web.Response]]


class Problem(Exception):
    def __init__(self, status: int, errors: list[tuple[int, str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


def _xml_value(parent: ET.Element, tag: str, value: Any) -> None:
    """Every piece of text in every XML answer is written here, so whatever the store holds, no
    character XML 1.0 forbids reaches a client (it becomes U+FFFD, the replacement character)."""
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, list):
        # <attributes><attribute>…</attribute></attributes>, as the spec writes its lists.
        for inner in value:
            _xml_value(element, tag[:-1] if tag.endswith("s") else "item", inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = XML_FORBIDDEN.sub("\ufffd", str(value))


def _xml(root: str, item: str | None, body: Any) -> str:
    top = ET.Element(root)
    if item is None:
        for key, value in body.items():
            _xml_value(top, key, value)
    else:
        for entry in body:
            _xml_value(top, item, entry)
    return _document(top)


def _document(top: ET.Element) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="unicode")


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
        raise Problem(400, [(400, f"format {fmt} is not supported; use .json or .xml")])
    return fmt


def _error_format(request: web.Request) -> str:
    """The format an error is told in: XML when the path asked for XML, JSON otherwise."""
    return "xml" if request.path.lower().endswith(".xml") else "json"


def _answering_problems(handler: Handler) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Problem as problem:
            return _errors(_error_format(request), problem)
    return answer


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").strip().lower() == "true"


class Open311:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._changesets: dict[str, str] = {}  # catalog fingerprint -> discovery's changeset

    def routes(self, app: web.Application) -> None:
        guarded = _answering_problems
        app.router.add_get("/open311/discovery.{format}", guarded(self.discovery))
        app.router.add_get("/open311/v2/services.{format}", guarded(self.services))
        app.router.add_get(r"/open311/v2/services/{code}.{format}", guarded(self.service_definition))
        app.router.add_get("/open311/v2/requests.{format}", guarded(self.requests))
        app.router.add_post("/open311/v2/requests.{format}", guarded(self.post_request))
        app.router.add_get(r"/open311/v2/requests/{id}.{format}", guarded(self.one_request))
        app.router.add_get(r"/open311/v2/tokens/{token}.{format}", guarded(self.token))
        app.router.add_get("/open311/v2/servicerequestupdates.{format}", guarded(self.updates))
        # Last, so it only takes what nothing above matched: unknown paths and methods.
        app.router.add_route("*", "/open311/{tail:.*}", guarded(self.unknown))

    async def unknown(self, request: web.Request) -> web.Response:
        allowed: set[str] = set()
        for resource in request.app.router.resources():
            if resource is not request.match_info.route.resource:
                match, methods = await resource.resolve(request)
                if match is None:
                    allowed |= methods
        if allowed:
            problem = Problem(405, [(405, f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}")])
            response = _errors(_error_format(request), problem)
            response.headers["Allow"] = ",".join(sorted(allowed))
            return response
        raise Problem(404, [(404, f"{request.path} is not an Open311 resource; start at /open311/discovery.json")])

    @property
    def base(self) -> str:
        return self.runtime.settings.public_base_url

    def _language(self, request: web.Request) -> str:
        asked = request.query.get("locale") or request.query.get("lang") or request.headers.get("Accept-Language") or ""
        return "en" if asked.lower().startswith("en") else "zh" if asked.lower().startswith("zh") else \
            self.runtime.settings.default_language

    async def _changeset(self) -> str:
        """When the services last changed (see open311.catalog_changed_at), looked up once per catalog."""
        catalog = self.runtime.catalog
        fingerprint = open311.catalog_fingerprint(catalog)
        if fingerprint not in self._changesets:
            async with self.runtime.store.transaction() as session:
                changed = await open311.catalog_changed_at(session, catalog, self.runtime.clock.now())
            self._changesets[fingerprint] = changed.strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._changesets[fingerprint]

    async def discovery(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        changeset = await self._changeset()
        endpoint = {"specification": SPEC, "url": f"{self.base}/open311/v2", "changeset": changeset, "type": "production",
                    "formats": list(FORMATS.values())}
        body = {"changeset": changeset, "contact": self.runtime.settings.open311_contact,
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
        return web.Response(text=_document(root), content_type="text/xml", charset="utf-8")

    async def services(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        return _reply(fmt, "services", "service", open311.services(self.runtime.catalog, self._language(request)))

    async def service_definition(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        found = open311.find_service(self.runtime.catalog, request.match_info["code"])
        if found is None:
            return _errors(fmt, Problem(404, [(404, f"service_code {request.match_info['code']} is not a known service")]))
        # A service without questions has an empty list, as the spec allows.
        body = {"service_code": found[0].code, "attributes": open311.attributes(found[0], self._language(request))}
        return _reply(fmt, "service_definition", None, body)

    def _media_url(self, case_photo_id: int | None) -> str | None:
        if case_photo_id is None:
            return None
        return media.photo_url(self.runtime.settings, case_photo_id, self.runtime.clock.now())

    async def _reader(self, session: AsyncSession, request: web.Request) -> str:
        """Who reads requests: "key" (the whole record) or "public" (the feed without personal data).
        A key that is given must be valid, even where the public feed is open: a client whose key
        was revoked hears so instead of quietly getting less."""
        given = request.query.get("api_key", "").strip()
        if given:
            if await open311.key_named(session, given) is None:
                raise Problem(403, [(403, "api_key is not valid")])
            return "key"
        if self.runtime.settings.open311_public_read:
            return "public"
        raise Problem(403, [(403, "api_key is required to read service requests (gridline apikey create)")])

    async def _as_requests(self, session: AsyncSession, found: list[Case], request: web.Request,
                           reader: str) -> list[dict[str, Any]]:
        language, extensions = self._language(request), _flag(request, "extensions")
        settings = self.runtime.settings
        if reader == "public":
            # No photo, no note: only what the public feed shows is looked up at all.
            index = await self.runtime.map.index(session)
            return [open311.public_request(open311.as_request(case, self.runtime.catalog, language, settings.zone,
                                                              None, None, extensions=extensions), index)
                    for case in found]
        photos, notes = await open311.extras_of(session, found)
        return [open311.as_request(case, self.runtime.catalog, language, settings.zone,
                                   self._media_url(photos.get(case.id)) or (case.reporter_contact or {}).get("media_url"),
                                   notes.get(case.id), extensions=extensions)
                for case in found]

    def _date(self, request: web.Request, name: str) -> datetime | None:
        value = request.query.get(name, "").strip()
        if not value:
            return None
        # A client that puts "+08:00" in a URL unencoded sends it as " 08:00" (a '+' in a query is a space).
        value = UNENCODED_OFFSET.sub(r"\1+\2", value)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=self.runtime.settings.zone)
            if not EARLIEST <= parsed <= LATEST:
                raise ValueError(value)
        except (ValueError, OverflowError):
            raise Problem(400, [(400, f"{name} must be a w3 date-time like 2026-11-01T00:00:00+08:00")]) from None
        return parsed

    async def requests(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        query = self._query(request)
        async with self.runtime.store.transaction() as session:
            reader = await self._reader(session, request)
            found = await open311.find_requests(session, query, self.runtime.clock.now())
            body = await self._as_requests(session, found, request, reader)
        return _reply(fmt, "service_requests", "request", body)

    def _query(self, request: web.Request) -> Query:
        """The filters; an empty parameter counts as absent, and a repeated one as its comma form."""
        def listed(name: str) -> tuple[str, ...]:
            return tuple(v.strip() for given in request.query.getall(name, []) for v in given.split(",") if v.strip())

        def whole(name: str, default: int) -> int:
            given = [v.strip() for v in request.query.getall(name, []) if v.strip()]
            if not given:
                return default
            try:
                return int(given[0])
            except ValueError:
                raise Problem(400, [(400, f"{name} must be a whole number")]) from None

        status = listed("status")
        if any(s not in ("open", "closed") for s in status):
            raise Problem(400, [(400, "status must be open or closed")])
        start, end = self._date(request, "start_date"), self._date(request, "end_date")
        if start and end and end - start > timedelta(days=90):
            raise Problem(400, [(400, "start_date and end_date may be at most 90 days apart")])
        page, size = whole("page", 1), whole("page_size", open311.MAX_RESULTS)
        if page > open311.MAX_PAGE:
            raise Problem(400, [(400, f"page must be at most {open311.MAX_PAGE}")])
        return Query(listed("service_request_id"), listed("service_code"),
                     tuple(sorted(set(status))) if len(set(status)) == 1 else (), start, end, page, size)

    async def updates(self, request: web.Request) -> web.Response:
        """The steps of every case since a time (`updated_after`, or `start_date`; up to `end_date`),
        oldest first, paged (`page` from 1, `page_size` up to the requests' limit): the Open311 service
        request updates extension, read with the same API key rules as requests. The public feed
        (GRIDLINE_OPEN311_PUBLIC_READ, no key) leaves out notes and photos."""
        fmt = _format(request)
        after = self._date(request, "updated_after") or self._date(request, "start_date")
        until = self._date(request, "end_date")
        page, size = self._whole(request, "page", 1), self._whole(request, "page_size", open311.MAX_RESULTS)
        if page < 1 or page > open311.MAX_PAGE:
            raise Problem(400, [(400, f"page must be from 1 to {open311.MAX_PAGE}")])
        if size < 1 or size > open311.MAX_RESULTS:
            raise Problem(400, [(400, f"page_size must be from 1 to {open311.MAX_RESULTS}")])
        zone = self.runtime.settings.zone
        async with self.runtime.store.transaction() as session:
            reader = await self._reader(session, request)
            steps = await platform_updates.steps_since(session, after, until, page, size)
        body = [{"update_id": step.update_id, "service_request_id": step.service_request_id, "status": step.status,
                 "updated_datetime": step.updated_at.astimezone(zone).isoformat(timespec="seconds"),
                 "description": step.description.split(":", 1)[0] if reader == "public" else step.description,
                 "media_url": self._media_url(step.photo_id) if reader == "key" else None}
                for step in steps]
        return _reply(fmt, "service_request_updates", "request_update", body)

    @staticmethod
    def _whole(request: web.Request, name: str, default: int) -> int:
        given = request.query.get(name, "").strip()
        if not given:
            return default
        try:
            return int(given)
        except ValueError:
            raise Problem(400, [(400, f"{name} must be a whole number")]) from None

    async def one_request(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        async with self.runtime.store.transaction() as session:
            reader = await self._reader(session, request)
            found = await open311.find_requests(session, Query(ids=(request.match_info["id"],)), self.runtime.clock.now())
            body = await self._as_requests(session, found, request, reader)
        if not body:
            raise Problem(404, [(404, f"no service request {request.match_info['id']}")])
        return _reply(fmt, "service_requests", "request", body)

    async def token(self, request: web.Request) -> web.Response:
        """Requests are numbered at once, so a token is the request's own number."""
        fmt = _format(request)
        token = request.match_info["token"]
        async with self.runtime.store.transaction() as session:
            found = await open311.find_requests(session, Query(ids=(token,)), self.runtime.clock.now())
        if not found:
            raise Problem(404, [(404, f"no request for token {token}")])
        return _reply(fmt, "service_requests", "request", [{"service_request_id": found[0].number, "token": token}])

    async def post_request(self, request: web.Request) -> web.Response:
        fmt = _format(request)
        fields = await self._fields(request)
        rt = self.runtime
        async with rt.store.transaction() as session:
            channel = await open311.key_named(session, fields.get("api_key"))
            if channel is None:
                raise Problem(403, [(403, "api_key is missing or not valid")])
            garbled = sorted(name for name, value in fields.items()
                             if open311.has_forbidden_characters(name) or open311.has_forbidden_characters(value))
            if garbled:
                raise Problem(400, [(400, f"{name} holds control characters") for name in garbled])
            new = self._new_request(fields)
            index = await rt.map.index(session)
            problems = open311.request_problems(new, rt.catalog, index)
            if problems:
                raise Problem(404 if all(code == 404 for code, _ in problems) else 400, problems)
            case = await open311.create_request(session, new, rt.catalog, channel, rt.clock.now(), rt.settings.zone)
            await routing.route_case(session, case, index, rt.clock.now())
            number = case.number
        log.info("open311: request %s created through key %s", number, channel)
        found = open311.find_service(rt.catalog, case.category_code)
        notice = open311.stop_notice(found[0], case.answers or {}, self._language(request)) if found else None
        body = [{"service_request_id": number, "service_notice": notice, "account_id": None}]
        return _reply(fmt, "service_requests", "request", body, 201)

    async def _fields(self, request: web.Request) -> dict[str, str]:
        try:
            if request.content_type == "application/json":
                data = await request.json()
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                fields = {str(k): v for k, v in data.items()}
                nested = fields.pop("attribute", None)  # {"attribute": {"code": value}}, as JSON clients send it
                if isinstance(nested, dict):
                    fields.update({f"attribute[{k}]": v for k, v in nested.items()})
                elif nested is not None:
                    fields["attribute"] = nested
                # A field is a string or a number; the text of an object or a list is nobody's words.
                plain: tuple[type, ...] = (str, int, float, type(None))
            else:
                fields = dict((await request.post()).items())
                plain = (str,)  # not an uploaded file
            odd = sorted(name for name, value in fields.items() if not isinstance(value, plain))
            if odd:
                raise Problem(400, [(400, f"{name} must be a string or a number") for name in odd])
            return {name: "" if value is None else str(value) for name, value in fields.items()}
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

        # Checked whole (open311.request_problems), never cut: a cut e-mail address or link is a wrong one.
        contact = {k: fields.get(k, "").strip() for k in
                   ("email", "phone", "first_name", "last_name", "device_id", "account_id", "media_url")}
        attributes = {match.group(1): value for name, value in fields.items() if (match := ATTRIBUTE.match(name))}
        return NewRequest(fields.get("service_code", "").strip() or None, number("lat"), number("long"),
                          fields.get("address_string", "").strip() or None, fields.get("description", "").strip() or None,
                          contact, fields.get("address_id", "").strip() or None, attributes)
