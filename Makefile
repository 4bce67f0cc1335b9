# `make run` and `make test` set everything up on first use (a .venv in this folder).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Third-party MCP servers for the integration tests (versions pinned in package-lock.json).
NODE_STAMP := node_modules/.installed
# The MCP conformance suite and the Node 22 it needs, in a git-ignored folder.
CONFORMANCE_VERSION := 0.2.0-alpha.11
CONFORMANCE_DIR := .tools/conformance
CONFORMANCE_STAMP := $(CONFORMANCE_DIR)/.installed-$(CONFORMANCE_VERSION)

.PHONY: setup run test lint format bench conformance clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the MCP test servers (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(CONFORMANCE_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed for the MCP conformance suite"; exit 1; }
	mkdir -p $(CONFORMANCE_DIR)
	echo '{"name": "conformance-tools", "private": true}' > $(CONFORMANCE_DIR)/package.json
	cd $(CONFORMANCE_DIR) && npm install --no-audit --no-fund --loglevel=error \
		node@22.23.3 @modelcontextprotocol/conformance@$(CONFORMANCE_VERSION)
	@touch $(CONFORMANCE_STAMP)

setup: $(STAMP) $(NODE_STAMP)

run: setup
	$(BIN)/assistant up

test: setup lint $(CONFORMANCE_STAMP)
	$(BIN)/pytest
	$(BIN)/python scripts/conformance.py

# The hub as the client of the official MCP conformance suite, at both protocol revisions.
conformance: setup $(CONFORMANCE_STAMP)
	$(BIN)/python scripts/conformance.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules .tools
