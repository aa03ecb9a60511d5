"""The category catalog (事项清单): what a citizen may report, with each category's time limit, the
level of the map that handles it and whether it is urgent; reading and checking the file, and
keeping the store in step with it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.category_questions import QuestionDef, question_from
from storage.models import Category
from storage.vocab import SUPPORTED_LANGUAGES, Level

DEFAULT_CATALOG = Path(__file__).parent / "categories.toml"
LANGUAGES = SUPPORTED_LANGUAGES
# The levels that may handle a category, from the nearest up (a micro-grid handles none).
LEVELS: tuple[Level, ...] = (Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT)
CODE_PATTERN = re.compile(r"^[a-z0-9_.]{1,24}$")
STEP_KEYS = ("accept_hours", "arrive_hours")


@dataclass(frozen=True)
class CategoryDef:
    code: str
    names: dict[str, str]
    time_limit_hours: int
    handling_level: Level
    urgent: bool
    parent_code: str | None = None
    verify: bool = False  # a resolved case goes to a verifier first (核查, GRIDLINE_VERIFY=catalog)
    children: tuple[CategoryDef, ...] = field(default=())
    # Separate limits (hours from the report) to accept and to arrive on site; None: no such limit.
    # `time_limit_hours` is the limit to resolve.
    accept_hours: int | None = None
    arrive_hours: int | None = None
    # What a report of this kind is asked after its category: a top category's questions, then its own.
    questions: tuple[QuestionDef, ...] = ()

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["en"]


class CatalogError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Catalog:
    top: tuple[CategoryDef, ...]

    def all(self) -> list[CategoryDef]:
        return [c for top in self.top for c in (top, *top.children)]

    def get(self, code: str) -> CategoryDef | None:
        return next((c for c in self.all() if c.code == code), None)

    def fallback_code(self) -> str:
        """The category for a report whose sender is not sure: "other" if the catalog has it."""
        return "other" if self.get("other") else self.top[-1].code


def _category_from(entry: object, where: str, parent: CategoryDef | None, problems: list[str]) -> CategoryDef | None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a table of code, names and hours")
        return None
    code = entry.get("code")
    label = f"{where} ({code})" if isinstance(code, str) else where
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        problems.append(f"{label}: code must be 1-24 characters of a-z, 0-9, '_' or '.'")
        return None
    names = {}
    for language in LANGUAGES:
        name = entry.get(language)
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{label}: missing the name in '{language}'")
        else:
            names[language] = name.strip()
    hours = entry.get("hours", parent.time_limit_hours if parent else None)
    if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 24 * 90:
        problems.append(f"{label}: hours must be a whole number from 1 to 2160")
        hours = 1
    level = entry.get("level", parent.handling_level if parent else None)
    if level not in LEVELS:
        problems.append(f"{label}: level must be one of {', '.join(LEVELS)}")
        level = Level.GRID
    urgent = entry.get("urgent", parent.urgent if parent else False)
    if not isinstance(urgent, bool):
        problems.append(f"{label}: urgent must be true or false")
        urgent = False
    verify = entry.get("verify", parent.verify if parent else False)
    if not isinstance(verify, bool):
        problems.append(f"{label}: verify must be true or false")
        verify = False
    if parent and not code.startswith(parent.code + "."):
        problems.append(f"{label}: a sub-category's code must start with '{parent.code}.'")
    steps: dict[str, int | None] = {}
    for key in STEP_KEYS:
        value = entry.get(key, getattr(parent, key) if parent else None)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hours):
            problems.append(f"{label}, field {key}: a whole number of hours from 1 to the category's hours ({hours})")
            value = None
        steps[key] = value
    accept, arrive = steps["accept_hours"], steps["arrive_hours"]
    if accept is not None and arrive is not None and accept > arrive:
        problems.append(f"{label}, field accept_hours: more than arrive_hours (accepting comes before arriving)")
    unknown = set(entry) - {"code", "hours", "level", "urgent", "verify", "sub", *STEP_KEYS, *LANGUAGES}
    if unknown:
        problems.append(f"{label}: unknown keys {', '.join(sorted(unknown))}")
    return CategoryDef(code, names, hours, Level(level), urgent, parent.code if parent else None,
                       accept_hours=accept, arrive_hours=arrive, verify=verify)


def _questions_of(document: dict[str, object], problems: list[str]) -> dict[str, list[QuestionDef]]:
    """The `[[question]]` entries, by the code of the category that asks them."""
    entries = document.get("question", [])
    if not isinstance(entries, list):
        problems.append("question: expected [[question]] entries")
        return {}
    found: dict[str, list[QuestionDef]] = {}
    for index, entry in enumerate(entries, start=1):
        read = question_from(entry, f"question {index}", problems)
        if read is not None:
            found.setdefault(read[0], []).append(read[1])
        elif isinstance(entry, dict) and isinstance(entry.get("category"), str):
            found.setdefault(entry["category"], [])  # so an unknown category is named too
    return found


def _with_questions(top: list[CategoryDef], asked: dict[str, list[QuestionDef]], problems: list[str]) -> list[CategoryDef]:
    codes = {c.code for t in top for c in (t, *t.children)}
    for code in sorted(set(asked) - codes):
        problems.append(f"category {code}: questions given for a category the catalog does not have")
    result = []
    for parent in top:
        own = tuple(asked.get(parent.code, ()))
        children = tuple(replace(child, questions=own + tuple(asked.get(child.code, ()))) for child in parent.children)
        result.append(replace(parent, questions=own, children=children))
    for category in (c for t in result for c in (t, *t.children)):
        seen: set[str] = set()
        for question in category.questions:
            if question.code in seen:
                problems.append(f"category {category.code}, question {question.code}, field code: used twice "
                                "(a sub-category also asks its top category's questions)")
            seen.add(question.code)
    return result


def parse_catalog(text: str) -> Catalog:
    """Read a catalog file's text, raising CatalogError with every problem found."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError([f"not valid TOML: {error}"]) from None
    entries = document.get("category")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(["no [[category]] entries"])
    problems: list[str] = []
    top: list[CategoryDef] = []
    for index, entry in enumerate(entries, start=1):
        parent = _category_from(entry, f"category {index}", None, problems)
        if parent is None:
            continue
        subs = entry.get("sub", [])
        children = []
        for sub_index, sub in enumerate(subs if isinstance(subs, list) else [], start=1):
            child = _category_from(sub, f"category {index}, sub {sub_index}", parent, problems)
            if child is not None:
                children.append(child)
        top.append(replace(parent, children=tuple(children)))
    top = _with_questions(top, _questions_of(document, problems), problems)
    seen: set[str] = set()
    for category in (c for t in top for c in (t, *t.children)):
        if category.code in seen:
            problems.append(f"{category.code}: code used twice")
        seen.add(category.code)
    if problems:
        raise CatalogError(problems)
    return Catalog(tuple(top))


def load_catalog(path: Path | None = None) -> Catalog:
    path = path or DEFAULT_CATALOG
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError([f"cannot read {path}: {error.strerror}"]) from None
    return parse_catalog(text)


async def sync_categories(session: AsyncSession, catalog: Catalog) -> None:
    """Make the categories table match the catalog; codes no longer listed are kept but inactive."""
    if session.bind.dialect.name == "postgresql":
        # Several processes start at once: one writes the catalog, the others then find it there.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('gridline:categories'))"))
    existing = {c.code: c for c in (await session.scalars(select(Category))).all()}
    for position, definition in enumerate(catalog.all()):
        row = existing.pop(definition.code, None) or Category(code=definition.code)
        row.parent_code = definition.parent_code
        row.names = dict(definition.names)
        row.time_limit_hours = definition.time_limit_hours
        row.handling_level = definition.handling_level
        row.urgent = definition.urgent
        row.accept_hours = definition.accept_hours
        row.arrive_hours = definition.arrive_hours
        row.verify = definition.verify
        row.position = position
        row.active = True
        session.add(row)
        await session.flush()
    for row in existing.values():
        row.active = False
