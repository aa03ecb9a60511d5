"""The sender that drains the outbound queue: each message once, in order, and never to a person
who blocked the bot. Telegram's flood-control answer (429) is waited out for that person only.
On a stop, the sends in flight finish and everything else stays queued for the next start."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
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
from handlers.pacing import Pacer
from handlers.runtime import Runtime
from storage import callouts, outbox, people, routing

log = logging.getLogger(__name__)

BATCH = 50
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
    emergency: bool = False


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
                        for prepared, _ in group:
                            if prepared.mobilization_id is not None:
                                await callouts.mark_delivered(session, prepared.mobilization_id, prepared.person_id, now)
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
        # 5 % under the limit: requests in flight arrive with some jitter, and a 429 costs far more.
        self.pacer = Pacer(settings.send_per_second * 0.95, settings.chat_interval_seconds, clock, sleep)
        # Paid broadcasts (for emergencies, where the deployment has them) go up to 1,000 a second.
        self.paid_pacer = (Pacer(PAID_PER_SECOND * 0.95, settings.chat_interval_seconds, clock, sleep)
                           if settings.paid_broadcast else None)
        self._ledger = _DeliveryLedger(runtime)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[int] | None = None
        self._draining: asyncio.Task[object] | None = None
        self._again = False
        self._stopping = False
        self._stop_asked_at = 0.0
        self._refused_until = float("-inf")

    def wake(self) -> None:
        """Start draining now (called after a transaction that queued messages commits)."""
        if self._stopping:
            return
        if self._task is not None and not self._task.done():
            self._again = True
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
        await self.wait_idle()

    async def drain(self) -> int:
        """Send everything that is due; returns how many messages were handled. Chats are served
        side by side, each chat's messages in order, all within the pacer's limits."""
        handled = 0
        async with self._lock:
            self._draining = asyncio.current_task()
            try:
                while not self._not_now() and (batch := await self._claim_batch()):
                    by_chat: dict[int, list[_Prepared]] = {}
                    for prepared in batch:
                        by_chat.setdefault(prepared.chat_id, []).append(prepared)
                    await asyncio.gather(*(self._send_in_order(messages) for messages in by_chat.values()))
                    handled += len(batch)
                if self._refused():  # what this drain claimed and did not send waits for the next sweep
                    async with self.runtime.store.transaction() as session:
                        await outbox.release_claims(session, self.runtime.settings.instance)
            finally:
                self._draining = None
        return handled

    def _refused(self) -> bool:
        return self.runtime.monotonic() < self._refused_until

    def _not_now(self) -> bool:
        """A stop was asked, or the Bot API refused the token lately: begin no message."""
        return self._stopping or self._refused()

    async def _send_in_order(self, messages: list[_Prepared]) -> None:
        for prepared in messages:
            if self._not_now():
                return  # what is left keeps its claim until it is freed (stop, or the drain's end)
            await self._send(prepared)

    async def _claim_batch(self) -> list[_Prepared]:
        rt = self.runtime
        now = rt.clock.now()
        prepared: list[_Prepared] = []
        # Loop until a batch yields something to send, so dropped messages do not end the drain.
        while True:
            async with rt.store.transaction() as session:
                claimed = await outbox.claim_due(session, now, BATCH, rt.settings.instance)
                if not claimed:
                    return prepared
                for message in claimed:
                    person = await people.person_by_id(session, message.person_id)
                    if person is None or person.blocked:
                        await outbox.mark_dead(session, message.id, "blocked")
                        continue
                    payload = outbox.read_payload(message)
                    notice = await render_notice(session, rt, payload, person) if payload is not None else None
                    if notice is None:
                        await outbox.mark_dead(session, message.id, "nothing to render")
                        continue
                    callout = payload.mobilization if isinstance(payload, outbox.CalloutPayload) else None
                    prepared.append(_Prepared(message.id, person.id, person.tg_id, notice, callout,
                                              message.priority == outbox.EMERGENCY))
            if prepared:
                return prepared

    async def _pace(self, pacer: Pacer, chat_id: int, first: bool) -> None:
        """Wait for the pacer; a message not yet begun is left queued once a stop is asked (a
        message begun is finished: its photos without its text would be half a message)."""
        if first and self._not_now():
            raise _NotNow
        await pacer.wait(chat_id, first)
        if first and self._not_now():
            raise _NotNow

    async def _send(self, prepared: _Prepared) -> None:
        rt = self.runtime
        try:
            paid_pacer = self.paid_pacer if prepared.emergency else None
            paid = paid_pacer is not None
            pacer = paid_pacer if paid_pacer is not None else self.pacer
            with sending_from_queue():  # a 429 is rescheduled here, not waited out in line
                await deliver_notice(self.bot, rt, prepared.chat_id, prepared.notice,
                                     lambda first: self._pace(pacer, prepared.chat_id, first), paid_broadcast=paid)
        except _NotNow:
            return
        except InvalidToken as error:
            # Every send fails alike until the token is accepted again: sending pauses, and the
            # message waits in the queue without a try counted against it.
            if not self._refused():
                log.warning("outbox: %s; sending pauses for %.0f s", describe_failure(error), REFUSED_PAUSE_SECONDS)
            self._refused_until = rt.monotonic() + REFUSED_PAUSE_SECONDS
            rt.bot_api.failed(describe_failure(error), rt.monotonic())
        except Forbidden as error:
            await self._unreachable(prepared, never_opened=_never_opened(error))
        except RetryAfter as error:
            until = rt.clock.now() + timedelta(seconds=retry_seconds(error))
            log.warning("outbox %s: flood control, waiting until %s", prepared.message_id, until)
            async with rt.store.transaction() as session:
                await outbox.defer_person(session, prepared.person_id, until)
                await outbox.mark_retry(session, prepared.message_id, "retry_after", until)
        except BadRequest as error:
            if _never_opened(error):
                await self._unreachable(prepared, never_opened=True)
                return
            log.error("outbox %s: Telegram refused it: %s", prepared.message_id, error)
            async with rt.store.transaction() as session:
                await outbox.mark_dead(session, prepared.message_id, str(error))
        except (TimedOut, NetworkError, OSError) as error:
            async with rt.store.transaction() as session:
                tried = await outbox.attempts(session, prepared.message_id)
                backoff = min(timedelta(seconds=2 ** (tried + 1)), MAX_BACKOFF)
                alive = await outbox.mark_retry(session, prepared.message_id, str(error), rt.clock.now() + backoff)
            log.warning("outbox %s: network trouble (%s); %s", prepared.message_id, error,
                        "will retry" if alive else "giving up")
        except TelegramError as error:  # any other refusal: tried again later, never ends the drain
            async with rt.store.transaction() as session:
                alive = await outbox.mark_retry(session, prepared.message_id, describe_failure(error),
                                                rt.clock.now() + REFUSED_RETRY)
            log.warning("outbox %s: %s; %s", prepared.message_id, describe_failure(error),
                        "will retry" if alive else "giving up")
        else:
            await self._ledger.record(prepared)

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
