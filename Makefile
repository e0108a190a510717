# `make run` and `make test` work on a fresh clone: they create .venv (and .env) when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
USER ?= alice

.PHONY: run test token lint migrate bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# A fresh .env with its own random secret; an existing one is never overwritten.
.env:
	@secret=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))'); \
	sed "s|^BETTER_AUTH_SECRET=.*|BETTER_AUTH_SECRET=$$secret|" .env.example > .env
	@echo "wrote .env with a fresh BETTER_AUTH_SECRET"

migrate: $(BIN)/.installed .env
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/python -m handlers serve

token: $(BIN)/.installed .env
	@$(BIN)/python -m handlers token $(USER)

# The suite runs on SQLite, and also on PostgreSQL when TEST_DATABASE_URL is set.
test: $(BIN)/.installed
	$(BIN)/python -m pytest

# Load test on a fresh PostgreSQL database (127.0.0.1:5432, user postgres); results in .bench/. ~5 minutes.
$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
