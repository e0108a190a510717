# `make run` and `make test` work on a fresh clone: they create .venv (and .env) when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make token` mints a token for SUB (default alice); `make token USER=bob` still works. Not `USER ?= alice`:
# the shell's own $USER (root, say) would win over it.
SUB ?= $(if $(filter command line,$(origin USER)),$(USER),alice)

.PHONY: run test test-pgbouncer token lint lint-spec client-check client-live browser-check contract fuzz interop migrate bench clean

# `make run` needs only the runtime (~150 MB); the test and lint tools (~150 MB more) come with the
# targets that use them.
$(BIN)/.runtime-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed: $(BIN)/.runtime-installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# A fresh .env with its own random secret; an existing one is never overwritten.
.env:
	@secret=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))'); \
	sed "s|^BETTER_AUTH_SECRET=.*|BETTER_AUTH_SECRET=$$secret|" .env.example > .env
	@echo "wrote .env with a fresh BETTER_AUTH_SECRET" >&2  # stderr: `TOKEN=$$(make -s token)` stays clean

migrate: $(BIN)/.runtime-installed .env
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/python -m handlers serve

token: $(BIN)/.runtime-installed .env
	@$(BIN)/python -m handlers token "$(SUB)"

# The suite runs on SQLite, and also on PostgreSQL when TEST_DATABASE_URL is set.
test: $(BIN)/.installed
	$(BIN)/python -m pytest

# The PostgreSQL tests of writes, counts, concurrency, faults and serving again, through a real PgBouncer in
# transaction mode (Debian's pgbouncer, started by the fixture on a free port) in front of TEST_DATABASE_URL.
PGBOUNCER_TESTS := tests/test_tasks.py tests/test_list.py tests/test_concurrency.py tests/test_faults.py \
	tests/models/test_counts.py tests/models/test_db.py tests/runtime/test_serving.py
test-pgbouncer: $(BIN)/.installed
	test -n "$(TEST_DATABASE_URL)" || { echo "set TEST_DATABASE_URL to an empty PostgreSQL database"; exit 2; }
	TEST_PGBOUNCER=1 TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/python -m pytest $(PGBOUNCER_TESTS)

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

# The contract's own checks: the spec validates and lints clean, and a typed client compiles against it.
# The Node tools are pinned in tests/client/package-lock.json.
CLIENTS := tests/client
REDOCLY_ENV := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

$(CLIENTS)/node_modules/.installed: $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint-spec: $(BIN)/.installed $(CLIENTS)/node_modules/.installed
	$(BIN)/openapi-spec-validator openapi.yaml
	cd $(CLIENTS) && $(REDOCLY_ENV) npm run --silent lint-spec

client-check: $(CLIENTS)/node_modules/.installed
	cd $(CLIENTS) && npm run --silent generate && npm run --silent typecheck

contract: lint-spec client-check

# The client generated from openapi.yaml runs against the live service (tests/live-server), checking each
# response's shape at run time: create, list with filters and Link paging, get, update, complete, delete,
# 400/401/403/404.
client-live: $(BIN)/.runtime-installed $(CLIENTS)/node_modules/.installed
	cd $(CLIENTS) && npm run --silent generate
	tests/live-server sh -c 'cd $(CLIENTS) && npm run --silent live'

# Swagger UI and a page on an allowed origin in Debian's Chromium, driven by Playwright from PyPI (its own
# `playwright install` downloads browsers and fails here). Screenshots of a failure go to .browser-check/.
$(BIN)/.browser-installed: $(BIN)/.runtime-installed
	$(BIN)/python -m pip install --quiet -e '.[browser]'
	touch $@

browser-check: $(BIN)/.browser-installed
	command -v chromium >/dev/null || apt-get install -y chromium
	tests/live-server $(BIN)/python -m tests.browser.check

# Schemathesis against a live server (uvicorn, as in production): every check, stateful phase on.
# FUZZ_DATABASE_URL (default: a fresh SQLite file), FUZZ_MAX_TIME, FUZZ_MAX_EXAMPLES, FUZZ_SEED: see tests/fuzz/live.sh.
fuzz: $(BIN)/.installed
	tests/fuzz/live.sh

# A real Better Auth instance (jwt plugin, default options; pinned in tests/interop) mints tokens that the
# API, configured with BETTER_AUTH_URL alone, must accept. Needs Node 20+ and npm's registry.
interop: $(BIN)/.installed
	tests/interop/run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .browser-check $(CLIENTS)/node_modules $(CLIENTS)/generated \
		$(CLIENTS)/build tests/interop/node_modules
