# Jindu — two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install migrate demo worker bench bench-precursors messages clean ci

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0

## Load (or complete) the demo city; idempotent, so every run just checks and prints the logins.
demo: migrate
	@$(PY) manage.py jindu_demo --scale small --quiet

## Serve the platform on http://127.0.0.1:$(PORT) with the background worker (Ctrl-C stops both).
run: demo
	@echo "Jindu on http://127.0.0.1:$(PORT)/  (worker: huey; database: $${DATABASE_URL:-var/jindu.sqlite3})"
	@$(PY) manage.py run_huey --quiet & WORKER=$$!; \
	  trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/gunicorn jindu.wsgi:application --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 \
	    --access-logfile - --log-level warning

## The whole suite (SQLite by default; DATABASE_URL=postgres://… runs it on PostgreSQL).
test: install
	$(PY) -m pytest -p no:cacheprovider -o addopts="" -q $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py
	$(PY) bench/monitoring.py
	$(PY) bench/casework.py

## The precursor pillar's figures at 1,000,000 events (several minutes; `EVENTS=20000` for a smoke run).
bench-precursors: install
	$(PY) bench/precursors_bench.py --events $${EVENTS:-1000000}

messages: install
	cd $(CURDIR) && $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var \
	  && $(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

ci:
	bash .ci/run

clean:
	rm -rf var/static var/huey.sqlite3*
