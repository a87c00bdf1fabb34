"""Voice and photos -> text for the engine: transcription and image description through litellm."""

from __future__ import annotations

import base64
import io

import structlog
from aiogram import Bot
from aiogram.types import Message

from adapters.telegram.settings import TelegramSettings
from core.llm.side import side_call
from core.models import Attachment

log = structlog.get_logger("deskmate.telegram.media")

DESCRIBE_PROMPT = (
    "A customer sent this image to customer support. Describe what it shows that matters for helping them "
    "(error messages verbatim, screens, products, documents). Be factual and brief."
)


MEDIA_TIMEOUT_S = 30.0  # per attempt (litellm's default is 600 s); side_call bounds the whole step


class MediaTooLarge(Exception):
    pass


async def download(bot: Bot, file_id: str, size: int | None, limit: int) -> bytes:
    if size is not None and size > limit:
        raise MediaTooLarge(size)
    buffer = await bot.download(file_id, destination=io.BytesIO())
    assert buffer is not None
    data = buffer.getvalue()
    if len(data) > limit:
        raise MediaTooLarge(len(data))
    return data


def _endpoint(settings: TelegramSettings) -> dict[str, str]:
    options: dict[str, str] = {}
    if settings.media_api_base:
        options["api_base"] = settings.media_api_base
    if settings.media_api_key is not None:
        options["api_key"] = settings.media_api_key.get_secret_value()
    return options


async def transcribe(settings: TelegramSettings, audio: bytes, filename: str, language: str | None,
                     tenant: str = "") -> str:
    import litellm

    assert settings.speech_model
    extra: dict[str, str] = {}
    if language:
        extra["language"] = language.split("-")[0]
    model = settings.speech_model
    response = await side_call("speech_to_text", model, lambda: litellm.atranscription(
        model=model, file=(filename, audio), timeout=MEDIA_TIMEOUT_S, **_endpoint(settings), **extra),
        platform="telegram", tenant=tenant)  # charged to the tenant before its message becomes a turn
    return str(response.text or "").strip()


async def describe_image(settings: TelegramSettings, image: bytes, mime_type: str = "image/jpeg",
                         tenant: str = "") -> str:
    import litellm

    assert settings.vision_model
    data_url = f"data:{mime_type};base64,{base64.b64encode(image).decode()}"
    model = settings.vision_model
    response = await side_call("vision", model, lambda: litellm.acompletion(
        model=model, stream=False, max_tokens=400, timeout=MEDIA_TIMEOUT_S,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": DESCRIBE_PROMPT},
            {"type": "image_url", "image_url": {"url": data_url}},
        ]}],
        **_endpoint(settings),
    ), platform="telegram", tenant=tenant)
    return str(response.choices[0].message.content or "").strip()


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The files of a message, as the handoff relays them (photo: the largest size). Stickers are not files."""
    if message.photo:
        p = message.photo[-1]
        return (Attachment(kind="photo", ref=p.file_id, mime_type="image/jpeg", size=p.file_size, name="photo.jpg"),)
    for kind, media in (("document", message.document), ("voice", message.voice), ("audio", message.audio),
                        ("video", message.video), ("video", message.video_note), ("video", message.animation)):
        if media is not None:
            return (Attachment(kind=kind, ref=media.file_id, mime_type=getattr(media, "mime_type", None),  # type: ignore[arg-type]
                               size=media.file_size, name=getattr(media, "file_name", None)),)
    return ()
