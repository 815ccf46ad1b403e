# voiceauth's one task runner. The README's two commands: `make serve` and `make test`.
#
# Heavy dependencies (torch, speechbrain) live in a virtual environment outside the clone, keyed by
# the lock file, so that every clone on a machine shares one install and pip's cache.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
LOCK_HASH := $(shell cat constraints.txt pyproject.toml | sha256sum | cut -c1-12)
VENV ?= $(HOME)/.cache/voiceauth/venv
BIN := $(VENV)/bin
# The stamp names both the lock and this clone: another clone re-links the editable install, and
# then removes every stamp, so that each clone re-links it to itself on its next run.
STAMP := $(VENV)/.installed-$(LOCK_HASH)-$(shell pwd | sha256sum | cut -c1-8)
HOST ?= 127.0.0.1
PORT ?= 8000
export VOICEAUTH_DATA_DIR ?= $(CURDIR)/data

.PHONY: help install lock model db serve dashboard test unit lint typecheck importlint core-only \
        system-deps pytest fuzz bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## Create the virtual environment (if missing) and install everything, pinned

lock: ## Re-pin constraints.txt from the current environment
	{ head -n 2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^voiceauth'; } > constraints.new
	mv constraints.new constraints.txt

model: install ## Fetch and verify the ECAPA-TDNN, AASIST and Whisper model files (once; cached afterwards)
	$(BIN)/voiceauth model fetch

db: install ## Create or migrate the embedded SQLite database (or $$DATABASE_URL)
	$(BIN)/voiceauth db migrate

serve: install model db ## Run the service on $(HOST):$(PORT), embedded database, real model
	$(BIN)/voiceauth serve --host $(HOST) --port $(PORT)

dashboard: install ## Run the operator dashboard next to `make serve`
	$(BIN)/voiceauth dashboard

lint: install ## ruff (lint and format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict over the three packages
	$(BIN)/mypy

importlint: install ## The core imports no framework; no upward imports
	$(BIN)/lint-imports

core-only: install ## Prove `import voiceauth_core` works with no extras installed
	rm -rf $(VENV)-core && $(PYTHON) -m venv $(VENV)-core
	$(VENV)-core/bin/python -m pip install -q -c constraints.txt .
	cd / && $(VENV)-core/bin/python -c "import voiceauth_core, voiceauth_core.testing, importlib.util as u; \
	  missing = [m for m in ('torch', 'litestar', 'asyncpg', 'aiohttp', 'speechbrain', 'msgspec') if u.find_spec(m)]; \
	  assert not missing, missing; print('voiceauth_core imports alone, without', 'torch, litestar, asyncpg, aiohttp')"

# Debian packages the integration tests drive: nginx (scale-out test), headless Chromium (dashboard),
# and the offline speech synthesisers of the spoof corpus (espeak-ng, flite, festival and voices).
system-deps: ## Install nginx, headless Chromium and the speech synthesisers from Debian, if missing
	@missing=""; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	for tool in espeak-ng flite; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	command -v text2wave >/dev/null || missing="$$missing festival"; \
	for voice in english/kal_diphone:festvox-kallpc16k english/ked_diphone:festvox-kdlpc16k \
	             us/cmu_us_slt_arctic_hts:festvox-us-slt-hts; do \
	  test -d /usr/share/festival/voices/$${voice%%:*} || missing="$$missing $${voice##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

pytest: install model system-deps ## The test suite (all tiers)
	$(BIN)/python -m pytest --durations=25 $(PYTEST_ARGS)

fuzz: install ## A longer schemathesis pass over the API (1000 examples per operation)
	VOICEAUTH_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest tests/integration/test_api_fuzz.py

unit: install ## Unit tests only (seconds)
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

test: lint typecheck importlint core-only pytest ## Everything CI runs: lint, types, imports, core alone, all tests

bench: install model ## Benchmarks (needs ../shared/corpora or CORPUS=...)
	$(BIN)/python benchmarks/embed.py

clean: ## Remove this clone's caches (not the shared virtual environment)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
