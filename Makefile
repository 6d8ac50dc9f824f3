# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

# make demo PORTFOLIO=path/to/file.csv FORMAT=ibm-ar AS_OF=2013-06-30 DATE=2013-07-15
PORTFOLIO ?=
FORMAT ?=
AS_OF ?=
DATE ?=
SERVE ?= 1
HOST ?= 127.0.0.1:8000

# make bench: the daily run at scale beside the SQL floor (docs/BENCHMARKS.md).
# The database is created and migrated if needed; the bench empties its tables.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dunning_bench
BENCH_CLAIMS ?= 10000,100000,1000000
BENCH_WORKERS ?= 1,2

.PHONY: demo test lint audit serve worker clean bench

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.runtime
	$(MANAGE) migrate --noinput -v 0
ifeq ($(PORTFOLIO),)
	$(MANAGE) seed_demo
else
	$(MANAGE) import_portfolio $(PORTFOLIO) --format $(FORMAT) $(if $(AS_OF),--as-of $(AS_OF))
endif
	@mkdir -p var
	@$(MANAGE) run_dunning --send-now --json $(if $(DATE),--date $(DATE)) > var/last-run.json
	@echo "== outbox: $$($(MANAGE) shell --no-imports -c 'from django.conf import settings; print(settings.OUTBOX_DIR)')"
	@echo "== admin login (http://$(HOST)/admin/): $$($(MANAGE) demo_admin)"
	@echo "== a debtor's page: $$($(MANAGE) portal_link 2>/dev/null || echo 'none: no claim in dunning')"
	@echo "== run summary (JSON)"
	@cat var/last-run.json
	@echo
ifeq ($(SERVE),1)
	$(MANAGE) runserver $(HOST)
endif

test: $(VENV)/.dev
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# pip-audit over every package of the venv; fails on a known vulnerability and
# names what the advisory service could not answer for (docs/SECURITY.md).
audit: $(VENV)/.dev
	$(BIN)/python -m ops.audit

serve: $(VENV)/.runtime
	$(MANAGE) runserver $(HOST)

worker: $(VENV)/.runtime
	$(MANAGE) qcluster

bench: $(VENV)/.runtime
	DATABASE_URL=$(BENCH_DATABASE_URL) $(MANAGE) bench --create-database --json \
		--claims $(BENCH_CLAIMS) --workers $(BENCH_WORKERS)

clean:
	rm -rf var
