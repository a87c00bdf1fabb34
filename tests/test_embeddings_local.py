"""The local embedding model: it runs on ONNX Runtime with sentence-transformers' own vectors, keeps torch
out of the serving process, and falls back to sentence-transformers when a model cannot be exported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from core.knowledge.embeddings import LocalEmbedder

TEXTS = ["How do I reset my VPN password?", "printer jams on the 3rd floor", "hi", "wifi " * 300,
         "Где мой заказ номер 12345?"]


def reference(model_path: str, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


async def test_the_local_model_runs_on_onnx_with_sentence_transformers_vectors(embedder: Any) -> None:
    mine = np.array(await embedder._embed_now(TEXTS))
    assert embedder._onnx is not None, "the shipped model exports: questions never need torch"
    ref = reference(embedder.model_path, TEXTS)
    assert mine.shape == (5, 384)
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(mine * ref, axis=1)) > 0.9999  # same vectors, long text truncated alike
    batch = np.array(await embedder._embed_now(TEXTS * 20))  # an ingestion batch, sorted and split
    assert np.min(np.sum(batch[-5:] * ref, axis=1)) > 0.9999


def cls_pooling_copy(shipped: Path, copy: Path) -> Path:
    """The shipped model with CLS pooling instead of mean: a layout the ONNX path does not cover."""
    for file in shipped.rglob("*"):
        if file.is_file():
            (copy / file.relative_to(shipped)).parent.mkdir(parents=True, exist_ok=True)
            (copy / file.relative_to(shipped)).symlink_to(file)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.unlink()
    pooling.write_text(json.dumps(config | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    return copy


async def test_a_model_that_cannot_be_exported_keeps_working_on_sentence_transformers(
        tmp_path: Path, embedder: Any) -> None:
    cls_model = cls_pooling_copy(Path(embedder.model_path), tmp_path / "cls-model")
    other = LocalEmbedder(str(cls_model), cache_dir=tmp_path / "onnx", memo_size=0)
    vectors = np.array(await other.embed(TEXTS[:2]))
    assert other._onnx is None and not list((tmp_path / "onnx").glob("*.onnx"))
    assert np.min(np.sum(vectors * reference(str(cls_model), TEXTS[:2]), axis=1)) > 0.9999


SERVE = """
import asyncio, json, sys, tempfile
from pathlib import Path
import bots
from bots.composition import open_runtime
from bots.settings import load_settings
from core.models import Final, Inbound

async def main():
    settings = load_settings(data_dir=Path(tempfile.mkdtemp()))
    async with open_runtime(settings) as runtime:
        final = None
        for text in ("How do I connect to the VPN? I'm John Smith, john@example.com",
                     "How do I connect to the VPN? I'm John Smith, john@example.com"):
            inbound = Inbound(platform="console", bot="helpdesk", tenant="T1", channel="C1", user="U1", text=text)
            async for event in runtime.engine.handle(inbound):
                if isinstance(event, Final):
                    final = event
    loaded = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
    print(json.dumps({"loaded": loaded, "answer": final.text if final else None}))

asyncio.run(main())
"""


def test_a_worker_answers_with_pii_cache_and_retrieval_without_loading_torch() -> None:
    """torch + transformers are ~400 MB per process: spaCy, Presidio and the embedder must not pull them in."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", SERVE], cwd=root, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answer"], "the worker answered"
    assert result["loaded"] == []
