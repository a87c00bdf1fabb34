"""The local embedding model: questions take the traced fast path and get the model's own vectors."""

from __future__ import annotations

from typing import Any

import numpy as np


async def test_questions_embed_like_the_reference_model_through_the_traced_path(embedder: Any) -> None:
    questions = ["How do I reset my VPN password?", "printer jams on the 3rd floor", "hi", "wifi " * 300]
    fast = np.array(await embedder._embed_now(questions))
    assert embedder._fast is not None  # the shipped model has the plain layout: the fast path is on
    reference = embedder._model.encode(questions, normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False)
    assert fast.shape == (4, 384)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(fast * reference, axis=1)) > 0.9999  # same vectors, long text truncated alike
    # ingestion batches keep the reference path and agree with the questions' vectors
    batch = np.array(await embedder._embed_now(questions * 3))
    assert np.min(np.sum(batch[:4] * fast, axis=1)) > 0.9999
