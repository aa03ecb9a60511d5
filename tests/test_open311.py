"""Gridline as an Open311 GeoReport v2 server: what a client or validator finds and may post."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from storage import open311
from tests.stories import demo_city, open311_client, staff, submit_manhole
from tests.test_cli import gridline
from tests.test_routing import IN_GRID, OUTSIDE


@pytest.fixture
async def server(world):
    await demo_city(world)
    async with open311_client(world) as client:
        yield client


GOOD = {"service_code": "municipal.manhole", "lat": str(IN_GRID[0]), "long": str(IN_GRID[1]),
        "description": "井盖缺失, reported on the hotline", "phone": "+86 574 1234 5678", "first_name": "Wu"}


async def test_discovery_points_to_the_v2_endpoint_in_both_formats(server):
    http, _key = server
    async with http.get("/open311/discovery.json") as response:
        found = await response.json()
    endpoint = found["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["formats"] == ["application/json", "text/xml"]
    assert found["contact"] and found["key_service"] and found["changeset"]
    async with http.get("/open311/discovery.xml") as response:
        root = ET.fromstring(await response.text())
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format").text == "application/json"


async def test_services_come_from_the_catalog_in_the_language_asked(server):
    http, _key = server
    async with http.get("/open311/v2/services.json?locale=en") as response:
        services = await response.json()
    manhole = next(s for s in services if s["service_code"] == "municipal.manhole")
    assert manhole["service_name"] == "Broken or missing manhole cover" and manhole["group"] == "Municipal facilities"
    async with http.get("/open311/v2/services.xml", headers={"Accept-Language": "zh-CN"}) as response:
        root = ET.fromstring(await response.text())
    names = {s.find("service_code").text: s.find("service_name").text for s in root.findall("service")}
    assert names["municipal.manhole"] == "井盖破损、缺失"
    async with http.get("/open311/v2/services/municipal.manhole.json") as response:
        assert (await response.json())["service_code"] == "municipal.manhole"
    async with http.get("/open311/v2/services/nope.json") as response:
        assert response.status == 404 and (await response.json())[0]["code"] == 404


async def test_a_posted_request_becomes_a_routed_case_with_its_reporters_contact(world, server):
    http, key = server
    wang = await staff(world, 901, "Wang", "worker", "HS-01-01-G1")
    async with http.post("/open311/v2/requests.json", data={**GOOD, "api_key": key}) as response:
        assert response.status == 201
        number = (await response.json())[0]["service_request_id"]
    async with world.store.transaction() as session:
        case = (await open311.find_requests(session, open311.Query(ids=(number,)), world.clock.now()))[0]
    assert (case.channel, case.assignee_id, case.state, case.reporter_id) == ("open311", wang, "assigned", None)
    assert case.reporter_contact["phone"] == "+86 574 1234 5678" and case.reporter_contact["api_key"] == "hotline-12345"
    async with http.get(f"/open311/v2/requests/{number}.xml", params={"api_key": key, "extensions": "true"}) as response:
        request = ET.fromstring(await response.text()).find("request")
    assert request.find("status").text == "open" and request.find("extended_attributes/gridline_state").text == "assigned"
    async with http.get(f"/open311/v2/tokens/{number}.json") as response:
        assert (await response.json())[0]["service_request_id"] == number


async def test_requests_filter_by_status_code_and_date_and_page(world, server):
    http, key = server
    citizen = world.person(language_code="en")
    first = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    world.clock.advance(hours=1)
    second = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    async with http.get(f"/open311/v2/requests.json?api_key={key}&status=open&service_code=municipal.manhole") as response:
        assert [r["service_request_id"] for r in await response.json()] == [second.number, first.number]
    async with http.get(f"/open311/v2/requests.json?api_key={key}&status=closed") as response:
        assert await response.json() == []
    async with http.get(f"/open311/v2/requests.json?api_key={key}&page_size=1&page=2") as response:
        assert [r["service_request_id"] for r in await response.json()] == [first.number]
    async with http.get(f"/open311/v2/requests.json?api_key={key}&start_date=2026-11-23T10:30:00%2B08:00") as response:
        assert [r["service_request_id"] for r in await response.json()] == [second.number]
    async with http.get(f"/open311/v2/requests.json?api_key={key}&start_date=yesterday") as response:
        assert response.status == 400 and "start_date" in (await response.json())[0]["description"]


@pytest.mark.parametrize("change, status, said", [
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"api_key": None}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "teleport"}, 404, "not a known service"),
    ({"lat": None, "long": None}, 400, "a location is required"),
    ({"lat": str(OUTSIDE[0]), "long": str(OUTSIDE[1])}, 400, "outside the service area"),
    ({"lat": "north"}, 400, "lat must be a number"),
    ({"description": "x" * 4001}, 400, "longer than 4000"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"first_name": "Wang " * 41}, 400, "first_name is longer than 200 characters"),  # refused, never cut
    ({"account_id": "7" * 201}, 400, "account_id is longer than 200 characters"),
])
async def test_bad_posts_get_the_specs_error_list_and_create_nothing(world, server, change, status, said):
    http, key = server
    fields = {**GOOD, "api_key": key, **change}
    data = {k: v for k, v in fields.items() if v is not None}
    async with http.post("/open311/v2/requests.xml", data=data) as response:
        assert response.status == status
        errors = ET.fromstring(await response.text())
    assert errors.tag == "errors" and said in " ".join(e.find("description").text for e in errors.findall("error"))
    async with world.store.transaction() as session:
        assert await open311.find_requests(session, open311.Query(), world.clock.now()) == []


async def test_oversized_and_malformed_bodies_are_refused(server):
    http, key = server
    async with http.post("/open311/v2/requests.json", data=b"x" * (2 * 1024 * 1024),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
        assert response.status == 413
    async with http.post("/open311/v2/requests.json", data=b"{broken", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400 and "not a form or a JSON object" in (await response.json())[0]["description"]


def test_api_keys_are_created_once_and_revoked(tmp_path):
    env = {"GRIDLINE_DATA_DIR": str(tmp_path)}
    made = gridline("apikey", "create", "hotline", env=env, cwd=tmp_path)
    assert made.returncode == 0 and len(made.stdout.strip().splitlines()[-1]) >= 32
    again = gridline("apikey", "create", "hotline", env=env, cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr
    assert gridline("apikey", "revoke", "hotline", env=env, cwd=tmp_path).returncode == 0
    assert gridline("apikey", "revoke", "hotline", env=env, cwd=tmp_path).returncode == 2
