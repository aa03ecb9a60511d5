"""What a log line can say about the work in hand: the update, the person (their id in the store,
never a name or chat id) and the case. Set by the Telegram side while it handles an update
(contextvars, so each update's task sees its own), read by the JSON log format (bot/logs.py)."""

from __future__ import annotations

from contextvars import ContextVar

update_id: ContextVar[int | None] = ContextVar("gridline_update_id", default=None)
person_id: ContextVar[int | None] = ContextVar("gridline_person_id", default=None)
case: ContextVar[str | None] = ContextVar("gridline_case", default=None)  # the case number, e.g. 20261202-0012


def about_update(update: int | None) -> None:
    """A new update is being handled: what earlier work on this task said no longer holds."""
    update_id.set(update)
    person_id.set(None)
    case.set(None)


def about_person(person: int) -> None:
    person_id.set(person)


def about_case(number: str) -> None:
    case.set(number)


def known() -> dict[str, int | str]:
    """The fields set now, by their JSON names."""
    fields: dict[str, int | str] = {}
    if (value := update_id.get()) is not None:
        fields["update_id"] = value
    if (person := person_id.get()) is not None:
        fields["person_id"] = person
    if (number := case.get()) is not None:
        fields["case"] = number
    return fields
