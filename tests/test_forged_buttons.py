"""An id inside a button is only a request: whoever presses a forged button gets a short refusal,
nothing changes, and nothing of another person's case, task, call-out or area is shown.

One small city, one person per kind who has real buttons of each family, and a table of forged
presses: each names the presser, the data, the answer they get, and what they must not see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from handlers.buttons import (
    AcceptCase,
    AcceptTask,
    AddToCase,
    AnswerCallOut,
    AssigneesInside,
    AssignTo,
    BackToTaskCard,
    CallOutAreasInside,
    CancelReport,
    ChooseAssignee,
    ChooseWorker,
    DuplicateOf,
    DuplicateTypedNumber,
    FollowUpCallOut,
    GiveTaskTo,
    InviteAreasInside,
    InviteAt,
    InviteRole,
    MakeInvite,
    OpenMyCase,
    RateCase,
    RealertCallOut,
    RejectForReason,
    SendCallOut,
    SendDispatchCard,
    SendTaskCard,
    StandDown,
    SubmitReport,
    ToggleCallOutArea,
    WidenCallOut,
)
from storage import callout_drafts
from storage import cases as case_store
from storage.models import (
    Case,
    CaseEvent,
    CaseFollower,
    CasePhoto,
    Invite,
    Mobilization,
    OutboundMessage,
    ReportDraft,
    Responder,
    Role,
)
from storage.models import (
    Person as PersonRow,
)
from tests import snapshots
from tests.harness import Harness, Person
from tests.stories import (
    CJK,
    demo_city,
    label,
    newest_case,
    report_manhole,
    staff_in_chat,
    submit_manhole,
)
from tests.test_routing import IN_GRID

G1, G2 = "HS-01-01-G1", "HS-01-01-G2"
SECRET_A = "Flat 1203, call 13800001111"  # what people write in a description
SECRET_B = "Room 5 behind the shop, ask for Mrs Chen"
CALLOUT_HEADLINE = "Gas leak at block 7"
HS02_POINT = (29.8600, 121.5600)  # in 柳汀社区 of street HS-02, kilometres from the grid G1
HS01_OTHER_POINT = (29.8600, 121.5170)  # grid HS-01-02-G3: no worker, so its cases go to the HS-01 dispatcher

NOT_VALID = "This button is not valid."
NOT_DISPATCHER = "Only a dispatcher of this case's area can do that."
NOT_TASK = "This task is not for you: only the grid's workers and leader can act on it."
NOT_SENT = "This call-out was not sent to you."
NOT_CALLOUT = "This call-out is not yours."
OUTSIDE = "That is outside your area: nothing was sent."
NO_INVITE = "You cannot invite for that. /whoami shows your roles."


@dataclass
class City:
    world: Harness
    people: dict[str, Person]
    ids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)


async def submit_other(citizen: Person, lat: float, lon: float, description: str) -> Case:
    await citizen.send_photo()
    await citizen.send_location(lat, lon)
    await citizen.tap("Other")
    await citizen.say(description)
    await citizen.tap("Submit")
    return await newest_case(citizen.world)


async def person_id(world: Harness, someone: Person) -> int:
    async with world.store.transaction() as session:
        return await session.scalar(select(PersonRow.id).where(PersonRow.tg_id == someone.tg_id))


_cities: dict[str, tuple[snapshots.WorldSnapshot, City]] = {}  # per store kind: built once per test process


async def a_city(world: Harness) -> City:
    """Grid G1 (worker Wang, leader Li, responder Ann) with a resident's case; grid G2 (worker Zhou,
    responder Eve); dispatchers of streets HS-01 (Sun) and HS-02 (Ma); another leader (Qian) with a
    call-out draft of his own; a citizen (Amy) with a case of her own and a report at its summary.

    Built once per test process and store kind; each later story starts from a copy (tests/snapshots.py)."""
    kind = "postgresql" if world.settings.db_url else "sqlite"
    if kind in _cities and snapshots.fits(world, _cities[kind][0]):
        snapshot, built = _cities[kind]
        await snapshots.put_back(world, snapshot)
        return City(world, {name: Person(world, p.tg_id, p.name, p.language_code) for name, p in built.people.items()},
                    dict(built.ids), {key: list(values) for key, values in built.secrets.items()})
    city = await build_city(world)
    _cities[kind] = (await snapshots.take(world), city)
    return city


async def build_city(world: Harness) -> City:
    await demo_city(world)
    city = City(world, {})
    for name, role, area, tags in (
        ("Wang", "worker", G1, None), ("Li", "leader", G1, None), ("Zhou", "worker", G2, None),
        ("Sun", "dispatcher", "HS-01", None), ("Ma", "dispatcher", "HS-02", None),
        ("Qian", "leader", "HS-01-02-G1", None),
        ("Ann", "responder", G1 + "-M1", ["volunteer"]), ("Eve", "responder", G2 + "-M1", ["volunteer"]),
    ):
        city.people[name], city.ids[name] = await staff_in_chat(world, name, role, area, tags=tags)

    victim = city.people["Victim"] = world.person("Victim", language_code="en")
    case_a = await submit_manhole(victim, lat=IN_GRID[0], lon=IN_GRID[1], description=SECRET_A)  # to Wang
    case_b = await submit_other(victim, *HS01_OTHER_POINT, SECRET_B)  # to Sun
    await victim.send_photo()  # a new report, still open
    victim_id = await person_id(world, victim)
    async with world.store.transaction() as session:
        city.ids["victim_draft"] = await session.scalar(
            select(ReportDraft.id).where(ReportDraft.person_id == victim_id, ReportDraft.status == "open"))
    city.ids["case_a"], city.ids["case_b"] = case_a.id, case_b.id
    city.secrets["case_a"] = [SECRET_A, case_a.number]
    city.secrets["case_b"] = [SECRET_B, case_b.number]

    amy = city.people["Amy"] = world.person("Amy", language_code="en")
    own = await submit_other(amy, *HS02_POINT, "Bench broken")  # to Ma, the HS-02 dispatcher
    city.ids["amy_case"] = own.id
    await report_manhole(amy, lat=HS02_POINT[0] + 0.0005, lon=HS02_POINT[1])  # at her summary now
    amy_id = await person_id(world, amy)
    async with world.store.transaction() as session:
        city.ids["amy_draft"] = await session.scalar(
            select(ReportDraft.id).where(ReportDraft.person_id == amy_id, ReportDraft.status == "open"))

    async with world.store.transaction() as session:
        index = await world.runtime.map.index(session)
        draft = await callout_drafts.start_draft(session, city.ids["Li"], world.clock.now())
        draft.area_codes, draft.headline, draft.instruction = [G1 + "-M1"], CALLOUT_HEADLINE, "Leave by the north gate"
        sent, _count = await callout_drafts.send(session, index, draft.id, city.ids["Li"], world.clock.now())
        city.ids["callout"] = sent.id
        city.ids["qian_draft"] = (await callout_drafts.start_draft(session, city.ids["Qian"], world.clock.now())).id
    city.secrets["callout"] = [CALLOUT_HEADLINE]
    await city.people["Li"].say("/mobilize")  # Li's own draft, with its area buttons
    async with world.store.transaction() as session:
        city.ids["li_draft"] = await session.scalar(select(Mobilization.id).where(
            Mobilization.commander_id == city.ids["Li"], Mobilization.state == "draft"))
    await world.deliver()
    return city


async def snapshot(world: Harness) -> dict[str, list]:
    """Everything a press could change, as plain values (when people were last seen aside)."""
    tables = (Case, CaseEvent, CaseFollower, CasePhoto, ReportDraft, Role, Invite, Mobilization, Responder,
              OutboundMessage)
    found: dict[str, list] = {}
    async with world.store.transaction() as session:
        for table in tables:
            rows = (await session.scalars(select(table))).all()
            columns = [c.key for c in table.__table__.columns]
            found[table.__tablename__] = sorted(repr([getattr(row, c) for c in columns]) for row in rows)
        found["people"] = sorted(repr(row) for row in (await session.execute(
            select(PersonRow.id, PersonRow.awaiting, PersonRow.awaiting_ref, PersonRow.language))).all())
    return found


@dataclass(frozen=True)
class Forged:
    presser: str
    data: Callable[[City], str]
    answer: str
    hidden: tuple[str, ...]  # whose details the presser must not see: case_a, case_b, callout


FORGED = {
    # r: a report's buttons name the citizen's own draft; a merge names a case the summary offered.
    "r:merge into a stranger's case elsewhere, of the same kind": Forged(
        "Amy", lambda c: AddToCase(c.ids["amy_draft"], c.ids["case_a"]).pack(), NOT_VALID, ("case_a",)),
    "r:merge into a stranger's case of another kind": Forged(
        "Amy", lambda c: AddToCase(c.ids["amy_draft"], c.ids["case_b"]).pack(), NOT_VALID, ("case_b",)),
    "r:cancel of another person's report": Forged(
        "Amy", lambda c: CancelReport(c.ids["victim_draft"]).pack(), NOT_VALID, ("case_a", "case_b")),
    "r:submit of another person's report": Forged(
        "Amy", lambda c: SubmitReport(c.ids["victim_draft"]).pack(), NOT_VALID, ("case_a", "case_b")),
    # c: a citizen reads and rates only their own cases.
    "c:open of a stranger's case": Forged(
        "Amy", lambda c: OpenMyCase(c.ids["case_a"]).pack(), NOT_VALID, ("case_a",)),
    "c:rate of a stranger's case": Forged(
        "Amy", lambda c: RateCase(c.ids["case_a"], 0).pack(), NOT_VALID, ("case_a",)),
    "lang that we do not speak": Forged("Amy", lambda c: "lang:fr", NOT_VALID, ()),
    # d: a dispatcher acts on cases of their own area, with people and areas of their own area.
    "d:acc of a case in another street": Forged(
        "Ma", lambda c: AcceptCase(c.ids["case_b"]).pack(), NOT_DISPATCHER, ("case_b",)),
    "d:card of a case in another street": Forged(
        "Ma", lambda c: SendDispatchCard(c.ids["case_b"]).pack(), NOT_DISPATCHER, ("case_b",)),
    "d:asg of a case in another street": Forged(
        "Ma", lambda c: ChooseAssignee(c.ids["case_b"]).pack(), NOT_DISPATCHER, ("case_b",)),
    "d:in an area of another street": Forged(
        "Ma", lambda c: AssigneesInside(c.ids["amy_case"], G1).pack(), NOT_VALID, ("case_a",)),
    "d:to a worker of another street": Forged(
        "Ma", lambda c: AssignTo(c.ids["amy_case"], c.ids["Wang"]).pack(),
        "That person no longer works in your area. Please choose again.", ("case_a", "case_b")),
    "d:dpo naming a case of another street as the original": Forged(
        "Ma", lambda c: DuplicateOf(c.ids["amy_case"], c.ids["case_b"]).pack(), NOT_VALID, ("case_b",)),
    "d:rjr of a case in another street": Forged(
        "Ma", lambda c: RejectForReason(c.ids["case_b"], 0).pack(), NOT_DISPATCHER, ("case_b",)),
    # t: a worker acts on the tasks of their own grid; a leader gives them to workers of that grid.
    "t:acc of a task in another grid": Forged(
        "Zhou", lambda c: AcceptTask(c.ids["case_a"]).pack(), NOT_TASK, ("case_a",)),
    "t:open of a task in another grid": Forged(
        "Zhou", lambda c: SendTaskCard(c.ids["case_a"]).pack(), NOT_TASK, ("case_a",)),
    "t:card of a task in another grid": Forged(
        "Zhou", lambda c: BackToTaskCard(c.ids["case_a"]).pack(), NOT_TASK, ("case_a",)),
    "t:give of a task in another grid": Forged(
        "Qian", lambda c: ChooseWorker(c.ids["case_a"]).pack(), NOT_TASK, ("case_a",)),
    "t:to a worker of another grid": Forged(
        "Li", lambda c: GiveTaskTo(c.ids["case_a"], c.ids["Zhou"]).pack(),
        "That person is not a worker of this grid any more. Please choose again.", ()),
    # m: a responder answers call-outs sent to them; a commander works on their own call-outs and areas.
    "m:ans to a call-out never sent": Forged(
        "Eve", lambda c: AnswerCallOut(c.ids["callout"], 0).pack(), NOT_SENT, ("callout",)),
    "m:in an area of another street": Forged(
        "Li", lambda c: CallOutAreasInside(c.ids["li_draft"], "HS-02").pack(), OUTSIDE, ()),
    "m:tg a micro-grid of another grid": Forged(
        "Li", lambda c: ToggleCallOutArea(c.ids["li_draft"], G2 + "-M1").pack(), OUTSIDE, ()),
    "m:go of another commander's draft": Forged(
        "Li", lambda c: SendCallOut(c.ids["qian_draft"], 0).pack(), NOT_CALLOUT, ()),
    "m:tg in another commander's draft": Forged(
        "Li", lambda c: ToggleCallOutArea(c.ids["qian_draft"], G1 + "-M1").pack(), NOT_CALLOUT, ()),
    "m:end of another commander's call-out": Forged(
        "Qian", lambda c: StandDown(c.ids["callout"]).pack(), NOT_CALLOUT, ("callout",)),
    "m:re of another commander's call-out": Forged(
        "Qian", lambda c: RealertCallOut(c.ids["callout"]).pack(), NOT_CALLOUT, ("callout",)),
    "m:up of another commander's call-out": Forged(
        "Qian", lambda c: FollowUpCallOut(c.ids["callout"]).pack(), NOT_CALLOUT, ("callout",)),
    "m:wd of another commander's call-out": Forged(
        "Qian", lambda c: WidenCallOut(c.ids["callout"], 1).pack(), NOT_CALLOUT, ("callout",)),
    # i: a leader invites workers and responders of their own grid only.
    "i:in an area of another street": Forged("Li", lambda c: InviteAreasInside(0, "HS-02").pack(), NO_INVITE, ()),
    "i:at another grid": Forged("Li", lambda c: InviteAt(0, G2).pack(), NO_INVITE, ()),
    "i:mk for another grid": Forged("Li", lambda c: MakeInvite(0, 1, G2).pack(), NO_INVITE, ()),
    "i:role a leader may not give": Forged("Li", lambda c: InviteRole(2).pack(), NO_INVITE, ()),
}
# An id no store could hold is a button we never made, in every family (PostgreSQL's ids are 32-bit).
FORGED.update({
    f"{data} (an id too large for the store)": Forged("Li", lambda c, data=data: data, NOT_VALID, ())
    for data in ("r:submit:2147483648", "r:merge:1:999999999999", "c:open:999999999999", "c:rate:2147483648:1",
                 "d:acc:999999999999", "d:to:1:2147483648", "t:acc:999999999999", "m:ans:999999999999:0",
                 "m:go:2147483648:0", "m:end:999999999999", "i:role:999999999999")
})


def said_since(world: Harness, mark: int) -> str:
    """Everything the bot sent, edited or answered to anyone since `mark` calls, as one text."""
    return "\n".join(json.dumps(call.params, ensure_ascii=False) for call in world.api.calls[mark:])


@pytest.mark.parametrize("story", list(FORGED))
async def test_a_forged_button_is_refused_changes_nothing_and_shows_nothing(world, story):
    forged = FORGED[story]
    city = await a_city(world)
    presser = city.people[forged.presser]
    before = await snapshot(world)
    mark = len(world.api.calls)

    await presser.press_data(forged.data(city))
    await world.deliver()

    answers = [c.params.get("text") for c in world.api.methods("answerCallbackQuery")]
    assert answers[-1] == forged.answer
    assert await snapshot(world) == before
    said = said_since(world, mark)
    for hidden in forged.hidden:
        for secret in city.secrets[hidden]:
            assert secret not in said, f"{story}: {secret!r} was shown"
    sent = [c for c in world.api.calls[mark:] if c.method.startswith("send")]
    assert sent == [], f"{story}: the bot sent {[c.params.get('text') for c in sent]}"


async def test_the_honest_merge_still_works_after_a_forged_one_was_refused(world):
    city = await a_city(world)
    amy = city.people["Amy"]
    await amy.press_data(AddToCase(city.ids["amy_draft"], city.ids["case_a"]).pack())
    # A neighbour reports the same manhole 22 m from the victim's: the summary offers the victim's case.
    neighbour = world.person("Neighbour", language_code="en")
    await report_manhole(neighbour, lat=IN_GRID[0] + 0.0002, lon=IN_GRID[1])
    assert city.secrets["case_a"][1] in neighbour.last().plain
    await neighbour.tap("Add my photos to")
    assert f"added to case {city.secrets['case_a'][1]}" in neighbour.last().plain
    async with world.store.transaction() as session:
        followers = set((await session.scalars(select(CaseFollower.person_id).where(
            CaseFollower.case_id == city.ids["case_a"]))).all())
        added_by = set((await session.scalars(select(CasePhoto.added_by).where(
            CasePhoto.case_id == city.ids["case_a"]))).all())
    neighbour_id, amy_id = await person_id(world, neighbour), await person_id(world, amy)
    assert neighbour_id in followers and amy_id not in followers
    assert neighbour_id in added_by and amy_id not in added_by
    # Amy's report is still hers to submit; her /mycases does not list the victim's case.
    await amy.say("/mycases")
    assert city.secrets["case_a"][1] not in " ".join(amy.texts())


async def test_a_typed_case_number_outside_the_dispatchers_area_is_like_no_case_at_all(world):
    city = await a_city(world)
    ma = city.people["Ma"]
    await ma.press_data(DuplicateTypedNumber(city.ids["amy_case"]).pack())
    assert "Type the number of the earlier case" in ma.last().plain
    before = await snapshot(world)
    await ma.say(city.secrets["case_b"][1])  # a real case, in street HS-01
    outside = ma.last().plain
    await ma.say("261123-9999")  # no such case
    assert outside == ma.last().plain == "There is no case with that number. Check it and type it again, or /cancel."
    after = await snapshot(world)
    assert after["cases"] == before["cases"] and after["case_followers"] == before["case_followers"]


async def test_a_commander_opening_the_areas_above_theirs_sees_only_the_way_down(world):
    city = await a_city(world)
    li = city.people["Li"]
    await li.press_data(CallOutAreasInside(city.ids["li_draft"], "HS-01-01").pack())
    shown = [b["text"] for b in li.last().buttons()]
    assert any(G1 in name for name in shown)
    assert not any(grid in name for name in shown for grid in ("G2", "G3", "G4", "G5", "G6"))


async def test_a_fellow_worker_sees_a_task_of_the_grid_while_it_is_open_work_but_not_its_closed_history(world):
    city = await a_city(world)
    bai, _bai_id = await staff_in_chat(world, "Bai", "worker", G1)
    await bai.press_data(SendTaskCard(city.ids["case_a"]).pack())  # assigned to Wang: open work of the grid
    await world.deliver()
    assert SECRET_A in bai.last().plain
    async with world.store.transaction() as session:
        for state in ("in_progress", "resolved", "closed"):
            await case_store.change_state(session, city.ids["case_a"], state, None, world.clock.now())
    await world.deliver()
    mark = len(world.api.calls)
    for family in (SendTaskCard, BackToTaskCard, AcceptTask):
        await bai.press_data(family(city.ids["case_a"]).pack())
        assert last_answer(world) == NOT_TASK
    await world.deliver()
    assert SECRET_A not in said_since(world, mark)
    wang = city.people["Wang"]
    await wang.press_data(BackToTaskCard(city.ids["case_a"]).pack())  # the one who held it still can
    assert SECRET_A in wang.last().plain


def last_answer(world: Harness) -> str | None:
    return world.api.methods("answerCallbackQuery")[-1].params.get("text")


async def test_the_refusal_of_a_forged_merge_is_in_the_citizens_language(world):
    stranger_case = await submit_manhole(world.person("Victim", language_code="en"), description=SECRET_A)
    citizen = world.person("Xiao Li", language_code="zh-hans")
    await report_manhole(citizen, lat=HS02_POINT[0], lon=HS02_POINT[1], language="zh")
    citizen_id = await person_id(world, citizen)
    async with world.store.transaction() as session:
        draft_id = await session.scalar(select(ReportDraft.id).where(
            ReportDraft.person_id == citizen_id, ReportDraft.status == "open"))
    await citizen.press_data(AddToCase(draft_id, stranger_case.id).pack())
    refusal = last_answer(world)
    assert refusal == label("zh", "This button is not valid.") and CJK.search(refusal)
    assert stranger_case.number not in " ".join(citizen.texts())
