"""The Telegram router: admin commands, questions (text, voice, photos), other content, button presses.

Handlers only receive: normalize into an Inbound and hand it to the dispatcher (answers are rendered by
TelegramResponder, possibly in another worker). Contextual data: `services` (core Services) and `tg`
(TelegramSettings), set as dispatcher workflow data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.chat_action import ChatActionSender

from adapters.telegram.admin import ADMIN_COMMANDS
from adapters.telegram.edge import audience_of
from adapters.telegram.edits import asked, edited
from adapters.telegram.filters import Addressed
from adapters.telegram.format import escape, to_html
from adapters.telegram.handoff import person_markup
from adapters.telegram.inbound import from_callback, from_message
from adapters.telegram.keyboards import ACTION_KINDS, ReplyButton
from adapters.telegram.media import MediaTooLarge, attachments_of, describe_image, download, transcribe
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.streamer import is_parse_error
from core.admin import AdminContext
from core.audience import Audience
from core.language import reply_language
from core.models import Action, Attachment
from core.services import Services
from core.texts import text

log = structlog.get_logger("deskmate.telegram")


async def say(bot: Bot, message: Message, body: str, flavor: str = "plain",
              markup: InlineKeyboardMarkup | None = None) -> None:
    """A short direct reply (refusals, notices, admin output); HTML with a plain-text fallback."""
    thread = message.message_thread_id if message.is_topic_message else None
    reply = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
    rendered = escape(body) if flavor == "plain" else to_html(body, flavor)
    try:
        await bot.send_message(chat_id=message.chat.id, text=rendered, parse_mode="HTML",
                               message_thread_id=thread, reply_parameters=reply, reply_markup=markup)
    except TelegramBadRequest as exc:
        if not is_parse_error(exc):
            raise
        await bot.send_message(chat_id=message.chat.id, text=body, message_thread_id=thread,
                               reply_parameters=reply, reply_markup=markup)


def locale_of(message: Message) -> str | None:
    return message.from_user.language_code if message.from_user else None


async def audience_for(message: Message, bot: Bot, services: Services, tg: TelegramSettings,
                       ask_chat_admin: bool = False) -> Audience:
    return await audience_of(bot, tg, services.access, services.profiles[tg.bot], message.chat,
                             message.from_user.id if message.from_user else None,
                             topic=bool(message.is_topic_message), ask_chat_admin=ask_chat_admin)


def build_router() -> Router:
    router = Router(name="deskmate")
    router.message.filter(F.from_user, ~F.from_user.is_bot)  # bots (including ourselves) are never answered
    router.edited_message.filter(F.from_user, ~F.from_user.is_bot)

    def welcome(message: Message, services: Services, tg: TelegramSettings) -> InlineKeyboardMarkup | None:
        lang = reply_language("", locale_of(message))
        return person_markup(services, tg, str(message.from_user.id) if message.from_user else "", lang)

    @router.message(CommandStart())
    async def on_start(message: Message, bot: Bot, services: Services, tg: TelegramSettings) -> None:
        await say(bot, message, text("telegram_help", locale_of(message)), markup=welcome(message, services, tg))

    @router.message(Command(*ADMIN_COMMANDS))
    async def on_admin(message: Message, command: CommandObject, bot: Bot, services: Services,
                       tg: TelegramSettings) -> None:
        audience = await audience_for(message, bot, services, tg, ask_chat_admin=True)
        log.info("telegram_admin_command", command=command.command, role=audience.role, chat_id=message.chat.id)
        if not audience.is_admin:
            key = "telegram_help" if command.command == "help" else "not_admin"
            await say(bot, message, text(key, locale_of(message)),
                      markup=welcome(message, services, tg) if key == "telegram_help" else None)
            return
        ctx = AdminContext(platform="telegram", audience=audience, profile=services.profiles[tg.bot],
                           locale=locale_of(message), command_prefix="/")
        reply = await services.admin.handle(ctx, f"{command.command} {command.args or ''}")
        await say(bot, message, reply.text, flavor="mrkdwn")

    @router.message(Addressed())
    async def on_message(message: Message, question: str, bot: Bot, services: Services,
                         tg: TelegramSettings) -> None:
        locale = locale_of(message)
        audience = await audience_for(message, bot, services, tg)
        files = attachments_of(message)
        if files and services.handoff is not None:  # a person has the conversation: the file goes to them as it is
            inbound = from_message(bot, tg, message, question, audience, files)
            if await services.handoff.active(inbound.conversation_key) is not None:
                await services.dispatcher.submit(inbound)
                return
        if message.voice or message.audio:
            await _voice(message, question, bot, services, tg, audience)
        elif message.photo:
            await _photo(message, question, bot, services, tg, audience)
        elif message.text is not None:
            inbound = from_message(bot, tg, message, question, audience)
            await asked(services, inbound, message)  # its edits are followed (core/edits)
            await services.dispatcher.submit(inbound)
        else:
            log.info("telegram_unsupported_content", content_type=message.content_type, chat_id=message.chat.id)
            await say(bot, message, text("telegram_other_unsupported", locale))

    @router.edited_message(Addressed())
    async def on_edited(message: Message, question: str, bot: Bot, services: Services, tg: TelegramSettings) -> None:
        await edited(message, question, bot, services, tg, await audience_for(message, bot, services, tg))

    @router.callback_query(ReplyButton.filter())
    async def on_button(query: CallbackQuery, callback_data: ReplyButton, bot: Bot, services: Services,
                        tg: TelegramSettings) -> None:
        locale = query.from_user.language_code
        action = Action(kind=ACTION_KINDS[callback_data.action], ref=callback_data.ref)
        if not isinstance(query.message, Message):
            await query.answer()
            return
        audience = await audience_of(bot, tg, services.access, services.profiles[tg.bot], query.message.chat,
                                     query.from_user.id, topic=bool(query.message.is_topic_message))
        inbound = from_callback(bot, tg, query, action, audience)
        if inbound is None:
            await query.answer()
            return
        if action.kind in ("feedback_up", "feedback_down"):
            kept = await services.engine.feedback(inbound)  # recorded once, in core (core/ops/feedback.py)
            log.info("telegram_feedback", reply_id=callback_data.ref, value=action.kind, kept=kept)
            await query.answer(text("telegram_feedback_thanks", locale))
            return
        await query.answer()
        if callback_data.owner and callback_data.owner != str(query.from_user.id):
            log.info("telegram_proposal_press_by_other_user", proposal=callback_data.ref)  # core refuses politely
        elif isinstance(query.message, Message):
            try:  # the choice is made: remove Confirm/Cancel so it cannot be pressed twice
                await bot.edit_message_reply_markup(chat_id=query.message.chat.id,
                                                    message_id=query.message.message_id, reply_markup=None)
            except TelegramAPIError as exc:
                log.info("telegram_markup_not_removed", error=type(exc).__name__)
        await services.dispatcher.submit(inbound)

    @router.callback_query()
    async def on_unknown_button(query: CallbackQuery) -> None:
        await query.answer()

    return router


async def _voice(message: Message, question: str, bot: Bot, services: Services, tg: TelegramSettings,
                 audience: Audience) -> None:
    locale = locale_of(message)
    media = message.voice or message.audio
    assert media is not None
    if not tg.speech_model:
        await say(bot, message, text("telegram_voice_unsupported", locale))
        return
    async def to_text(audio: bytes) -> str:
        return await transcribe(tg, audio, "voice.ogg", locale, tenant=audience.tenant)

    transcript = await _media_to_text(bot, message, tg, media.file_id, media.file_size, to_text,
                                      "telegram_transcription_failed")
    if transcript is None:
        return
    if not transcript:
        await say(bot, message, text("telegram_media_failed", locale))
        return
    log.info("telegram_voice_transcribed", chat_id=message.chat.id, chars=len(transcript))
    attachment = Attachment(kind="voice" if message.voice else "audio", ref=media.file_id,
                            mime_type=media.mime_type, size=media.file_size)
    body = f"{question}\n\n{transcript}" if question else transcript
    await services.dispatcher.submit(from_message(bot, tg, message, body, audience, (attachment,)))


async def _photo(message: Message, question: str, bot: Bot, services: Services, tg: TelegramSettings,
                 audience: Audience) -> None:
    locale = locale_of(message)
    photo = (message.photo or [])[-1]  # the largest size
    if not tg.vision_model:
        await say(bot, message, text("telegram_photo_unsupported", locale))
        return
    async def to_text(image: bytes) -> str:
        return await describe_image(tg, image, tenant=audience.tenant)

    description = await _media_to_text(bot, message, tg, photo.file_id, photo.file_size, to_text,
                                       "telegram_vision_failed")
    if description is None:
        return
    attachment = Attachment(kind="photo", ref=photo.file_id, mime_type="image/jpeg", size=photo.file_size)
    seen = f"[The customer sent a photo. What it shows: {description}]"
    body = f"{question}\n\n{seen}" if question else seen
    await services.dispatcher.submit(from_message(bot, tg, message, body, audience, (attachment,)))


async def _media_to_text(bot: Bot, message: Message, tg: TelegramSettings, file_id: str, size: int | None,
                         to_text: Callable[[bytes], Awaitable[str]], failure_event: str) -> str | None:
    """Download a voice message or photo and turn it into text, typing meanwhile.

    None when it failed; the user has then been told why (too large, or the provider failed): never silence.
    """
    locale = locale_of(message)
    try:
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id,
                                           message_thread_id=message.message_thread_id):
            return await to_text(await download(bot, file_id, size, tg.max_media_bytes))
    except MediaTooLarge:
        await say(bot, message, text("telegram_media_too_large", locale))
    except Exception as exc:  # provider or download failure: tell the user, never go silent
        log.warning(failure_event, error=type(exc).__name__, chat_id=message.chat.id)
        await say(bot, message, text("telegram_media_failed", locale))
    return None
