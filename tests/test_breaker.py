"""The Redis circuit breaker: shared state, thresholds, Retry-After, the single half-open trial."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.llm.breaker import CircuitBreaker

MODEL = "openai/gpt-4o-mini"


async def test_opens_after_consecutive_failures_and_skips(redis: aioredis.Redis) -> None:
    breaker = CircuitBreaker(redis, failures=3, reset_s=30)
    for _ in range(2):
        assert await breaker.allow(MODEL)
        await breaker.record_failure(MODEL)
    assert await breaker.state(MODEL) == "closed"
    await breaker.record_failure(MODEL)
    assert await breaker.state(MODEL) == "open"
    assert not await breaker.allow(MODEL)
    assert await breaker.open_for_s(MODEL) > 25


async def test_success_resets_the_streak(redis: aioredis.Redis) -> None:
    breaker = CircuitBreaker(redis, failures=2, reset_s=30)
    await breaker.record_failure(MODEL)
    await breaker.record_success(MODEL)
    await breaker.record_failure(MODEL)
    assert await breaker.state(MODEL) == "closed"
    assert await breaker.allow(MODEL)


async def test_state_is_shared_between_workers(redis: aioredis.Redis) -> None:
    worker_a = CircuitBreaker(redis, failures=1, reset_s=30)
    worker_b = CircuitBreaker(redis, failures=1, reset_s=30)
    await worker_a.record_failure(MODEL)
    assert await worker_b.state(MODEL) == "open"
    assert not await worker_b.allow(MODEL)
    assert await worker_b.state("openai/gpt-4o") == "closed"


async def test_half_open_lets_exactly_one_trial_through(redis: aioredis.Redis) -> None:
    workers = [CircuitBreaker(redis, failures=1, reset_s=0.2) for _ in range(5)]
    await workers[0].record_failure(MODEL)
    assert not await workers[1].allow(MODEL)
    await asyncio.sleep(0.3)
    assert await workers[0].state(MODEL) == "half_open"
    granted = await asyncio.gather(*(w.allow(MODEL) for w in workers))
    assert sorted(granted) == [False, False, False, False, True]


async def test_trial_success_closes_and_failure_reopens(redis: aioredis.Redis) -> None:
    breaker = CircuitBreaker(redis, failures=1, reset_s=0.2)
    await breaker.record_failure(MODEL)
    await asyncio.sleep(0.3)
    assert await breaker.allow(MODEL)
    await breaker.record_failure(MODEL)
    assert await breaker.state(MODEL) == "open"
    assert not await breaker.allow(MODEL)
    await asyncio.sleep(0.3)
    assert await breaker.allow(MODEL)
    await breaker.record_success(MODEL)
    assert await breaker.state(MODEL) == "closed"
    assert await breaker.allow(MODEL) and await breaker.allow(MODEL)


async def test_retry_after_keeps_it_open_that_long_even_below_the_threshold(redis: aioredis.Redis) -> None:
    breaker = CircuitBreaker(redis, failures=3, reset_s=0.1)
    await breaker.record_failure(MODEL, retry_after_s=20)
    assert await breaker.state(MODEL) == "open"
    assert 15 < await breaker.open_for_s(MODEL) <= 20
    # A later, shorter open period does not shorten what the provider asked for.
    await breaker.record_failure(MODEL)
    await breaker.record_failure(MODEL)
    assert await breaker.open_for_s(MODEL) > 15


async def test_keys_live_under_the_breaker_scope(redis: aioredis.Redis) -> None:
    breaker = CircuitBreaker(redis, failures=1, reset_s=30)
    await breaker.record_failure(MODEL)
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in await redis.keys("*"))
    assert keys == [f"dm:breaker:{MODEL}:fails", f"dm:breaker:{MODEL}:open"]
