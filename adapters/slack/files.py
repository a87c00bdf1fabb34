"""Files in and out of Slack for the handoff: download a file an agent posted (`url_private_download`, fetched
with the bot token as Slack documents), and upload one with Slack's current flow (`files.getUploadURLExternal` ->
POST the bytes to the upload URL -> `files.completeUploadExternal` with `channel_id` and `thread_ts`), which
slack_sdk's `files_upload_v2` performs (`files.upload` is deprecated).

The bot token is only ever sent to Slack's own file host (or the configured API host, for a test server): a
crafted `url_private_download` elsewhere is refused rather than handed our token.
"""

from __future__ import annotations

from urllib.parse import urlparse

import aiohttp
import structlog
from slack_sdk.web.async_client import AsyncWebClient

from core.handoff.files import FileData, FileTooLarge

log = structlog.get_logger("deskmate.slack.files")

FILE_HOSTS = ("files.slack.com",)
CHUNK = 256 * 1024
TIMEOUT_S = 60.0


def allowed(client: AsyncWebClient, url: str) -> bool:
    parsed = urlparse(url)
    api = urlparse(str(client.base_url))
    if parsed.scheme not in ("https", "http") or (parsed.scheme == "http" and parsed.hostname != api.hostname):
        return False
    return parsed.hostname in FILE_HOSTS or (parsed.hostname, parsed.port) == (api.hostname, api.port)


async def download(client: AsyncWebClient, url: str, limit: int) -> bytes:
    """The file's bytes; FileTooLarge above `limit` (stops reading there); ValueError for a foreign host or a
    login page instead of the file (a token without files:read)."""
    if not allowed(client, url):
        raise ValueError("not a Slack file URL")
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
            url, headers={"Authorization": f"Bearer {client.token}"}, allow_redirects=False) as resp:
        if resp.status != 200:
            raise ValueError(f"download failed: HTTP {resp.status}")
        if resp.content_type == "text/html":
            raise ValueError("Slack answered a login page: the token cannot read this file")
        if resp.content_length is not None and resp.content_length > limit:
            raise FileTooLarge(resp.content_length, limit)
        data = bytearray()
        async for chunk in resp.content.iter_chunked(CHUNK):
            data += chunk
            if len(data) > limit:
                raise FileTooLarge(None, limit)
        return bytes(data)


async def upload(client: AsyncWebClient, channel: str, thread_ts: str | None, file: FileData, comment: str) -> None:
    await client.files_upload_v2(content=file.data, filename=file.name, title=file.name, channel=channel,
                                 thread_ts=thread_ts or None, initial_comment=comment or None)
    log.info("slack_file_uploaded", channel=channel, bytes=len(file.data))
