"""The sender that drains the outbound queue: each message once, in order, and never to a person
who blocked the bot. Telegram's flood-control answer (429) is waited out for that person only.
On a stop, the sends in flight finish and everything else stays queued for the next start.

A drain is a pipeline: it claims and renders the next messages while the ones before are in
flight, so the pacer's window never waits for a batch to be rendered. Each chat has a lane that
sends its messages one after the other: a chat's next message starts only once the previous one is
answered and recorded as sent. The first claim of a drain is small, so the first message leaves
within a few milliseconds of the commit that queued it; the next claims wait until the first answer
is in (a Bot API refusing the token then costs a handful of calls, not a batch) and then keep about
a batch waiting for a slot.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from handlers import onboarding
from handlers.flood_wait import describe_failure, retry_seconds, sending_from_queue
from handlers.notices import Notice, deliver_notice, render_notice
from handlers.pacing import ChatSpacing, Pacer, Slots, WindowSlots, sending_priority
from handlers.runtime import Runtime
from handlers.shared_slots import StoreSlots
from storage import callouts, outbox, routing, send_slots
from storage.db import is_sqlite

log = logging.getLogger(__name__)

BATCH = 50
FIRST_BATCH = 1  # the first claim of a drain: sent as soon as it is rendered
PAID_PER_SECOND = 1000
MAX_BACKOFF = timedelta(minutes=10)
REFUSED_PAUSE_SECONDS = 30.0  # the Bot API refused the token: no send is tried for this long
REFUSED_RETRY = timedelta(seconds=30)  # another refusal: the message is tried again after this
STOP_GRACE_SECONDS = 15.0  # sends in flight may take this long to finish on a stop (SIGTERM: 20 s in all)


class _NotNow(Exception):
    """Raised before a message's first call once a stop is asked or the Bot API refused the
    token: the message stays queued."""


@dataclass
class _Prepared:
    message_id: int
    person_id: int
    chat_id: int
    notice: Notice
    mobilization_id: int | None = None  # a call-out's alert: its roll call learns of the delivery
    priority: int = outbox.NORMAL
    begun: bool = False  # its first call has its slot

    @property
    def emergency(self) -> bool:
        return self.priority == outbox.EMERGENCY


@dataclass
class _Pipeline:
    """One drain's messages in hand: a lane per chat, and how many wait for their first slot."""

    lanes: dict[int, collections.deque[_Prepared]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    waiting: int = 0  # claimed, not yet begun
    answered: bool = False  # the Bot API has answered one of this drain's calls
    failure: BaseException | None = None
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    def begun(self, prepared: _Prepared) -> None:
        if not prepared.begun:
            prepared.begun = True
            self.waiting -= 1
            self.progress.set()


class _DeliveryLedger:
    """Marks delivered messages sent, many to a transaction (a group commit).

    Every chat's task waits until its message is recorded before it sends the chat's next one,
    as with a commit per message; but the tasks sending at the same moment share one commit,
    which at hundreds of messages a second is most of the sender's database work.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._waiting: list[tuple[_Prepared, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference

    async def record(self, prepared: _Prepared) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((prepared, done))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_while_waiting())
        await done

    async def _write_while_waiting(self) -> None:
        rt = self.runtime
        try:
            await asyncio.sleep(0)  # let the sends finishing in this same moment join the first commit
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    async with rt.store.transaction() as session:
                        now = rt.clock.now()
                        await outbox.mark_sent(session, [prepared.message_id for prepared, _ in group], now)
                        alerted: dict[int, list[int]] = {}
                        for prepared, _ in group:
                            if prepared.mobilization_id is not None:
                                alerted.setdefault(prepared.mobilization_id, []).append(prepared.person_id)
                        for mobilization_id, person_ids in alerted.items():  # the roll calls learn of the deliveries
                            await callouts.mark_delivered(session, mobilization_id, person_ids, now)
                except asyncio.CancelledError:  # shutting down: nobody waits forever on an unwritten record
                    for _, done in group + self._waiting:
                        done.cancel()  # (a no-op for one whose sender was cancelled already)
                    raise
                except Exception as error:  # noqa: BLE001 - each waiting send raises it, as its own commit would have
                    for _, done in group:
                        if not done.done():  # its sender may have been cancelled meanwhile
                            done.set_exception(error)
                else:
                    for _, done in group:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None


class OutboundSender:
    def __init__(self, runtime: Runtime, bot: ExtBot[None]) -> None:
        self.runtime = runtime
        self.bot = bot
        settings = runtime.settings
        # The runtime's clock and sleep, looked up at each call, so tests can drive pacing.
        clock, sleep = (lambda: runtime.monotonic()), (lambda seconds: runtime.sleep(seconds))
        chats = ChatSpacing(settings.chat_interval_seconds)
        limit = max(1, int(settings.send_per_second))
        # One process keeps its slots in memory; the workers sharing a PostgreSQL store share them there.
        shared = settings.shared_send_limit and not is_sqlite(runtime.store.url)

        def slots(pool: str, count: int) -> Slots:
            return StoreSlots(runtime.store, pool, count, settings.instance) if shared else WindowSlots(count, clock)

        self.pacer = Pacer(slots(send_slots.BOT, limit), chats, clock, sleep)
        # Paid broadcasts (for emergencies, where the deployment has them) go up to 1,000 a second.
        self.paid_pacer = (Pacer(slots(send_slots.PAID, PAID_PER_SECOND), chats, clock, sleep)
                           if settings.paid_broadcast else None)
        fastest = PAID_PER_SECOND if settings.paid_broadcast else limit
        self.batch = max(BATCH, fastest // 10)  # a tenth of a second's sends, at least
        self._ledger = _DeliveryLedger(runtime)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[int] | None = None
        self._draining: asyncio.Task[object] | None = None
        self._pipeline: _Pipeline | None = None
        self._again = False
        self._stopping = False
        self._stop_asked_at = 0.0
        self._refused_until = float("-inf")
        self._slots_ready = False

    def wake(self) -> None:
        """Start draining now (called after a transaction that queued messages commits)."""
        if self._stopping:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            if self._pipeline is not None:
                self._pipeline.progress.set()  # a drain waiting for its lanes claims again now
            return
        self._task = asyncio.get_running_loop().create_task(self._drain_while_woken())

    async def _drain_while_woken(self) -> int:
        sent = 0
        while True:
            self._again = False
            sent += await self.drain()
            if not self._again:
                return sent

    async def wait_idle(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    def request_stop(self) -> None:
        """Take no new message from now on (sends in flight go on); `stop()` waits for them."""
        if not self._stopping:
            self._stopping = True
            self._stop_asked_at = asyncio.get_running_loop().time()
            if self._pipeline is not None:
                self._pipeline.progress.set()

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let the sends in flight finish (for at most `grace` seconds since the stop was asked),
        send nothing more, and free the claims on what was not sent, so the next start or another
        worker sends it, once."""
        self.request_stop()
        left = grace - (asyncio.get_running_loop().time() - self._stop_asked_at)
        try:
            await asyncio.wait_for(self._lock.acquire(), max(left, 0.1))
        except TimeoutError:
            log.warning("outbox: sends still in flight after %s s are cut off; they are sent again later", grace)
            if self._draining is not None:
                self._draining.cancel()
            await self._lock.acquire()
        released = 0
        try:
            if self.runtime.role in ("worker", "all"):  # a web process claims nothing; a worker's claims are not its own
                async with self.runtime.store.transaction() as session:
                    released = await outbox.release_claims(session, self.runtime.settings.instance)
        finally:
            self._lock.release()
        if released:
            log.info("outbox: %s messages stay queued for the next start", released)
        for pacer in (self.pacer, self.paid_pacer):
            if pacer is not None:
                await pacer.close()
        await self.wait_idle()

    async def drain(self) -> int:
        """Send everything that is due; returns how many messages were handled. Chats are served
        side by side, each chat's messages in order, all within the pacer's limits."""
        async with self._lock:
            self._draining = asyncio.current_task()
            try:
                if not self._slots_ready:
                    await self._prepare_slots()
                handled = await self._run_pipeline()
                if self._refused():  # what this drain claimed and did not send waits for the next sweep
                    async with self.runtime.store.transaction() as session:
                        await outbox.release_claims(session, self.runtime.settings.instance)
            finally:
                self._draining = None
        return handled

    async def _prepare_slots(self) -> None:
        """Ready the pacers' slots at the first drain (where they are in the store: the rows there
        and a connection), so the first message of a call-out does not wait for it."""
        try:
            for pacer in (self.pacer, self.paid_pacer):
                if pacer is not None:
                    await pacer.slots.prepare()
            self._slots_ready = True
        except Exception as error:  # noqa: BLE001 - tried again at the next drain, or when a slot is first taken
            log.warning("outbox: the sending slots are not ready (%s)", error)

    async def _run_pipeline(self) -> int:
        run = self._pipeline = _Pipeline()
        handled = 0
        size = FIRST_BATCH
        try:
            while self._going(run):
                self._again = False
                settled = not run.lanes  # nothing in flight could queue more behind this claim
                prepared = await self._claim_batch(size)
                if not prepared:
                    if settled:
                        break
                    # Nothing due now: wait for the lanes, then claim once more, since a send that
                    # ended queues what follows from it (a blocked worker's task goes to the leader).
                    while run.lanes and not self._again and self._going(run):
                        await self._progress(run)
                    continue
                handled += len(prepared)
                run.waiting += len(prepared)
                for message in prepared:
                    self._to_lane(run, message)
                size = self.batch
                # Claim more once the Bot API has answered this drain, and while less than a batch waits.
                while run.lanes and self._going(run) and (not run.answered or run.waiting >= self.batch):
                    await self._progress(run)
            while run.tasks:
                await asyncio.wait(set(run.tasks))
        finally:
            for task in run.tasks:
                task.cancel()  # the drain was cancelled: so are its sends (a kill)
            if run.tasks:
                await asyncio.gather(*run.tasks, return_exceptions=True)
            self._pipeline = None
        if run.failure is not None:
            raise run.failure
        return handled

    def _going(self, run: _Pipeline) -> bool:
        return not self._not_now() and run.failure is None

    @staticmethod
    async def _progress(run: _Pipeline) -> None:
        run.progress.clear()
        await run.progress.wait()

    def _to_lane(self, run: _Pipeline, prepared: _Prepared) -> None:
        lane = run.lanes.get(prepared.chat_id)
        if lane is not None:
            lane.append(prepared)  # after the chat's earlier messages, which its lane sends first
            return
        run.lanes[prepared.chat_id] = collections.deque([prepared])
        task = asyncio.get_running_loop().create_task(self._lane(run, prepared.chat_id))
        run.tasks.add(task)
        task.add_done_callback(run.tasks.discard)

    async def _lane(self, run: _Pipeline, chat_id: int) -> None:
        """One chat's messages, in order: the next starts once the one before is answered and recorded."""
        lane = run.lanes[chat_id]
        stuck = False
        try:
            while lane and not self._not_now():
                if not await self._send(run, lane[0]):
                    stuck = True  # it stays queued: the chat's later messages must not overtake it here
                    break
                lane.popleft()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - ends the drain, raised there (the other chats finish first)
            if run.failure is None:
                run.failure = error
        finally:
            del run.lanes[chat_id]
            run.waiting -= sum(1 for prepared in lane if not prepared.begun)
            run.progress.set()
        if stuck and len(lane) > 1:  # freed, to be claimed again behind the one that stays queued
            async with self.runtime.store.transaction() as session:
                await outbox.release(session, [prepared.message_id for prepared in list(lane)[1:]])

    def _refused(self) -> bool:
        return self.runtime.monotonic() < self._refused_until

    def _not_now(self) -> bool:
        """A stop was asked, or the Bot API refused the token lately: begin no message."""
        return self._stopping or self._refused()

    async def _claim_batch(self, size: int) -> list[_Prepared]:
        rt = self.runtime
        spacing = timedelta(seconds=rt.settings.chat_interval_seconds)
        prepared: list[_Prepared] = []
        # Loop until a batch yields something to send, so dropped messages do not end the drain.
        while True:
            # The claim alone first (short: on PostgreSQL the senders' claims go one at a time),
            # then the rendering.
            async with rt.store.transaction() as session:
                claimed_ids = [message.id for message in await outbox.claim_due(
                    session, rt.clock.now(), size, rt.settings.instance, spacing)]
            if not claimed_ids:
                return prepared
            async with rt.store.transaction() as session:
                for message, person in ((c.message, c.person) for c in await outbox.claimed_for_sending(session, claimed_ids)):
                    if person is None or person.blocked:
                        await outbox.mark_dead(session, message.id, "blocked")
                        continue
                    payload = outbox.read_payload(message)
                    notice = await render_notice(session, rt, payload, person) if payload is not None else None
                    if notice is None:
                        await outbox.mark_dead(session, message.id, "nothing to render")
                        continue
                    callout = payload.mobilization if isinstance(payload, outbox.CalloutPayload) else None
                    prepared.append(_Prepared(message.id, person.id, person.tg_id, notice, callout, message.priority))
                    await asyncio.sleep(0)  # rendering a batch is CPU work: the sends in flight are answered meanwhile
            if prepared:
                return prepared

    async def _pace(self, run: _Pipeline, pacer: Pacer, prepared: _Prepared, first: bool) -> None:
        """Wait for the pacer; a message not yet begun is left queued once a stop is asked (a
        message begun is finished: its photos without its text would be half a message)."""
        if first and self._not_now():
            raise _NotNow
        pacer.answered(prepared.chat_id)  # the message's call before this one has its answer
        await pacer.wait(prepared.chat_id, first)
        if first:
            if self._not_now():
                pacer.unused(prepared.chat_id)
                raise _NotNow
            run.begun(prepared)

    async def _send(self, run: _Pipeline, prepared: _Prepared) -> bool:
        """Send one message; True when it is done with (sent, or dead), False when it stays queued."""
        rt = self.runtime
        paid_pacer = self.paid_pacer if prepared.emergency else None
        paid = paid_pacer is not None
        pacer = paid_pacer if paid_pacer is not None else self.pacer
        try:
            # A 429 is rescheduled here, not waited out in line.
            with sending_from_queue(), sending_priority(prepared.priority):
                try:
                    await deliver_notice(self.bot, rt, prepared.chat_id, prepared.notice,
                                         lambda first: self._pace(run, pacer, prepared, first), paid_broadcast=paid)
                finally:
                    pacer.answered(prepared.chat_id)  # answered, failed or cancelled: held one second more
                    if prepared.begun and not run.answered:
                        run.answered = True
                        run.progress.set()
        except _NotNow:
            return False
        except InvalidToken as error:
            # Every send fails alike until the token is accepted again: sending pauses, and the
            # message waits in the queue without a try counted against it.
            if not self._refused():
                log.warning("outbox: %s; sending pauses for %.0f s", describe_failure(error), REFUSED_PAUSE_SECONDS)
            self._refused_until = rt.monotonic() + REFUSED_PAUSE_SECONDS
            rt.bot_api.failed(describe_failure(error), rt.monotonic())
            return False
        except Forbidden as error:
            await self._unreachable(prepared, never_opened=_never_opened(error))
            return True
        except RetryAfter as error:
            until = rt.clock.now() + timedelta(seconds=retry_seconds(error))
            log.warning("outbox %s: flood control, waiting until %s", prepared.message_id, until)
            async with rt.store.transaction() as session:
                await outbox.defer_person(session, prepared.person_id, until)
                await outbox.mark_retry(session, prepared.message_id, "retry_after", until)
            return False
        except BadRequest as error:
            if _never_opened(error):
                await self._unreachable(prepared, never_opened=True)
                return True
            log.error("outbox %s: Telegram refused it: %s", prepared.message_id, error)
            async with rt.store.transaction() as session:
                await outbox.mark_dead(session, prepared.message_id, str(error))
            return True
        except (TimedOut, NetworkError, OSError) as error:
            async with rt.store.transaction() as session:
                tried = await outbox.attempts(session, prepared.message_id)
                backoff = min(timedelta(seconds=2 ** (tried + 1)), MAX_BACKOFF)
                alive = await outbox.mark_retry(session, prepared.message_id, str(error), rt.clock.now() + backoff)
            log.warning("outbox %s: network trouble (%s); %s", prepared.message_id, error,
                        "will retry" if alive else "giving up")
            return not alive
        except TelegramError as error:  # any other refusal: tried again later, never ends the drain
            async with rt.store.transaction() as session:
                alive = await outbox.mark_retry(session, prepared.message_id, describe_failure(error),
                                                rt.clock.now() + REFUSED_RETRY)
            log.warning("outbox %s: %s; %s", prepared.message_id, describe_failure(error),
                        "will retry" if alive else "giving up")
            return not alive
        await self._ledger.record(prepared)
        return True

    async def _unreachable(self, prepared: _Prepared, never_opened: bool) -> None:
        """Telegram will take nothing for this person: they blocked the bot, or never opened it."""
        rt = self.runtime
        log.info("outbox %s: person %s %s", prepared.message_id, prepared.person_id,
                 "never opened the bot" if never_opened else "blocked the bot")
        async with rt.store.transaction() as session:
            if never_opened:
                await onboarding.staff_never_opened(session, rt, prepared.person_id)
            else:
                await routing.holder_blocked_bot(session, await rt.map.index(session), prepared.person_id, rt.clock.now())
            if prepared.mobilization_id is not None:
                await callouts.mark_unreachable(session, prepared.mobilization_id, prepared.person_id)
            await outbox.mark_dead(session, prepared.message_id, "never opened the bot" if never_opened else "blocked")


# What Telegram answers for a person who never started a chat with the bot (403 and 400 alike).
NEVER_OPENED_ANSWERS = ("can't initiate conversation", "chat not found")


def _never_opened(error: Exception) -> bool:
    return any(answer in str(error).lower() for answer in NEVER_OPENED_ANSWERS)
