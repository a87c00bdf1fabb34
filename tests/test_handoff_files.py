"""Files in a handoff, end to end through the fake Bot API and fake Slack (real Redis, real stages): a Telegram
customer's photo or document appears in the inbox thread as a file (getFile + download -> Slack's external
upload), an agent's file reaches the customer (url_private_download with the bot token -> sendDocument /
sendPhoto multipart); limits, crafted names, the default "not for agents" policy, and a file after the end."""

from __future__ import annotations

import asyncio

from aiohttp import web

from core.handoff.files import note, sanitize_name
from core.texts import text
from tests.fakes.local_server import serve_app
from tests.support.handoff import AGENT, INBOX, handoff_profiles, handoff_rig, wait_for

CUSTOMER = 555
MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def photo_update(telegram_api, file_id: str, size: int | None, caption: str | None = None, language: str = "en"):
    photo = [{"file_id": f"{file_id}-small", "file_unique_id": "us", "width": 90, "height": 90, "file_size": 100},
             {"file_id": file_id, "file_unique_id": "ul", "width": 800, "height": 600,
              **({"file_size": size} if size is not None else {})}]
    extra = {"caption": caption} if caption else {}
    return telegram_api.message_update(CUSTOMER, None, photo=photo, language=language, **extra)


def document_update(telegram_api, file_id: str, name: str, size: int | None, language: str = "en"):
    document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name, "mime_type": "application/pdf",
                **({"file_size": size} if size is not None else {})}
    return telegram_api.message_update(CUSTOMER, None, document=document, language=language)


async def open_handoff(rig, telegram_api, language: str = "en"):
    await rig.tg(telegram_api.message_update(CUSTOMER, "/human", language=language,
                                             entities=[{"type": "bot_command", "offset": 0, "length": 6}]))
    await rig.settle()
    await wait_for(lambda: len(rig.inbox_roots()) == 1)
    return rig.inbox_roots()[0]


async def agent_file(rig, root_ts: str, entry: dict, body: str = "") -> str:
    ts = rig.slack_rig.next_ts()
    await rig.slack_rig.event({"type": "message", "subtype": "file_share", "channel": INBOX, "user": AGENT,
                               "text": body, "ts": ts, "thread_ts": root_ts, "files": [entry], "team": "T1",
                               "event_ts": ts, "channel_type": "channel"})
    return ts


def thread_files(rig, root_ts: str) -> list[dict]:
    return [f for m in rig.slack.messages.values() if m.channel == INBOX and m.thread_ts == root_ts for f in m.files]


def sent_files(telegram_api) -> list:
    return [m for m in telegram_api.chat_messages(CUSTOMER) if m.file is not None]


async def test_a_customers_photo_and_document_appear_in_the_thread_as_files(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, files="both") as rig:
        root = await open_handoff(rig, telegram_api)
        telegram_api.add_file("ph1", PNG, kind="photo", extension="jpg")
        pdf = b"%PDF-1.7\n" + bytes(3000)
        telegram_api.add_file("doc1", pdf, kind="document", extension="pdf")
        await rig.tg(photo_update(telegram_api, "ph1", len(PNG), caption="the broken screen"))
        await rig.tg(document_update(telegram_api, "doc1", "../../etc/passwd\x00.pdf", len(pdf)))
        await rig.settle()
        await wait_for(lambda: len(thread_files(rig, root.ts)) == 2)
        stored = {f.name: f for f in rig.slack.files.store.values() if f.shared_in}
        assert set(stored) == {"photo.jpg", "passwd.pdf"}, "a crafted name loses its directories and control bytes"
        assert stored["photo.jpg"].data == PNG and stored["passwd.pdf"].data == pdf, "the bytes, really copied"
        assert all(f.shared_in == [(INBOX, root.ts)] for f in stored.values()), "in the handoff's own thread"
        assert any("the broken screen" in t for t in rig.thread(root.ts)), "the caption is relayed as text"
        assert any("Customer sent passwd.pdf" in t for t in rig.thread(root.ts))
        assert telegram_api.calls_of("getFile"), "downloaded through getFile + the file endpoint"
        assert not llm_server.requests_for("gpt-4o-mini"), "no file went to the model"
        # the bot's memory keeps the kinds only, never the name
        _, history = await rig.runtime.services.handoff.memory.load(f"telegram:telegram:{CUSTOMER}:-")
        assert any("attachment: document" in str(m.get("content")) for m in history)
        assert not any("passwd" in str(m.get("content")) for m in history)


async def test_a_file_over_the_bot_download_limit_is_refused_with_a_note_both_sides(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, files="both") as rig:
        root = await open_handoff(rig, telegram_api, language="ru")
        big = bytes(30 * MB)
        telegram_api.add_file("big1", big, kind="document", extension="zip")
        await rig.tg(document_update(telegram_api, "big1", "logs.zip", len(big), language="ru"))  # says 30 MB
        await rig.tg(document_update(telegram_api, "big1", "logs.zip", 1000, language="ru"))  # lies: 1 KB
        await rig.settle()
        too_big = note("handoff_file_notes", "too_big", "ru", limit="20.0 MB")
        await telegram_api.wait_for(lambda: rig.texts_to(CUSTOMER).count(too_big) == 2)
        await wait_for(lambda: sum("over the 20.0 MB" in t for t in rig.thread(root.ts)) == 2)
        assert any("document of 30.0 MB" in t for t in rig.thread(root.ts))
        assert any("document of &gt; 20.0 MB" in t for t in rig.thread(root.ts)), "the lying size: Telegram refused"
        assert not thread_files(rig, root.ts)
        assert len(telegram_api.calls_of("getFile")) == 1, "the announced 30 MB is not even asked for"


async def test_by_default_customers_files_do_not_reach_agents(telegram_api, llm_server, redis, monkeypatch,
                                                               tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:  # masked, files default
        root = await open_handoff(rig, telegram_api, language="ru")
        telegram_api.add_file("pass1", PNG, kind="photo", extension="jpg")
        await rig.tg(photo_update(telegram_api, "pass1", len(PNG), language="ru"))
        await rig.settle()
        await telegram_api.wait_for(lambda: note("handoff_file_notes", "not_passed", "ru")
                                    in rig.texts_to(CUSTOMER))
        await wait_for(lambda: any("Files from customers are not shown" in t for t in rig.thread(root.ts)))
        assert not thread_files(rig, root.ts) and not telegram_api.calls_of("getFile"), "not even downloaded"


async def test_an_agents_files_reach_the_customer(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        root = await open_handoff(rig, telegram_api)
        pdf = b"%PDF-1.7\n" + bytes(range(256)) * 20
        await agent_file(rig, root.ts, rig.slack.files.add_file("..\\..\\Windows\\invoice 77341.pdf", pdf,
                                                                "application/pdf"), "Here is your invoice")
        await agent_file(rig, root.ts, rig.slack.files.add_file("screen.png", PNG, "image/png"))
        await telegram_api.wait_for(lambda: len(sent_files(telegram_api)) == 2)
        document, photo = sent_files(telegram_api)
        assert document.file.filename == "invoice 77341.pdf" and document.file.data == pdf
        assert photo.file.data == PNG and telegram_api.calls_of("sendPhoto") and telegram_api.calls_of("sendDocument")
        assert "Here is your invoice" in rig.texts_to(CUSTOMER)
        assert rig.slack.files.downloads and all(authorized for _, authorized in rig.slack.files.downloads)
        # a crafted file entry pointing elsewhere (another host:port) is never fetched with the bot token
        seen: list[str] = []

        async def steal(request: web.Request) -> web.Response:
            seen.append(request.headers.get("Authorization", ""))
            return web.Response(body=pdf)

        app = web.Application()
        app.router.add_get("/steal", steal)
        runner, port = await serve_app(app)
        try:
            url = f"http://127.0.0.1:{port}/steal"
            await agent_file(rig, root.ts, rig.slack.files.add_file("sneaky.pdf", pdf, "application/pdf") | {
                "url_private_download": url, "url_private": url})
            await wait_for(lambda: any("sneaky.pdf could not be sent" in t for t in rig.thread(root.ts)))
        finally:
            await runner.cleanup()
        assert seen == [] and len(sent_files(telegram_api)) == 2


async def test_an_agents_file_over_the_customers_limit_is_not_sent_and_the_agent_is_told(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        root = await open_handoff(rig, telegram_api)
        await agent_file(rig, root.ts, rig.slack.files.add_file("video.mp4", b"x" * 100, "video/mp4", size=60 * MB))
        await wait_for(lambda: any("video.mp4 (60.0 MB) is over the 50.0 MB" in t for t in rig.thread(root.ts)))
        huge = bytes(51 * MB)  # the event claims 1 KB: the download stops at the limit
        await agent_file(rig, root.ts, rig.slack.files.add_file("dump.bin", huge, size=1000))
        await wait_for(lambda: any("dump.bin (51.0 MB) is over the 50.0 MB" in t for t in rig.thread(root.ts)))
        assert not sent_files(telegram_api)


async def test_an_agents_file_after_the_conversation_went_back_to_the_bot_is_not_delivered(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    from adapters.slack.inbox import RESOLVE

    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, files="both") as rig:
        root = await open_handoff(rig, telegram_api)
        await rig.press(RESOLVE, root.ts)
        await telegram_api.wait_for(lambda: text("handoff_resolved", "en") in rig.texts_to(CUSTOMER))
        await agent_file(rig, root.ts, rig.slack.files.add_file("late.pdf", b"%PDF", "application/pdf"))
        await rig.agent_says(root.ts, "one more thing")
        closed = note("inbox_file_notes", "closed_out", "en")
        await wait_for(lambda: rig.thread(root.ts).count(closed) == 2)
        await asyncio.sleep(0.3)
        assert not sent_files(telegram_api) and "one more thing" not in rig.texts_to(CUSTOMER)
        # a customer's photo after the end is the bot's again (no vision model here: it says it cannot read it)
        telegram_api.add_file("after1", PNG, kind="photo", extension="jpg")
        await rig.tg(photo_update(telegram_api, "after1", len(PNG)))
        await rig.settle()
        await telegram_api.wait_for(lambda: text("telegram_photo_unsupported", "en") in rig.texts_to(CUSTOMER))
        assert not thread_files(rig, root.ts)


def test_file_names_are_sanitised():
    assert sanitize_name("../../etc/passwd") == "passwd"
    assert sanitize_name("C:\\Users\\ann\\..\\secret.docx") == "secret.docx"
    assert sanitize_name("..") == "file" and sanitize_name("") == "file" and sanitize_name(None, "photo.jpg") == \
        "photo.jpg"
    assert sanitize_name("<script>alert(1)</script>.html") == "script_.html"
    assert sanitize_name("счёт №5.pdf") == "счёт _5.pdf"
    assert sanitize_name("\u202egnp.exe") == "gnp.exe", "no right-to-left override tricks"
    long = sanitize_name("a" * 300 + ".pdf")
    assert len(long) <= 100 and long.endswith(".pdf")
    assert sanitize_name(".bashrc") == "bashrc"


async def test_a_file_that_arrives_after_the_handoff_ended_is_not_answered_by_the_model(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    """The race: the handler saw a handoff, the queue delivered the file after Resolve. The customer is told."""
    from core.audience import Audience
    from core.models import Attachment, Inbound

    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, files="both") as rig:
        who = Audience(tenant="telegram", user="42", channel=str(CUSTOMER))
        late = Inbound(platform="telegram", bot="support", tenant="telegram", channel=str(CUSTOMER), user="42",
                       text="", attachments=(Attachment(kind="photo", ref="gone", size=10),), is_private=True,
                       audience=who, locale="ru", extras={"chat_id": CUSTOMER, "chat_type": "private"})
        await rig.runtime.dispatcher.submit(late)
        await rig.settle()
        await telegram_api.wait_for(lambda: note("handoff_file_notes", "closed", "ru") in rig.texts_to(CUSTOMER))
        assert not llm_server.requests_for("gpt-4o-mini") and not rig.inbox_roots()


async def test_a_slack_dm_customers_file_appears_in_the_thread(telegram_api, llm_server, redis, monkeypatch,
                                                                tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, files="both") as rig:
        await rig.slack_rig.dm("I need a person, please", channel="D9", user="U9")
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        shot = rig.slack.files.add_file("screen shot.png", PNG, "image/png")
        ts = rig.slack_rig.next_ts()
        await rig.slack_rig.event({"type": "message", "subtype": "file_share", "channel_type": "im", "channel": "D9",
                                   "user": "U9", "text": "", "ts": ts, "files": [shot], "team": "T1",
                                   "event_ts": ts})
        await wait_for(lambda: len(thread_files(rig, root.ts)) == 1)
        copied = [f for f in rig.slack.files.store.values() if f.shared_in == [(INBOX, root.ts)]]
        assert [f.data for f in copied] == [PNG], "the customer's bytes, really copied into the handoff's thread"
        assert (shot["id"], True) in rig.slack.files.downloads, "fetched with the bot token"
        assert not llm_server.requests_for("gpt-4o-mini"), "no file went to the model"
