# Wangge: `make demo` serves the demo town; `make test` runs the whole suite. Both idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WANGGE := $(VENV)/bin/wangge
DBENV := set -a; . .local/db.env; set +a;
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test setup system venv assets db stop bench clean-db help

help:
	@echo "make demo   - install what is missing, start PostGIS, migrate, load the demo town, serve :$(PORT)"
	@echo "make test   - same set-up, then the whole test suite against a throwaway database"
	@echo "make bench  - benchmarks (bench/), printing ratios against reference approaches"
	@echo "make stop   - stop the project's PostgreSQL cluster"

system:
	@bash scripts/setup_system.sh $(MODE)

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed

assets: venv
	@bash scripts/fetch_assets.sh

setup: system venv assets

db: setup
	@bash scripts/pg.sh start
	@$(DBENV) $(WANGGE) db upgrade

demo: MODE=demo
demo: db
	@$(DBENV) $(WANGGE) demo load --if-missing
	@echo ""
	@echo "Wangge is serving on http://$(HOST):$(PORT)"
	@echo "  dashboards:  http://$(HOST):$(PORT)/dashboards/"
	@echo "  API docs:    http://$(HOST):$(PORT)/docs"
	@echo "  health:      http://$(HOST):$(PORT)/health"
	@echo "  OGC API:     http://$(HOST):$(PORT)/api/v1/"
	@$(DBENV) $(WANGGE) serve --host $(HOST) --port $(PORT)

test: MODE=test
test: setup
	@bash scripts/pg.sh start
	@$(DBENV) $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: MODE=test
bench: db
	@$(DBENV) $(PY) -m bench $(BENCH_ARGS)

stop:
	@bash scripts/pg.sh stop
