"""Slack settings. Slack starts in `deskmate serve` when bot_token and signing_secret are set."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from core.config_types import CommaList


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-...: Socket Mode instead of HTTP
    admin_users: CommaList = []
    api_url: str = "https://slack.com/api/"
    bot: str = "helpdesk"  # bot profile Slack serves
    command: str = Field(default="/deskmate", pattern=r"^/[a-z0-9_-]{1,31}$")  # the admin slash command
    events_path: str = "/slack/events"  # HTTP mode: events, interactivity and commands all arrive here
    native_streaming: bool = True  # chat.startStream/appendStream/stopStream; off = postMessage + update
    stream_batch_chars: int = Field(default=800, ge=1, le=12_000)  # append once this much text is buffered...
    stream_flush_s: float = Field(default=1.0, gt=0)  # ...or once this long has passed since the last append
    # Shared rate budgets per workspace (Redis, all answers and workers): Slack's tiers are per method per
    # workspace. chat.startStream/appendStream/stopStream: Tier 4 (100+/min); chat.update: Tier 3 (50+/min);
    # chat.postMessage: ~1/s per channel. `rate_safety` keeps us a little under each limit.
    stream_calls_per_min: float = Field(default=100.0, gt=0)
    stream_burst: int = Field(default=20, ge=1)
    update_calls_per_min: float = Field(default=50.0, gt=0)
    update_burst: int = Field(default=10, ge=1)
    rate_safety: float = Field(default=0.9, gt=0, le=1)
    # Progress ("searching the knowledge base", "calling the ticket system") as task cards in the streamed message
    # (chunks of type task_update); off, or when Slack refuses them, the assistant thread status instead.
    task_chunks: bool = True
    task_display_mode: Literal["timeline", "plan"] = "timeline"  # chat.startStream: cards in the text, or a plan
    # A task card gets a call of its own only if this many stream calls stay free in the workspace's burst, else
    # it rides on the next text append: a tool starting (it may run long while no text comes) needs
    # `task_reserve` free; any other card the whole burst but one, i.e. a stream budget nobody used lately.
    task_reserve: int = Field(default=5, ge=0)
    task_timeout_s: float = Field(default=0.8, gt=0)  # a slow or rate-limited task call is given up, not waited on
    update_interval_s: float = Field(default=1.0, ge=0)  # fallback: at most one chat.update per this long
    max_message_chars: int = Field(default=3_900, ge=200, le=12_000)  # longer answers continue in a new message
    rate_limit_retries: int = Field(default=5, ge=0, le=20)  # 429: waits Retry-After, this many times per call
    # Stop (core/edits): an app declared as an agent gets Slack's own stop button (agents.sessions.setStatus
    # "processing", then the agent_session_stopped event); otherwise a Stop button is posted under the answer.
    agent_sessions: bool = False
    thinking_text: str | None = None  # assistant thread status while the answer is prepared; unset = core/texts/
    suggested_prompts: CommaList = []  # assistant thread prompts; empty = core/texts/ in the user's language
    user_cache_s: int = Field(default=600, ge=0)  # users.info (admin flag, locale) cached this long in Redis
    thread_memory_s: int = Field(default=7 * 86_400, ge=60)  # threads the bot follows up in without a mention

    @property
    def idle_reserve(self) -> int:
        return max(self.stream_burst - 1, self.task_reserve)

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and (self.signing_secret is not None or self.app_token is not None)
