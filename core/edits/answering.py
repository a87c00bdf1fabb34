"""One answer of a question that may be edited or deleted while (or after) it is answered.

Both responders (Slack, Telegram) run their reply loop inside `Answering`:

    async with Answering(ledger, inbound, events, lang) as answer:
        if answer.skip:  # a newer edit superseded it, or the question was deleted, before it started
            return
        writer = ...(taken_over=answer.replaces("ts"))  # an edit's answer replaces the old answer's message
        await ReplyLoop(sink).run(answer.events)
        answer.show({"ts": [...]})
    if answer.note_deleted: ...  # deleted while this answer was finishing: the adapter adds the note

On entry an edit's answer first waits `settle_s`: a newer edit supersedes it, so a burst of edits is answered
once, for its last text. Then it takes the question's lock (the answer it supersedes finishes its message
first) and reads which message it replaces. While it runs, a watcher looks every `poll_s` whether the
question was edited again or deleted, or its answer stopped by the user; if so the stream ends at once (the
model call is cancelled with it: no more tokens billed; the cache keeps nothing of it, memory what was shown,
which an edit replaces and a deletion removes) with a short note ("stopped" for a stop). A stop that comes after
the stream's last event changes nothing. An edit's answer starts with the "answer updated" mark. Redis
unreachable: the answer runs as a plain answer (edits are then not followed, it cannot be stopped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import structlog
from redis.exceptions import RedisError

from core.background import raise_if_cancelling
from core.edits.ledger import QuestionLedger, question_of
from core.llm.deadline import start_answer
from core.models import Error, Final, Inbound, ReplyEvent, TextDelta
from core.ops.closing import closable
from core.texts import text

log = structlog.get_logger("deskmate.edits")

REDIS_DOWN = (RedisError, OSError)
LOCK_WAIT_S = 30.0  # an answer that still holds the question after this is stuck: go ahead without the lock
LOCK_RETRY_S = 0.05
WATCHER_STOP_S = 1.0  # the answer's end waits at most this long for its watcher to stop


class Answering:
    def __init__(self, ledger: QuestionLedger | None, inbound: Inbound, events: AsyncIterator[ReplyEvent],
                 lang: str) -> None:
        self.ledger = ledger
        self.inbound = inbound
        self.lang = lang
        question = question_of(inbound) if ledger is not None else None
        self.ref, self.version = question or ("", 0)
        self.followed = question is not None and ledger is not None and ledger.settings.window_s > 0
        self._raw = events
        self.events: AsyncIterator[ReplyEvent] = events
        self.skip = False
        self.previous: dict[str, Any] = {}  # the platform ids of the answer this one replaces
        self.cut_reason: str | None = None  # "edited" | "deleted" | "stopped": why the stream was ended early
        self.cut_shown = False  # the ending note was put in the stream (not so when the stream had ended first)
        self.note_deleted = False  # set on exit: deleted while finishing, the adapter must add the note
        self.token: str | None = None
        self._ids: dict[str, Any] | None = None
        self._cut = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._ended = False  # the stream's terminal event went out: a stop then changes nothing

    # -- for the responder

    def replaces(self, name: str) -> Any | None:
        """The first message of the answer being replaced (e.g. its Slack ts), or None."""
        ids = self.previous.get(name) or []
        return ids[0] if ids else None

    def stale(self, name: str) -> list[Any]:
        """The old answer's other messages (its later parts): the adapter deletes them."""
        return list((self.previous.get(name) or [])[1:])

    @property
    def stoppable(self) -> str | None:
        """What a Stop button carries (`<version>:<question ref>`), or None: this answer cannot be stopped."""
        if self._watcher is None or self.ledger is None or not self.ledger.settings.stop:
            return None
        return f"{self.version}:{self.ref}"

    async def hold(self, handle: str) -> None:
        """Name this answer by a platform id (a Telegram draft id...), for the platform's own stop control."""
        if self.stoppable is None or self.ledger is None:
            return
        try:
            await self.ledger.hold(self.inbound, handle)
        except REDIS_DOWN as exc:
            log.warning("edits_unavailable", error=type(exc).__name__, message_id=self.inbound.message_id)

    def show(self, ids: dict[str, Any]) -> None:
        """The platform ids of what this answer shows (recorded on exit, for a later edit or deletion)."""
        self._ids = ids

    # -- the context

    async def __aenter__(self) -> Answering:
        if not self.followed:
            return self
        assert self.ledger is not None
        try:
            if not await self._settled() or not await self._locked():
                await self._skip()
                return self
            now = await self.ledger.current(self.inbound, self.token or "")
            version, state = now.version, now.state
            if version is None:  # no record (expired, or not recorded while Redis was away): a plain answer
                await self._release()
                return self
            if state == "deleted" or version != self.version:
                await self._skip()
                return self
            if self.version > 0:
                self.previous, _ = await self.ledger.shown(self.inbound)
        except REDIS_DOWN as exc:
            log.warning("edits_unavailable", error=type(exc).__name__, message_id=self.inbound.message_id)
            self.token = None
            return self
        self._watcher = asyncio.create_task(self._watch(), name=f"edits-watch:{self.inbound.message_id}")
        cut = self._watched(closable(self._raw, self.inbound, self._cut, ending=self._ending))
        self.events = self._marked(cut) if self.version > 0 else cut
        if self.version > 0:
            start_answer()  # the settle and the lock wait are not the answer's time
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        if self._watcher is not None:  # never wait on it for good: a swallowed cancel once hung the answer here
            self._watcher.cancel()
            await asyncio.wait({self._watcher}, timeout=WATCHER_STOP_S)
        if self.token is None or self.ledger is None:
            return False
        try:
            ended = await self.ledger.finish(self.inbound, self.token, self._ids if exc is None else None,
                                             self.lang)
        except REDIS_DOWN as exc_:
            log.warning("edits_unavailable", error=type(exc_).__name__, message_id=self.inbound.message_id)
            return False
        # The watcher may see the deletion after the stream's last event: then no ending went out, the adapter notes.
        self.note_deleted = ended.deleted and exc is None and not self.cut_shown and bool(self._ids)
        if self.cut_reason:
            log.info("answer_cut", reason=self.cut_reason, message_id=self.inbound.message_id,
                     version=self.version)
        return False

    # -- internals

    async def _settled(self) -> bool:
        """An edit's answer: wait `settle_s`; False as soon as a newer edit (or the deletion) supersedes it."""
        assert self.ledger is not None
        settle = self.ledger.settings.settle_s if self.version > 0 else 0.0
        deadline = time.monotonic() + settle
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(self.ledger.settings.poll_s, left))
            if await self._superseded():
                return False
        return True

    async def _locked(self) -> bool:
        """Take the question's lock (False: superseded while waiting for it)."""
        assert self.ledger is not None
        started = time.monotonic()
        while True:
            self.token = await self.ledger.lock(self.inbound)
            if self.token is not None:
                return True
            if await self._superseded():
                return False
            if time.monotonic() - started > LOCK_WAIT_S:
                log.warning("edits_lock_stuck", message_id=self.inbound.message_id)
                return True
            await asyncio.sleep(LOCK_RETRY_S)

    async def _superseded(self) -> bool:
        assert self.ledger is not None
        now = await self.ledger.current(self.inbound)
        return now.state == "deleted" or (now.version is not None and now.version != self.version)

    async def _skip(self) -> None:
        self.skip = True
        await self._release()
        log.info("answer_superseded", message_id=self.inbound.message_id, version=self.version)
        aclose = getattr(self._raw, "aclose", None)
        if aclose is not None:  # never started: nothing was asked of the model
            await aclose()

    async def _release(self) -> None:
        if self.token is not None and self.ledger is not None:
            await self.ledger.finish(self.inbound, self.token, None, self.lang)
        self.token = None

    async def _watch(self) -> None:
        assert self.ledger is not None
        while True:
            await asyncio.sleep(self.ledger.settings.poll_s)
            try:
                now = await self.ledger.current(self.inbound, self.token or "")
            except REDIS_DOWN:
                raise_if_cancelling()  # the answer ended while the read was cut: stop watching
                continue
            raise_if_cancelling()  # or the client swallowed the cancel and returned
            if now.state == "deleted":
                self.cut_reason = "deleted"
            elif now.version is not None and now.version != self.version:
                self.cut_reason = "edited"
            elif now.stopped == self.version and not self._ended:
                self.cut_reason = "stopped"
            if self.cut_reason:
                self._cut.set()
                return

    def _ending(self) -> ReplyEvent:
        self.cut_shown = True
        if self.cut_reason == "stopped":
            return Error(code="answer_stopped", message=text("answer_stopped", self.lang))
        note = "question_deleted" if self.cut_reason == "deleted" else "answer_superseded"
        return Error(code=f"question_{self.cut_reason or 'edited'}", message=text(note, self.lang))

    async def _watched(self, events: AsyncIterator[ReplyEvent]) -> AsyncIterator[ReplyEvent]:
        """Notes when the terminal event (Final or Error) went out: the answer is complete, a Stop is too late."""
        try:
            async for event in events:
                if isinstance(event, Final | Error):
                    self._ended = True
                yield event
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _marked(self, events: AsyncIterator[ReplyEvent]) -> AsyncIterator[ReplyEvent]:
        """An edit's answer starts with the "answer updated for your edited question" mark."""
        mark = text("answer_updated", self.lang) + "\n\n"
        marked = False
        try:
            async for event in events:
                if isinstance(event, TextDelta) and not marked:
                    marked, event = True, TextDelta(text=mark + event.text)
                elif isinstance(event, Final) and event.text:
                    event = event.model_copy(update={"text": mark + event.text})
                yield event
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
