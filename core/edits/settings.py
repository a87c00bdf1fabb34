"""Edited and deleted questions: how long an edit still replaces the answer, how edits are paced, and Stop."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EditSettings(BaseModel):
    # An edit made at most this long after the question replaces the answer; later edits change nothing.
    # 0 = edits are never followed. At most a day: the question's record lives that long.
    window_s: float = Field(default=600.0, ge=0, le=86_400)
    # An edit is answered once no newer edit of the same question came for this long (a burst of edits is
    # answered once, for its last text).
    settle_s: float = Field(default=1.0, ge=0, le=30)
    # How often an answer in flight looks whether its question was edited or deleted meanwhile.
    poll_s: float = Field(default=0.25, gt=0, le=5)
    # Answers being written can be stopped by the asker (or an admin): a Stop button, or the platform's own stop
    # (Telegram drafts, Slack agent sessions). Needs the question's record: off when window_s is 0.
    stop: bool = True
