# Deskmate: `make run` sets everything up and starts a chat on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

LOCK := requirements.lock
# The lock is resolved for CPython 3.11 on x86-64 Linux (glibc >= 2.28), the machines and image Deskmate runs on.
LOCK_FLAGS := --extra dev --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes --no-header

.PHONY: setup run serve test lint bench lock canary image-check clean

setup: $(VENV)/.installed

# Exactly the lock: every package pinned with its hashes, nothing resolved at install time. Then Deskmate itself,
# editable, built with the locked setuptools (no build dependencies fetched).
$(VENV)/.installed: $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve the lock from pyproject.toml. Upgrade one package: make lock UPGRADE="--upgrade-package litellm"
lock:
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(UPGRADE) -o $(LOCK)

# A throwaway venv with the newest releases pyproject.toml allows, and the whole suite on it: how we learn that
# a dependency's new release breaks Deskmate before a user does.
canary:
	rm -rf .canary
	$(PYTHON) -m venv .canary
	.canary/bin/pip install --quiet --upgrade pip
	.canary/bin/pip install --quiet --upgrade -e '.[dev]'
	.canary/bin/pip freeze --exclude-editable > .canary/resolved.txt
	@grep -iE '^(litellm|chromadb|presidio-analyzer|slack-bolt|aiogram|pydantic|redis|spacy)==' .canary/resolved.txt
	.canary/bin/ruff check .
	.canary/bin/python -m pytest

# Build the image daemonless (buildah) on a local Debian base and run doctor + one chat inside it.
# BASE_IMAGE=python:3.11-slim make image-check uses the published base where a registry is reachable.
image-check:
	bash deploy/image-check.sh

run: setup
	$(BIN)/deskmate chat

serve: setup
	$(BIN)/deskmate serve

lint: setup
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .canary var .pytest_cache .ruff_cache
