"""How a category's questions and their answers read: the question as the report asks it, and the
answers as the summary, the task card, the dispatcher's card and the citizen's case show them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.fit import escape, user
from handlers.i18n import Translate
from handlers.runtime import Runtime
from storage.category_questions import QuestionDef, QuestionKind, shown


def questions_of(rt: Runtime, category_code: str | None) -> dict[str, QuestionDef]:
    category = rt.catalog.get(category_code) if category_code else None
    return {q.code: q for q in category.questions} if category else {}


def question_text(_: Translate, language: str, question: QuestionDef, position: int, count: int) -> str:
    """The question, with how to answer it when that is by typing."""
    lines = [_("❓ ({n}/{count}) {question}").format(n=position, count=count, question=escape(question.label(language)))]
    if question.kind == QuestionKind.NUMBER:
        if question.minimum is not None and question.maximum is not None:
            lines.append(_("Type a number from {low} to {high}.").format(
                low=shown(question, question.minimum, language, ""), high=shown(question, question.maximum, language, "")))
        else:
            lines.append(_("Type a number."))
    elif question.kind == QuestionKind.TEXT:
        lines.append(_("Type a short answer (up to {limit} characters).").format(limit=question.max_length))
    if not question.required:
        lines.append(_("(optional)"))
    return "\n".join(lines)


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
        question = questions.get(code)
        value = answers[code]
        label = question.label(language) if question else code
        said = shown(question, value, language, _("skipped")) if question else ("—" if value is None else str(value))
        lines.append(_("❓ {question}: {answer}").format(question=escape(label), answer=user(said)))
    return lines
