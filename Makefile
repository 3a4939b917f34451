# MedFlow: `make run` sets everything up and starts the product; `make test` runs every test.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n1)

.PHONY: screenshots soak soak-http run test setup venv db postgres chromium fonts web-assets lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "нужен Python 3.11 ($(PY))"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# bpmn-js (viewer and modeler) from the npm registry, copied into the static folder: the product
# serves every asset itself (no CDN; it runs on networks without the internet).
WEB_VENDOR := webui/static/vendor/bpmn-js
WEB_STAMP := $(WEB_VENDOR)/.installed
BPMN_DIST := webui/node_modules/bpmn-js/dist

$(WEB_STAMP): webui/package.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	cd webui && npm install --no-audit --no-fund --ignore-scripts --loglevel=error
	rm -rf $(WEB_VENDOR) && mkdir -p $(WEB_VENDOR)
	cp -r $(BPMN_DIST)/assets $(BPMN_DIST)/bpmn-modeler.production.min.js \
		$(BPMN_DIST)/bpmn-navigated-viewer.production.min.js $(WEB_VENDOR)/
	touch $(WEB_STAMP)

web-assets: $(WEB_STAMP)

# Debian's chromium for the Playwright browser tests (Playwright's own browser download is not used).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# A Cyrillic TrueType font for the PDF certificates.
fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core; }

setup: venv web-assets fonts
	$(BIN)/medflow init
	$(BIN)/medflow demo seed

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

# Two pytest processes (the machine has 2 cores): every test has its own SQLite file or
# PostgreSQL database and its own ports, so they do not meet; a file stays on one process.
test: venv web-assets fonts chromium postgres
	$(BIN)/ruff check engine handlers webui tests benchmarks
	MEDFLOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
		$(BIN)/pytest -q -p no:cacheprovider -m "not soak" -n 2 --dist loadfile

# One table: every figure next to its ceiling or target, and its change against the committed
# baseline. BENCH_QUICK=1 for smoke sizes (about a minute); the full run takes ~15 minutes.
# Refresh the README's screenshots from the browser story.
screenshots: venv web-assets fonts chromium
	MEDFLOW_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/browser

# The long runs: kill -9 with 1,000 applications, many more fuzz cases.
soak: venv postgres
	MEDFLOW_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
		$(BIN)/pytest -q -p no:cacheprovider -m soak

# 30 minutes of a steady applicant/operator mix over HTTP (SOAK_MINUTES to change it).
soak-http: venv postgres
	$(BIN)/python -m benchmarks.soak

bench: venv postgres
	$(BIN)/python -m benchmarks.run

# Keep the last run as the baseline the next runs are compared with (commit the file).
bench-baseline:
	cp benchmarks/results/latest.json benchmarks/results/baseline.json

clean:
	rm -rf $(VENV) instance *.egg-info
