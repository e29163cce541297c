# The two commands: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export FLASK_APP := server

.PHONY: run test test-all lint format bench migration venv

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed-dev

# Serves the demo on http://127.0.0.1:$(PORT); migrates and seeds on the first run only.
run: $(BIN)/.installed
	GATELOG_DEBUG=$${GATELOG_DEBUG-1} $(BIN)/flask init-db
	GATELOG_DEBUG=$${GATELOG_DEBUG-1} $(BIN)/flask seed-demo --if-empty
	@echo "Gate log: http://127.0.0.1:$(PORT)/  (consoles: http://127.0.0.1:$(PORT)/auth/login)"
	@echo "Demo logins: admin/demo-admin  inspector/demo-inspector  hr1/demo-hr1 .. hr4/demo-hr4"
	GATELOG_DEBUG=$${GATELOG_DEBUG-1} SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE-0} \
		$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 'server:create_app()'

# The whole suite; TEST_DATABASE_URL picks PostgreSQL, SQLite otherwise.
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(BIN)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks print figures; they assert nothing. Each tests/bench/bench_*.py runs in turn.
# The province bench runs at 1M events unless BENCH_PROVINCE_SIZES=1m,10m,30m asks for more
# (30M seeds for hours on a busy machine); BENCH_PG_PREFIX names the benches' PostgreSQL DBs.
bench: $(BIN)/.installed-dev
	@for script in tests/bench/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 1; \
	done

# Pre-release: one initial migration, rebuilt from the models (see README, "Schema changes").
migration: $(BIN)/.installed-dev
	rm -f server/migrations/versions/0001_initial.py
	tmp=$$(mktemp -d) && DATABASE_URL=sqlite:///$$tmp/empty.sqlite3 GATELOG_DEBUG=1 \
		$(BIN)/flask db migrate --rev-id 0001 -m initial && rm -rf $$tmp
	$(BIN)/ruff check --fix --select I server/migrations >/dev/null
	$(BIN)/ruff format server/migrations >/dev/null
