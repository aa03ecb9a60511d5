"""Call-out plans as a file (`gridline plans import` / `export`): TOML or YAML, one `plans` list.

The whole file is checked before anything is written: first its shape (pydantic), then against the
map (the areas exist, the scope lies inside the plan's area) and against itself (one plan per area
and name). Every problem is listed with its plan (number and name) and field. What `export` writes,
`import` reads back unchanged.
"""

from __future__ import annotations

import tomllib
from typing import Any, Literal

import tomli_w
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from storage.callout_drafts import MAX_HEADLINE, MAX_INSTRUCTION
from storage.callout_scope import TAG_OPTIONS, micro_grids_around, micro_grids_in
from storage.map_index import AreaIndex
from storage.plans import MAX_NAME, PlanFields
from storage.vocab import Language

Format = Literal["toml", "yaml"]
MAX_RADIUS = 5000
MAX_NEED = 10000
MAX_WAVE_MINUTES = 24 * 60


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PointIn(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class AroundIn(PointIn):
    radius_m: int = Field(gt=0, le=MAX_RADIUS)


class WordsIn(_Strict):
    headline: str = Field(min_length=1, max_length=MAX_HEADLINE)
    instruction: str | None = Field(default=None, min_length=1, max_length=MAX_INSTRUCTION)


class MessageIn(_Strict):
    zh: WordsIn
    en: WordsIn


class PlanIn(_Strict):
    """One plan as the file writes it."""

    area: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    areas: list[str] = Field(default_factory=list)
    around: AroundIn | None = None
    who: list[str] = Field(default_factory=list)
    message: MessageIn
    meeting_point: PointIn | None = None
    need: int | None = Field(default=None, ge=1, le=MAX_NEED)
    wave_minutes: int | None = Field(default=None, ge=1, le=MAX_WAVE_MINUTES)

    @field_validator("name")
    @classmethod
    def _name_is_tidy(cls, name: str) -> str:
        if " ".join(name.split()) != name:
            raise ValueError("a name without leading, trailing or repeated spaces")
        return name

    @field_validator("who")
    @classmethod
    def _known_tags(cls, who: list[str]) -> list[str]:
        unknown = [tag for tag in who if tag not in TAG_OPTIONS]
        if unknown:
            raise ValueError(f"unknown {', '.join(unknown)}; choose from {', '.join(TAG_OPTIONS)}")
        if len(set(who)) != len(who):
            raise ValueError("a tag given twice")
        return who

    @model_validator(mode="after")
    def _one_scope(self) -> PlanIn:
        if bool(self.areas) == (self.around is not None):
            raise ValueError("give either areas (micro-grid or area codes) or around (lat, lon, radius_m), not both")
        return self


def _label(index: int, raw: object) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"plan {index + 1}" + (f" ({name})" if isinstance(name, str) and name else "")


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(the plan)"


def _read(text: str, form: Format) -> Any:
    try:
        return tomllib.loads(text) if form == "toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise PlanFileError([f"not valid {form.upper()}: {error}"]) from None


class PlanFileError(Exception):
    """A plan file that cannot be imported: every problem, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_plans(text: str, form: Format, index: AreaIndex) -> list[PlanFields]:
    """The plans of a file, checked whole: each plan's shape, then the map and the names, for every
    plan; PlanFileError lists every problem."""
    data = _read(text, form)
    raw_plans = data.get("plans") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(raw_plans, list):
        raise PlanFileError(["plans: a list of plans ([[plans]] in TOML, plans: in YAML)"])
    problems = [f"{key}: not a key of a plan file (only plans)" for key in data if key != "plans"]
    checked: list[PlanIn] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(raw_plans):
        label = _label(number, raw)
        try:
            plan = PlanIn.model_validate(raw)
        except ValidationError as error:
            problems += [f"{label}: {_field(found['loc'])}: {found['msg']}" for found in error.errors()]
            continue
        problems += [f"{label}: {problem}" for problem in _map_problems(plan, index)]
        if (plan.area, plan.name) in seen:
            problems.append(f"{label}: name: the same area and name as plan {seen[(plan.area, plan.name)] + 1}")
        seen.setdefault((plan.area, plan.name), number)
        checked.append(plan)
    if problems:
        raise PlanFileError(problems)
    return [_fields(plan) for plan in checked]


def _map_problems(plan: PlanIn, index: AreaIndex) -> list[str]:
    if plan.area not in index.position:
        return [f"area: no area with code {plan.area}"]
    problems = [f"areas: no area with code {code}" for code in plan.areas if code not in index.position]
    problems += [f"areas: {code} is not inside {plan.area}" for code in plan.areas
                 if code in index.position and not index.within(code, {plan.area})]
    if plan.around is not None:
        micro = micro_grids_around(index, plan.around.lat, plan.around.lon, plan.around.radius_m)
        if not micro:
            problems.append("around: touches no micro-grid of the map")
        elif not all(index.within(code, {plan.area}) for code in micro):
            problems.append(f"around: reaches outside {plan.area}")
    elif not problems and not micro_grids_in(index, plan.areas):
        problems.append("areas: hold no micro-grid")
    return problems


def _fields(plan: PlanIn) -> PlanFields:
    words = {Language.ZH: plan.message.zh, Language.EN: plan.message.en}
    return PlanFields(
        area=plan.area, name=plan.name,
        headline={language: said.headline for language, said in words.items()},
        instruction={language: said.instruction for language, said in words.items()},
        areas=list(plan.areas),
        around=(plan.around.lat, plan.around.lon, plan.around.radius_m) if plan.around else None,
        tags=list(plan.who),
        meeting_point=(plan.meeting_point.lat, plan.meeting_point.lon) if plan.meeting_point else None,
        need=plan.need, wave_minutes=plan.wave_minutes,
    )


def _written(fields: PlanFields) -> dict[str, Any]:
    """One plan as the file writes it: the keys of `PlanIn`, empty ones left out (TOML has no null)."""
    def words(language: Language) -> dict[str, str]:
        said = {"headline": fields.headline[language]}
        instruction = fields.instruction.get(language)
        return {**said, "instruction": instruction} if instruction else said

    plan: dict[str, Any] = {"area": fields.area, "name": fields.name}
    if fields.around:
        lat, lon, radius = fields.around
        plan["around"] = {"lat": lat, "lon": lon, "radius_m": radius}
    else:
        plan["areas"] = list(fields.areas)
    if fields.tags:
        plan["who"] = list(fields.tags)
    if fields.meeting_point:
        plan["meeting_point"] = {"lat": fields.meeting_point[0], "lon": fields.meeting_point[1]}
    for key, value in (("need", fields.need), ("wave_minutes", fields.wave_minutes)):
        if value is not None:
            plan[key] = value
    plan["message"] = {"zh": words(Language.ZH), "en": words(Language.EN)}
    return plan


def dump_plans(plans: list[PlanFields], form: Format) -> str:
    data = {"plans": [_written(plan) for plan in plans]}
    if form == "toml":
        return tomli_w.dumps(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
