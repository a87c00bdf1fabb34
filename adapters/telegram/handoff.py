"""Telegram and the human handoff: `/human` (also in the command menu) and the "talk to a person" button ask for a
person; an agent's words and files from the operator inbox reach the customer in their chat, and the customer's
files are fetched for the inbox (the `CustomerChannel` port of core/handoff/ports.py).

Bot API limits: a bot downloads files up to 20 MB (getFile refuses larger ones) and sends files up to 50 MB
(multipart sendDocument / sendPhoto; photos up to 10 MB, larger images go as documents).
"""

from __future__ import annotations

import io

import structlog
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from adapters.telegram.edge import audience_of
from adapters.telegram.format import capped_parts
from adapters.telegram.inbound import from_callback, from_message
from adapters.telegram.keyboards import PersonButton, person_keyboard
from adapters.telegram.settings import TelegramSettings
from core.handoff.files import FileData, FileTooLarge, note
from core.handoff.state import Handoff
from core.handoff.triggers import may_call_person
from core.models import Action, Attachment
from core.services import Services

log = structlog.get_logger("deskmate.telegram.handoff")

HUMAN_COMMAND = "human"
MB = 1024 * 1024
DOWNLOAD_LIMIT = 20 * MB  # Bot API getFile
UPLOAD_LIMIT = 50 * MB  # Bot API sendDocument (multipart)
PHOTO_LIMIT = 10 * MB  # Bot API sendPhoto


class TelegramCustomerChannel:
    fetch_limit = DOWNLOAD_LIMIT
    send_limit = UPLOAD_LIMIT

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @staticmethod
    def _where(h: Handoff) -> tuple[int, int | None]:
        thread = h.reply_to.get("thread_id")
        return int(h.reply_to.get("chat_id") or h.channel), int(thread) if thread else None

    async def deliver(self, h: Handoff, body: str) -> None:
        """Plain text (no parse mode: an agent's `<` or `*` is shown as typed), split at Telegram's limit."""
        chat_id, thread = self._where(h)
        parts = capped_parts(body)
        for part in parts:
            await self.bot.send_message(chat_id=chat_id, text=part, parse_mode=None, message_thread_id=thread)
        log.info("telegram_handoff_delivered", handoff=h.id, chat_id=chat_id, parts=len(parts))

    async def fetch(self, h: Handoff, attachment: Attachment, limit: int) -> bytes:
        try:
            file = await self.bot.get_file(attachment.ref)
        except TelegramBadRequest as exc:
            if "too big" in exc.message.lower():  # getFile refuses files over 20 MB
                raise FileTooLarge(attachment.size, min(limit, DOWNLOAD_LIMIT)) from None
            raise
        if file.file_size is not None and file.file_size > limit:
            raise FileTooLarge(file.file_size, limit)
        assert file.file_path
        buffer = await self.bot.download_file(file.file_path, destination=io.BytesIO())
        assert isinstance(buffer, io.BytesIO)
        data = buffer.getvalue()
        if len(data) > limit:
            raise FileTooLarge(len(data), limit)
        return data

    async def send_file(self, h: Handoff, file: FileData) -> None:
        chat_id, thread = self._where(h)
        upload = BufferedInputFile(file.data, filename=file.name)
        if file.kind == "photo" and len(file.data) <= PHOTO_LIMIT:
            await self.bot.send_photo(chat_id=chat_id, photo=upload, message_thread_id=thread)
        else:
            await self.bot.send_document(chat_id=chat_id, document=upload, message_thread_id=thread)
        log.info("telegram_handoff_file_sent", handoff=h.id, chat_id=chat_id, bytes=len(file.data))


def person_markup(services: Services, tg: TelegramSettings, owner: str, lang: str) -> InlineKeyboardMarkup | None:
    """The welcome/help button, when this bot can hand over to a person and its profile shows the button."""
    desk = services.handoff
    if desk is None or not desk.available:
        return None
    opts = desk.options(tg.bot)
    return person_keyboard(owner, lang) if opts.on("asked") and opts.button != "off" else None


def handoff_router() -> Router:
    """`/human` and the button: the request goes through the engine like any message (the handoff stage opens it),
    so it is queued, deduplicated and ordered with the customer's other messages."""
    router = Router(name="deskmate-handoff")
    router.message.filter(F.from_user, ~F.from_user.is_bot)

    @router.message(Command(HUMAN_COMMAND))
    async def on_human(message: Message, bot: Bot, services: Services, tg: TelegramSettings) -> None:
        audience = await audience_of(bot, tg, services.access, services.profiles[tg.bot], message.chat,
                                     message.from_user.id if message.from_user else None,
                                     topic=bool(message.is_topic_message))
        log.info("telegram_human_requested", chat_id=message.chat.id)
        await services.dispatcher.submit(from_message(bot, tg, message, f"/{HUMAN_COMMAND}", audience))

    @router.callback_query(PersonButton.filter())
    async def on_person(query: CallbackQuery, callback_data: PersonButton, bot: Bot, services: Services,
                        tg: TelegramSettings) -> None:
        lang = callback_data.lang
        if not isinstance(query.message, Message):
            await query.answer()
            return
        chat, presser = query.message.chat, str(query.from_user.id)
        stranger = chat.type != "private" and bool(callback_data.owner) and callback_data.owner != presser
        audience = await audience_of(bot, tg, services.access, services.profiles[tg.bot], chat, query.from_user.id,
                                     topic=bool(query.message.is_topic_message), ask_chat_admin=stranger)
        if not may_call_person(audience, callback_data.owner):
            log.info("telegram_person_press_refused", chat_id=chat.id)
            await query.answer(note("handoff_person", "not_yours", lang), show_alert=True)
            return
        inbound = from_callback(bot, tg, query, Action(kind="handoff", ref=callback_data.ref), audience)
        if inbound is None:
            await query.answer()
            return
        desk = services.handoff
        if desk is not None and await desk.active(inbound.conversation_key) is not None:
            await query.answer(note("handoff_person", "already", lang))  # pressed twice: nothing new to do
            return
        await query.answer()
        log.info("telegram_person_pressed", chat_id=chat.id)
        await services.dispatcher.submit(inbound.model_copy(update={"locale": lang}))  # reply in the answer's language

    return router
