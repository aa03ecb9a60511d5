"""Official warnings in (CAP 1.2): an alert posted to the bot's HTTP face, or found in a polled feed,
becomes a call-out drafted for the dispatchers of the areas it touches, who send it with one tap."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from adapters.cap_feeds import FeedPoller
from storage.models import CapAlertRecord, Mobilization
from tests.stories import demo_city, open311_client, staff_in_chat

GRID, M1, M2 = "HS-01-01-G1", "HS-01-01-G1-M1", "HS-01-01-G1-M2"
COMMUNITY = "HS-01-01"
# Inside M1 only (its box is 29.85-29.851389 N, 121.5-121.506667 E).
M1_POLYGON = "29.8502,121.5002 29.8502,121.5060 29.8510,121.5060 29.8510,121.5002 29.8502,121.5002"
CAP = {"Content-Type": "application/cap+xml"}


def alert(identifier: str, area: str | None = f"<polygon>{M1_POLYGON}</polygon>", msg_type: str = "Alert",
          references: str | None = None, status: str = "Actual", headline: str = "Flood at Qingshi lane",
          zh: str | None = "青石巷内涝", sender: str = "met@ningbo.example") -> bytes:
    """A CAP 1.2 alert with an English info (and a Chinese one unless zh is None)."""
    def info(language: str, head: str, instruction: str) -> str:
        area_xml = f"<area><areaDesc>Qingshi lane</areaDesc>{area}</area>" if area is not None else ""
        return (f"<info><language>{language}</language><category>Met</category><event>Flood</event>"
                f"<urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>"
                f"<headline>{head}</headline><instruction>{instruction}</instruction>{area_xml}</info>")
    infos = info("en-US", headline, "Move cars off the lane")
    if zh is not None:
        infos += info("zh-CN", zh, "请将车辆移出巷子")
    refs = f"<references>{references}</references>" if references else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
            f"<identifier>{identifier}</identifier><sender>{sender}</sender><sent>2026-11-23T10:00:00+08:00</sent>"
            f"<status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>{refs}{infos}</alert>").encode()


@pytest.fixture
async def city(world):  # type: ignore[no-untyped-def]
    """The demo city; dispatcher Dee (English) of the community, dispatcher Zhou (Chinese) of the
    street; responders Ann and Bo in M1, Dan in M2; and the HTTP face with an API key."""
    await demo_city(world)
    dee, _ = await staff_in_chat(world, "Dee", "dispatcher", COMMUNITY, language_code="en")
    zhou, _ = await staff_in_chat(world, "Zhou", "dispatcher", "HS-01", language_code="zh-hans")
    people = {}
    for name, area in (("Ann", M1), ("Bo", M1), ("Dan", M2)):
        people[name], _ = await staff_in_chat(world, name, "responder", area, tags=["volunteer"])
    async with open311_client(world) as (http, key):
        yield http, {"X-Api-Key": key, **CAP}, dee, zhou, people


async def count(world, model) -> int:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_an_official_warning_becomes_a_draft_the_dispatcher_sends_with_one_tap(world, city):
    http, headers, dee, zhou, people = city
    async with http.post("/cap/alerts", data=alert("NB-2026-1"), headers=headers) as response:
        assert response.status == 201
        body = await response.json()
    assert body["outcome"] == "drafted" and body["dispatchers"] == 2
    await world.deliver()
    draft = dee.last()
    assert "Official warning" in draft.plain and "Flood at Qingshi lane" in draft.plain
    assert "Move cars off the lane" in draft.plain and "This will alert 2 people in 1 micro-grid(s)" in draft.plain
    assert "Area: Qingshi lane\n" in draft.plain
    assert "官方预警" in zhou.last().plain and "青石巷内涝" in zhou.last().plain and "请将车辆移出巷子" in zhou.last().plain
    assert not any("Flood" in t for t in people["Ann"].texts())  # nothing sent yet
    await dee.tap("🚨 Send", draft)
    assert "Sent to 2 people" in world.api.methods("answerCallbackQuery")[-1].params["text"]
    await world.deliver()
    for name in ("Ann", "Bo"):
        assert "Flood at Qingshi lane" in people[name].last().plain
    assert "Flood" not in people["Dan"].last().plain
    async with world.store.transaction() as session:
        mobilization = await session.scalar(select(Mobilization))
    assert (mobilization.state, mobilization.area_codes, mobilization.drill) == ("active", [M1], False)
    await zhou.tap("🚨", zhou.last())  # too late: Dee sent it
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "这次召集已经发出。"


async def test_a_circle_and_a_geocode_find_their_micro_grids(world, city):
    http, headers, dee, _zhou, _people = city
    async with http.post("/cap/alerts", data=alert("C-1", area="<circle>29.8505,121.5005 0.05</circle>"),
                         headers=headers) as response:
        assert response.status == 201
    geocode = f"<geocode><valueName>gridline</valueName><value>{GRID}</value></geocode>"
    async with http.post("/cap/alerts", data=alert("G-1", area=geocode), headers=headers) as response:
        assert response.status == 201
    async with world.store.transaction() as session:
        drafts = (await session.scalars(select(Mobilization).order_by(Mobilization.id))).all()
    assert drafts[0].area_codes == [M1]
    assert M1 in drafts[1].area_codes and M2 in drafts[1].area_codes and all(c.startswith(GRID) for c in drafts[1].area_codes)


async def test_the_same_identifier_posted_twice_at_once_is_drafted_once(world, city):
    import asyncio

    http, headers, dee, _zhou, _people = city

    async def post() -> int:
        async with http.post("/cap/alerts", data=alert("TWICE"), headers=headers) as response:
            return response.status

    assert sorted(await asyncio.gather(post(), post())) == [200, 201]
    assert await count(world, Mobilization) == 1 and await count(world, CapAlertRecord) == 1


async def test_the_same_identifier_is_drafted_once(world, city):
    http, headers, dee, _zhou, _people = city
    for expected in (201, 200, 200):
        async with http.post("/cap/alerts", data=alert("NB-2"), headers=headers) as response:
            assert response.status == expected
            body = await response.json()
    assert body["outcome"] == "repeat" and body["callout"] is not None
    await world.deliver()
    assert sum("Official warning" in t for t in dee.texts()) == 1
    assert await count(world, Mobilization) == 1 and await count(world, CapAlertRecord) == 1


async def test_an_update_changes_the_draft_and_then_follows_up_the_live_call_out(world, city):
    http, headers, dee, _zhou, people = city
    await http.post("/cap/alerts", data=alert("U-1"), headers=headers)
    update = alert("U-2", msg_type="Update", references="met@ningbo.example,U-1,2026-11-23T10:00:00+08:00",
                   headline="Flood worse at Qingshi lane", area=f"<geocode><valueName>g</valueName><value>{GRID}</value></geocode>")
    async with http.post("/cap/alerts", data=update, headers=headers) as response:
        assert response.status == 200 and (await response.json())["outcome"] == "updated"
    await world.deliver()
    assert "Official warning updated" in dee.last().plain and "Flood worse" in dee.last().plain
    assert "This will alert 3 people in" in dee.last().plain
    await dee.tap("🚨 Send", dee.last())
    await world.deliver()
    assert "Flood worse at Qingshi lane" in people["Dan"].last().plain
    later = alert("U-3", msg_type="Update", references="met@ningbo.example,U-2,2026-11-23T10:00:00+08:00",
                  headline="Water now 40 cm", area=f"<polygon>{M1_POLYGON}</polygon>")
    async with http.post("/cap/alerts", data=later, headers=headers) as response:
        assert (await response.json())["outcome"] == "followed_up"
    await world.deliver()
    assert "Water now 40 cm" in people["Ann"].last().plain and "Update" in people["Ann"].last().plain


async def test_a_cancel_drops_the_draft_or_stands_the_call_out_down(world, city):
    http, headers, dee, zhou, people = city
    await http.post("/cap/alerts", data=alert("K-0"), headers=headers)
    await world.deliver()
    shown = dee.last()
    cancel = alert("K-0c", msg_type="Cancel", references="met@ningbo.example,K-0,2026-11-23T10:00:00+08:00")
    async with http.post("/cap/alerts", data=cancel, headers=headers) as response:
        assert (await response.json())["outcome"] == "dropped"
    await world.deliver()
    assert "met@ningbo.example cancelled its warning" in dee.last().plain
    await dee.tap("🚨 Send", shown)
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is over."
    await http.post("/cap/alerts", data=alert("K-1"), headers=headers)
    forged = alert("K-1x", msg_type="Cancel", references="met@ningbo.example,K-1,2026-11-23T10:00:00+08:00",
                   sender="prank@example.org")
    async with http.post("/cap/alerts", data=forged, headers=headers) as response:
        assert response.status == 422 and "references no alert" in (await response.json())["error"]
    cancel = alert("K-1c", msg_type="Cancel", references="met@ningbo.example,K-1,2026-11-23T10:00:00+08:00")
    async with http.post("/cap/alerts", data=cancel, headers=headers) as response:
        assert (await response.json())["outcome"] == "dropped"
    mark = dee.mark()
    await world.deliver()
    assert not any("Official warning" in t for t in dee.since(mark))  # dropped before it was shown
    await http.post("/cap/alerts", data=alert("K-2"), headers=headers)
    await world.deliver()
    await zhou.tap("🚨", zhou.last())
    await world.deliver()
    cancel = alert("K-2c", msg_type="Cancel", references="met@ningbo.example,K-2,2026-11-23T10:00:00+08:00")
    async with http.post("/cap/alerts", data=cancel, headers=headers) as response:
        assert (await response.json())["outcome"] == "stood_down"
    await world.deliver()
    assert "Stand down" in people["Ann"].last().plain


async def test_a_dismissed_draft_sends_nothing(world, city):
    http, headers, dee, zhou, people = city
    await http.post("/cap/alerts", data=alert("D-1"), headers=headers)
    await world.deliver()
    await dee.tap("✖️ Dismiss", dee.last())
    assert "Dismissed" in dee.last().plain
    await zhou.tap("🚨", zhou.last())
    await world.deliver()
    assert not any("Flood" in t for t in people["Ann"].texts())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>"""


@pytest.mark.parametrize(("body", "content_type", "status", "reason"), [
    (b"this is not xml", "application/cap+xml", 400, "not well-formed XML"),
    (b'{"alert": 1}', "application/json", 415, "must be a CAP 1.2 alert in XML"),
    (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "application/xml", 422, "not a CAP 1.2 alert"),
    (alert("S-1").replace(b"<status>Actual</status>", b"<status>Maybe</status>"), "application/cap+xml", 422,
     "does not validate against the CAP 1.2 schema"),
    (alert("A-1", area=None), "application/cap+xml", 422, "has no area"),
    (alert("A-2", area=""), "application/cap+xml", 422, "has no area"),
    (alert("O-1", area="<circle>39.9,116.4 1</circle>"), "application/cap+xml", 422, "outside the map"),
    (alert("B-1").replace(b"<scope>", b"<note>" + b"x" * 600_000 + b"</note><scope>"), "application/cap+xml", 413,
     "over the limit"),
    (BILLION_LAUGHS, "application/cap+xml", 400, "DTD"),
    (XXE, "application/cap+xml", 400, "DTD"),
    (XXE.replace(b"<?xml version=\"1.0\"?>", b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>").decode().encode("utf-16"),
     "application/cap+xml", 400, ""),
])
async def test_what_is_not_a_cap_alert_on_the_map_is_refused_and_nothing_drafted(world, city, body, content_type, status,
                                                                                 reason):
    http, headers, dee, _zhou, _people = city
    async with http.post("/cap/alerts", data=body, headers={**headers, "Content-Type": content_type}) as response:
        assert response.status == status
        answer = await response.json()
    assert reason in answer["error"]
    if "schema" in reason:
        assert any("status" in error for error in answer["errors"])
    assert "passwd" not in str(answer) and "root:" not in str(answer)
    assert await count(world, Mobilization) == 0 and await count(world, CapAlertRecord) == 0
    await world.deliver()
    assert not any("Official warning" in t for t in dee.texts())


async def test_an_alert_needs_a_valid_api_key(world, city):
    http, headers, _dee, _zhou, _people = city
    for given in ({}, {"X-Api-Key": "forged"}):
        async with http.post("/cap/alerts", data=alert("K-9"), headers={**CAP, **given}) as response:
            assert response.status == 401 and "API key" in (await response.json())["error"]
    async with http.get("/cap/feed.atom") as response:
        assert response.status == 401
    assert await count(world, CapAlertRecord) == 0


async def test_feeds_are_polled_and_a_feed_that_is_down_is_tried_again(world, city):
    _http, _headers, dee, _zhou, _people = city
    state = {"up": False}

    async def atom(request: web.Request) -> web.Response:
        if not state["up"]:
            return web.Response(status=503)
        inline = alert("F-inline").split(b"\n", 1)[1].decode()
        return web.Response(content_type="application/atom+xml", text=f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:feed</id><title>Warnings</title><updated>2026-11-23T10:00:00+08:00</updated>
<entry><id>urn:1</id><title>Linked</title><updated>2026-11-23T10:00:00+08:00</updated>
<link rel="alternate" type="application/cap+xml" href="/alerts/F-linked.xml"/></entry>
<entry><id>urn:2</id><title>Inline</title><updated>2026-11-23T10:00:00+08:00</updated><content type="application/cap+xml">{inline}</content></entry>
<entry><id>urn:3</id><title>Broken</title><updated>2026-11-23T10:00:00+08:00</updated><link href="/alerts/missing.xml"/></entry>
</feed>""")

    async def rss(request: web.Request) -> web.Response:
        return web.Response(content_type="application/rss+xml", text="""<?xml version="1.0"?><rss version="2.0"><channel>
<title>t</title><item><title>x</title><link>/alerts/F-rss.xml</link></item></channel></rss>""")

    async def one(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "missing":
            return web.Response(status=404)
        return web.Response(body=alert(name), content_type="application/cap+xml")

    app = web.Application()
    app.router.add_get("/feed.atom", atom)
    app.router.add_get("/feed.rss", rss)
    app.router.add_get("/alerts/{name}.xml", one)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    world.runtime.settings.cap_feeds = [f"http://127.0.0.1:{port}/feed.atom", f"http://127.0.0.1:{port}/feed.rss"]
    poller = FeedPoller(world.runtime)
    try:
        async with aiohttp.ClientSession() as client:
            await poller.poll(client)  # the Atom feed is down; the RSS feed is read
            assert world.runtime.counters.cap_feed_failures == 1 and poller.taken == 1
            state["up"] = True
            await poller.poll(client)  # up again: two alerts, one entry whose alert is missing
            assert poller.taken == 3 and world.runtime.counters.cap_feed_failures == 2
            await poller.poll(client)  # the same identifiers again: nothing new
            assert poller.taken == 3
    finally:
        await runner.cleanup()
    async with world.store.transaction() as session:
        identifiers = set((await session.scalars(select(CapAlertRecord.identifier))).all())
    assert identifiers == {"F-linked", "F-inline", "F-rss"}
    await world.deliver()
    assert sum("Official warning" in t for t in dee.texts()) == 3


async def test_the_draft_stays_while_the_dispatcher_composes_and_a_stranger_cannot_send_it(world, city):
    from handlers.buttons import SendCapDraft

    http, headers, dee, _zhou, people = city
    async with http.post("/cap/alerts", data=alert("S-9"), headers=headers) as response:
        alert_id = (await response.json())["alert"]
    await world.deliver()
    await dee.say("/mobilize")  # a call-out of his own: the official draft is not dropped
    other, _ = await staff_in_chat(world, "Oz", "dispatcher", "HS-02-01", language_code="en")
    await other.press_data(SendCapDraft(alert=alert_id).pack())
    assert world.api.methods("answerCallbackQuery")[-1].params["text"] == "This call-out is not yours."
    await dee.tap("🚨 Send", next(m for m in reversed(dee.chat()) if "Official warning" in m.plain))
    await world.deliver()
    assert "Flood at Qingshi lane" in people["Ann"].last().plain
