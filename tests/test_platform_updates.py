"""Every step of a case Gridline posted reaches the city platform as an Open311 service request
update, exactly once, in order, across an outage and a restart; and Gridline's own Open311 face
serves the steps of its cases (GET servicerequestupdates, since a time, paged)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from sqlalchemy import select

from adapters.open311_client import Syncer
from storage import dispatch
from storage.models import UpstreamUpdate
from tests.harness import Harness, settings_for
from tests.stories import demo_city, open311_client, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID

GRID = "HS-01-01-G1"


@pytest.fixture
async def synced(api, clock, tmp_path, upstream, store_url):
    world = Harness(api, settings_for(api, tmp_path / "var", db_url=store_url, upstream_url=upstream.url,
                                      upstream_api_key="up-key", upstream_timeout_seconds=1.5, verify="all"), clock)
    await world.start()
    await demo_city(world)
    async with aiohttp.ClientSession() as http:

        async def run() -> dict[str, int]:
            # A Syncer of the running process (a restart brings a new one, as a real restart does).
            done = await Syncer(world.runtime, random.Random(1)).run_once(http)
            await world.deliver()
            return done

        world.sync = run
        yield world
    await world.stop()


async def test_every_step_reaches_the_platform_once_in_order_across_an_outage_and_a_restart(synced, upstream):
    world = synced
    wang, _ = await staff_in_chat(world, "Wang", "worker", GRID)
    li, _ = await staff_in_chat(world, "Li", "leader", GRID)
    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    await wang.tap("Accept")  # a step before the case is even posted: it waits for the upstream id
    await world.sync()
    upstream_id = upstream.requests[0]["service_request_id"]
    assert [u["description"] for u in upstream.updates.values()] == ["Assigned to a grid worker", "Work started"]
    # The platform goes down; the worker resolves, the leader sends it back, then verifies.
    await upstream.stop()
    await wang.tap("Resolve")
    await wang.send_photo()
    await wang.say("New cover")
    await world.deliver()
    await li.tap("Send back")
    await li.say("Loose")
    await wang.tap("✅ Resolve")
    await wang.send_photo()
    await wang.say("Fixed firmly")
    await world.deliver()
    await li.tap("✅ Verified")
    await world.sync()
    async with world.store.transaction() as session:
        states = (await session.scalars(select(UpstreamUpdate.state).order_by(UpstreamUpdate.id))).all()
    assert states == ["sent", "sent", "retry", "new", "new", "new"]  # the first failed; the others wait behind it
    await world.restart()
    await upstream.start()
    upstream.update_answers = ["hang_after_accept"]  # the platform takes one and its answer is lost
    upstream.hang_seconds = 2.0
    world.clock.advance(minutes=5)
    await world.sync()
    world.clock.advance(minutes=5)
    await world.sync()
    world.clock.advance(minutes=5)
    await world.sync()
    await citizen.tap("Satisfied")
    await world.sync()
    steps = list(upstream.updates.values())
    assert [s["description"] for s in steps] == [
        "Assigned to a grid worker", "Work started", "Resolved, to be verified: New cover", "Sent back to the worker",
        "Resolved, to be verified: Fixed firmly", "Verified: Fixed firmly", "Closed"]
    assert [s["status"] for s in steps] == ["open", "open", "open", "open", "open", "closed", "closed"]
    assert all(s["service_request_id"] == upstream_id and s["api_key"] == "up-key" for s in steps)
    assert "/media/" in steps[2]["media_url"] and "Loose" not in str(steps)
    assert upstream.update_posts == len(steps) + 1  # the one whose answer was lost went again, same update_id
    async with world.store.transaction() as session:
        rows = (await session.scalars(select(UpstreamUpdate))).all()
    assert {r.state for r in rows} == {"sent"} and len(rows) == len(steps)
    assert case.number


async def test_a_rejection_and_a_duplicate_say_why(synced, upstream):
    world = synced
    _sun, sun_id = await staff_in_chat(world, "Sun", "dispatcher", "HS-01-01")  # no worker: cases come to him
    citizen = world.person("Citizen", language_code="en")
    first = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    second = await submit_manhole(world.person("Other", language_code="en"), lat=IN_GRID[0], lon=IN_GRID[1] + 0.002)
    third = await submit_manhole(world.person("Third", language_code="en"), lat=IN_GRID[0] + 0.002, lon=IN_GRID[1])
    await world.sync()
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        await dispatch.reject(session, index, third.id, sun_id, "Private land", world.clock.now())
        await dispatch.mark_duplicate(session, index, second.id, sun_id, first.number, world.clock.now())
    await world.sync()
    said = {u["description"]: u["status"] for u in upstream.updates.values()}
    assert said["Rejected: Private land"] == "closed"
    assert said[f"Marked as a duplicate of {first.number}"] == "closed"


async def test_our_open311_face_serves_the_steps_since_a_time_paged(world):
    await demo_city(world)
    wang, _ = await staff_in_chat(world, "Wang", "worker", GRID)
    citizen = world.person("Citizen", language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await world.deliver()
    start = world.clock.now()
    world.clock.advance(minutes=1)
    await wang.tap("Accept")
    world.clock.advance(minutes=1)
    await wang.tap("Resolve")
    await wang.send_photo()
    await wang.say("New cover")
    async with open311_client(world) as (http, key):
        async with http.get("/open311/v2/servicerequestupdates.json") as response:
            assert response.status == 403  # a key, as for requests
        params = {"api_key": key, "updated_after": start.isoformat(), "page_size": "1"}
        async with http.get("/open311/v2/servicerequestupdates.json", params=params) as response:
            first = await response.json()
        async with http.get("/open311/v2/servicerequestupdates.json", params={**params, "page": "2"}) as response:
            second = await response.json()
        async with http.get("/open311/v2/servicerequestupdates.json", params={**params, "page": "3"}) as response:
            third = await response.json()
        async with http.get("/open311/v2/servicerequestupdates.xml", params={**params, "page_size": "5"}) as response:
            xml = ET.fromstring(await response.text())
        async with http.get("/open311/v2/servicerequestupdates.json", params={**params, "page": "x"}) as response:
            assert response.status == 400
    assert [(u["service_request_id"], u["status"], u["description"]) for u in first + second] == [
        (case.number, "open", "Work started"), (case.number, "closed", "Resolved: New cover")]
    assert third == [] and "/media/" in second[0]["media_url"]
    assert xml.tag == "service_request_updates"
    assert [e.findtext("description") for e in xml.findall("request_update")] == ["Work started", "Resolved: New cover"]
