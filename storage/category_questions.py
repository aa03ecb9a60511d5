"""The questions a category asks (事项清单's fields): yes/no, a choice, a number or a short text;
required or optional; in every language; and a "stop" answer that ends a report with a message and
a phone number instead ("Is anyone in danger now?" → Yes → "Call 110 now").

Questions are read from the catalog's `[[question]]` entries (`parse_questions`), every problem
named by category, question and field; answers are checked here for the chat and Open311 alike
(`answer_from_text`, `check_value`), and stored with the case as `{question code: value}`, where a
value is "yes"/"no", an option's code, a number, a text, or None for an optional one skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from storage.vocab import SUPPORTED_LANGUAGES

# Short enough that a button carrying the draft, the question and the option stays within 64 bytes.
QUESTION_CODE = re.compile(r"^[a-z0-9_]{1,16}$")
OPTION_CODE = QUESTION_CODE
MAX_TEXT = 500  # the longest short-text answer a catalog may allow
DEFAULT_TEXT = 200
MAX_LABEL = 200
MAX_OPTIONS = 8
PHONE = re.compile(r"^[0-9+\-]{3,20}$")
YES, NO = "yes", "no"
# How yes and no read where no translation catalog is at hand (the summary's answers, Open311's lists).
YES_NO_NAMES = {"zh": {YES: "是", NO: "否"}, "en": {YES: "Yes", NO: "No"}}
# Typed words that answer a yes/no question, in the languages we speak.
YES_WORDS = {"yes", "y", "yeah", "是", "是的", "有", "对", "嗯", "👍"}
NO_WORDS = {"no", "n", "nope", "否", "不", "不是", "没有", "无", "没"}
SKIP_WORDS = {"skip", "跳过"}


class QuestionKind(StrEnum):
    YES_NO = "yesno"
    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"


Answer = str | int | float | None


@dataclass(frozen=True)
class Option:
    code: str
    labels: dict[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]


@dataclass(frozen=True)
class Stop:
    """The answer that ends the report, what to tell the person, and the number to call."""

    answer: str
    messages: dict[str, str]
    phone: str

    def message(self, language: str) -> str:
        return self.messages.get(language) or self.messages["en"]


@dataclass(frozen=True)
class QuestionDef:
    code: str
    kind: QuestionKind
    labels: dict[str, str]
    required: bool = True
    options: tuple[Option, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = DEFAULT_TEXT
    stop: Stop | None = None

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels["en"]

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def choices(self) -> tuple[str, ...]:
        """The values a yes/no or choice question takes (empty for a number or a text)."""
        if self.kind == QuestionKind.YES_NO:
            return (YES, NO)
        return tuple(o.code for o in self.options)

    def stops_at(self, value: Answer) -> Stop | None:
        return self.stop if self.stop is not None and value == self.stop.answer else None


class BadAnswer(ValueError):
    """An answer that does not fit its question; `why` says how, in plain words for a log or a client."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def check_value(question: QuestionDef, given: str) -> Answer:
    """A value as a client sends it (a code, a number, a text) checked against the question."""
    given = given.strip()
    if question.kind in (QuestionKind.YES_NO, QuestionKind.CHOICE):
        if given not in question.choices():
            raise BadAnswer(f"must be one of {', '.join(question.choices())}")
        return given
    if question.kind == QuestionKind.NUMBER:
        return _number(question, given)
    if not given:
        raise BadAnswer("must not be empty")
    if len(given) > question.max_length:
        raise BadAnswer(f"must be at most {question.max_length} characters")
    return given


def _number(question: QuestionDef, given: str) -> int | float:
    try:
        value = float(given.replace(",", "."))
    except ValueError:
        raise BadAnswer("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadAnswer("must be a number")
    if question.minimum is not None and value < question.minimum:
        raise BadAnswer(f"must be at least {plain_number(question.minimum)}")
    if question.maximum is not None and value > question.maximum:
        raise BadAnswer(f"must be at most {plain_number(question.maximum)}")
    return int(value) if value.is_integer() else value


def plain_number(value: float) -> str:
    """1.0 as "1", 2.5 as "2.5"."""
    return str(int(value)) if float(value).is_integer() else str(value)


def answer_from_text(question: QuestionDef, text: str) -> Answer:
    """What a person typed, as an answer: yes/no words or an option's label (in any language, or
    its number in the list) for the button questions; BadAnswer when it fits none."""
    said = text.strip()
    folded = said.casefold().rstrip("。.!！")
    if question.kind == QuestionKind.YES_NO:
        if folded in YES_WORDS:
            return YES
        if folded in NO_WORDS:
            return NO
        raise BadAnswer("not yes or no")
    if question.kind == QuestionKind.CHOICE:
        for position, option in enumerate(question.options, start=1):
            if folded == str(position) or folded in {label.casefold() for label in option.labels.values()}:
                return option.code
        raise BadAnswer("not one of the options")
    return check_value(question, said)


def shown(question: QuestionDef, value: Answer, language: str, skipped: str) -> str:
    """An answer in words: the option's label, yes/no in the language, the number or the text."""
    if value is None:
        return skipped
    if question.kind == QuestionKind.YES_NO:
        return YES_NO_NAMES.get(language, YES_NO_NAMES["en"]).get(str(value), str(value))
    if question.kind == QuestionKind.CHOICE:
        option = question.option(str(value))
        return option.label(language) if option else str(value)
    return plain_number(value) if isinstance(value, int | float) else str(value)


# --- reading them from the catalog ---------------------------------------------------------------

QUESTION_KEYS = {"category", "code", "kind", "required", "options", "min", "max", "max_length", "stop", "stop_phone",
                 *SUPPORTED_LANGUAGES, *(f"stop_{language}" for language in SUPPORTED_LANGUAGES)}


def _labels(entry: dict[str, object], prefix: str, where: str, field: str, problems: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for language in SUPPORTED_LANGUAGES:
        value = entry.get(prefix + language)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}, field {field or prefix + language}: missing the text in '{language}'")
        elif len(value) > MAX_LABEL:
            problems.append(f"{where}, field {prefix + language}: longer than {MAX_LABEL} characters")
        else:
            labels[language] = value.strip()
    return labels


def _bound(entry: dict[str, object], key: str, where: str, problems: list[str]) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}, field {key}: must be a number")
        return None
    return float(value)


def _options(entry: dict[str, object], where: str, problems: list[str]) -> tuple[Option, ...]:
    raw = entry.get("options")
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_OPTIONS:
        problems.append(f"{where}, field options: a choice needs 2 to {MAX_OPTIONS} options")
        return ()
    options: list[Option] = []
    for position, item in enumerate(raw, start=1):
        here = f"{where}, option {position}"
        if not isinstance(item, dict):
            problems.append(f"{here}: expected a table of code, zh and en")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not OPTION_CODE.match(code):
            problems.append(f"{here}, field code: must be 1-16 characters of a-z, 0-9 or '_'")
            continue
        if any(o.code == code for o in options):
            problems.append(f"{here}, field code: '{code}' used twice")
        unknown = set(item) - {"code", *SUPPORTED_LANGUAGES}
        if unknown:
            problems.append(f"{here}: unknown keys {', '.join(sorted(unknown))}")
        options.append(Option(code, _labels(item, "", f"{here} ({code})", "", problems)))
    return tuple(options)


def _stop(entry: dict[str, object], question: QuestionDef, where: str, problems: list[str]) -> Stop | None:
    answer = entry.get("stop")
    stop_keys = [k for k in entry if k.startswith("stop_")]
    if answer is None:
        if stop_keys:
            problems.append(f"{where}, field stop: {', '.join(sorted(stop_keys))} given without the stop answer")
        return None
    if question.kind not in (QuestionKind.YES_NO, QuestionKind.CHOICE):
        problems.append(f"{where}, field stop: only a yes/no or a choice question may stop a report")
        return None
    if not isinstance(answer, str) or answer not in question.choices():
        problems.append(f"{where}, field stop: must be one of {', '.join(question.choices()) or 'the options'}")
    phone = entry.get("stop_phone")
    if not isinstance(phone, str) or not PHONE.match(phone):
        problems.append(f"{where}, field stop_phone: a stop answer needs the number to call (3-20 digits, + or -)")
        phone = ""
    messages = _labels(entry, "stop_", where, "", problems)
    return Stop(str(answer), messages, str(phone))


def question_from(entry: object, where: str, problems: list[str]) -> tuple[str, QuestionDef] | None:
    """One `[[question]]` entry: its category's code and the question, or None (problems noted)."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a table with category, code, kind and the question in each language")
        return None
    category = entry.get("category")
    code = entry.get("code")
    if isinstance(category, str):
        where = f"category {category}, {where}"
    if isinstance(code, str):
        where = f"{where} ({code})"
    if not isinstance(category, str):
        problems.append(f"{where}, field category: the code of the category that asks it")
    if not isinstance(code, str) or not QUESTION_CODE.match(code):
        problems.append(f"{where}, field code: must be 1-16 characters of a-z, 0-9 or '_'")
    kind = entry.get("kind")
    if kind not in tuple(QuestionKind):
        problems.append(f"{where}, field kind: must be one of {', '.join(QuestionKind)}")
    required = entry.get("required", True)
    if not isinstance(required, bool):
        problems.append(f"{where}, field required: must be true or false")
        required = True
    unknown = set(entry) - QUESTION_KEYS
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    labels = _labels(entry, "", where, "", problems)
    if not isinstance(category, str) or not isinstance(code, str) or kind not in tuple(QuestionKind):
        return None
    question = QuestionDef(code, QuestionKind(str(kind)), labels, required)
    if question.kind == QuestionKind.CHOICE:
        question = replace(question, options=_options(entry, where, problems))
    elif "options" in entry:
        problems.append(f"{where}, field options: only a choice question has options")
    if question.kind == QuestionKind.NUMBER:
        low, high = _bound(entry, "min", where, problems), _bound(entry, "max", where, problems)
        if low is not None and high is not None and low > high:
            problems.append(f"{where}, field min: greater than max")
        question = replace(question, minimum=low, maximum=high)
    elif "min" in entry or "max" in entry:
        problems.append(f"{where}, field min/max: only a number question has bounds")
    if question.kind == QuestionKind.TEXT:
        length = entry.get("max_length", DEFAULT_TEXT)
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_TEXT:
            problems.append(f"{where}, field max_length: a whole number from 1 to {MAX_TEXT}")
            length = DEFAULT_TEXT
        question = replace(question, max_length=length)
    elif "max_length" in entry:
        problems.append(f"{where}, field max_length: only a text question has a length")
    stop = _stop(entry, question, where, problems)
    if stop is not None:
        question = replace(question, stop=stop)
    return category, question
