# Cairn: `make run` starts the service, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
ASSETS_STAMP := node_modules/.installed

.PHONY: run test bench lint schema seed-demo clean

$(RUNTIME_STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# GraphiQL's scripts and styles, served by the service itself (no CDN at run time).
$(ASSETS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUNTIME_STAMP) $(ASSETS_STAMP)
	$(BIN)/python main.py serve --seed-demo-if-empty

seed-demo: $(RUNTIME_STAMP)
	$(BIN)/python main.py seed-demo

lint: $(DEV_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The benchmark's quick run checks that every measure still works; pytest then runs every test
# with a branch-coverage gate.
test: $(DEV_STAMP) $(ASSETS_STAMP) lint
	CAIRN_BENCH_QUICK=1 $(BIN)/python -m scripts.bench
	$(BIN)/python -m pytest --cov --cov-report=term --cov-fail-under=90

schema: $(RUNTIME_STAMP)
	$(BIN)/python main.py export-schema > schema.graphql

bench: $(DEV_STAMP)
	$(BIN)/python -m scripts.bench

clean:
	rm -rf $(VENV) node_modules .data
