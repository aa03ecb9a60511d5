"""Official warnings out (CAP 1.2): every call-out Gridline exports validates against the shipped
OASIS schema, speaks each language it has words in, says Update when widened and Cancel when stood
down, and the Atom feed of call-outs is one a CAP consumer can subscribe to."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lxml import etree

from storage import callout_drafts, callouts, cap
from storage.callout_scope import command_of
from storage.cap_read import read_alert, schema_errors
from tests.stories import demo_city, open311_client, staff_in_chat
from tests.test_cap_in import M1_POLYGON, alert

GRID, M1, M2 = "HS-01-01-G1", "HS-01-01-G1-M1", "HS-01-01-G1-M2"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}


def valid(xml: str) -> ET.Element:
    """The alert, after checking it against the shipped CAP 1.2 schema."""
    errors = schema_errors(etree.fromstring(xml.encode()))
    assert errors == [], errors
    read_alert(xml.encode())  # and our own reader takes it back
    return ET.fromstring(xml.split("\n", 1)[1])


async def leader_and_responders(world):  # type: ignore[no-untyped-def]
    await demo_city(world)
    li, li_id = await staff_in_chat(world, "Li", "leader", GRID, language_code="en")
    for name, area in (("Ann", M1), ("Dan", M2)):
        await staff_in_chat(world, name, "responder", area, tags=["volunteer"])
    return li, li_id


async def send(world, li_id: int, template: str | None = None, headline: str = "Water <rising> & more",  # type: ignore[no-untyped-def]
               drill: bool = False) -> int:
    async with world.store.transaction() as session:
        draft = await callout_drafts.start_draft(session, li_id, world.clock.now())
        draft.area_codes, draft.tags, draft.template = [M1], [], template
        draft.headline, draft.instruction = headline, "Bring sandbags"
        mobilization, _ = await callout_drafts.send(session, await world.runtime.map.index(session), draft.id, li_id,
                                                    world.clock.now(), drill)
        return mobilization.id


async def exported(world, mobilization_id: int) -> ET.Element:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        xml = await cap.sent_callout_alert(session, mobilization_id, "gridline", world.settings.zone)
    return valid(xml)


async def test_a_call_out_its_widening_and_its_stand_down_validate_and_reference_each_other(world):
    _li, li_id = await leader_and_responders(world)
    mobilization_id = await send(world, li_id, drill=True)
    first = await exported(world, mobilization_id)
    assert first.findtext("cap:msgType", namespaces=NS) == "Alert" and first.find("cap:references", NS) is None
    assert [g.findtext("cap:value", namespaces=NS) for g in first.findall("cap:info/cap:area/cap:geocode", NS)] == [M1]
    assert first.findtext("cap:info/cap:headline", namespaces=NS) == "Water <rising> & more"
    assert [i.findtext("cap:language", namespaces=NS) for i in first.findall("cap:info", NS)] == ["en-US"]  # Li's words
    world.clock.advance(minutes=10)
    async with world.store.transaction() as session:
        await callouts.widen(session, await world.runtime.map.index(session), mobilization_id, li_id, True, world.clock.now())
    widened = await exported(world, mobilization_id)
    assert widened.findtext("cap:msgType", namespaces=NS) == "Update"
    assert widened.findtext("cap:identifier", namespaces=NS) == f"gridline-mobilization-{mobilization_id}-r1"
    assert widened.findtext("cap:references", namespaces=NS) == \
        f"gridline,gridline-mobilization-{mobilization_id},2026-11-23T10:00:00+08:00"
    codes = [g.findtext("cap:value", namespaces=NS) for g in widened.findall("cap:info/cap:area/cap:geocode", NS)]
    assert M1 in codes and M2 in codes
    world.clock.advance(minutes=10)
    async with world.store.transaction() as session:
        await callouts.stand_down(session, mobilization_id, li_id, world.clock.now())
    cancel = await exported(world, mobilization_id)
    assert cancel.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert cancel.findtext("cap:references", namespaces=NS).split() == [
        f"gridline,gridline-mobilization-{mobilization_id},2026-11-23T10:00:00+08:00",
        f"gridline,gridline-mobilization-{mobilization_id}-r1,2026-11-23T10:10:00+08:00"]


async def test_a_template_call_out_has_one_info_per_language(world):
    _li, li_id = await leader_and_responders(world)
    mobilization_id = await send(world, li_id, template="flood", headline="🌊 Flood: water is rising")
    root = await exported(world, mobilization_id)
    infos = {i.findtext("cap:language", namespaces=NS): i for i in root.findall("cap:info", NS)}
    assert set(infos) == {"zh-CN", "en-US"}
    assert infos["zh-CN"].findtext("cap:headline", namespaces=NS) == "🌊 汛情：水位上涨"
    assert infos["en-US"].findtext("cap:event", namespaces=NS) == "Flood"
    assert all(i.find("cap:area/cap:polygon", NS) is not None for i in infos.values())


async def test_a_call_out_from_an_official_warning_exports_its_languages(world):
    await demo_city(world)
    dee, _ = await staff_in_chat(world, "Dee", "dispatcher", "HS-01-01", language_code="en")
    await staff_in_chat(world, "Ann", "responder", M1, tags=["volunteer"])
    async with open311_client(world) as (http, key):
        headers = {"X-Api-Key": key, "Content-Type": "application/cap+xml"}
        async with http.post("/cap/alerts", data=alert("W-1", area=f"<polygon>{M1_POLYGON}</polygon>"),
                             headers=headers) as response:
            mobilization_id = (await response.json())["callout"]
        await world.deliver()
        await dee.tap("🚨 Send", dee.last())
        root = await exported(world, mobilization_id)
        headlines = {i.findtext("cap:language", namespaces=NS): i.findtext("cap:headline", namespaces=NS)
                     for i in root.findall("cap:info", NS)}
        assert headlines == {"en-US": "Flood at Qingshi lane", "zh-CN": "青石巷内涝"}
        async with http.get("/cap/feed.atom", headers={"X-Api-Key": key}) as response:
            assert response.status == 200 and response.content_type == "application/atom+xml"
            feed_text = await response.text()
        async with http.get(f"/cap/callouts/{mobilization_id}.xml", params={"api_key": key}) as response:
            assert response.status == 200 and response.content_type == "application/cap+xml"
            valid(await response.text())
        async with http.get("/cap/callouts/999.xml", params={"api_key": key}) as response:
            assert response.status == 404
    feed = ET.fromstring(feed_text.split("\n", 1)[1])
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("atom:id", "atom:title", "atom:updated", "atom:author/atom:name"):
        assert feed.findtext(required, namespaces=NS), required
    assert feed.find("atom:link[@rel='self']", NS) is not None
    (entry,) = feed.findall("atom:entry", NS)
    for required in ("atom:id", "atom:title", "atom:updated"):
        assert entry.findtext(required, namespaces=NS), required
    assert entry.find("atom:link[@rel='alternate']", NS).get("type") == "application/cap+xml"
    inline = entry.find("atom:content/cap:alert", NS)
    assert inline is not None and entry.find("atom:content", NS).get("type") == "application/cap+xml"
    valid('<?xml version="1.0"?>\n' + ET.tostring(inline, encoding="unicode"))


async def test_the_empty_feed_is_still_a_feed(world):
    await demo_city(world)
    async with open311_client(world) as (http, key), http.get("/cap/feed.atom", params={"api_key": key}) as response:
        feed = ET.fromstring((await response.text()).split("\n", 1)[1])
    assert feed.findall("atom:entry", NS) == [] and feed.findtext("atom:updated", namespaces=NS)


async def test_a_call_out_around_a_point_exports_its_circle(world):
    _li, li_id = await leader_and_responders(world)
    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        draft = await callout_drafts.start_draft(session, li_id, world.clock.now())
        callout_drafts.set_centre(draft, 29.8505, 121.5005)
        command = await command_of(session, li_id)
        callout_drafts.choose_radius(draft, index, command, 100)
        draft.headline = "Gas smell"
        mobilization, _ = await callout_drafts.send(session, index, draft.id, li_id, world.clock.now())
    root = await exported(world, mobilization.id)
    assert root.findtext("cap:info/cap:area/cap:circle", namespaces=NS) == "29.850500,121.500500 0.100"


def test_the_shipped_schema_is_the_oasis_cap_1_2_schema_with_its_notice():
    from storage.cap_read import SCHEMA

    text = SCHEMA.read_text(encoding="utf-8")
    assert text.startswith("<!--  Copyright OASIS Open 2010 All Rights Reserved  -->")
    assert 'targetNamespace="urn:oasis:names:tc:emergency:cap:1.2"' in text
    assert "Copyright OASIS Open 2010" in (SCHEMA.parent / "README.md").read_text(encoding="utf-8")
