# Deskmate: one image for every role (`deskmate serve`, `--role receiver`, `--role worker`, `ingest`, `report`,
# `doctor`). Configuration is entirely by DESKMATE_* environment variables (see docs/operations.md and compose.yaml).
#
# BASE_IMAGE: any Debian-based image with python3.11 and its venv module. The default is the published one; on a
# machine without an image registry, `make image` builds a local base from Debian's packages (deploy/base-image.sh).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
# Where the package index is reached through a TLS-inspecting proxy: that proxy's CA bundle, mounted at build time
# (pip reads PIP_CERT; nothing of it stays in the image).
ARG PIP_CERT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # no network at import time, no model downloads, no telemetry
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    DESKMATE_DATA_DIR=/data \
    DESKMATE_HTTP__HOST=0.0.0.0 \
    DESKMATE_HTTP__PORT=8080 \
    DESKMATE_LOG_FORMAT=json \
    PATH=/opt/deskmate/bin:$PATH

WORKDIR /app

# Exactly the lock (every package pinned with its hash), in its own layer: code changes do not reinstall it.
COPY requirements.lock ./
RUN python3 -m venv /opt/deskmate \
    && /opt/deskmate/bin/pip install --no-deps --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY core ./core
COPY adapters ./adapters
COPY bots ./bots
COPY prompts ./prompts
# Deskmate itself, built with the locked setuptools: nothing resolved or fetched here.
RUN /opt/deskmate/bin/pip install --no-deps --no-build-isolation . \
    && /opt/deskmate/bin/python -c "import bots.cli, core.engine, adapters.slack.app, adapters.telegram.handlers"

RUN useradd --system --uid 10001 --home-dir /data deskmate \
    && mkdir -p /data && chown deskmate /data
USER deskmate
VOLUME ["/data"]
EXPOSE 8080

# Liveness only; readiness (Redis, vector store, models, platforms) is GET /readyz, for the orchestrator.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD python3 -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"DESKMATE_HTTP__PORT\", \"8080\")}/healthz', timeout=2)"

# SIGTERM (docker stop) drains: no new messages, in-flight answers finish within DESKMATE_QUEUE__DRAIN_S.
STOPSIGNAL SIGTERM
ENTRYPOINT ["deskmate"]
CMD ["serve"]
