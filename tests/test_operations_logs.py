"""GRIDLINE_LOG_FORMAT=json: a log store reads one JSON object a line, with the update, person and
case the line is about, and never a name, a phone number, a token or what a person wrote."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, RedactingFormatter
from tests.stories import submit_manhole

NAME = "Wang Xiaoming"
WORDS = "call me at 13812345678 the lid is gone"


async def test_json_lines_name_the_update_person_and_case_and_nothing_personal(world, api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([api.token], role="web", instance="gridline-a"))
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)  # as `gridline run` logs; setLevel, as loggers cache what is enabled
    try:
        citizen = world.person(NAME, language_code="en")
        case = await submit_manhole(citizen, description=WORDS)
        await citizen.press_data("no:such:button")  # a warning logged before the person is known
        await citizen.press_data("r:skip:99999")  # and one inside the step: another person's draft
        logging.getLogger("gridline.test").error("the token %s leaked", api.token)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"time", "level", "logger", "message", "role", "instance"} <= line.keys() for line in lines)
    assert all(line["role"] == "web" and line["instance"] == "gridline-a" for line in lines)
    about_update = [line for line in lines if "update_id" in line]
    assert about_update and all(isinstance(line["update_id"], int) for line in about_update)
    not_theirs = [line for line in about_update if "not theirs" in line["message"]]
    assert not_theirs and isinstance(not_theirs[0]["person_id"], int)
    refused = [line for line in lines if "unparseable callback data" in line["message"]]
    assert refused and "update_id" in refused[0]  # known from the update's first handler on
    assert any(line.get("case") == case.number for line in lines)
    text = stream.getvalue()
    for secret in (NAME, "Wang", "13812345678", "lid is gone", api.token, str(citizen.tg_id)):
        assert secret not in text, secret
    assert "<redacted>" in text


def test_plain_text_stays_the_default():
    from bot.settings import Settings

    assert Settings(_env_file=None).log_format == "text"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    assert RedactingFormatter([]).format(record).endswith("INFO x: hello there")


async def test_a_failed_statement_does_not_quote_what_a_person_wrote(world):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as failed:
        async with world.store.transaction() as session:
            await session.execute(text("INSERT INTO no_such_table VALUES (:words)"), {"words": WORDS})
    assert WORDS not in str(failed.value) and "hidden due to hide_parameters" in str(failed.value)
