"""Every case reaches the city's platform once, whatever the platform does; its statuses come back."""

from __future__ import annotations

import random

import aiohttp
import pytest
from sqlalchemy import select, update

from adapters.open311_client import Syncer
from storage import sync
from storage.models import Case, UpstreamSync
from tests.harness import Harness, settings_for
from tests.stories import demo_city, staff_in_chat, submit_manhole
from tests.test_routing import IN_GRID


@pytest.fixture
async def synced(api, clock, tmp_path, upstream):
    # The client's timeout and the fake's hang are timers of this one event loop: a hang longer
    # than the timeout always outlasts it, however busy the machine. Any other answer has 1.5 s.
    world = Harness(api, settings_for(api, tmp_path / "var", upstream_url=upstream.url, upstream_api_key="up-key",
                                      upstream_timeout_seconds=1.5, sync_alert_minutes=30), clock)
    await world.start()
    await demo_city(world)
    async with aiohttp.ClientSession() as http:
        syncer = Syncer(world.runtime, random.Random(1))

        async def run() -> dict[str, int]:
            done = await syncer.run_once(http)
            await world.deliver()
            return done

        world.sync = run
        yield world
    await world.stop()


async def row(world, case_id: int) -> UpstreamSync:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.get(UpstreamSync, case_id)


async def test_a_new_case_is_posted_once_with_its_place_and_photo(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1], description="Cover gone")
    assert (await synced.sync())["posted"] == 1
    await synced.sync()
    assert upstream.posts == 1
    posted = upstream.requests[0]
    assert posted["service_code"] == "municipal.manhole" and posted["api_key"] == "up-key"
    assert posted["description"] == f"Cover gone\n[Gridline {case.number}]"
    assert (posted["lat"], posted["long"]) == (f"{IN_GRID[0]:.6f}", f"{IN_GRID[1]:.6f}")
    assert "/media/" in posted["media_url"]
    item = await row(synced, case.id)
    assert (item.state, item.upstream_id) == ("posted", posted["service_request_id"])


async def test_the_answers_to_the_categorys_questions_go_as_attributes(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1], description="Cover gone")
    async with synced.store.transaction() as session:
        await session.execute(update(Case).where(Case.id == case.id).values(answers={"flowing": "yes", "vehicles": 3,
                                                                                     "note": None}))
    assert (await synced.sync())["posted"] == 1
    posted = upstream.requests[0]
    assert posted["attribute[flowing]"] == "yes" and posted["attribute[vehicles]"] == "3"
    assert "attribute[note]" not in posted  # skipped: not sent


async def test_a_platform_that_is_down_gets_retries_and_the_case_goes_once_it_is_back(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await upstream.stop()
    await synced.sync()
    item = await row(synced, case.id)
    assert item.state == "retry" and "cannot connect" in item.last_error and not item.maybe_posted
    async with synced.store.transaction() as session:
        state = await sync.status(session, synced.clock.now())
    assert state.pending == 1
    await upstream.start()
    await synced.sync()
    assert upstream.posts == 0  # its backoff has not passed yet
    synced.clock.advance(seconds=20)
    await synced.sync()
    assert upstream.posts == 1 and (await row(synced, case.id)).state == "posted"


@pytest.mark.parametrize("answer", ["garbage", "hang_after_accept"])
async def test_a_post_whose_answer_was_lost_is_found_not_posted_again(synced, upstream, answer):
    upstream.next_answers = [answer]
    upstream.hang_seconds = 2.0
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    item = await row(synced, case.id)
    assert item.state == "retry" and item.maybe_posted
    synced.clock.advance(minutes=5)
    await synced.sync()
    item = await row(synced, case.id)
    assert upstream.posts == 1 and len(upstream.requests) == 1
    assert (item.state, item.upstream_id) == ("posted", upstream.requests[0]["service_request_id"])


async def test_a_500_is_retried_and_a_refusal_is_not(synced, upstream):
    upstream.next_answers = ["500", "ok", "refuse"]
    citizen = synced.person(language_code="en")
    first = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    synced.clock.advance(minutes=5)
    await synced.sync()
    assert (await row(synced, first.id)).state == "posted"
    second = await submit_manhole(citizen, lat=IN_GRID[0] + 0.001, lon=IN_GRID[1])
    await synced.sync()
    synced.clock.advance(hours=2)
    await synced.sync()
    item = await row(synced, second.id)
    assert item.state == "failed" and "service_code not accepted here" in item.last_error
    assert upstream.posts == 3  # 500, ok, refuse: nothing more
    assert synced.runtime.counters.sync_failures == 2


async def test_a_token_answer_is_resolved_to_an_id(synced, upstream):
    upstream.next_answers = ["token"]
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    assert (await row(synced, case.id)).state == "token"
    synced.clock.advance(seconds=20)
    await synced.sync()
    item = await row(synced, case.id)
    assert (item.state, item.upstream_id) == ("posted", upstream.requests[0]["service_request_id"])


async def test_a_status_change_upstream_reaches_the_citizen(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    synced.clock.advance(minutes=5)
    await synced.sync()
    mark = citizen.mark()
    upstream.close((await row(synced, case.id)).upstream_id, "Handled by the water company")
    synced.clock.advance(minutes=5)
    await synced.sync()
    assert citizen.since(mark) == [f"🏙 The city platform updated case {case.number}: closed: Handled by the water company"]
    synced.clock.advance(minutes=5)
    await synced.sync()
    assert len(citizen.since(mark)) == 1  # closed upstream is not asked again


async def test_the_platforms_note_reaches_the_citizen_whole_or_visibly_shortened(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    synced.clock.advance(minutes=5)
    await synced.sync()
    mark = citizen.mark()
    note = "Handled by the water company: the pipe is replaced on Monday, keep off the pavement by gate 3 until then."
    upstream.close((await row(synced, case.id)).upstream_id, note + " Details follow." * 100)
    synced.clock.advance(minutes=5)
    await synced.sync()
    [said] = citizen.since(mark)
    assert f"closed: {note}" in said and said.endswith("…")  # not cut at 64 characters, and over 1,000 says so


async def test_a_resolved_case_closed_upstream_is_closed_here_without_blaming_the_citizen(synced, upstream):
    grid_worker, _ = await staff_in_chat(synced, "Wang", "worker", "HS-01-01-G1")
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    await synced.deliver()
    await grid_worker.tap("Accept")
    await grid_worker.tap("Resolve")
    await grid_worker.send_photo(caption="Done")
    await synced.deliver()
    synced.clock.advance(minutes=5)
    await synced.sync()
    mark = citizen.mark()
    upstream.close((await row(synced, case.id)).upstream_id, "Checked by the street office")
    synced.clock.advance(minutes=5)
    await synced.sync()
    await synced.deliver()
    said = citizen.since(mark)
    assert any("Checked by the street office" in t for t in said)
    assert any(f"Case {case.number} is closed. Thank you" in t for t in said)
    assert not any("not rated" in t for t in said)


async def test_admins_hear_when_cases_wait_too_long_for_the_platform(synced, upstream):
    admin, _ = await staff_in_chat(synced, "Admin", "admin", "HS")
    await upstream.stop()
    citizen = synced.person(language_code="en")
    await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    await synced.sync()
    assert not any("city platform" in t for t in admin.texts())
    synced.clock.advance(minutes=31)
    await synced.sync()
    await synced.sync()
    alerts = [t for t in admin.texts() if "have not reached the city platform" in t]
    assert len(alerts) == 1 and "for 31 minutes (1 waiting)" in alerts[0]


async def test_every_case_has_its_sync_row_from_the_start(synced):
    citizen = synced.person(language_code="en")
    await submit_manhole(citizen)
    async with synced.store.transaction() as session:
        rows = (await session.scalars(select(UpstreamSync))).all()
    assert [r.state for r in rows] == ["new"]


async def test_a_process_whose_lease_ran_out_does_not_post_what_another_took_over(synced, upstream):
    citizen = synced.person(language_code="en")
    case = await submit_manhole(citizen, lat=IN_GRID[0], lon=IN_GRID[1])
    async with synced.store.transaction() as session:
        (slow, _case), = await sync.claim_due(session, synced.clock.now())
        slow_lease = slow.next_at
    synced.clock.advance(minutes=3)  # the slow process is still busy with earlier cases: its lease runs out
    async with synced.store.transaction() as session:
        (other, _case), = await sync.claim_due(session, synced.clock.now())
        other_lease = other.next_at
    async with synced.store.transaction() as session:
        assert await sync.about_to_post(session, case.id, slow_lease, synced.clock.now()) is False
    async with synced.store.transaction() as session:
        assert await sync.about_to_post(session, case.id, other_lease, synced.clock.now()) is True
