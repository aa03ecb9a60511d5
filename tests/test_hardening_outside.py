"""What a hostile tester still found from the outside after issue 13's fixes: each story is one
probe a third-party client or an attacker sent, and what they must get back."""

from __future__ import annotations

import json

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.models import Case
from tests.test_open311_clients import HOTLINE, face, get_json, posted_number  # noqa: F401 (fixture)

ZERO_WIDTH = "\u200b\u200c\u200d\u2060"


async def case_count(world) -> int:  # type: ignore[no-untyped-def]
    async with world.store.transaction() as session:
        return await session.scalar(select(func.count(Case.id)))


@pytest.mark.parametrize("fields, named", [
    ({"address_string": ZERO_WIDTH * 2}, "address_string"),
    ({"address_string": "a\u200b b"}, "address_string"),
    ({"address_id": ZERO_WIDTH}, "address_id"),
])
async def test_an_open311_address_needs_three_visible_characters_like_a_typed_one(world, face, fields, named):
    http, key = face
    data = {**HOTLINE, "api_key": key, **fields}
    del data["lat"], data["long"]
    async with http.post("/open311/v2/requests.json", data=data) as response:
        errors = await response.json()
    assert response.status == 400 and any(named in e["description"] for e in errors), errors
    assert await case_count(world) == 0


async def test_a_short_address_beside_a_point_is_still_welcome(world, face):
    http, key = face
    number = await posted_number(http, key, address_string="5号")
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    assert found[0]["address"] == "5号"


async def test_a_file_or_a_nested_object_is_no_field_value_and_is_refused_naming_the_field(world, face):
    http, key = face
    form = aiohttp.FormData()
    for name, value in {**HOTLINE, "api_key": key}.items():
        if name != "description":
            form.add_field(name, value)
    form.add_field("description", b"not words", filename="notes.txt")
    async with http.post("/open311/v2/requests.json", data=form) as response:
        errors = await response.json()
    assert response.status == 400 and "description" in errors[0]["description"], errors
    body = {**HOTLINE, "api_key": key, "description": {"text": "<b>hi</b>"}}
    async with http.post("/open311/v2/requests.json", data=json.dumps(body),
                         headers={"Content-Type": "application/json"}) as response:
        errors = await response.json()
    assert response.status == 400 and "description" in errors[0]["description"], errors
    assert await case_count(world) == 0
    # Numbers in a JSON body stay welcome: a point is a pair of numbers.
    body = {**HOTLINE, "api_key": key, "lat": float(HOTLINE["lat"]), "long": float(HOTLINE["long"])}
    async with http.post("/open311/v2/requests.json", data=json.dumps(body),
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 201, await response.text()


async def test_a_date_whose_plus_sign_came_unencoded_is_read_as_its_offset(world, face):
    """`?start_date=2026-11-23T10:00:05+08:00` typed as is: the query decodes '+' to a space."""
    http, key = face
    number = await posted_number(http, key)
    status, found = await get_json(http, f"/open311/v2/requests/{number}.json", api_key=key)
    served = found[0]["requested_datetime"]
    async with http.get(f"/open311/v2/requests.json?api_key={key}&start_date={served}&end_date={served}") as response:
        found = await response.json()
    assert response.status == 200, found
    assert [r["service_request_id"] for r in found] == [number]


async def test_accents_stacked_on_two_letters_are_not_a_three_character_address(world):
    """Combining marks sit on a letter; they are no character of their own a reader could count."""
    citizen = world.person(language_code="en")
    await citizen.send_photo()
    for typed in ("ab\u0301\u0301", "x" + "\u0336" * 40):
        before = citizen.mark()
        await citizen.say(typed)
        assert citizen.since(before) == ["Please type the address in 3 to 300 characters, or send the location."]
    await citizen.say("Rue de l'Église 5")
    assert "Address noted" in citizen.texts()[-2]
