"""What the platform benches set before importing Deskmate: offline (litellm's bundled cost map, no Hugging Face
hub) and on the project's own defaults (no DESKMATE_* settings from the caller's shell)."""

from __future__ import annotations

import os


def isolate() -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in [n for n in os.environ if n.startswith("DESKMATE_")]:
        del os.environ[name]
