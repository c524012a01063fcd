# Kennisportaal Onderwijs & Jeugd. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
INI    ?= development.ini
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
STAMP  := $(VENV)/.installed

.PHONY: help install run db load reindex serve test test-sqlite test-postgresql test-browser check-postgresql check-browser \
        lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the portal with test and dev tools

db: install  ## create or migrate the database (idempotent)
	$(BIN)/portal-init $(INI)

load: db  ## load content/ into the database
	$(BIN)/portal-load $(INI)

reindex: load  ## rebuild the search index from the database
	$(BIN)/portal-reindex $(INI)

run: reindex  ## install, migrate, load content, index and serve on http://localhost:6543
	$(BIN)/pserve $(INI)

serve: db  ## migrate, then serve the database and index as they are (content not reloaded) on :6543
	$(BIN)/pserve $(INI)

test: install check-postgresql check-browser  ## the whole suite: SQLite, the browser tests (once), PostgreSQL
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-postgresql

test-sqlite: install  ## run the tests on SQLite (without the browser tests)
	PORTAL_TEST_DB=sqlite $(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS)

test-postgresql: install check-postgresql  ## run the tests on the PostgreSQL server at 127.0.0.1:5432 (without the browser tests)
	PORTAL_TEST_DB=postgresql PORTAL_TEST_PG_URL=$(PG_URL) $(BIN)/pytest -n 2 -m "not browser" $(PYTEST_ARGS)

test-browser: install check-browser  ## the real-browser tests (Chromium + axe-core, tests/browser) on SQLite
	PORTAL_TEST_DB=sqlite $(BIN)/pytest -p no:xdist -m browser tests/browser $(PYTEST_ARGS)

check-postgresql: install  ## stop at once, with one line saying what to do, unless PostgreSQL at $(PG_URL) answers
	@$(BIN)/python tests/postgresql_check.py '$(PG_URL)'

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Browser tests: npm is missing; install it with 'sudo apt-get install -y npm'." >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

check-browser: install node_modules/axe-core/axe.min.js  ## stop at once, with one line, unless /usr/bin/chromium and axe-core are there
	@$(BIN)/python tests/browser/prerequisites.py

lint: install  ## ruff
	$(BIN)/ruff check portal tests bench

bench: install  ## run the search benchmark (prints figures; not part of the tests; BENCH_ARGS=--quick ...)
	$(BIN)/python bench/search.py $(BENCH_ARGS)

clean:  ## remove the virtualenv, node_modules and local data
	rm -rf $(VENV) var *.egg-info node_modules

.PHONY: bench-web
bench-web: install  ## web benchmark: portal vs bare waitress/Pyramid, hit/miss, 10,000 examples (BENCH_ARGS=--quick ...)
	$(BIN)/python bench/web.py $(BENCH_ARGS)

.PHONY: bench-load
bench-load: install  ## load benchmark: readers + writers on pserve, then kill -9 + restart (figures; BENCH_ARGS=...)
	$(BIN)/python bench/load.py $(BENCH_ARGS)
