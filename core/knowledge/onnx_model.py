"""The local embedding model on ONNX Runtime: the same vectors as sentence-transformers without torch in
the serving process.

torch + transformers + sentence-transformers cost ~400 MB resident in every worker and ~13 ms per question;
the same all-MiniLM-L6-v2 exported once to ONNX runs on onnxruntime (already installed with chromadb) and
the model's own `tokenizer.json` in ~140 MB and ~5 ms. The export needs torch, so it runs once in a child
process (`python -m core.knowledge.onnx_export`), which also checks that the ONNX vectors equal
sentence-transformers' (cosine >= 0.9999); the file is kept in a cache directory keyed by the model files.
When the export is impossible (another layout, torch missing) the caller keeps sentence-transformers.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import structlog

log = structlog.get_logger("deskmate.embeddings")

FORMAT = "1"  # bump when the exported graph or its metadata changes
EXPORT_TIMEOUT_S = 600.0
MAX_LENGTH_KEY = "deskmate_max_length"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deskmate" / "models"


def onnx_path_for(model_path: Path, cache_dir: Path) -> Path:
    """Where the export of `model_path` lives: named by the model folder's files (names, sizes, times)."""
    digest = hashlib.sha256(FORMAT.encode())
    for file in sorted(p for p in model_path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(model_path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return cache_dir / f"{model_path.name}-{digest.hexdigest()[:16]}.onnx"


def export(model_path: Path, cache_dir: Path) -> Path | None:
    """The ONNX file for `model_path`, exported now (in a child process) unless already cached; None when
    it cannot be (the reason is logged)."""
    target = onnx_path_for(model_path, cache_dir)
    if target.exists():
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "core.knowledge.onnx_export", str(model_path), str(target)],
            capture_output=True, text=True, timeout=EXPORT_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("embedding_onnx_export_failed", error=type(exc).__name__)
        return None
    if done.returncode != 0 or not target.exists():
        reason = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["?"])[-1]
        log.warning("embedding_onnx_export_failed", code=done.returncode, reason=reason[:300])
        return None
    log.info("embedding_onnx_exported", path=str(target))
    return target


class OnnxEncoder:
    """Tokenize with the model's `tokenizer.json`, run the exported transformer, mean-pool, L2-normalize
    (what sentence-transformers does for Transformer -> mean Pooling -> Normalize)."""

    def __init__(self, onnx_path: Path, model_path: Path, threads: int = 1, batch_size: int = 64) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0 = one per core
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # an ingestion batch's activations are not kept for good
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(int(meta.get(MAX_LENGTH_KEY, "256")))
        pad = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=pad if pad is not None else 0)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> list[list[float]]:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths pad less
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            for i, vector in zip(chunk, self._encode_batch([texts[i] for i in chunk]), strict=True):
                out[i] = vector
        return out

    def _encode_batch(self, texts: list[str]) -> list[list[float]]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        tokens = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(tokens.dtype)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).tolist()
