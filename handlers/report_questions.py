"""A category's questions in a report: asked after the category, one at a time.

```mermaid
stateDiagram-v2
    category --> questions: a category that asks questions
    questions --> questions: an answer (a button, or typed), Skip (optional ones)
    questions --> questions: an answer that does not fit: asked again, saying why
    questions --> description: the last answer
    questions --> stopped: a stop answer ("Is anyone in danger now?" › Yes)
    stopped --> [*]: "Call 110 now"; nothing was sent
```

Yes/no and choice questions have buttons (typed yes/no words or an option's label count too);
a number or a short text is typed and checked. A stop answer ends the report: the person is told
whom to call, and the draft is closed as stopped, so nothing half-made reaches a grid worker (who
could not help in time anyway) and nothing waits in the chat to be submitted by mistake later.
"""

from __future__ import annotations

from handlers.buttons import AnswerQuestion, SkipQuestion
from handlers.fit import escape
from handlers.question_texts import answer_line, number_hint, questions_of
from handlers.report_prompts import step_prompt
from handlers.turn import ButtonOutcome, Outgoing, Replies, Turn
from storage import drafts
from storage.category_questions import SKIP_WORDS, Answer, BadAnswer, QuestionDef, QuestionKind, answer_from_text
from storage.models import ReportDraft


def _pending(turn: Turn, draft: ReportDraft) -> QuestionDef | None:
    code = drafts.pending_question(draft)
    return questions_of(turn.rt, draft.category_code).get(code or "")


async def _answered(turn: Turn, draft: ReportDraft, question: QuestionDef, value: Answer) -> list[Outgoing]:
    """Keep the answer; then the stop message, or the next question (or step)."""
    _ = turn._
    drafts.answer_question(draft, question.code, value, turn.now)
    stop = question.stops_at(value)
    if stop is not None:
        drafts.stop(draft, turn.now)
        text = _("🚨 <b>{message}</b>\n☎️ {phone}\n\nYour report was not sent. When everyone is safe, "
                 "you can report the problem again.").format(message=escape(stop.message(turn.person.language)),
                                                            phone=escape(stop.phone))
        return [Outgoing(text, await turn.menu())]
    drafts.advance(draft, turn.now)
    return await step_prompt(turn, draft)


async def answer_button(turn: Turn, draft: ReportDraft, pressed: AnswerQuestion) -> ButtonOutcome:
    _ = turn._
    question = _pending(turn, draft)
    if question is None or question.code != pressed.question or pressed.value not in question.choices():
        return ButtonOutcome(notice=_("This button is out of date."))
    messages = await _answered(turn, draft, question, pressed.value)
    said = answer_line(turn._, turn.person.language, question, pressed.value)
    return ButtonOutcome(edit_text=said, markup=None, messages=messages)


async def skip_button(turn: Turn, draft: ReportDraft, pressed: SkipQuestion) -> ButtonOutcome:
    _ = turn._
    question = _pending(turn, draft)
    if question is None or question.code != pressed.question or question.required:
        return ButtonOutcome(notice=_("This button is out of date."))
    messages = await _answered(turn, draft, question, None)
    return ButtonOutcome(edit_text=answer_line(turn._, turn.person.language, question, None), markup=None, messages=messages)


async def take_typed_answer(turn: Turn, draft: ReportDraft, text: str) -> Replies:
    """Typed text at a question: the answer when it fits; otherwise the question again, saying why."""
    _ = turn._
    question = _pending(turn, draft)
    if question is None:
        return await step_prompt(turn, draft)
    if not question.required and text.strip().casefold() in SKIP_WORDS:
        return await _answered(turn, draft, question, None)
    try:
        value = answer_from_text(question, text)
    except BadAnswer:
        return [Outgoing(_refusal(turn, question)), *await step_prompt(turn, draft)]
    return [Outgoing(answer_line(turn._, turn.person.language, question, value)), *await _answered(turn, draft, question, value)]


def _refusal(turn: Turn, question: QuestionDef) -> str:
    _ = turn._
    if question.kind == QuestionKind.YES_NO:
        return _("Please tap Yes or No.")
    if question.kind == QuestionKind.CHOICE:
        return _("Please tap one of the answers.")
    if question.kind == QuestionKind.NUMBER:
        return number_hint(_, question, again=True)
    return _("Please type a short answer (up to {limit} characters).").format(limit=question.max_length)
