# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/cryptopredict
SQLITE_URL ?= sqlite:///$(CURDIR)/var/test.sqlite3
PYTEST_ARGS ?=
# The suite on every core, a test file to a process (module fixtures such as the seeded demo run once).
XDIST ?= -n auto --dist loadfile

.PHONY: install run test test-postgres test-sqlite lint format postgres bench worker beat browser

$(VENV)/.installed: requirements.txt requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

.env:
	cp .env.example .env

install: $(VENV)/.installed .env

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

# Start the local PostgreSQL when it is installed but down, and create the project database.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect 15 main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@psql "$(PG_URL)" -c 'select 1' >/dev/null 2>&1 || createdb -h 127.0.0.1 -U postgres $(notdir $(PG_URL))

# Debian's Chromium, which the browser tests drive (needs root; CI runs it from .ci/run).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-postgres: install postgres
	DATABASE_URL=$(PG_URL) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-sqlite: install
	mkdir -p var
	DATABASE_URL=$(SQLITE_URL) $(PY) -m pytest $(XDIST) -m "not postgres" $(PYTEST_ARGS)

test: lint test-postgres test-sqlite

bench: install postgres
	DATABASE_URL=$(PG_URL) $(PY) manage.py migrate --noinput
	DATABASE_URL=$(PG_URL) $(PY) benchmarks/ingest.py $(BENCH_ARGS)

# One worker for every queue; in production run workers per queue (README: "Workers and the schedule").
QUEUES ?= $(CELERY_QUEUE_PREFIX)ingest,$(CELERY_QUEUE_PREFIX)ai,$(CELERY_QUEUE_PREFIX)default
worker: install
	$(VENV)/bin/celery -A cryptopredict worker --loglevel=info -Q $(QUEUES)

beat: install
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/celery -A cryptopredict beat --loglevel=info
