"""The console adapter and CLI as a user drives them: piped questions in, answers out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.llm_server import FakeLLM, Reply


def _deskmate(args: list[str], tmp_path: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    base.update({"DESKMATE_DATA_DIR": str(tmp_path / "var"), **env})
    if "DESKMATE_PROFILES_DIR" in os.environ:  # the ungated test profiles (conftest.py)
        base.setdefault("DESKMATE_PROFILES_DIR", os.environ["DESKMATE_PROFILES_DIR"])
    return subprocess.run([sys.executable, "-m", "bots.cli", *args], env=base, input=stdin, capture_output=True,
                          text=True, timeout=240)


def test_help_lists_every_command_and_each_has_help(tmp_path: Path) -> None:
    top = _deskmate(["--help"], tmp_path)
    assert top.returncode == 0
    for command in ("chat", "serve"):
        assert command in top.stdout
        sub = _deskmate([command, "--help"], tmp_path)
        assert sub.returncode == 0 and "usage: deskmate " + command in sub.stdout


async def test_piped_chat_answers_each_line_on_stdout(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script("openai/gpt-4o-mini", Reply("First answer [1]."), Reply("Second answer, with memory [1]."))
    proc = await _run_async(["chat"], tmp_path, "Which floor is IT on?\nAnd on weekends?\n",
                            DESKMATE_LLM__MODEL="openai/gpt-4o-mini", DESKMATE_LLM__API_BASE=llm_server.base_url,
                            DESKMATE_LLM__API_KEY="sk-test")
    assert proc.returncode == 0, proc.stderr
    answers = [line for line in proc.stdout.splitlines() if line.endswith("[1].")]  # (then each one's sources)
    assert answers == ["First answer [1].", "Second answer, with memory [1]."]
    assert "conversation" in proc.stderr, "diagnostics go to stderr"
    second = llm_server.requests_for("openai/gpt-4o-mini")[-1].body["messages"]
    assert any(m["content"] == "First answer [1]." for m in second), "one run is one conversation"


async def test_conversation_can_be_resumed_by_id(tmp_path: Path, llm_server: FakeLLM) -> None:
    env = {"DESKMATE_LLM__MODEL": "openai/gpt-4o-mini", "DESKMATE_LLM__API_BASE": llm_server.base_url,
           "DESKMATE_LLM__API_KEY": "sk-test"}
    llm_server.script("openai/gpt-4o-mini", Reply("Noted: your desk is 4B."), Reply("It is 4B."))
    await _run_async(["chat", "--conversation", "conv42"], tmp_path, "My desk is 4B, remember it.\n", **env)
    await _run_async(["chat", "--conversation", "conv42"], tmp_path, "Which desk is mine?\n", **env)
    resumed = llm_server.requests_for("openai/gpt-4o-mini")[-1].body["messages"]
    assert any("My desk is 4B" in m["content"] for m in resumed)


async def _run_async(args: list[str], tmp_path: Path, stdin: str, **env: str) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(_deskmate, args, tmp_path, stdin, **env)


def test_first_run_on_the_default_relative_data_dir(tmp_path: Path) -> None:
    """`make run` as the README gives it: no settings at all, so the data dir is ./var under the current folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    if "DESKMATE_PROFILES_DIR" in os.environ:
        base["DESKMATE_PROFILES_DIR"] = os.environ["DESKMATE_PROFILES_DIR"]
    proc = subprocess.run([sys.executable, "-m", "bots.cli", "chat"], env=base, cwd=tmp_path, capture_output=True,
                          input="How many vacation days do I get?\n", text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "vacation" in proc.stdout.lower() and ".md" in proc.stdout, proc.stdout  # a passage and its source
    assert (tmp_path / "var" / "redis.log").is_file(), "the embedded Redis ran under ./var"
