"""Escalation hand-over notes posted to a Slack channel (the `Notifier` port of core/tools/escalation.py).

Target: a channel id (`C0123ABC`, private `G...`), as in `DESKMATE_TOOLS__ESCALATION_TARGET=slack:C0123ABC`.
The bot must be a member of that channel (`chat:write`); the note is already masked by core.
"""

from __future__ import annotations

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import SECTION_CHARS, split_text
from adapters.slack.mrkdwn import escape

log = structlog.get_logger("deskmate.slack.notifier")

TEXT_CHARS = 39_000  # chat.postMessage truncates `text` after 40,000 characters


class SlackNotifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def notify(self, target: str, text: str) -> None:
        """Post `text` (plain text) to channel `target`; a Slack error raises (core stores the note anyway)."""
        body = escape(text)[:TEXT_CHARS]  # plain text: `<`, `>`, `&` must not become links or mentions
        sections = [{"type": "section", "text": {"type": "mrkdwn", "text": part}}
                    for part in split_text(body, SECTION_CHARS)[:40] if part.strip()]
        resp = await self.client.chat_postMessage(channel=target, text=body, blocks=sections, unfurl_links=False,
                                                  unfurl_media=False)
        log.info("slack_escalation_posted", channel=target, ts=resp.get("ts"), chars=len(body))
