"""How a category's questions and their answers read: the question as the report asks it, and the
answers as the summary, the task card, the dispatcher's card and the citizen's case show them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.fit import escape, user
from handlers.i18n import Translate
from handlers.runtime import Runtime
from storage.category_questions import Answer, QuestionDef, QuestionKind, plain_number, shown


def questions_of(rt: Runtime, category_code: str | None) -> dict[str, QuestionDef]:
    category = rt.catalog.get(category_code) if category_code else None
    return {q.code: q for q in category.questions} if category else {}


def question_text(_: Translate, language: str, question: QuestionDef, position: int, count: int) -> str:
    """The question, with how to answer it when that is by typing."""
    lines = [_("❓ ({n}/{count}) {question}").format(n=position, count=count, question=escape(question.label(language)))]
    if question.kind == QuestionKind.NUMBER:
        lines.append(number_hint(_, question, again=False))
    elif question.kind == QuestionKind.TEXT:
        lines.append(_("Type a short answer (up to {limit} characters).").format(limit=question.max_length))
    if not question.required:
        lines.append(_("(optional)"))
    return "\n".join(lines)


def number_hint(_: Translate, question: QuestionDef, again: bool) -> str:
    """How to answer a number question, with its bounds: under the question, or `again` after an
    answer that did not fit ("Please type ...")."""
    low = None if question.minimum is None else plain_number(question.minimum)
    high = None if question.maximum is None else plain_number(question.maximum)
    if low is not None and high is not None:
        text = _("Please type a number from {low} to {high}.") if again else _("Type a number from {low} to {high}.")
    elif low is not None:
        text = _("Please type a number of at least {low}.") if again else _("Type a number of at least {low}.")
    elif high is not None:
        text = _("Please type a number of at most {high}.") if again else _("Type a number of at most {high}.")
    else:
        text = _("Please type a number.") if again else _("Type a number.")
    return text.format(low=low, high=high)


def answer_lines(_: Translate, rt: Runtime, language: str, category_code: str | None,
                 answers: Mapping[str, Any] | None) -> list[str]:
    """One line per answer, "❓ Question: answer", in the catalog's order (an answer to a question the
    catalog no longer has is shown by its code)."""
    if not answers:
        return []
    questions = questions_of(rt, category_code)
    ordered = [code for code in questions if code in answers] + [code for code in answers if code not in questions]
    lines = []
    for code in ordered:
        question, value = questions.get(code), answers[code]
        if question is None:
            lines.append(_("❓ {question}: {answer}").format(question=escape(code),
                                                           answer=user("—" if value is None else str(value))))
        else:
            lines.append(answer_line(_, language, question, value))
    return lines


def answer_line(_: Translate, language: str, question: QuestionDef, value: Answer) -> str:
    """The line "❓ Question: answer" (a skipped one says so)."""
    return _("❓ {question}: {answer}").format(question=escape(question.label(language)),
                                              answer=user(shown(question, value, language, _("skipped"))))
