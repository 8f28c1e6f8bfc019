# Closeloop. Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Installs come from the lock files (requirements/*.txt, made by pip-tools from pyproject.toml):
# `make run` installs only the runtime lock, the test targets add the test lock.
RUNTIME := $(VENV)/.installed-runtime
TESTING := $(VENV)/.installed-test
LOCK_VENV := .venv-lock
# `make test` runs the suite on pytest-xdist workers, one more than the cores (each with its own test
# database and Redis database; the tests on the session's `make run` share one worker): many tests
# wait on processes they start (make run, gunicorn, Chromium, pip), and with one worker per core the
# suite kept two cores only 70 % busy (16 minutes on two AMD EPYC cores). `make test TEST_WORKERS=0`
# runs it in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
XDIST := -n $(TEST_WORKERS) --dist loadgroup

.PHONY: run manage test test-fast test-pgbouncer bench faults lint deploy-check lock messages clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements/runtime.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/runtime.txt
	touch $(RUNTIME)

$(TESTING): requirements/test.txt $(RUNTIME)
	$(PY) -m pip install --quiet -r requirements/test.txt
	touch $(TESTING)

## The whole product on its embedded default: SQLite, embedded Redis, web + worker + beat, demo data.
run: $(RUNTIME)
	$(PY) -m config.embedded

## A management command against the database and Redis of the running `make run` (second terminal):
##   make manage ARGS="createsuperuser"
manage: $(RUNTIME)
	$(PY) manage.py $(ARGS)

## The whole test suite against PostgreSQL and Redis (local services, or throwaway embedded ones).
test: $(TESTING)
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

## The suite without the slow process-level and browser tests.
test-fast: $(TESTING)
	$(PY) -m pytest $(XDIST) -m "not slow and not browser" $(PYTEST_ARGS)

## Pyflakes' checks over the code (pyproject.toml [tool.ruff]); the suite runs it too (tests/test_lint.py).
lint: $(TESTING)
	$(VENV)/bin/ruff check .

## The parts of the suite that work the database hardest, through a real PgBouncer in transaction
## mode in front of the same PostgreSQL (Debian's pgbouncer; docs/deployment.md "Behind PgBouncer").
PGBOUNCER_TESTS ?= tests/surveys tests/cases tests/inbox tests/reliability tests/test_pgbouncer.py
test-pgbouncer: $(TESTING)
	TEST_PGBOUNCER=1 $(PY) -m pytest $(XDIST) -m "not browser" $(PGBOUNCER_TESTS) $(PYTEST_ARGS)

## Benchmarks; figures go to docs/benchmarks.md.
bench: $(TESTING)
	$(PY) -m bench

## Fault scripts (real workers, gunicorn, Redis, PgBouncer, a PostgreSQL primary and streaming standby,
## all on loopback; docs/reliability.md). .ci/run runs the pool and replica ones after `make test`:
##   make faults PYTEST_ARGS='-k "database_unreachable or replica_killed"'
## (PgBouncer and the PostgreSQL server binaries are needed: Debian's pgbouncer, postgresql). A failed
## script prints the end of its processes', PgBouncer's and PostgreSQL's logs and keeps them all in
## its /tmp/closeloop-faults-* directory (FAULTS_KEEP_LOGS=1 keeps them after a good run too).
faults: $(TESTING)
	$(PY) -m pytest bench/faults $(PYTEST_ARGS)

## `manage.py check --deploy` and collectstatic (hashed, compressed) with production settings.
deploy-check: $(RUNTIME)
	DEBUG=false SECRET_KEY=deploy-check-$$(date +%s)-a-long-random-value-for-the-check-only \
	  CLOSELOOP_ENCRYPTION_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	  ALLOWED_HOSTS=closeloop.example.com DATABASE_URL=sqlite:///tmp/deploy-check.sqlite3 \
	  EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend $(PY) manage.py check --deploy --fail-level WARNING
	DEBUG=false SECRET_KEY=deploy-check-$$(date +%s)-a-long-random-value-for-the-check-only \
	  ALLOWED_HOSTS=closeloop.example.com DATABASE_URL=sqlite:///tmp/deploy-check.sqlite3 \
	  $(PY) manage.py collectstatic --noinput --clear -v 0

## Re-resolve the lock files after a change to pyproject.toml's dependencies; `make lock UPGRADE=1`
## moves every pin to the newest version pyproject.toml allows. Commit requirements/*.txt.
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools)
	$(LOCK_VENV)/bin/pip-compile --quiet --no-emit-options --strip-extras $(if $(UPGRADE),--upgrade) \
	  --extra test -o requirements/test.txt pyproject.toml
	$(LOCK_VENV)/bin/pip-compile --quiet --no-emit-options --strip-extras --upgrade \
	  -c requirements/test.txt -o requirements/runtime.txt pyproject.toml

## Translations (docs/languages.md): collect the marked strings into locale/<lang>/LC_MESSAGES/*.po
## (GNU gettext's xgettext: apt-get install gettext), then compile every .po to the .mo that is
## committed beside it (polib, pure Python). Translate what is new in the .po files, run it again.
MESSAGES_ENV := DJANGO_SETTINGS_MODULE=config.settings DEBUG=1 SECRET_KEY=makemessages-only-key-not-secret-0123456789 \
  DATABASE_URL=sqlite:////tmp/closeloop-makemessages.sqlite3
MESSAGES_IGNORE := --ignore='.venv*' --ignore=bench --ignore=tests --ignore=staticfiles --ignore=var --ignore=deploy \
  --ignore=docs --ignore=locale
messages: $(TESTING)
	$(MESSAGES_ENV) $(PY) -m django makemessages -l es -l fr -l de -d django -e html,txt,py $(MESSAGES_IGNORE) \
	  --ignore=static --no-location --no-obsolete
	$(MESSAGES_ENV) $(PY) -m django makemessages -l es -l fr -l de -d djangojs $(MESSAGES_IGNORE) \
	  --ignore=static/vendor --no-location --no-obsolete
	$(PY) -m core.catalogues

clean:
	rm -rf $(VENV) $(LOCK_VENV) var staticfiles
