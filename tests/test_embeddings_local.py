"""The local multilingual embedder: offline, normalized, and one vector space for English and Russian."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np


async def test_vectors_are_normalized_and_a_russian_question_finds_its_english_twin(embedder: Any) -> None:
    texts = ["How do I reset my password?", "Как сбросить пароль?", "How many vacation days do I get?"]
    vectors = np.array(await embedder.embed(texts))
    assert vectors.shape == (3, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[1, 2] + 0.2, "the Russian password question is nearer its English twin than vacation"


async def test_a_repeated_question_is_served_from_the_memo(embedder: Any) -> None:
    first = await embedder.embed(["Where is the printer on floor 3?"])
    first[0][0] = 42.0  # callers may modify what they get
    again = await embedder.embed(["Where is the printer on floor 3?"])
    assert again[0][0] != 42.0


def test_the_local_embedder_loads_no_torch_and_no_model_hub() -> None:
    code = (
        "import asyncio, sys\n"
        "from core.knowledge.embeddings import LocalEmbedder\n"
        "asyncio.run(LocalEmbedder().embed(['hello']))\n"
        "print(','.join(m for m in ('torch', 'transformers', 'sentence_transformers', 'huggingface_hub')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == ""


async def test_a_question_asked_while_a_document_batch_is_embedded_gets_the_same_vector() -> None:
    """A question is embedded on the event loop only when the model is free; during an ingest batch it waits in a
    thread. Either way the vectors are those of a plain call (the shared model's buffers are not mixed up)."""
    import asyncio

    from core.knowledge.embeddings import LocalEmbedder

    embedder = LocalEmbedder(memo_size=0)
    await embedder.warm()
    question = "How do I connect to the VPN from home?"
    alone = (await embedder.embed([question]))[0]
    pages = [f"Page {i}: the office printer on floor {i} needs a badge and a PIN." for i in range(256)]
    batch, during = await asyncio.gather(embedder.embed(pages), embedder.embed([question]))
    assert np.allclose(during[0], alone, atol=1e-5)
    assert np.allclose(batch[3], (await embedder.embed([pages[3]]))[0], atol=1e-5)
    assert len(batch) == 256
