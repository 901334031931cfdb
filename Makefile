# Cadence: `make demo` and `make test` each create .venv when needed, install the pinned
# dependencies (requirements.lock) and the package, and run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The PostgreSQL run of the suite; pytest-django creates and drops test_<name> on that server.
PG_URL ?= postgres://postgres@127.0.0.1:5432/cadence
LINT_PATHS := $(wildcard src tests bench)

.PHONY: demo test test-postgres postgres-up lint format messages install clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled whenever the lock or the project metadata changes.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# e.g. make demo DEMO_ARGS="--port 8080"
demo: $(STAMP)
	$(BIN)/cadence demo $(DEMO_ARGS)

# SQLite (a throw-away test database); browser tests drive Debian's /usr/bin/chromium.
test: $(STAMP)
	$(BIN)/python -m pytest

# Starts the local PostgreSQL cluster when it is down (Debian's pg_ctlcluster).
postgres-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1

test-postgres: $(STAMP) postgres-up
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# Extracts the strings into src/cadence/locale/{en,fr} (run from src/cadence so the
# catalogues land in LOCALE_PATHS) and compiles them.
messages: $(STAMP)
	cd src/cadence && ../../$(BIN)/python -m django makemessages --settings=cadence.settings \
		-l en -l fr --no-obsolete --ignore='migrations/*'
	cd src/cadence && ../../$(BIN)/python -m django compilemessages --settings=cadence.settings

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
