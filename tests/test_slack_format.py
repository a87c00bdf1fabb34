"""Markdown -> mrkdwn, message splitting, sources and normalization of Slack payloads."""

from __future__ import annotations

import pytest

from adapters.slack.blocks import sources, split_text
from adapters.slack.edge import tenant_of
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.normalize import is_user_message, message_inbound, strip_mention
from core.audience import Audience
from core.models import Citation


@pytest.mark.parametrize(("markdown", "mrkdwn"), [
    ("**bold** and __bold__", "*bold* and *bold*"),
    ("*italic* and _italic_", "_italic_ and _italic_"),
    ("~~gone~~", "~gone~"),
    ("[the guide](https://wiki.example/vpn?a=1)", "<https://wiki.example/vpn?a=1|the guide>"),
    ("## Steps to follow", "*Steps to follow*"),
    ("- one\n- **two**\n* three", "• one\n• *two*\n• three"),
    ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("`a<b` and **x**", "`a&lt;b` and *x*"),
    ("2*3*4 stays", "2*3*4 stays"),
    ("<https://example.com>", "<https://example.com>"),
])
def test_markdown_becomes_mrkdwn(markdown, mrkdwn):
    assert to_mrkdwn(markdown) == mrkdwn


def test_code_blocks_are_kept_verbatim_but_escaped():
    out = to_mrkdwn("Run:\n```bash\nif [ a < b ]; then echo **x**; fi\n```\nDone **now**")
    assert "```\nif [ a &lt; b ]; then echo **x**; fi\n```" in out
    assert out.endswith("Done *now*")


def test_link_label_cannot_break_the_link_syntax():
    assert to_mrkdwn("[a|b > c](https://x.example/p)") == "<https://x.example/p|a/b &gt; c>"


def test_split_keeps_every_character_and_respects_the_limit():
    text = " ".join(f"word{i}" for i in range(500)) + "\n\n" + "x" * 700
    parts = split_text(text, 300)
    assert "".join(parts) == text
    assert all(len(p) <= 300 for p in parts)
    assert parts[0].endswith(" ")  # cut at a word boundary


def test_sources_are_links_under_the_answer():
    block = sources([Citation(source_id="vpn.md", title="VPN guide", section="Reset", url="https://wiki/vpn"),
                     Citation(source_id="vpn.md", title="VPN guide", section="Reset", url="https://wiki/vpn"),
                     Citation(source_id="hr.pdf", title="HR <policy>", url="docs/hr.pdf")])
    text = block[0]["elements"][0]["text"]
    assert text == "*Sources:* [1] <https://wiki/vpn|VPN guide — Reset>  [2] HR &lt;policy&gt;"
    assert sources([]) == []


def _body(event, team="T1"):
    return {"team_id": team, "event_id": "Ev1", "event": event}


def _who(body):  # the audience as the edge function names the tenant
    return Audience(tenant=tenant_of(body), user="U1", role="member", place="public_channel")


def test_channel_mention_is_a_thread_conversation_for_the_workspace():
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi <@U2>", "ts": "5.0", "channel": "C1"}
    body = _body(event, "T9")
    inbound = message_inbound(body, "helpdesk", "UBOT", _who(body))
    assert inbound.text == "hi <@U2>" and inbound.tenant == "T9" and inbound.thread == "5.0"
    assert not inbound.is_private and inbound.extras["reply_ts"] == "5.0"


def test_dm_is_one_conversation_but_assistant_threads_are_separate():
    first = message_inbound(_body({"user": "U1", "text": "a", "ts": "1.0", "channel": "D1", "channel_type": "im"}),
                            "helpdesk", "UBOT", _who(_body({})))
    second = message_inbound(_body({"user": "U1", "text": "b", "ts": "2.0", "channel": "D1", "channel_type": "im"}),
                             "helpdesk", "UBOT", _who(_body({})))
    assert first.is_private and first.conversation_key == second.conversation_key
    assert first.extras["reply_ts"] == "1.0"  # the answer still goes in a thread under the message
    a1 = message_inbound(_body({"user": "U1", "text": "a", "ts": "3.0", "thread_ts": "3.0", "channel": "D1",
                                "channel_type": "im"}), "helpdesk", "UBOT", _who(_body({})), assistant_thread=True)
    a2 = message_inbound(_body({"user": "U1", "text": "a", "ts": "4.0", "thread_ts": "4.0", "channel": "D1",
                                "channel_type": "im"}), "helpdesk", "UBOT", _who(_body({})), assistant_thread=True)
    assert a1.conversation_key != a2.conversation_key and a1.extras["assistant"]


def test_bots_and_edits_are_not_user_messages():
    assert is_user_message({"user": "U1", "text": "hi"})
    assert is_user_message({"user": "U1", "text": "hi", "subtype": "file_share"})
    assert not is_user_message({"user": "U1", "bot_id": "B1", "text": "hi"})
    assert not is_user_message({"subtype": "message_changed", "message": {}})
    assert strip_mention("<@UBOT|deskmate> help", "UBOT") == "help"


def test_manifest_declares_what_the_app_listens_to_and_calls():
    """The manifest an operator pastes into Slack must deliver every event the app handles and grant its scopes."""
    from pathlib import Path

    import yaml

    from adapters.slack.settings import SlackSettings

    manifest = yaml.safe_load((Path(__file__).parents[1] / "adapters/slack/manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mention", "message.im", "message.channels", "message.groups", "assistant_thread_started"} <= events
    # chat.postMessage/update/postEphemeral/startStream, users.info, assistant.threads.*, the slash command
    assert {"chat:write", "users:read", "assistant:write", "commands", "app_mentions:read", "im:history",
            "channels:history", "groups:history"} <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"]  # Confirm/Cancel and feedback buttons
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [SlackSettings().command]
    assert manifest["features"]["assistant_view"]["assistant_description"]
    assert set(manifest) <= {"_metadata", "display_information", "features", "oauth_config", "settings"}
