"""The Open311 face as third-party clients and validators read it: who may read what, types and
formats a client parses, errors in the spec's shape for every wrong turn, and filters that agree
with the times served."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy import select

from adapters.open311_client import UpstreamClient
from bot.web import HttpFace
from storage import open311
from storage.catalog import DEFAULT_CATALOG
from storage.models import Case
from tests.stories import demo_city, label, open311_client
from tests.test_routing import IN_GRID

W3_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
# A point in the demo grid with more decimals than the public feed keeps.
EXACT = (IN_GRID[0] + 0.000234, IN_GRID[1] + 0.000371)
HOTLINE = {"service_code": "municipal.manhole", "lat": str(EXACT[0]), "long": str(EXACT[1]),
           "description": "Manhole open outside flat 301, call Mrs Li on 13800138000",
           "first_name": "Li", "email": "li@example.org", "phone": "13800138000",
           "media_url": "https://hotline.example/photos/1.jpg"}


@pytest.fixture
async def face(world):
    await demo_city(world)
    async with open311_client(world) as client:
        yield client


async def post(http, key: str, **fields: str | None) -> aiohttp.ClientResponse:  # type: ignore[no-untyped-def]
    data = {k: v for k, v in {**HOTLINE, "api_key": key, **fields}.items() if v is not None}
    async with http.post("/open311/v2/requests.json", data=data) as response:
        await response.read()
        return response


async def posted_number(http, key: str, **fields: str | None) -> str:  # type: ignore[no-untyped-def]
    data = {k: v for k, v in {**HOTLINE, "api_key": key, **fields}.items() if v is not None}
    async with http.post("/open311/v2/requests.json", data=data) as response:
        assert response.status == 201, await response.text()
        return (await response.json())[0]["service_request_id"]


async def get_json(http, path: str, **params: str) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    async with http.get(path, params=params) as response:
        assert response.content_type == "application/json", await response.text()
        return response.status, await response.json()


async def get_xml(http, path: str, **params: str) -> tuple[int, ET.Element]:  # type: ignore[no-untyped-def]
    async with http.get(path, params=params) as response:
        assert response.content_type == "text/xml"
        return response.status, ET.fromstring(await response.text())


def assert_georeport_types(request: dict) -> None:  # type: ignore[type-arg]
    """What a strict GeoReport v2 client expects of each field's JSON type."""
    assert isinstance(request["service_request_id"], str) and request["status"] in ("open", "closed")
    for name in ("service_code", "service_name", "requested_datetime", "updated_datetime"):
        assert isinstance(request[name], str), name
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert request[name] is None or W3_SECONDS.match(request[name]), request[name]
    for name in ("lat", "long"):
        assert request[name] is None or isinstance(request[name], float)
    for name in ("description", "address", "address_id", "media_url", "status_notes", "zipcode"):
        assert request[name] is None or isinstance(request[name], str)


async def citizen_reports_from_her_flat(world) -> Case:  # type: ignore[no-untyped-def]
    """A citizen reports with a photo, a venue (her building) and words that name her flat and phone."""
    citizen = world.person("Li", language_code="en")
    await citizen.send_photo()
    await citizen.send_venue(EXACT[0], EXACT[1], "Rose Court", "12 Rose Road, flat 301")
    await citizen.tap("Municipal")
    await citizen.tap("manhole")
    await citizen.say("Open manhole by my door, flat 301, phone 13800138000")
    await citizen.tap(label("en", "✅ Submit"))
    async with world.store.transaction() as session:
        return await session.scalar(select(Case).order_by(Case.id.desc()).limit(1))


# --- item 2: reading requests needs a key; the public feed carries no personal data ---------------


async def test_reading_requests_needs_an_api_key_but_services_and_discovery_stay_public(world, face):
    http, key = face
    number = await posted_number(http, key)
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{number}.json"):
        status, errors = await get_json(http, path)
        assert status == 403 and "api_key is required" in errors[0]["description"]
        status, errors = await get_json(http, path, api_key="guessed-key")
        assert status == 403 and "api_key is not valid" in errors[0]["description"]
    for path in ("/open311/v2/requests.xml", f"/open311/v2/requests/{number}.xml"):
        status, errors = await get_xml(http, path)
        assert status == 403 and errors.tag == "errors" and errors.find("error/code").text == "403"
    status, found = await get_json(http, "/open311/v2/requests.json", api_key=key)
    assert status == 200 and [r["service_request_id"] for r in found] == [number]
    full = found[0]
    assert_georeport_types(full)
    assert (full["lat"], full["long"]) == EXACT and "13800138000" in full["description"]
    assert full["media_url"] == HOTLINE["media_url"]
    for path in ("/open311/discovery.json", "/open311/v2/services.json", "/open311/v2/services/municipal.manhole.json"):
        assert (await get_json(http, path))[0] == 200


async def test_the_public_feed_shows_where_and_what_but_nothing_personal(world, face):
    http, key = face
    world.runtime.settings.open311_public_read = True
    chat_case = await citizen_reports_from_her_flat(world)
    assert chat_case.address and "Rose Court" in chat_case.address  # the venue was kept, for staff
    posted = await posted_number(http, key)

    async with http.get("/open311/v2/requests.json") as response:
        assert response.status == 200
        text = await response.text()
        public = {r["service_request_id"]: r for r in await response.json()}
    async with http.get("/open311/v2/requests.xml") as response:
        xml_text = await response.text()
    for said in (text, xml_text):
        for personal in ("13800138000", "flat 301", "Rose", "Li", "example.org", "hotline.example", "/media/",
                         f"{EXACT[0]}", f"{EXACT[1]}"):
            assert personal not in said, personal
    for number in (chat_case.number, posted):
        shown = public[number]
        assert_georeport_types(shown)
        assert (shown["lat"], shown["long"]) == (round(EXACT[0], 3), round(EXACT[1], 3))
        assert shown["service_code"] == "municipal.manhole" and shown["status"] == "open"
        assert shown["description"] is shown["address"] is shown["media_url"] is shown["status_notes"] is None
    status, one = await get_json(http, f"/open311/v2/requests/{chat_case.number}.json")
    assert status == 200 and one[0]["description"] is None and one[0]["lat"] == round(EXACT[0], 3)
    # A micro-grid is 50-80 households: the public feed names the grid around it instead.
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
    assert index.level_of(chat_case.area_code) == "microgrid"
    assert one[0]["agency_responsible"] == index.chain(chat_case.area_code)[1]
    assert index.level_of(one[0]["agency_responsible"]) == "grid"

    # A reader with a key still gets the whole record; a wrong key is told so, not served less.
    status, full = await get_json(http, f"/open311/v2/requests/{chat_case.number}.json", api_key=key)
    assert "13800138000" in full[0]["description"] and "Rose Court" in full[0]["address"]
    assert full[0]["agency_responsible"] == chat_case.area_code
    assert full[0]["media_url"].startswith("http") and "/media/" in full[0]["media_url"]
    assert (await get_json(http, "/open311/v2/requests.json", api_key="revoked"))[0] == 403


# --- item 9 (Open311 side) and item 10: what a POST may hold ------------------------------------


@pytest.mark.parametrize("lat, lon", [("nan", "121.5"), ("29.85", "inf"), ("-infinity", "nan"), ("91", "121.5"),
                                      ("29.85", "181")])
async def test_a_point_that_is_not_on_earth_is_refused_and_not_stored(world, face, lat, lon):
    http, key = face
    response = await post(http, key, lat=lat, long=lon)
    assert response.status == 400
    async with world.store.transaction() as session:
        assert (await session.scalars(select(Case))).all() == []


@pytest.mark.parametrize("field", ["description", "address_string", "first_name", "device_id", "service_code"])
async def test_control_characters_in_any_posted_field_are_refused_naming_the_field(world, face, field):
    http, key = face
    async with http.post("/open311/v2/requests.xml", data={**HOTLINE, "api_key": key, field: "bell\x07ring"}) as response:
        assert response.status == 400
        errors = ET.fromstring(await response.text())
    assert [e.find("description").text for e in errors.findall("error")] == [f"{field} holds control characters"]
    async with http.post("/open311/v2/requests.json", json={**HOTLINE, "api_key": key, field: "nul\x00"}) as response:
        assert response.status == 400 and field in (await response.json())[0]["description"]
    async with world.store.transaction() as session:
        assert (await session.scalars(select(Case))).all() == []


async def test_tabs_and_line_breaks_are_still_welcome(world, face):
    http, key = face
    number = await posted_number(http, key, description="Line one\r\nline two\tand a tab")
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    assert found[0]["description"] == "Line one\r\nline two\tand a tab"


async def test_whatever_the_store_holds_every_xml_answer_parses(world, face):
    http, key = face
    number = await posted_number(http, key)
    async with world.store.transaction() as session:
        case = await session.scalar(select(Case).where(Case.number == number))
        # As an older version, a chat message or a direct import may have stored it.
        case.description = "bell\x07 and\x1b escape\ufffe"
        case.address = "Lane\x0b 5"
    for path in ("/open311/v2/requests.xml", f"/open311/v2/requests/{number}.xml"):
        status, root = await get_xml(http, path, api_key=key)
        request = root.find("request")
        assert request.find("description").text == "bell\ufffd and\ufffd escape\ufffd"
        assert request.find("address").text == "Lane\ufffd 5"


# --- item 18: service definitions ----------------------------------------------------------------


async def test_a_service_definition_lists_no_attributes_as_an_empty_list(face):
    http, _key = face
    status, definition = await get_json(http, "/open311/v2/services/municipal.manhole.json")
    assert definition == {"service_code": "municipal.manhole", "attributes": []}
    status, root = await get_xml(http, "/open311/v2/services/municipal.manhole.xml")
    assert root.tag == "service_definition" and root.find("attributes") is not None
    assert list(root.find("attributes")) == []


# --- item 19: media_url ----------------------------------------------------------------------------


@pytest.mark.parametrize("media_url", ["javascript:alert(1)", "ftp://files.example/a.jpg", "photo.jpg",
                                       "https://", "http://exa mple.org/a.jpg", "https://x.example/" + "a" * 2100])
async def test_a_media_url_must_be_an_http_link(world, face, media_url):
    http, key = face
    response = await post(http, key, media_url=media_url)
    assert response.status == 400
    async with world.store.transaction() as session:
        assert (await session.scalars(select(Case))).all() == []


async def test_a_stored_media_url_that_is_no_link_is_never_served(world, face):
    http, key = face
    number = await posted_number(http, key, media_url="http://hotline.example/a.jpg")
    async with world.store.transaction() as session:
        case = await session.scalar(select(Case).where(Case.number == number))
        case.reporter_contact = {**case.reporter_contact, "media_url": "javascript:alert(document.cookie)"}
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    assert found[0]["media_url"] is None


# --- item 20: times and filters agree --------------------------------------------------------------


async def test_a_start_or_end_date_equal_to_a_served_time_includes_that_request(world, face):
    http, key = face
    world.clock.set(datetime(2026, 11, 23, 2, 0, 5, 654321, tzinfo=UTC))
    number = await posted_number(http, key)
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    served = found[0]["requested_datetime"]
    assert served == "2026-11-23T10:00:05+08:00" and found[0]["updated_datetime"] == served
    for filters in ({"start_date": served}, {"end_date": served}, {"start_date": served, "end_date": served}):
        status, found = await get_json(http, "/open311/v2/requests.json", api_key=key, **filters)
        assert [r["service_request_id"] for r in found] == [number], filters
    status, found = await get_json(http, "/open311/v2/requests.json", api_key=key, end_date="2026-11-23T10:00:04+08:00")
    assert found == []


# --- item 21: address_id ---------------------------------------------------------------------------


async def test_address_id_alone_locates_a_request_like_a_typed_address(world, face):
    http, key = face
    number = await posted_number(http, key, lat=None, long=None, address_id="NB-ADDR-88123")
    async with world.store.transaction() as session:
        case = await session.scalar(select(Case).where(Case.number == number))
    assert (case.address, case.lat, case.location_source, case.placement) == (
        "address_id: NB-ADDR-88123", None, "typed", "typed")
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    assert (found[0]["address_id"], found[0]["address"], found[0]["lat"]) == ("NB-ADDR-88123", None, None)
    response = await post(http, key, lat=None, long=None)
    assert response.status == 400


# --- item 22: every wrong turn under /open311/ answers in the spec's shape ---------------------------


@pytest.mark.parametrize("method, path, status, fmt", [
    ("GET", "/open311/v2/services.html", 400, "json"),
    ("GET", "/open311/v2/requests.csv", 400, "json"),
    ("GET", "/open311/discovery.yaml", 400, "json"),
    ("GET", "/open311/v2/nothing.json", 404, "json"),
    ("GET", "/open311/v2/nothing.xml", 404, "xml"),
    ("GET", "/open311/v2/requests", 404, "json"),
    ("GET", "/open311/", 404, "json"),
    ("GET", "/open311/v2/services/municipal.manhole/extra.xml", 404, "xml"),
    ("DELETE", "/open311/v2/requests.json", 405, "json"),
    ("PUT", "/open311/v2/services.xml", 405, "xml"),
])
async def test_unknown_paths_and_formats_get_the_error_list(face, method, path, status, fmt):
    http, _key = face
    async with http.request(method, path) as response:
        assert response.status == status
        if fmt == "json":
            assert response.content_type == "application/json"
            errors = await response.json()
            assert errors[0]["code"] == status and errors[0]["description"]
        else:
            assert response.content_type == "text/xml"
            root = ET.fromstring(await response.text())
            assert root.tag == "errors" and root.find("error/code").text == str(status)


# --- item 23: parameters as clients send them ------------------------------------------------------


async def test_empty_repeated_and_huge_parameters(world, face):
    http, key = face
    first = await posted_number(http, key)
    world.clock.advance(minutes=1)
    second = await posted_number(http, key, service_code="street.parking")
    everything = [second, first]
    for empty in ({"page": ""}, {"page_size": ""}, {"status": ""}, {"service_code": ""}, {"start_date": ""},
                  {"page": "", "page_size": "", "status": "", "end_date": "", "service_request_id": ""}):
        status, found = await get_json(http, "/open311/v2/requests.json", api_key=key, **empty)
        assert status == 200 and [r["service_request_id"] for r in found] == everything, empty
    async with http.get(f"/open311/v2/requests.json?api_key={key}&status=open&status=closed") as response:
        assert [r["service_request_id"] for r in await response.json()] == everything
    async with http.get(f"/open311/v2/requests.json?api_key={key}&service_code=street.parking"
                        "&service_code=municipal.manhole") as response:
        assert [r["service_request_id"] for r in await response.json()] == everything
    async with http.get(f"/open311/v2/requests.json?api_key={key}&service_request_id={first}"
                        f"&service_request_id={second}") as response:
        assert [r["service_request_id"] for r in await response.json()] == everything
    for page in ("10000000000000000", "9" * 30, "9" * 5000):
        status, errors = await get_json(http, "/open311/v2/requests.json", api_key=key, page=page)
        assert status == 400 and "page" in errors[0]["description"], page
    status, found = await get_json(http, "/open311/v2/requests.json", api_key=key, page="1000000")
    assert status == 200 and found == []
    for date in ("9999-12-31T23:59:59", "0001-01-01T00:00:00"):
        status, errors = await get_json(http, "/open311/v2/requests.json", api_key=key, end_date=date)
        assert status == 400 and "end_date" in errors[0]["description"]
    # The store itself never hands the database an OFFSET it cannot hold.
    async with world.store.transaction() as session:
        assert await open311.find_requests(session, open311.Query(page=10**17), world.clock.now()) == []


# --- item 24: extended_attributes only when asked ----------------------------------------------------


async def test_extended_attributes_only_when_the_client_asks(world, face):
    http, key = face
    number = await posted_number(http, key)
    status, found = await get_json(http, "/open311/v2/requests.json", api_key=key)
    assert "extended_attributes" not in found[0]
    status, root = await get_xml(http, f"/open311/v2/requests/{number}.xml", api_key=key)
    assert root.find("request/extended_attributes") is None
    status, found = await get_json(http, "/open311/v2/requests.json", api_key=key, extensions="true")
    assert found[0]["extended_attributes"] == {"gridline_state": "reported", "channel": "open311"}
    status, root = await get_xml(http, f"/open311/v2/requests/{number}.xml", api_key=key, extensions="true")
    assert root.find("request/extended_attributes/channel").text == "open311"


# --- item 25: discovery's changeset follows the catalog ----------------------------------------------


async def test_the_changeset_moves_when_the_services_change(world, face, tmp_path):
    http, _key = face
    status, before = await get_json(http, "/open311/discovery.json")
    assert before["changeset"] == before["endpoints"][0]["changeset"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", before["changeset"])
    world.clock.advance(hours=2)
    assert (await get_json(http, "/open311/discovery.json"))[1]["changeset"] == before["changeset"]

    # The admin replaces the catalog (no "other" any more) and the bot starts again with it.
    smaller = tmp_path / "categories.toml"
    smaller.write_text(DEFAULT_CATALOG.read_text(encoding="utf-8").split('[[category]]\ncode = "other"')[0], encoding="utf-8")
    world.settings.categories = smaller
    await world.restart()
    server = HttpFace(world.runtime, world.app.bot)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{server.port}") as fresh:
            status, after = await get_json(fresh, "/open311/discovery.json")
            status, services = await get_json(fresh, "/open311/v2/services.json")
            status, root = await get_xml(fresh, "/open311/discovery.xml")
    finally:
        await server.stop()
    assert "other" not in {s["service_code"] for s in services}
    assert after["changeset"] != before["changeset"] and after["changeset"] > before["changeset"]
    assert root.find("changeset").text == after["changeset"]


# --- Gridline as another Gridline's upstream -----------------------------------------------------------


async def test_a_gridline_syncing_to_a_gridline_reads_statuses_with_its_key(world, face):
    http, key = face
    number = await posted_number(http, key)
    server = HttpFace(world.runtime, world.app.bot)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            client = UpstreamClient(f"http://127.0.0.1:{server.port}/open311/v2", key, session, aiohttp.ClientTimeout(total=10))
            assert await client.statuses([number]) == {number: ("open", None)}
            now = world.clock.now()
            assert await client.find_marked("Mrs Li", now.replace(hour=0), now) == number
    finally:
        await server.stop()
