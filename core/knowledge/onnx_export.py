"""Export a sentence-transformers model to ONNX for `OnnxEncoder`; run in a child process:

    python -m core.knowledge.onnx_export MODEL_DIR OUT.onnx

Only the plain layout is exported (Transformer -> mean Pooling [-> Normalize], as all-MiniLM-L6-v2
ships). The file is written next to OUT and renamed into place only after `OnnxEncoder` on it gave the
same vectors as sentence-transformers (cosine >= MIN_AGREEMENT on CHECK_TEXTS), so a reader never sees a
partial or wrong model. Exit codes: 0 exported, 2 layout not supported, 3 vectors disagree.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

CHECK_TEXTS = ["How do I reset my VPN password?", "ok", "printer " * 40, "wifi " * 300,
               "Где мой заказ? Номер 12345", "¿Dónde está mi pedido?"]
MIN_AGREEMENT = 0.9999


def main(model_dir: str, out: str) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import numpy as np
    import onnx
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from core.knowledge.onnx_model import FORMAT, MAX_LENGTH_KEY, OnnxEncoder

    hf_logging.disable_progress_bar()
    model = SentenceTransformer(model_dir, device="cpu")
    layout = [type(m).__name__ for m in model]
    if layout not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]) \
            or model[1].get_config_dict().get("pooling_mode") != "mean":
        print(f"layout not supported: {layout}")
        return 2

    class Transformer(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]

    sample = model.tokenizer(["warm up the export", "a"], return_tensors="pt", padding=True)
    target = Path(out)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    axes = {0: "batch", 1: "tokens"}
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(Transformer(model[0].auto_model.eval()), (sample["input_ids"], sample["attention_mask"]),
                              str(tmp), input_names=["input_ids", "attention_mask"], output_names=["tokens"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "tokens": axes},
                              opset_version=17, dynamo=False)
        graph = onnx.load(str(tmp))
        for name, value in {MAX_LENGTH_KEY: str(model.max_seq_length or 256), "deskmate_format": FORMAT}.items():
            graph.metadata_props.add(key=name, value=value)
        onnx.save(graph, str(tmp))
        mine = np.array(OnnxEncoder(tmp, Path(model_dir)).encode(CHECK_TEXTS))
        reference = model.encode(CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False)
        agreement = float(np.min(np.sum(mine * reference, axis=1)))
        if agreement < MIN_AGREEMENT:
            print(f"ONNX vectors disagree with sentence-transformers: cosine {agreement:.6f}")
            return 3
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"exported {target} (cosine {agreement:.6f})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(64)
    sys.exit(main(sys.argv[1], sys.argv[2]))
