# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8787
REPO := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# The Linq CLI is not on the npm registry: its tarball lies in shared/clients beside the repository.
LINQ_CLI_TARBALL ?= $(REPO)/../shared/clients/linqapp-cli-1.3.0.tgz
NODE_DIR := tests/node

.PHONY: run test lint typecheck docs pytest node-test node-test-run benchmark soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/linq-server serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# The suite runs on SQLite, then again on PostgreSQL when LINQ_SERVER_TEST_POSTGRES_URL is set. (Side by side
# they took 11 min, but the doubled load on 2 cores made timing-sensitive tests flaky.)
pytest: $(VENV)/.dev-installed
	env -u LINQ_SERVER_TEST_POSTGRES_URL $(BIN)/pytest
	@if [ -n "$$LINQ_SERVER_TEST_POSTGRES_URL" ]; then echo "== again on PostgreSQL"; $(BIN)/pytest; fi

# The official Node clients (@linqapp/sdk, the Linq CLI) end to end, installed by npm from the lock file.
$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json $(LINQ_CLI_TARBALL)
	mkdir -p $(NODE_DIR)/vendor
	cp $(LINQ_CLI_TARBALL) $(NODE_DIR)/vendor/
	cd $(NODE_DIR) && npm ci --engine-strict=false --no-audit --no-fund
	touch $@

# Without the CLI tarball (it is not on the npm registry), the rest of the suite still runs and this says what
# was skipped: the Node tests install from one lock file that names the tarball.
node-test: $(VENV)/.dev-installed
	@if [ -f "$(LINQ_CLI_TARBALL)" ]; then $(MAKE) --no-print-directory node-test-run; else \
	  echo "skipped tests/node (the official Node SDK and the Linq CLI): the Linq CLI tarball is not at $(LINQ_CLI_TARBALL); make test LINQ_CLI_TARBALL=/path/to/linqapp-cli-1.3.0.tgz runs them"; fi

node-test-run: $(NODE_DIR)/node_modules/.installed
	cd $(NODE_DIR) && LINQ_SERVER_PYTHON=$(abspath $(BIN)/python) npm test

# The docs site (mkdocs-material); strict, so a broken link or a page missing from nav fails.
docs: $(VENV)/.dev-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest node-test

# The participants benchmark drives load with wrk (Debian) and compares with Prism 5 (npm, pinned by
# benchmarks/prism/package-lock.json, installed into the ignored benchmarks/prism/node_modules).
benchmark: $(VENV)/.dev-installed benchmarks/prism/node_modules/.installed
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m benchmarks.participants
	$(BIN)/python -m benchmarks.webhooks
	$(BIN)/python -m benchmarks.chat_pages
	$(BIN)/python -m benchmarks.inspector
	$(BIN)/python -m benchmarks.attachments --s3
	$(BIN)/python -m benchmarks.manual_clock

# Ten minutes of adds and sends through flapping receivers, a PostgreSQL restart and a kill -9 (not in CI).
soak: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.soak

benchmarks/prism/node_modules/.installed: benchmarks/prism/package.json benchmarks/prism/package-lock.json
	cd benchmarks/prism && npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf site $(VENV) .pytest_cache .mypy_cache .ruff_cache $(NODE_DIR)/node_modules $(NODE_DIR)/vendor benchmarks/prism/node_modules
