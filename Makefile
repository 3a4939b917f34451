# MedFlow: `make run` sets everything up and starts the product; `make test` runs every test.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n1)

.PHONY: run test setup venv db postgres chromium lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "нужен Python 3.11 ($(PY))"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

setup: venv
	$(BIN)/medflow init

run: setup
	$(BIN)/medflow serve

# PostgreSQL is normally running; start it if it is not (CI must run the PostgreSQL tests).
postgres:
	@if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
		pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
		for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	fi

lint: venv
	$(BIN)/ruff check engine handlers webui tests benchmarks
	$(BIN)/medflow lint processes

test: venv postgres
	$(BIN)/ruff check engine handlers webui tests benchmarks
	MEDFLOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
		$(BIN)/pytest -q -p no:cacheprovider

bench: venv
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) instance *.egg-info
