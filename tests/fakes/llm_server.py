"""A local OpenAI-compatible server for tests: chat completions (SSE streaming and JSON), embeddings, transcriptions.

It speaks the wire protocol litellm's `openai/<model>` provider uses when `api_base` points at it, so the product
code under test runs unchanged (litellm, httpx, the openai client) and only the far side of the wire is fake.

    async def test_x(llm_server):
        llm_server.script("gpt-4o-mini", Fail(500), Reply("Hello there"))
        settings = llm_server.settings("openai/gpt-4o-mini", "openai/gpt-4o")
        ...
        assert llm_server.requests[-1].body["messages"][-1]["content"] == "hi"

Steps are consumed per model, in order; when a model has no script left the `responder` hook decides (if set),
then the default answer ("You asked about: ...") streamed word by word.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import math
import random
import re
import struct
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.local_server import LocalServer

# ---------------------------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Reply:
    """A text answer, streamed as word chunks (or returned whole when the request is not streaming)."""

    text: str
    ttft_s: float = 0.0  # delay before the response headers and first chunk
    chunk_delay_s: float = 0.0  # delay between chunks
    finish_reason: str = "stop"


@dataclass(frozen=True)
class ToolCalls:
    """The model asks for tool calls: [(name, args_dict_or_json_text), ...]; arguments are split over chunks."""

    calls: Sequence[tuple[str, dict[str, Any] | str]]
    text: str = ""  # optional text before the calls
    ttft_s: float = 0.0


@dataclass(frozen=True)
class Fail:
    """An HTTP error from the provider (500, 503, 429 with Retry-After, 400...)."""

    status: int = 500
    retry_after: float | None = None
    body: dict[str, Any] | str | None = None


@dataclass(frozen=True)
class Hang:
    """Accept the request and never answer (after_chunks=None), or send headers + N chunks and then stall."""

    after_chunks: int | None = None
    text: str = "This answer will stall part of the way through its text"


@dataclass(frozen=True)
class Cut:
    """Send N chunks, then close the connection in the middle of the stream."""

    after_chunks: int = 1
    text: str = "This answer will be cut part of the way through its text"


Step = Reply | ToolCalls | Fail | Hang | Cut
Responder = Callable[[dict[str, Any]], "Step | Awaitable[Step | None] | None"]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    # time.monotonic() of each streamed content chunk as it was written: the model's real first and last token
    # (a chunk delay of 20 ms drifts by ~1 ms a chunk under asyncio, so `at + ttft + n * delay` is not it)
    chunk_times: list[float] = field(default_factory=list, compare=False)

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))


# ---------------------------------------------------------------------------------------------- helpers


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def default_answer(body: dict[str, Any]) -> str:
    """A deterministic answer derived from the request's last user message."""
    question = ""
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "user":
            question = _content_text(msg.get("content")).strip()
            break
    short = question if len(question) <= 80 else question[:77] + "..."
    return (
        f"You asked about: {short}. "
        "Here is a short answer from the test model. "
        "It is deterministic, so tests can compare it. "
        "That is all for now."
    )


def words(text: str) -> list[str]:
    """Split text into chunks that join back to exactly the text (each word keeps its trailing space)."""
    return re.findall(r"\S+\s*|\s+", text)


def count_tokens(body: dict[str, Any]) -> int:
    n = 0
    for msg in body.get("messages") or []:
        n += 4 + len(_content_text(msg.get("content")).split())
    return max(n, 1)


def embedding_vector(text: str, dim: int) -> list[float]:
    """A unit vector seeded by the text's hash: the same text always gives the same vector."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8")).digest())
    vec = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def _is_cache_judge(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    return "You check a support bot's answer cache" in _content_text(messages[0].get("content"))


def _strip_provider(model: str) -> str:
    return model.split("/", 1)[1] if "/" in model else model


# ---------------------------------------------------------------------------------------------- server


class FakeLLM(LocalServer):
    """The scriptable fake provider. Use the `llm_server` fixture, or `async with FakeLLM() as fake:`."""

    def __init__(self, *, ttft_s: float = 0.0, tokens_per_s: float = 0.0, embedding_dim: int = 384) -> None:
        super().__init__()
        self.ttft_s = ttft_s  # default answer: delay before the first token
        self.tokens_per_s = tokens_per_s  # default answer: 0 = as fast as possible
        self.embedding_dim = embedding_dim
        self.transcription = "This is a transcribed voice message."
        self.responder: Responder | None = None
        self.send_usage = True  # False: like llama-cpp-python's stream, no usage at all
        self.requests: list[RecordedRequest] = []
        self.streams_completed = 0  # streamed answers sent to their end (a client that hung up stops one midway)
        self.streams_cut = 0  # streams the client hung up on midway (it closed the connection: nothing more is read)
        self.chunks_sent = 0  # text chunks written to streams, all requests
        # The semantic cache's verifier asks the same model when no judge model is configured. Those requests
        # (recognised by the judge prompt) go to `judge_requests` and are answered by `judge` (default "no"),
        # so they never consume a model's scripted answers. Requests to a model named in `judge_models` (a
        # separate judge model, scripted by the test), or with a `responder` set, go the usual way.
        self.judge: Callable[[dict[str, Any]], Step] = lambda body: Reply("no")
        self.judge_models: set[str] = set()
        self.judge_requests: list[RecordedRequest] = []
        self._scripts: dict[str, deque[Step]] = defaultdict(deque)
        self._transcripts: deque[str | Fail] = deque()
        self._closing = asyncio.Event()

    # -- scripting

    def script(self, model: str, *steps: Step) -> None:
        """Queue steps for a model ("openai/gpt-4o-mini" or "gpt-4o-mini"); consumed one per request."""
        self._scripts[_strip_provider(model)].extend(steps)

    def script_transcription(self, *results: str | Fail) -> None:
        """Queue transcription results (text, or Fail); when empty, `self.transcription` is returned."""
        self._transcripts.extend(results)

    def reset(self) -> None:
        self._scripts.clear()
        self._transcripts.clear()
        self.requests.clear()
        self.judge_requests.clear()
        self.responder = None

    def requests_for(self, model: str) -> list[RecordedRequest]:
        """Chat requests that reached the given model."""
        name = _strip_provider(model)
        return [r for r in self.requests if r.path.endswith("chat/completions") and _strip_provider(r.model) == name]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def settings(self, *models: str, **overrides: Any) -> Any:
        """An LLMSettings whose chain is `models`, all pointed at this server (fast timeouts by default)."""
        from core.llm.settings import LLMSettings, ModelEndpoint

        values: dict[str, Any] = {"timeout_s": 10.0, "first_token_timeout_s": 5.0, "num_retries": 0}
        values.update(overrides)
        endpoints = [ModelEndpoint(model=m, api_base=self.base_url, api_key="sk-test") for m in models]
        return LLMSettings(models=endpoints, **values)

    # -- lifecycle

    def add_routes(self, app: web.Application) -> None:
        for prefix in ("", "/v1"):
            app.router.add_post(f"{prefix}/chat/completions", self._chat)
            app.router.add_post(f"{prefix}/embeddings", self._embeddings)
            app.router.add_post(f"{prefix}/audio/transcriptions", self._transcriptions)

    async def before_stop(self) -> None:
        self._closing.set()

    # -- handlers

    async def _record(self, request: web.Request, body: dict[str, Any]) -> RecordedRequest:
        record = RecordedRequest(path=request.path, body=body, headers=dict(request.headers))
        self.requests.append(record)
        return record

    async def _next_step(self, body: dict[str, Any]) -> Step:
        model = str(body.get("model", ""))
        for name in (model, _strip_provider(model)):
            queue = self._scripts.get(name)
            if queue:
                return queue.popleft()
        if self.responder is not None:
            step = self.responder(body)
            if inspect.isawaitable(step):
                step = await step
            if step is not None:
                return step  # type: ignore[return-value]
        delay = 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0
        return Reply(default_answer(body), ttft_s=self.ttft_s, chunk_delay_s=delay)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        judge_model = _strip_provider(str(body.get("model", ""))) in self.judge_models
        if _is_cache_judge(body) and not judge_model and self.responder is None:
            self.judge_requests.append(RecordedRequest(path=request.path, body=body, headers=dict(request.headers)))
            return await self._whole(body, self.judge(body))
        record = await self._record(request, body)
        step = await self._next_step(body)
        if isinstance(step, Fail):
            return self._fail(step)
        if isinstance(step, Hang) and step.after_chunks is None:
            await self._closing.wait()
            raise web.HTTPServiceUnavailable()
        if body.get("stream"):
            return await self._stream(request, body, step, record.chunk_times)
        return await self._whole(body, step)

    def _fail(self, step: Fail) -> web.Response:
        headers = {}
        if step.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(step.retry_after))
            headers["retry-after-ms"] = str(int(step.retry_after * 1000))
        if isinstance(step.body, str):
            return web.Response(status=step.status, text=step.body, headers=headers)
        payload = step.body or {
            "error": {"message": f"fake provider error {step.status}", "type": "server_error", "code": step.status}
        }
        return web.json_response(payload, status=step.status, headers=headers)

    @staticmethod
    def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
        prompt = count_tokens(body)
        completion = max(completion_tokens, 1)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    @staticmethod
    def _tool_call_items(step: ToolCalls) -> list[tuple[str, str, str]]:
        items = []
        for name, args in step.calls:
            text = args if isinstance(args, str) else json.dumps(args)
            items.append((f"call_{uuid.uuid4().hex[:12]}", name, text))
        return items

    async def _whole(self, body: dict[str, Any], step: Step) -> web.Response:
        model = str(body.get("model", ""))
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if isinstance(step, Reply):
            await asyncio.sleep(step.ttft_s)
            message["content"] = step.text
            finish = step.finish_reason
            n = len(words(step.text))
        elif isinstance(step, ToolCalls):
            await asyncio.sleep(step.ttft_s)
            message["content"] = step.text or None
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in self._tool_call_items(step)
            ]
            finish = "tool_calls"
            n = 5 * len(step.calls)
        else:  # Hang(after_chunks) / Cut on a non-streaming request: hang / drop the connection
            if isinstance(step, Hang):
                await self._closing.wait()
            raise ConnectionResetError("fake provider cut the connection")
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                **({"usage": self._usage(body, n)} if self.send_usage else {}),
            }
        )

    async def _stream(self, request: web.Request, body: dict[str, Any], step: Step,
                      chunk_times: list[float] | None = None) -> web.StreamResponse:
        model = str(body.get("model", ""))
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        created = int(time.time())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and self.send_usage

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        ttft = step.ttft_s if isinstance(step, Reply | ToolCalls) else 0.0
        try:
            await asyncio.sleep(ttft)
            if request.transport is None or request.transport.is_closing():
                raise ConnectionResetError("the client closed the stream")
        except (ConnectionResetError, asyncio.CancelledError):
            self.streams_cut += 1  # the client hung up before the first token
            raise
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        await resp.write(chunk({"role": "assistant", "content": ""}))

        text = step.text
        pieces = words(text)
        delay = step.chunk_delay_s if isinstance(step, Reply) else 0.0
        stop_after = step.after_chunks if isinstance(step, Hang | Cut) else None
        try:
            for i, piece in enumerate(pieces):
                if stop_after is not None and i >= stop_after:
                    break
                if delay and i:
                    await asyncio.sleep(delay)
                if request.transport is None or request.transport.is_closing():
                    raise ConnectionResetError("the client closed the stream")
                await resp.write(chunk({"content": piece}))
                self.chunks_sent += 1
                if chunk_times is not None:
                    chunk_times.append(time.monotonic())
        except (ConnectionResetError, asyncio.CancelledError):
            self.streams_cut += 1
            raise
        if isinstance(step, Hang):
            await self._closing.wait()
            return resp
        if isinstance(step, Cut):
            if request.transport is not None:
                request.transport.close()
            return resp

        completion_tokens = len(pieces)
        finish = step.finish_reason if isinstance(step, Reply) else "tool_calls"
        if isinstance(step, ToolCalls):
            for index, (call_id, name, args) in enumerate(self._tool_call_items(step)):
                first = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
                await resp.write(chunk({"tool_calls": [first]}))
                size = max(1, math.ceil(len(args) / 3))
                for start in range(0, len(args), size):
                    part = {"index": index, "function": {"arguments": args[start : start + size]}}
                    await resp.write(chunk({"tool_calls": [part]}))
                completion_tokens += 5
        await resp.write(chunk({}, finish))
        if include_usage:
            usage_chunk = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": self._usage(body, completion_tokens),
            }
            await resp.write(f"data: {json.dumps(usage_chunk)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        self.streams_completed += 1
        return resp

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(request, body)
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            return web.json_response({"error": {"message": "input must be a non-empty string or list"}}, status=400)
        dim = int(body.get("dimensions") or self.embedding_dim)
        as_b64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for i, item in enumerate(inputs):
            text = item if isinstance(item, str) else json.dumps(item)
            tokens += max(1, len(text.split()))
            vec = embedding_vector(text, dim)
            value: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode() if as_b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": value})
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _transcriptions(self, request: web.Request) -> web.Response:
        form = await request.post()
        audio = form.get("file")
        size = len(audio.file.read()) if hasattr(audio, "file") else 0
        body = {k: v for k, v in form.items() if isinstance(v, str)}
        body["file_name"] = getattr(audio, "filename", "") or ""
        body["file_bytes"] = size
        await self._record(request, body)
        result: str | Fail = self._transcripts.popleft() if self._transcripts else self.transcription
        if isinstance(result, Fail):
            return self._fail(result)
        if body.get("response_format") == "text":
            return web.Response(text=result)
        return web.json_response({"text": result})


async def _serve() -> AsyncIterator[FakeLLM]:
    fake = FakeLLM()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeLLM]:
    """A fresh fake OpenAI-compatible provider on 127.0.0.1:<ephemeral port>; `.base_url` ends with /v1."""
    async for fake in _serve():
        yield fake
