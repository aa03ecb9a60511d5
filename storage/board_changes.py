"""Which transactions change what the command-centre board shows (issue 17): any that writes a
case, its history, a call-out, a roll-call answer or a check-in, by the ORM or by a bulk statement.
The store then tells the boards at commit (`Store.on_board_change`, and NOTIFY on PostgreSQL)."""

from __future__ import annotations

import itertools

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

WATCHED = frozenset({"cases", "case_events", "mobilizations", "mobilization_responders", "checkins"})
_KEY = "board_changed"


def changed(session: Session | AsyncSession, forget: bool = False) -> bool:
    """Whether the session's transaction wrote something a board shows (`forget`: and clear the mark)."""
    info = session.info
    return bool(info.pop(_KEY, False) if forget else info.get(_KEY, False))


@event.listens_for(Session, "before_flush")
def _flushed(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if _KEY in session.info:
        return
    for instance in itertools.chain(session.new, session.dirty, session.deleted):
        if getattr(instance, "__tablename__", None) in WATCHED:
            session.info[_KEY] = True
            return


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED:
        state.session.info[_KEY] = True
