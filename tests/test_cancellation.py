"""A loop that retries while Redis is down must still stop when its answer ends (it is cancelled).

redis-py reads under a timeout; a cancellation that lands as that timeout expires comes out of the client as a
TimeoutError, which is an OSError, i.e. what the loops treat as "Redis is down". One such swallowed
cancellation hung an answer (and the CI run) forever: the edits watcher kept polling after its answer ended.
"""

from __future__ import annotations

import asyncio

from core.background import raise_if_cancelling


async def a_read_whose_cancellation_comes_out_as_a_timeout() -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise TimeoutError("Timeout reading from socket") from None


async def retry_while_down(rounds: list[int]) -> None:
    while rounds.append(1) or len(rounds) < 5:  # without the check it would go round again (bounded here)
        try:
            await a_read_whose_cancellation_comes_out_as_a_timeout()
        except OSError:
            raise_if_cancelling()
            continue


async def test_a_cancelled_retry_loop_ends_even_when_the_client_turns_the_cancel_into_a_timeout() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(retry_while_down(rounds))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.wait({task}, timeout=1.0)
    assert task.cancelled(), "the loop ended as cancelled"
    assert len(rounds) == 1, "and did not read again"
