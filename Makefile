# Closeloop. Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench faults lint deploy-check clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## The whole product on its embedded default: SQLite, embedded Redis, web + worker + beat, demo data.
run: $(STAMP)
	$(PY) -m config.embedded

## The whole test suite against PostgreSQL and Redis (local services, or throwaway embedded ones).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## The suite without the slow process-level and browser tests.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

## Benchmarks; figures go to docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m bench

## Fault scripts (real workers, gunicorn, Redis and PostgreSQL on loopback).
faults: $(STAMP)
	$(PY) -m pytest bench/faults $(PYTEST_ARGS)

## `manage.py check --deploy` and collectstatic (hashed, compressed) with production settings.
deploy-check: $(STAMP)
	DEBUG=false SECRET_KEY=deploy-check-$$(date +%s)-a-long-random-value-for-the-check-only \
	  ALLOWED_HOSTS=closeloop.example.com DATABASE_URL=sqlite:///tmp/deploy-check.sqlite3 \
	  $(PY) manage.py check --deploy --fail-level WARNING
	DEBUG=false SECRET_KEY=deploy-check-$$(date +%s)-a-long-random-value-for-the-check-only \
	  ALLOWED_HOSTS=closeloop.example.com DATABASE_URL=sqlite:///tmp/deploy-check.sqlite3 \
	  $(PY) manage.py collectstatic --noinput --clear -v 0

clean:
	rm -rf $(VENV) var staticfiles
