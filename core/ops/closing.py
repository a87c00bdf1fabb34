"""Closing an answer's event stream cleanly when a graceful stop runs out of time (see queue.drain)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from core.language import reply_language
from core.models import Error, Inbound, ReplyEvent
from core.texts import text

log = structlog.get_logger("deskmate.queue")


async def closable(events: AsyncIterator[ReplyEvent], inbound: Inbound, cut_event: asyncio.Event,
                   ending: Callable[[], ReplyEvent] | None = None) -> AsyncIterator[ReplyEvent]:
    """Pass the engine's events through; when the drain deadline passes, end the stream cleanly (with `ending()`
    when given: an answer whose question was edited or deleted meanwhile, core/edits/answering.py).

    One watcher per message, not a task per event: when the cut comes while we wait for the engine's next
    event, the watcher cancels that wait (our own task, like asyncio.timeout does); while the adapter is
    busy with an event, nothing is cancelled and the cut is seen before the next wait.
    """
    it = aiter(events)
    task = asyncio.current_task()
    waiting = False
    cut_fired = False

    def on_cut(_: asyncio.Future[Any]) -> None:
        nonlocal cut_fired
        if waiting and task is not None and not cut_fired:
            cut_fired = True
            task.cancel()

    cut = asyncio.ensure_future(cut_event.wait())
    cut.add_done_callback(on_cut)
    try:
        while True:
            if not cut_event.is_set():
                waiting = True
                try:
                    event = await anext(it)
                except StopAsyncIteration:
                    return
                except asyncio.CancelledError:
                    if not cut_fired or task is None or task.uncancel() > 0:
                        raise  # cancelled by someone else (too)
                    event = None
                finally:
                    waiting = False
                if event is not None:
                    yield event  # on to the end: the engine reports the reply to observers after its terminal
                    continue
            if ending is not None:
                yield ending()
                return
            log.info("stream_closed_on_shutdown", message_id=inbound.message_id)
            lang = reply_language(inbound.text, inbound.locale)
            yield Error(code="shutting_down", message=text("shutting_down", lang))
            return
    finally:
        cut.remove_done_callback(on_cut)
        cut.cancel()
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                pass


async def single(event: ReplyEvent) -> AsyncIterator[ReplyEvent]:
    yield event
