"""The deployment files describe something that can be built and run: sources exist, the lock is what installs,
and no per-process state is shared between containers through a volume."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_every_copy_source_in_the_dockerfile_exists_and_is_not_ignored() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()}
    copies = [rest for word, rest in _instructions(ROOT / "Dockerfile") if word in ("COPY", "ADD")]
    assert copies, "the Dockerfile copies nothing?"
    for rest in copies:
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_the_image_installs_exactly_the_lock() -> None:
    runs = " ".join(rest for word, rest in _instructions(ROOT / "Dockerfile") if word == "RUN")
    assert "--require-hashes -r requirements.lock" in runs
    for pip_install in re.findall(r"pip install ([^&]*)", runs):
        assert "--no-deps" in pip_install, f"an install that resolves on its own: pip install {pip_install}"
    assert "ARG BASE_IMAGE=python:3.11-slim" in (ROOT / "Dockerfile").read_text()


def test_compose_shares_state_through_servers_not_volumes() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    deskmates = {n: s for n, s in services.items() if s.get("image", "").startswith("deskmate")}
    assert {"bot", "worker"} <= set(deskmates)
    for name, service in deskmates.items():
        assert not service.get("volumes"), f"{name} mounts a volume: per-process files would be shared"
    env = next(iter(deskmates.values()))["environment"]
    assert env["DESKMATE_REDIS_URL"].startswith("redis://redis:")
    assert env["DESKMATE_CHROMA__URL"].startswith("http://chroma:")
    assert env["DESKMATE_CACHE__SCALAR_STORE"] == "postgresql" and env["DESKMATE_CACHE__VECTOR_STORE"] == "pgvector"
    assert {"redis", "chroma", "postgres"} <= set(services)
    example = (ROOT / "deploy" / "deskmate.env.example").read_text()
    assert re.search(r"^DESKMATE_PII__VAULT_KEY=", example, re.M), "every container needs the same vault key"
