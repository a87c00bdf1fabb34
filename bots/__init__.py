"""Composition roots, bot profiles and the `deskmate` CLI.

Importing this package first makes the process offline-safe: litellm reads its bundled cost map
instead of fetching one, and Hugging Face / Chroma never phone home.
"""

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
