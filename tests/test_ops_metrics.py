"""Metrics, traces and readiness: what an operator scrapes and sees after a scripted conversation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from bots.composition import open_runtime
from core.models import Final
from core.ops.health import Readiness, redis_check
from core.ops.http import add_routes
from core.state.embedded_redis import EmbeddedRedis
from tests.support.queue import RecordingResponder, ask_queued, inbound, ops_settings


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(all_samples: dict, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels`."""
    return sum(v for (n, lbls), v in all_samples.items()
               if n == name and all(dict(lbls).get(k) == want for k, want in labels.items()))


async def scrape(runtime) -> str:
    app = web.Application()
    ops = runtime.ops
    add_routes(app, ops.metrics, ops.readiness)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def test_metrics_after_a_scripted_conversation(tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"max_message_chars": 200})
    async with open_runtime(settings) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        finals = []
        for question in ("How do I reset my password?", "And the VPN?", "Thanks, where is the printer?"):
            terminal = await ask_queued(runtime, responder, inbound(question))
            assert isinstance(terminal, Final)
            finals.append(terminal)
        refused = await ask_queued(runtime, responder, inbound("x" * 500))
        assert refused.type == "error" and refused.code == "message_too_long"
        await runtime.gateway.settled()  # each call's end-of-stream bookkeeping runs just after its answer
        text = await scrape(runtime)
        await runtime.dispatcher.drain(5)

    m = samples(text)
    assert value(m, "deskmate_messages_total", platform="test", tenant="T1", outcome="answered") == 3
    assert value(m, "deskmate_messages_total", outcome="message_too_long") == 1
    prompt_tokens = sum(f.usage.prompt_tokens for f in finals)
    completion_tokens = sum(f.usage.completion_tokens for f in finals)
    assert prompt_tokens > 0 and completion_tokens > 0
    model = finals[0].model
    assert value(m, "deskmate_tokens_total", model=model, tenant="T1", direction="in") == prompt_tokens
    assert value(m, "deskmate_tokens_total", model=model, tenant="T1", direction="out") == completion_tokens
    # end to end and time to first token: one observation per answered message (+1 refusal end to end)
    assert value(m, "deskmate_reply_seconds_count", platform="test") == 4
    assert value(m, "deskmate_first_token_seconds_count", platform="test") == 3
    # a histogram per stage; the refused message stopped at the input stage
    assert value(m, "deskmate_stage_seconds_count", stage="generate") == 3
    assert value(m, "deskmate_stage_seconds_count", stage="limits") == 4
    # each provider attempt, by model, from litellm's callbacks; the breaker is closed
    # three answers, plus any verifier judgements of cache candidates (the same model judges)
    assert value(m, "deskmate_llm_call_seconds_count", outcome="ok") == 3 + len(llm_server.judge_requests)
    assert value(m, "deskmate_llm_errors_total") == 0
    assert value(m, "deskmate_llm_breaker_state", model="openai/gpt-4o-mini") == 0
    assert value(m, "deskmate_queue_pending") == 0


async def test_llm_failures_and_fallbacks_are_counted_by_model(tmp_path: Path, redis: aioredis.Redis,
                                                               llm_server) -> None:
    from tests.fakes.llm_server import Fail

    settings = ops_settings(tmp_path, redis, llm=llm_server.settings("openai/gpt-4o-mini", "openai/gpt-4o",
                                                                     breaker_failures=1))
    llm_server.script("gpt-4o-mini", Fail(503))
    async with open_runtime(settings) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        terminal = await ask_queued(runtime, responder, inbound("Is the fallback used?"))
        assert isinstance(terminal, Final) and terminal.model == "openai/gpt-4o"
        text = await scrape(runtime)
        await runtime.dispatcher.drain(5)
    m = samples(text)
    assert value(m, "deskmate_llm_errors_total") >= 1
    assert value(m, "deskmate_llm_call_seconds_count", outcome="error") >= 1
    assert value(m, "deskmate_llm_fallbacks_total", model="openai/gpt-4o") == 1
    assert value(m, "deskmate_llm_breaker_state", model="openai/gpt-4o-mini") == 2  # open after one failure


async def test_one_trace_per_message_exported_over_otlp(tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    received: list[ExportTraceServiceRequest] = []

    async def collect(request: web.Request) -> web.Response:
        req = ExportTraceServiceRequest()
        req.ParseFromString(await request.read())
        received.append(req)
        return web.Response(status=200)

    collector = web.Application()
    collector.router.add_post("/v1/traces", collect)
    async with TestServer(collector) as server:
        endpoint = f"http://127.0.0.1:{server.port}"
        settings = ops_settings(tmp_path, redis, llm_server, otel={"endpoint": endpoint})
        async with open_runtime(settings) as runtime:
            responder = RecordingResponder()
            runtime.dispatcher.register(responder)
            await ask_queued(runtime, responder, inbound("My email is alice@example.com, where is the printer?"))
            await ask_queued(runtime, responder, inbound("Second question"))
            await runtime.dispatcher.drain(5)
        # leaving the runtime flushes the batch exporter (in a thread): wait for the POST to land
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)

    spans = [s for req in received for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
    roots = [s for s in spans if s.name == "message"]
    assert len(roots) == 2
    assert len({s.trace_id for s in roots}) == 2
    for root in roots:
        in_trace = [s for s in spans if s.trace_id == root.trace_id]
        names = {s.name for s in in_trace}
        assert {"stage.limits", "stage.input", "stage.generate", "llm.completion"} <= names
        by_id = {s.span_id: s for s in in_trace}
        llm = next(s for s in in_trace if s.name == "llm.completion")
        assert by_id[llm.parent_span_id].name == "stage.generate"  # the provider call nests in its stage
        assert next(s for s in in_trace if s.name == "stage.limits").parent_span_id == root.span_id
    # attributes carry ids and numbers, never the message text
    assert b"alice@example.com" not in b"".join(req.SerializeToString() for req in received)


async def test_readiness_follows_redis_down_and_back(tmp_path: Path) -> None:
    server = await EmbeddedRedis(tmp_path).start()
    client = aioredis.Redis(unix_socket_path=server.socket_file, socket_connect_timeout=0.5, socket_timeout=0.5)
    readiness = Readiness(timeout_s=1.0)
    readiness.add("redis", redis_check(client))
    app = web.Application()
    from core.ops.metrics import Metrics

    add_routes(app, Metrics(), readiness)
    try:
        async with TestClient(TestServer(app)) as http:
            resp = await http.get("/readyz")
            assert resp.status == 200 and (await resp.json()) == {"ready": True, "checks": {"redis": True}}
            server.kill()
            resp = await http.get("/readyz")
            assert resp.status == 503 and (await resp.json())["checks"]["redis"] is False
            await server.start()
            for _ in range(50):
                resp = await http.get("/readyz")
                if resp.status == 200:
                    break
                await asyncio.sleep(0.1)
            assert resp.status == 200 and (await resp.json())["ready"] is True
    finally:
        await client.aclose()
        server.stop()
