# One command runs the platform, one runs the tests; each sets itself up from the lock.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# `make run ADDR=127.0.0.1:8001` or `make run PORT=8001`.
PORT ?= 8000
ADDR ?= 127.0.0.1:$(PORT)

.PHONY: run test lint bench soak lock manage

# Exactly the versions in requirements.lock, each checked against its hash. The project
# itself is not installed: it runs from this checkout.
$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_platform --addr $(ADDR)

# Any management command with the same development defaults as `make run`:
# make manage ARGS="create_api_token admin --name laptop"
manage: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py $(ARGS)

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Ten minutes (SOAK_SECONDS) of mixed webhook load on gunicorn, a qcluster, PostgreSQL
# (SOAK_PG_URL) and a private Redis, a worker killed every minute: nothing lost, nothing
# twice, nothing stuck (bench/soak.py; figures in bench/results/soak.json).
soak: $(STAMP)
	$(BIN)/python bench/soak.py

# Regenerate requirements.lock from pyproject.toml (after changing a dependency there).
# `make lock LOCK_ARGS=--upgrade` moves every package to its newest allowed version;
# `LOCK_ARGS="--upgrade-package django"` moves one.
lock:
	test -x $(VENV)-lock/bin/pip-compile || ($(PYTHON) -m venv $(VENV)-lock && $(VENV)-lock/bin/pip install --quiet pip-tools)
	$(VENV)-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --extra dev --strip-extras $(LOCK_ARGS) \
		--output-file requirements.lock pyproject.toml
