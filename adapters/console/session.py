"""A terminal conversation with the engine: interactive, or one question per line from a pipe."""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from adapters.console.render import render
from core.audience import Audience
from core.engine import Engine
from core.language import reply_language
from core.models import Action, Inbound
from core.texts import text

YES = {"yes", "y", "confirm", "да"}
NO = {"no", "n", "cancel", "нет"}


class ConsoleSession:
    def __init__(self, engine: Engine, bot: str, conversation: str, *, user: str | None = None,
                 stdin: TextIO | None = None, out: TextIO | None = None, diag: TextIO | None = None,
                 bot_groups: tuple[str, ...] = ()) -> None:
        self.engine = engine
        self.bot = bot
        self.conversation = conversation
        self.user = user or getpass.getuser()
        self.stdin = stdin or sys.stdin
        self.out = out or sys.stdout
        self.diag = diag or sys.stderr
        self.interactive = self.stdin.isatty()
        self.pending: str | None = None  # proposal id waiting for yes/no
        self.bot_groups = bot_groups
        self.language = "en"  # of the last message: the console's own texts follow it

    def _inbound(self, text: str, action: Action | None = None) -> Inbound:
        # The person at the terminal runs the deployment; they read what the bot profile reads.
        who = Audience(tenant="local", user=self.user, role="deployment_admin", place="console",
                       channel=self.conversation, access_groups=self.bot_groups)
        return Inbound(platform="console", bot=self.bot, tenant="local", channel=self.conversation,
                       user=self.user, text=text, action=action, is_private=True, is_admin=True, audience=who)

    async def ask(self, line: str) -> None:
        action = None
        if self.pending and line.strip().lower() in YES | NO:
            kind = "confirm" if line.strip().lower() in YES else "cancel"
            action = Action(kind=kind, ref=self.pending)
        self.pending = None
        self.language = reply_language(line, self.language)  # "да" after a Russian question stays Russian
        outcome = await render(self.engine.handle(self._inbound(line, action)), self.out, self.diag, self.language)
        if outcome.proposal is not None:
            self.pending = outcome.proposal.proposal_id

    async def run(self) -> int:
        while True:
            if self.interactive:
                self.out.write(text("console_you", self.language))
                self.out.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                return 0
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if self.interactive and line.strip() in ("/quit", "/exit"):
                return 0
            if self.interactive:
                self.out.write(text("console_bot", self.language))
            await self.ask(line)
